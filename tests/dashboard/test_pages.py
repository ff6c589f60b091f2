"""Pages of the real app: every layout for good and bad parameters, and the callbacks called directly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pytest
from dash import dcc, html
from dash.development.base_component import Component
from flask.testing import FlaskClient
from flask_login import login_user
from werkzeug.test import TestResponse

from dashboard.auth import SessionUser
from dashboard.callbacks.run_list import jump_target
from dashboard.callbacks.run_page import newest_file
from dashboard.pages import not_found, root_files, run_list, run_page
from dashboard.services import services
from overwatch_core.users import User
from tests.dashboard.component_tree import by_class, by_id, hrefs, ids, text, texts, walk

DEMO_RUN = 300003  # hot FastORs from minute 5
FIRST_EMC_GROUP = "FEE vs TRU"  # a grid group of 20 TRUs
CLUSTER_GROUP = "EMCal cluster level"
FASTOR_L0 = "EMCTRQA_histFastORL0"


# -- searching a rendered component tree -------------------------------------------------------------


def graphs(node: object) -> list[dcc.Graph]:
    return [c for c in walk(node) if isinstance(c, dcc.Graph)]


def error_cards(node: object) -> list[Component]:
    return by_class(node, "error-card")


def names(link: object) -> str:
    """A sidebar entry's name, without its verdict badge."""
    return "".join(text(c) for c in by_class(link, "sidebar-name"))


def notices(node: object) -> list[str]:
    """Texts of the warning notices (ignored query values; not the Medium verdict badges)."""
    return [text(c) for c in walk(node) if isinstance(c, dbc.Alert) and c.color == "warning"]


# -- rendering layouts in a request ------------------------------------------------------------------


Render = Callable[..., Component]


@pytest.fixture
def render(app: dash.Dash) -> Iterator[Render]:
    """``render(page_module, **params)``: the page's layout built inside a request of the real app."""
    with app.server.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        yield lambda module, /, **params: module.layout(**params)


@pytest.fixture
def render_many(make_app: Callable[..., dash.Dash], app_many_runs_data: Path) -> Iterator[Render]:
    app = make_app(app_many_runs_data)
    with app.server.test_request_context("/"):
        yield lambda module, /, **params: module.layout(**params)


def table_rows(node: object) -> list[Component]:
    return [c for c in walk(node) if str(getattr(c, "id", "")).startswith("run-row-")]


# -- run list ----------------------------------------------------------------------------------------


def test_run_list_newest_first_with_links(render: Render) -> None:
    page = render(run_list)
    rows = table_rows(page)
    assert [r.id for r in rows] == ["run-row-300004", "run-row-300003", "run-row-300000"]
    assert "Showing runs 1–3 of 3" in texts(page)
    row = text(rows[1])
    assert "Run 300003" in row
    assert "Tuesday, 24 Nov 2015 18:24:12 (Europe/Zurich)" in row, "start time in the configured zone"
    links = hrefs(rows[1])
    for sub in ("EMC", "HLT", "TPC"):
        assert f"/runs/300003/{sub}" in links
        assert f"/runs/300003/{sub}/files" in links
    assert "/runs/300004/TPC/files" in hrefs(rows[0]), "TPC read from HLT files still has a files page"
    assert notices(page) == []
    assert {run_list.JUMP_INPUT, run_list.JUMP_BUTTON, run_list.TABLE, run_list.REFRESH} <= set(ids(page))


def test_run_list_is_not_refreshing_without_an_ongoing_run(render: Render) -> None:
    page = render(run_list)
    assert by_id(page, run_list.REFRESH).disabled is True
    assert by_id(page, run_list.ONGOING).children is None


@pytest.mark.parametrize(
    ("page_param", "first", "last", "count"),
    [(None, 1, 50, 50), ("1", 1, 50, 50), ("2", 51, 100, 50), ("3", 101, 120, 20)],
)
def test_run_list_pages_of_50(
    render_many: Render, page_param: str | None, first: int, last: int, count: int
) -> None:
    page = render_many(run_list, page=page_param)
    rows = table_rows(page)
    assert len(rows) == count, "50 per page, never 51"
    assert f"Showing runs {first}–{last} of 120" in texts(page)
    assert notices(page) == []
    everything = [300004, 300003, 300000, *sorted(range(100001, 100118), reverse=True)]
    assert [int(r.id.removeprefix("run-row-")) for r in rows] == everything[first - 1 : last]


