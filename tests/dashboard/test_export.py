"""Exports of the shown histogram (JSON, ROOT) and of a group (zip), full run and time slice: what is
exported equals what the view draws, re-read with uproot; errors and the login as the API's."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import dash
import numpy as np
import pytest
import uproot
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dashboard import figures
from dashboard.api import PREFIX
from dashboard.services import Services
from dashboard.services import services as app_services
from overwatch_core.histogram_export import export_filename, shown_layers
from overwatch_core.subsystems.base import ProcessedHistogram
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.views import SubsystemView

RUN, SUBSYSTEM, NAME = 300003, "EMC", "EMCTRQA_histFastORL0"
MAP = "EMCTRQA_histFastORL0_SM0"  # a 2D map of a grid group
GROUP = "FastOR"
BASE = f"{PREFIX}/runs/{RUN}/{SUBSYSTEM}/export"
SLICE = "from=2&to=5"  # the run page's keys; threshold and scale take EMC's defaults


@pytest.fixture(scope="module")
def export_data(make_app_data: Callable[[], Path]) -> Path:
    return make_app_data()


@pytest.fixture
def export_app(make_app: Callable[..., dash.Dash], export_data: Path) -> dash.Dash:
    return make_app(export_data)


@pytest.fixture
def client(export_app: dash.Dash, app_login: Callable[[FlaskClient], TestResponse]) -> FlaskClient:
    """A shifter's session (APP_USER logs in through the login form)."""
    client = export_app.server.test_client()
    app_login(client)
    return client


def view_of(app: dash.Dash, request: TimeSliceRequest | None) -> SubsystemView:
    with app.server.app_context():
        svc: Services = app_services()
        if request is None:
            return svc.views.full_run(RUN, SUBSYSTEM)
        return svc.views.time_slice(RUN, SUBSYSTEM, request)


def processed(app: dash.Dash, request: TimeSliceRequest | None, name: str = NAME) -> ProcessedHistogram:
    return view_of(app, request).histogram(name)


def attachment_name(response: TestResponse) -> str:
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    return disposition.split("filename=", 1)[1].strip('"')


