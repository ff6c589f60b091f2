"""Lazy run pages: the first plots come with the page, the others as placeholders fetched when seen; the
light figures' budgets on the demo data; HLT as a grid."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import dash
import pytest
from dash import dcc
from dash.development.base_component import Component
from flask.testing import FlaskClient
from flask_login import login_user
from plotly.io.json import to_json_plotly as to_json

from dashboard import figures
from dashboard.auth import SessionUser
from dashboard.pages import run_page
from dashboard.services import services
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.users import User
from tests.dashboard.component_tree import by_class, by_id, hrefs, walk

DEMO_RUN = 300003
GRID_GROUP = "FEE vs TRU"  # 20 compact plots
CLUSTER_GROUP = "EMCal cluster level"  # 9 full-width plots
FASTOR_L0 = "EMCTRQA_histFastORL0"


@pytest.fixture
def in_request(app: dash.Dash) -> Iterator[None]:
    with app.server.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        yield


def graphs(node: object) -> list[dcc.Graph]:
    return [c for c in walk(node) if isinstance(c, dcc.Graph)]


def placeholders(node: object) -> list[Component]:
    return by_class(node, "lazy-placeholder")


def watched_store(placeholder: Component) -> dict[str, str]:
    """The store a placeholder tells assets/lazy_plots.js to set."""
    return dict(json.loads(getattr(placeholder, f"data-{run_page.LAZY}")))


def full_run_context(**extra: object) -> dict[str, Any]:
    return {"run": DEMO_RUN, "subsystem": "EMC", "group": None, "hist": None, "request": None, **extra}


# -- the page ----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("in_request")
def test_a_grid_group_sends_its_first_plots_and_placeholders_for_the_rest() -> None:
    main = by_id(run_page.layout(run=str(DEMO_RUN), subsystem="EMC", group=GRID_GROUP), run_page.MAIN)
    cards = by_class(main, "hist-card")
    assert len(cards) == 20
    eager = run_page.EAGER_PLOTS[True]
    assert [len(graphs(c)) for c in cards] == [1] * eager + [0] * (20 - eager)
    view = services().views.full_run(DEMO_RUN, "EMC")
    names = [h.name for h in view.group(GRID_GROUP).histograms]
    for card, name in zip(cards[eager:], names[eager:], strict=True):
        (placeholder,) = placeholders(card)
        store = watched_store(placeholder)
        assert store == {"type": run_page.LAZY_SEEN, "name": name}
        assert isinstance(by_id(card, store), dcc.Store), "the store the placeholder sets is in its card"
        slot = by_id(card, {"type": run_page.LAZY, "name": name})
        assert slot.style == {"minHeight": "260px"}, "the placeholder keeps the plot's size"
        assert not by_class(card, "info-panel"), "the information comes with the plot"
        assert not by_class(card, "export-menu"), "so does the export menu"
        assert len(list(walk(card))) <= 5, "a placeholder card is a handful of components"
    for card in cards[:eager]:
        assert by_class(card, "info-panel"), "a drawn card has its information"
        assert by_class(card, "export-menu")


@pytest.mark.usefixtures("in_request")
def test_a_full_width_group_sends_two_plots_with_the_page() -> None:
    main = by_id(run_page.layout(run=str(DEMO_RUN), subsystem="EMC", group=CLUSTER_GROUP), run_page.MAIN)
    assert len(graphs(main)) == run_page.EAGER_PLOTS[False] == 2
    assert len(placeholders(main)) == 7
    slots = [
        c
        for c in walk(main)
        if getattr(c, "id", None) and isinstance(c.id, dict) and c.id["type"] == run_page.LAZY
    ]
    assert {slot.style["minHeight"] for slot in slots} == {"480px"}


@pytest.mark.usefixtures("in_request")
def test_one_histogram_is_drawn_with_the_page_with_the_budget_of_a_plot_alone() -> None:
    main = by_id(run_page.layout(run=str(DEMO_RUN), subsystem="EMC", hist=FASTOR_L0), run_page.MAIN)
    (graph,) = graphs(main)
    assert placeholders(main) == []
    hist = services().views.full_run(DEMO_RUN, "EMC").histogram(FASTOR_L0)
    alone = figures.figure(hist, alone=True)
    assert graph.figure.data[0].customdata is not None, "the errors of 5000 FastORs in the hover"
    assert len(graph.figure.data[0].y) == len(alone.data[0].y)


@pytest.mark.usefixtures("in_request")
def test_hlt_is_a_grid_of_compact_plots_and_its_sidebar_links_each_plot() -> None:
    page = run_page.layout(run=str(DEMO_RUN), subsystem="HLT")
    view = services().views.full_run(DEMO_RUN, "HLT")
    (group,) = view.groups
    assert group.grid
    main = by_id(page, run_page.MAIN)
    assert len(by_class(main, "hist-card")) == len(group.histograms) > 30
    assert all(g.config["displayModeBar"] is False for g in graphs(main)), "compact plots"
    links = hrefs(by_class(page, "run-sidebar")[0])
    assert all(f"/runs/{DEMO_RUN}/HLT?hist={h.name}" in links for h in group.histograms)


# -- the lazy graph ----------------------------------------------------------------------------------


def lazy_graph(context: dict[str, Any], name: str) -> object:
    """The graph (or error card) of what ``lazy_card`` puts in the plot's place, checking it has the menu."""
    slot, _info = run_page.lazy_card(context, name)
    if not isinstance(slot, list):
        return slot
    graph, menu = slot
    assert by_class(menu, "export-menu"), "the export menu comes with the plot"
    return graph