def test_run_list_pagination_links(render_many: Render) -> None:
    links = hrefs(by_class(render_many(run_list, page="2"), "pagination"))
    assert links == ["/?page=1", "/?page=1", "/?page=2", "/?page=3", "/?page=3"]


@pytest.mark.parametrize(
    ("page_param", "message", "first", "last"),
    [
        ("abc", "Ignored page='abc': not a whole number.", 1, 50),
        ("0", "Ignored page=0: must be at least 1.", 1, 50),
        ("-3", "Ignored page=-3: must be at least 1.", 1, 50),
        ("2.5", "Ignored page='2.5': not a whole number.", 1, 50),
        ("99999", "There is no page 99999; showing the last page, 3.", 101, 120),
        ("9" * 30, f"There is no page {'9' * 30}; showing the last page, 3.", 101, 120),
    ],
)
def test_run_list_bad_page_is_a_notice(
    render_many: Render, page_param: str, message: str, first: int, last: int
) -> None:
    page = render_many(run_list, page=page_param)
    assert notices(page) == [message]
    assert f"Showing runs {first}–{last} of 120" in texts(page)
    assert len(table_rows(page)) == last - first + 1


def test_run_list_unknown_parameter_is_a_notice(render: Render) -> None:
    page = render(run_list, sort="run", page="1")
    assert notices(page) == ["Ignored unknown parameter 'sort'."]
    assert len(table_rows(page)) == 3


def test_run_list_without_runs(make_app: Callable[..., dash.Dash], tmp_path: Path) -> None:
    app = make_app(tmp_path / "empty")
    with app.server.test_request_context("/"):
        page = run_list.layout()
    assert "No runs yet" in text(page)
    assert table_rows(page) == []


# -- run page ----------------------------------------------------------------------------------------


def sidebar(page: Component) -> Component:
    (nav,) = by_class(page, "run-sidebar")
    return nav


def test_run_page_shows_the_first_group(render: Render) -> None:
    page = render(run_page, run=str(DEMO_RUN), subsystem="EMC")
    assert text(by_id(page, "run-page-title")) == "Run 300003 · EMC"
    header = text(page)
    assert "Started at Tuesday, 24 Nov 2015 18:24:13 (Europe/Zurich)" in header
    assert "8 files" in header
    links = hrefs(page)
    assert "/runs/300003/EMC/files" in links
    assert "/runs/300003/HLT" in links
    assert "/runs/300003/TPC" in links
    assert any("alice-logbook.cern.ch" in link and "300003" in link for link in links)
    main = by_id(page, run_page.MAIN)
    assert [text(h) for h in walk(main) if isinstance(h, html.H4)] == [FIRST_EMC_GROUP]
    assert len(by_class(main, "hist-card")) == 20, "the grid group has its 20 TRUs"
    assert len(graphs(main)) == run_page.EAGER_PLOTS[True], "the first come with the page, the rest lazily"
    assert error_cards(page) == []
    assert notices(page) == []


def test_a_grid_group_is_one_sidebar_entry(render: Render, app: dash.Dash) -> None:
    page = render(run_page, run=str(DEMO_RUN), subsystem="EMC")
    view = services().views.full_run(DEMO_RUN, "EMC")
    grid, listed = view.group(FIRST_EMC_GROUP), view.group(CLUSTER_GROUP)
    assert grid.grid
    assert not listed.grid
    links = hrefs(sidebar(page))
    assert "/runs/300003/EMC?group=FEE+vs+TRU" in links
    assert not any(f"hist={h.name}" in link for h in grid.histograms for link in links)
    assert all(f"/runs/300003/EMC?hist={h.name}" in links for h in listed.histograms)
    assert len(links) == len(view.groups) + sum(len(g.histograms) for g in view.groups if not g.grid)