@pytest.mark.parametrize(
    ("query", "request_"),
    [("", None), (SLICE, TimeSliceRequest(2, 5, True, 0))],
    ids=["full-run", "slice"],
)
def test_json_is_the_drawn_histogram(
    client: FlaskClient, export_app: dash.Dash, query: str, request_: TimeSliceRequest | None
) -> None:
    response = client.get(f"{BASE}/histogram.json?name={NAME}&{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = json.loads(response.get_data())
    shown = processed(export_app, request_).layers[0].hist
    np.testing.assert_allclose(body["values"], shown.values)
    np.testing.assert_allclose(body["errors"], np.sqrt(shown.variances))
    np.testing.assert_allclose(body["edges"][0], shown.edges[0])
    assert body["entries"] == shown.entries
    figure = figures.figure(processed(export_app, request_))  # the titles the plot shows
    assert body["axis_titles"][:2] == [figure.layout.xaxis.title.text, figure.layout.yaxis.title.text]
    assert body["title"] == shown.title  # the plot has none (the card's heading is the pretty name)
    assert body["pretty_name"] == processed(export_app, request_).pretty_name
    assert body["window"]["full_run"] is (request_ is None)
    assert body["window"]["requested"] == (None if request_ is None else [2, 5])
    window = "full" if request_ is None else "min2-5"
    assert attachment_name(response) == f"run{RUN}_{SUBSYSTEM}_{NAME}_{window}.json"


@pytest.mark.parametrize(
    ("query", "request_", "name"),
    [
        ("", None, NAME),
        (SLICE, TimeSliceRequest(2, 5, True, 0), NAME),
        (SLICE + "&scale=0&threshold=300", TimeSliceRequest(2, 5, False, 300), MAP),
    ],
    ids=["full-run", "slice", "slice-map-unscaled"],
)
def test_root_file_reread_with_uproot_is_the_drawn_histogram(
    client: FlaskClient,
    export_app: dash.Dash,
    tmp_path: Path,
    query: str,
    request_: TimeSliceRequest | None,
    name: str,
) -> None:
    response = client.get(f"{BASE}/histogram.root?name={name}&{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    view = view_of(export_app, request_)
    assert attachment_name(response) == export_filename(view, name, "root")
    path = tmp_path / "export.root"
    path.write_bytes(response.get_data())
    (layer,) = shown_layers(view.histogram(name))
    with uproot.open(path) as f:
        hist = f[layer.key]
        assert hist.classname == f"TH{layer.hist.ndim}D"
        np.testing.assert_allclose(hist.values(), layer.hist.values)
        np.testing.assert_allclose(hist.errors(), np.sqrt(layer.hist.variances))
        for axis in range(layer.hist.ndim):
            np.testing.assert_allclose(hist.axis(axis).edges(), layer.hist.edges[axis])
            assert hist.axis(axis).member("fTitle") == layer.hist.axis_titles[axis]
        title = figures.figure(view.histogram(name)).layout.title.text or layer.hist.title
        assert hist.member("fTitle") == title != ""  # the plot's own title where it shows one ("SM 0")
        assert hist.member("fEntries") == pytest.approx(layer.hist.entries)


def test_the_slice_name_says_threshold_and_scaling(client: FlaskClient) -> None:
    response = client.get(f"{BASE}/histogram.root?name={MAP}&{SLICE}&scale=0&threshold=300")
    assert attachment_name(response) == f"run{RUN}_{SUBSYSTEM}_{MAP}_min2-5_thr300_unscaled.root"


def test_group_zip_holds_each_histograms_json_and_root(
    client: FlaskClient, export_app: dash.Dash, tmp_path: Path
) -> None:
    response = client.get(f"{BASE}/group.zip?group={GROUP}&{SLICE}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/zip"
    assert attachment_name(response) == f"run{RUN}_{SUBSYSTEM}_{GROUP}_min2-5.zip"
    view = view_of(export_app, TimeSliceRequest(2, 5, True, 0))
    group = view.group(GROUP)
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        names = set(archive.namelist())
        expected = {export_filename(view, h.name, ext) for h in group.histograms for ext in ("json", "root")}
        assert names == expected
        first = group.histograms[0]
        document = json.loads(archive.read(export_filename(view, first.name, "json")))
        np.testing.assert_allclose(document["values"], first.layers[0].hist.values)
        (tmp_path / "one.root").write_bytes(archive.read(export_filename(view, first.name, "root")))
    with uproot.open(tmp_path / "one.root") as f:
        np.testing.assert_allclose(f[shown_layers(first)[0].key].values(), first.layers[0].hist.values)


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [
        (f"{PREFIX}/runs/999/EMC/export/histogram.json?name={NAME}", 404, "unknown run"),
        (f"{PREFIX}/runs/{RUN}/XYZ/export/histogram.root?name={NAME}", 404, "unknown subsystem"),
        (f"{BASE}/histogram.root?name=nope", 404, "unknown histogram"),
        (f"{BASE}/histogram.json?name=../../../etc/passwd", 404, "unknown histogram"),
        (f"{BASE}/group.zip?group=nope", 404, "unknown group"),
        (f"{BASE}/histogram.json", 400, "give the name"),
        (f"{BASE}/group.zip", 400, "give the group"),
        (f"{BASE}/histogram.json?name={NAME}&from=5&to=2", 400, "must be greater than min_time"),
        (f"{BASE}/histogram.json?name={NAME}&from=x&to=2", 400, "from must be a number"),
        (f"{BASE}/histogram.root?name={NAME}&from=0&to=999", 400, "beyond the run"),
        (f"{BASE}/group.zip?group={GROUP}&from=1&to=3&threshold=2000", 400, "between 0 and 1000"),
    ],
)
def test_errors_are_json_with_a_clear_message(client: FlaskClient, url: str, status: int, text: str) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert text in response.get_json()["error"]


def test_anonymous_cannot_export(export_app: dash.Dash) -> None:
    anonymous = export_app.server.test_client()
    for url in (f"{BASE}/histogram.json?name={NAME}", f"{BASE}/histogram.root?name={NAME}",
                f"{BASE}/group.zip?group={GROUP}"):  # fmt: skip
        response = anonymous.get(url)
        assert response.status_code == 401
        assert response.get_json() == {"error": "login required"}


def test_an_export_of_a_slice_the_page_computed_comes_from_the_view_cache(
    client: FlaskClient, export_app: dash.Dash
) -> None:
    request_ = TimeSliceRequest(1, 6, True, 0)
    view_of(export_app, request_)  # the page's job did this
    with export_app.server.app_context():
        cached = app_services().views.cached_time_slice(RUN, SUBSYSTEM, request_)
    assert cached is not None
    response = client.get(f"{BASE}/histogram.json?name={NAME}&from=1&to=6")
    np.testing.assert_allclose(
        json.loads(response.get_data())["values"], cached.histogram(NAME).layers[0].hist.values
    )


def test_cards_and_groups_carry_export_links(export_app: dash.Dash) -> None:
    """The run page's markup: per card JSON, ROOT and PNG links naming the histogram, per group a zip
    link naming the group; assets/exports.js writes the hrefs from the page's address. A lazy card's links
    come with its plot."""
    from dashboard.pages import run_page

    view = view_of(export_app, None)
    group = view.group(GROUP)
    context = {"run": RUN, "subsystem": SUBSYSTEM, "group": GROUP, "hist": None, "request": None}
    with export_app.server.test_request_context():
        page = run_page.group_content(group)
        eager = run_page.EAGER_PLOTS[group.grid]
        lazy = [run_page.lazy_card(context, h.name)[0] for h in group.histograms[eager:]]
        content = [page.to_plotly_json(), *lazy]

    found: list[dict[str, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            props = node.get("props", {})
            if "data-export-link" in props or "data-export-png" in props:
                found.append(props)
            walk(props.get("children"))
        elif isinstance(node, list | tuple):
            for child in node:
                walk(child)
        elif hasattr(node, "to_plotly_json"):
            walk(node.to_plotly_json())

    walk(content)
    links = {
        (p.get("data-export-link"), p.get("data-export-value") or p.get("data-export-png")) for p in found
    }
    assert ("group.zip", GROUP) in links
    for hist in group.histograms:
        assert {("histogram.json", hist.name), ("histogram.root", hist.name), (None, hist.name)} <= links