@pytest.mark.usefixtures("in_request")
def test_a_lazy_graph_is_drawn_as_its_group_draws_it() -> None:
    view = services().views.full_run(DEMO_RUN, "EMC")
    compact = view.group(GRID_GROUP).histograms[12]
    graph = lazy_graph(full_run_context(group=GRID_GROUP), compact.name)
    assert isinstance(graph, dcc.Graph)
    assert graph.id == {"type": "hist-graph", "name": compact.name}
    assert graph.style == {"height": "260px"}
    assert graph.figure.to_json() == figures.figure(compact, compact=True).to_json()
    wide = view.group(CLUSTER_GROUP).histograms[5]
    graph = lazy_graph(full_run_context(group=CLUSTER_GROUP), wide.name)
    assert isinstance(graph, dcc.Graph)
    assert graph.style == {"height": "480px"}
    assert graph.figure.to_json() == figures.figure(wide).to_json()


@pytest.mark.usefixtures("in_request")
def test_a_lazy_graph_shows_the_time_slice_the_page_shows() -> None:
    request = TimeSliceRequest(5, 7)
    sliced = services().views.time_slice(DEMO_RUN, "EMC", request).histogram(FASTOR_L0)
    full = services().views.full_run(DEMO_RUN, "EMC").histogram(FASTOR_L0)
    context = full_run_context(group="FastOR", request={"min_time": 5, "max_time": 7, "scale_hists": True,
                                                         "hot_channel_threshold": 0})  # fmt: skip
    assert context["request"] == {**TimeSliceRequest(5, 7).__dict__}, "as the page writes it (asdict)"
    graph = lazy_graph(context, FASTOR_L0)
    assert isinstance(graph, dcc.Graph)

    def traces(fig: Any) -> object:
        return json.loads(fig.to_json())["data"]

    assert traces(graph.figure) == traces(figures.figure(sliced))
    assert traces(graph.figure) != traces(figures.figure(full))