def test_run_page_group(render: Render) -> None:
    page = render(run_page, run=str(DEMO_RUN), subsystem="EMC", group=CLUSTER_GROUP)
    main = by_id(page, run_page.MAIN)
    assert [text(h) for h in walk(main) if isinstance(h, html.H4)] == [CLUSTER_GROUP]
    assert len(by_class(main, "hist-card")) == 9
    assert len(graphs(main)) == run_page.EAGER_PLOTS[False]
    active = by_class(sidebar(page), "active")
    assert [names(a) for a in active] == [CLUSTER_GROUP]


def test_run_page_one_histogram_with_hot_channels(render: Render) -> None:
    page = render(run_page, run=str(DEMO_RUN), subsystem="EMC", hist=FASTOR_L0)
    main = by_id(page, run_page.MAIN)
    (graph,) = graphs(main)
    assert graph.id == {"type": "hist-graph", "name": FASTOR_L0}
    assert graph.figure.data, "the figure has traces"
    (panel,) = by_class(main, "info-panel")
    assert "Fast OR Hot Channels ID" in text(panel)
    (statistics,) = by_class(panel, "info-statistics")
    assert text(statistics).startswith("Statistics: mean ")
    assert text(statistics).endswith("(from fill-time sums stored in the file)"), "a stored histogram"
    assert statistics.title == text(statistics), "the whole line on hover when it is cut"
    assert {"text-truncate", "text-muted"} <= set(statistics.className.split()), "one small muted line"
    assert by_class(panel, "small"), "the panel is small text"
    assert [names(a) for a in by_class(sidebar(page), "active")] == ["FastORL0"]


def test_run_page_of_a_subsystem_read_from_hlt_files(render: Render) -> None:
    page = render(run_page, run="300004", subsystem="TPC")
    assert text(by_id(page, "run-page-title")) == "Run 300004 · TPC"
    assert "(stored in HLT files)" in text(page)
    assert graphs(by_id(page, run_page.MAIN))
    assert error_cards(page) == []


def test_unknown_run_lists_nearby_runs(render: Render) -> None:
    page = render(run_page, run="300001", subsystem="EMC")
    (card,) = error_cards(page)
    assert "unknown run 300001; valid: 300000, 300003, 300004" in text(card)
    assert hrefs(card) == ["/runs/300000/EMC", "/runs/300003/EMC", "/runs/300004/EMC"]
    assert "/" in hrefs(page), "a way back to the run list"


def test_unknown_subsystem_lists_the_subsystems(render: Render) -> None:
    page = render(run_page, run=str(DEMO_RUN), subsystem="PHS")
    (card,) = error_cards(page)
    assert "'PHS'; valid: EMC, HLT, TPC" in text(card)
    assert hrefs(card) == ["/runs/300003/EMC", "/runs/300003/HLT", "/runs/300003/TPC"]


def test_unknown_group_lists_the_groups(render: Render) -> None:
    page = render(run_page, run=str(DEMO_RUN), subsystem="EMC", group="No such group")
    (card,) = error_cards(page)
    assert "unknown group of EMC in run 300003 'No such group'; valid: FEE vs TRU, FEE vs STU" in text(card)
    assert "/runs/300003/EMC?group=EMCal+cluster+level" in hrefs(card)
    assert hrefs(sidebar(page)), "the sidebar is still there to choose from"


def test_unknown_histogram_lists_the_histograms(render: Render) -> None:
    page = render(run_page, run=str(DEMO_RUN), subsystem="EMC", hist="EMCTRQA_histNoSuch")
    (card,) = error_cards(page)
    assert "unknown histogram of EMC in run 300003 'EMCTRQA_histNoSuch'" in text(card)
    assert FASTOR_L0 in text(card)
    assert f"/runs/300003/EMC?hist={FASTOR_L0}" in hrefs(card)


