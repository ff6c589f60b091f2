"""The shipped plotly.js bundle (assets/plotly-cartesian.min.js, see assets/README.md) matches the plotly
package and holds every trace type the dashboard draws."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import dash
import pytest
from dash import dcc
from flask_login import login_user
from plotly.offline import get_plotlyjs_version

from dashboard.auth import SessionUser
from dashboard.factory import ASSETS
from dashboard.pages import run_page, trending
from dashboard.services import services
from overwatch_core.users import User
from tests.dashboard.component_tree import walk

BUNDLE = ASSETS / "plotly-cartesian.min.js"
#: The trace types of plotly.js' cartesian bundle, as ``Plotly.PlotSchema.get().traces`` lists them in the
#: browser (tests/browser/test_page_load_browser.py checks this list against the bundle itself).
CARTESIAN_TRACES = frozenset(
    {"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour", "image", "pie",
     "scatter", "scatterternary", "violin"}
)  # fmt: skip
DEMO_RUN = 300003


def test_the_bundle_is_the_plotly_js_of_the_plotly_package() -> None:
    header = BUNDLE.read_text(encoding="utf-8")[:200]
    match = re.search(r"plotly\.js \(cartesian - minified\) v(\S+)", header)
    assert match, header
    assert match.group(1) == get_plotlyjs_version(), "update it as assets/README.md says"
    assert "Licensed under the MIT license" in header


def test_the_bundle_is_loaded_by_dash_before_the_renderer(logged_in_client: object) -> None:
    page = logged_in_client.get("/").get_data(as_text=True)  # type: ignore[attr-defined]
    bundle = page.index("/assets/plotly-cartesian.min.js")
    assert bundle < page.index("dash_renderer"), "window.Plotly is there when the first graph mounts"
    assert "package_data/plotly.min.js" not in page


@pytest.fixture
def in_request(app: dash.Dash) -> Iterator[None]:
    with app.server.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        yield


def trace_types(node: object) -> set[str]:
    return {
        trace.type
        for graph in walk(node)
        if isinstance(graph, dcc.Graph) and graph.figure is not None
        for trace in graph.figure.data
    }


@pytest.mark.usefixtures("in_request")
def test_every_plot_of_the_demo_run_uses_a_trace_type_of_the_bundle() -> None:
    drawn: set[str] = set()
    context = {"run": DEMO_RUN, "group": None, "hist": None, "request": None}
    for subsystem in ("EMC", "HLT", "TPC"):
        view = services().views.full_run(DEMO_RUN, subsystem)
        for group in view.groups:
            drawn |= trace_types(run_page.layout(run=str(DEMO_RUN), subsystem=subsystem, group=group.name))
            for hist in group.histograms:
                drawn |= trace_types(run_page.lazy_card({**context, "subsystem": subsystem}, hist.name)[0])
    drawn |= trace_types(trending.layout(subsystem="EMC", run=str(DEMO_RUN)))
    assert {"scatter", "heatmap"} <= drawn, "the walk found the plots"
    assert drawn <= CARTESIAN_TRACES


def test_the_assets_readme_names_every_shipped_file() -> None:
    readme = (ASSETS / "README.md").read_text(encoding="utf-8")
    for path in Path(ASSETS).iterdir():
        if path.name != "README.md" and path.suffix in {".js", ".css"}:
            assert f"`{path.name}`" in readme, path.name