@pytest.mark.usefixtures("in_request")
def test_a_lazy_card_brings_the_information_and_checks_of_the_view_the_page_shows() -> None:
    """Also after a slice shown in place: a card drawn later shows the slice's statistics and checks."""
    request = TimeSliceRequest(5, 7)
    view = services().views.time_slice(DEMO_RUN, "EMC", request)
    context = full_run_context(group="FastOR", request={**request.__dict__})
    _slot, info = run_page.lazy_card(context, FASTOR_L0)
    checks = run_page.view_verdicts(view)[FASTOR_L0][1]
    expected = run_page.information_block(view.histogram(FASTOR_L0), checks)
    assert to_json(info) == to_json(expected)
    assert by_class(info, "checks-panel"), "the check results of the FastOR plot"
    full = services().views.full_run(DEMO_RUN, "EMC").histogram(FASTOR_L0)
    assert full.information != view.histogram(FASTOR_L0).information, "the slice's, not the full run's"


@pytest.mark.usefixtures("in_request")
def test_a_lazy_graph_of_a_histogram_no_longer_there_is_an_error_card() -> None:
    card = lazy_graph(full_run_context(), "EMCTRQA_histNoSuch")
    assert by_class(card, "error-card")
    assert "EMCTRQA_histNoSuch" in str(card)
    assert run_page.lazy_card(full_run_context(), "EMCTRQA_histNoSuch")[1] == []


def lazy_request(client: FlaskClient, name: str, context: dict[str, Any]) -> Any:
    """The request assets/lazy_plots.js causes (the renderer posts it when the card's store is set)."""
    (dep,) = [
        d for d in client.get("/_dash-dependencies").get_json()
        if d["inputs"][0]["id"].startswith("{") and run_page.LAZY_SEEN in d["inputs"][0]["id"]
    ]  # fmt: skip
    seen = {"type": run_page.LAZY_SEEN, "name": name}
    body = {
        "output": dep["output"],
        "outputs": [
            {"id": {"type": run_page.LAZY, "name": name}, "property": "children"},
            {"id": {"type": run_page.INFO, "name": name}, "property": "children"},
        ],
        "inputs": [{"id": seen, "property": "data", "value": 1}],
        "state": [{"id": run_page.QUERY, "property": "data", "value": context}],
        "changedPropIds": [json.dumps(seen, separators=(",", ":"), sort_keys=True) + ".data"],
    }
    cookie = client.get_cookie("_csrf_token")
    headers = {"X-CSRFToken": cookie.value} if cookie else {}
    return client.post("/_dash-update-component", json=body, headers=headers)


def test_the_lazy_plot_callback_needs_a_login(app_client: FlaskClient) -> None:
    assert app_client.get("/_dash-dependencies").status_code == 401
    response = app_client.post("/_dash-update-component", json={"output": "x.children"})
    assert response.status_code == 401


def test_the_lazy_plot_callback_sends_the_graph_with_typed_arrays(logged_in_client: FlaskClient) -> None:
    response = lazy_request(logged_in_client, FASTOR_L0, full_run_context(group="FastOR"))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    slot, info = response.get_json()["response"].values()
    graph, menu = slot["children"]
    assert "Export" in json.dumps(menu)
    assert "info-panel" in json.dumps(info["children"]), "the information comes with the plot"
    assert graph["type"] == "Graph"
    assert graph["props"]["id"] == {"type": "hist-graph", "name": FASTOR_L0}
    y = graph["props"]["figure"]["data"][0]["y"]
    assert y["dtype"] == "f4", "float32 typed arrays, not decimal JSON"
    assert not re.search(r"\[(?:-?[0-9.e+-]+,){50,}", text), "no long list of decimal numbers"


# -- budgets on the demo data ------------------------------------------------------------------------


def group_bytes(subsystem: str) -> dict[str, int]:
    view = services().views.full_run(DEMO_RUN, subsystem)
    return {
        g.name: sum(figures.figure_json_bytes(figures.figure(h, compact=g.grid)) for h in g.histograms)
        for g in view.groups
    }


@pytest.mark.usefixtures("in_request")
def test_figure_json_budgets_of_issue_10() -> None:
    """Largest EMC group ≤ 600 kB, the HLT page ≤ 1 MB (benchmarks/bench_dashboard.py measures them on the
    realistic 300-histogram layout too)."""
    assert max(group_bytes("EMC").values()) <= 600_000
    assert sum(group_bytes("HLT").values()) <= 1_000_000