@pytest.mark.parametrize("run", ["abc", "-5", "3e5", ""])
def test_malformed_run_is_not_found(render: Render, run: str) -> None:
    page = render(run_page, run=run, subsystem="EMC")
    (card,) = error_cards(page)
    assert f"unknown run {run!r}" in text(card)
    assert "/" in hrefs(page)


def test_run_page_unknown_parameter_is_a_notice(render: Render) -> None:
    page = render(run_page, run=str(DEMO_RUN), subsystem="EMC", colour="red")
    assert notices(page) == ["Ignored unknown parameter 'colour'."]
    assert graphs(by_id(page, run_page.MAIN))


def test_run_page_title() -> None:
    assert run_page.title(run="300003", subsystem="EMC") == "Overwatch — Run 300003 EMC"


# -- ROOT files page ---------------------------------------------------------------------------------


def test_root_files_lists_downloads(render: Render, app_data: Path) -> None:
    page = render(root_files, run=str(DEMO_RUN), subsystem="EMC")
    listing = by_id(page, "root-file-list")
    links = [c for c in walk(listing) if isinstance(c, html.A)]
    stored = sorted(
        p.relative_to(app_data).as_posix() for p in (app_data / "Run300003" / "EMC").glob("*.root")
    )
    assert [a.href for a in links] == [f"/files/{path}" for path in stored]
    assert [a.download for a in links] == [path.rsplit("/", 1)[1] for path in stored]
    assert texts(links[0]) == ["2015-11-24 18:24:13"]
    assert "All times in Europe/Zurich." in text(page)
    assert "/runs/300003/EMC" in hrefs(page)


def test_root_files_of_a_subsystem_read_from_hlt_files(render: Render) -> None:
    page = render(root_files, run="300004", subsystem="TPC")
    assert "Run 300004 TPC ROOT files (stored in HLT files)" in texts(page)
    assert all(
        href.startswith("/files/Run300004/HLT/HLThists.") for href in hrefs(by_id(page, "root-file-list"))
    )


def test_root_files_unknown_subsystem(render: Render) -> None:
    (card,) = error_cards(render(root_files, run=str(DEMO_RUN), subsystem="PHS"))
    assert "'PHS'; valid: EMC, HLT, TPC" in text(card)
    assert hrefs(card) == ["/runs/300003/EMC/files", "/runs/300003/HLT/files", "/runs/300003/TPC/files"]


@pytest.mark.parametrize(
    ("run", "shown"), [("300001", "300001"), ("abc", "'abc'"), ("9" * 30, "9" * 30), ("-5", "'-5'")]
)
def test_root_files_unknown_run_lists_runs(render: Render, run: str, shown: str) -> None:
    (card,) = error_cards(render(root_files, run=run, subsystem="EMC"))
    assert f"unknown run {shown}; valid: " in text(card)
    assert "300000, 300003, 300004" in text(card)
    assert "/runs/300003/EMC/files" in hrefs(card)


# -- 404 page ----------------------------------------------------------------------------------------


def test_not_found_page(render: Render) -> None:
    page = render(not_found)
    (card,) = error_cards(page)
    assert texts(card) == ["Page not found", "There is no page at this address."]
    assert hrefs(page) == ["/"]
    assert not_found.title() == "Overwatch — Page not found"


# -- callbacks, called directly -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "target", "message"),
    [
        (300003, "/runs/300003/EMC", ""),
        ("300004", "/runs/300004/EMC", ""),
        (300001, None, "unknown run 300001; valid: 300000, 300003, 300004"),
        (None, None, "Type a run number."),
        ("", None, "Type a run number."),
        ("abc", None, "Type a run number."),
        (3.5, None, "Type a run number."),
        (10**30, None, f"unknown run {10**30}; valid: 300000, 300003, 300004"),
    ],
)
def test_jump_target(app: dash.Dash, value: object, target: str | None, message: str) -> None:
    with app.server.test_request_context("/"):
        assert jump_target(value) == (target, message)


def test_newest_file(app: dash.Dash, app_data: Path) -> None:
    with app.server.test_request_context("/"):
        newest = newest_file(DEMO_RUN, "EMC")
        assert newest_file(300004, "TPC").startswith("Run300004/HLT/HLThists.")
    assert newest == max(p.relative_to(app_data).as_posix() for p in (app_data / "Run300003/EMC").glob("*"))


def callback_body(client: FlaskClient, trigger: str, values: dict[str, object]) -> dict[str, Any]:
    """The body Dash's renderer posts for the callback that ``trigger`` ("id.property") fires."""
    dependencies = client.get("/_dash-dependencies").get_json()
    (dep,) = [d for d in dependencies if any(f"{i['id']}.{i['property']}" == trigger for i in d["inputs"])]

    def with_values(items: list[dict[str, str]]) -> list[dict[str, object]]:
        return [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in items]

    outputs = [part.split(".", 1) for part in dep["output"].strip(".").split("...")]
    return {
        "output": dep["output"],
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": with_values(dep["inputs"]),
        "state": with_values(dep["state"]),
        "changedPropIds": [trigger],
    }


def fire(client: FlaskClient, trigger: str, **values: object) -> TestResponse:
    """Run a callback over HTTP like the browser (CSRF header from the cookie); values by "id.prop"."""
    named = {k.replace("__", "."): v for k, v in values.items()}
    cookie = client.get_cookie("_csrf_token")
    assert cookie is not None
    body = callback_body(client, trigger, {trigger: 1, **named})
    return client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": cookie.value})


def test_jump_callback(logged_in_client: FlaskClient) -> None:
    trigger = f"{run_list.JUMP_BUTTON}.n_clicks"
    good = fire(logged_in_client, trigger, **{f"{run_list.JUMP_INPUT}__value": 300003})
    assert good.get_json()["response"] == {
        "url": {"href": "/runs/300003/EMC"},
        run_list.JUMP_FEEDBACK: {"children": ""},
    }
    unknown = fire(logged_in_client, trigger, **{f"{run_list.JUMP_INPUT}__value": 300001})
    response = unknown.get_json()["response"]
    assert "url" not in response, "no navigation"
    assert "unknown run 300001; valid: 300000, 300003, 300004" in str(response[run_list.JUMP_FEEDBACK])
    empty = fire(logged_in_client, f"{run_list.JUMP_INPUT}.n_submit")
    assert "Type a run number." in str(empty.get_json()["response"][run_list.JUMP_FEEDBACK])


def test_run_list_refresh_callback(logged_in_client: FlaskClient) -> None:
    response = fire(
        logged_in_client, f"{run_list.REFRESH}.n_intervals", **{f"{run_list.PAGE_STORE}__data": 1}
    ).get_json()["response"]
    assert response[run_list.REFRESH] == {"disabled": True}, "no ongoing run: refreshing stops"
    assert "Showing runs 1–3 of 3" in str(response[run_list.TABLE])


def test_run_page_live_callback(logged_in_client: FlaskClient, app: dash.Dash) -> None:
    with app.server.test_request_context("/"):
        newest = newest_file(DEMO_RUN, "EMC")
    query = {"run": DEMO_RUN, "subsystem": "EMC", "group": CLUSTER_GROUP, "hist": None}
    trigger = f"{run_page.LIVE}.n_intervals"
    state = {f"{run_page.QUERY}__data": query}
    unchanged = fire(logged_in_client, trigger, **state, **{f"{run_page.LATEST}__data": newest})
    over = unchanged.get_json()["response"]
    assert run_page.MAIN not in over, "nothing new: the plots stay"
    assert over[run_page.LIVE] == {"disabled": True}, "the run is over: refreshing stops"
    assert "Run 300003 · EMC" in str(over[run_page.HEADER]), "the header is redrawn once"
    assert "ongoing" not in str(over[run_page.HEADER]), "without the ongoing badge"
    changed = fire(logged_in_client, trigger, **state, **{f"{run_page.LATEST}__data": "older.root"})
    response = changed.get_json()["response"]
    assert response[run_page.LATEST] == {"data": newest}
    assert CLUSTER_GROUP in str(response[run_page.MAIN]), "the chosen group is kept"
