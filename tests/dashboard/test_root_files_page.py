"""The ROOT files page: processing problems next to each file, every key of the files, hostile names shown
as text and linked to the right histogram through the URL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import dash
import pytest
from dash import dcc, html
from dash._pages import _parse_query_string
from dash.development.base_component import Component
from flask.testing import FlaskClient
from flask_login import login_user
from werkzeug.test import TestResponse

from dashboard.auth import SessionUser
from dashboard.pages import root_files, run_page
from dashboard.pages.root_files import KeyRow, key_rows
from dashboard.services import services
from overwatch_core.catalog import FileReport
from overwatch_core.errors import OverwatchError
from overwatch_core.histograms import NOT_A_HISTOGRAM
from overwatch_core.users import User
from tests.dashboard.component_tree import by_class, by_id, ids, text, walk
from tests.dashboard.conftest import add_app_user, copy_demo
from tests.dashboard.dash_http import router
from tests.dashboard.hostile_run import (
    FIRST,
    IN_DIRECTORY_TPC,
    NAMES,
    NOTE,
    PROBLEM,
    RUN,
    SECOND,
    SKIPPED,
    TOP_LEVEL_TPC,
    UNDECODABLE_NAME,
    UNDECODABLE_REASON,
    write_hostile_run,
)

Page = Callable[..., Component]


@pytest.fixture(scope="module")
def hostile_data(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data plus run 400100 (HLT files with hostile names and problems), with APP_USER."""
    data = copy_demo(demo_data, tmp_path_factory.mktemp("hostile") / "data")
    write_hostile_run(data)
    add_app_user(data)
    return data


@pytest.fixture
def hostile_app(make_app: Callable[..., dash.Dash], hostile_data: Path) -> dash.Dash:
    return make_app(hostile_data)


@pytest.fixture
def page(hostile_app: dash.Dash) -> Iterator[Page]:
    """``page(module, **params)``: a layout built inside a request of the app, logged in."""
    with hostile_app.server.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        yield lambda module, /, **params: module.layout(**params)


def files_page(page: Page, run: int = RUN, subsystem: str = "HLT") -> Component:
    return page(root_files, run=str(run), subsystem=subsystem)


def file_item(listing: Component, path: str) -> Component:
    (item,) = [c for c in walk(listing) if isinstance(c, html.Li) and f"/files/{path}" in _hrefs(c)]
    return item


def _hrefs(node: object) -> list[str]:
    return [c.href for c in walk(node) if getattr(c, "href", None)]


def key_table_rows(node: Component) -> list[Component]:
    return [c for c in walk(by_id(node, root_files.KEYS)) if isinstance(c, html.Tr)][1:]  # no header


def row_of(node: Component, name: str) -> Component:
    (row,) = [r for r in key_table_rows(node) if text(r.children[0]) == name]
    return row


def hist_link(row: Component) -> str | None:
    links = [c for c in walk(row.children[0]) if isinstance(c, dcc.Link)]
    return links[0].href if links else None


# -- processing problems next to the files --------------------------------------------------------------


def test_a_failed_file_shows_its_problem_in_red_next_to_its_link(page: Page) -> None:
    listing = by_id(files_page(page), root_files.FILE_LIST)
    item = file_item(listing, FIRST)
    (problem, undecodable) = by_class(item, "file-problem")
    assert text(problem) == f"failed{PROBLEM}"
    assert problem.children[0].color == "danger"
    assert "text-danger" in problem.children[1].className
    assert text(undecodable) == "1 undecodablea?b&c", "a histogram this file could not decode"
    assert by_class(item, "file-note") == []


def test_a_recovered_file_shows_its_note_with_a_warning_badge(page: Page) -> None:
    item = file_item(by_id(files_page(page), root_files.FILE_LIST), SECOND)
    (note,) = by_class(item, "file-note")
    assert text(note) == f"note{NOTE}"
    assert note.children[0].color == "warning"
    (undecodable,) = by_class(item, "file-problem")
    assert text(undecodable) == f"1 undecodable{UNDECODABLE_NAME}"


def test_a_summary_line_counts_the_problems(page: Page) -> None:
    summary = by_id(files_page(page), root_files.PROBLEMS)
    assert text(summary) == (
        "1 file failed processing; 2 undecodable objects; 1 file read with a note (marked below)."
    )
    assert "text-danger" in summary.className


def test_files_without_problems_have_no_marks_and_a_closed_key_list(page: Page) -> None:
    demo = files_page(page, 300003, "EMC")
    assert by_class(demo, "file-problem") == by_class(demo, "file-note") == []
    assert root_files.PROBLEMS not in ids(demo)
    assert by_id(demo, root_files.KEYS).open is False, "compact: the key list starts collapsed"


# -- every key of the files -----------------------------------------------------------------------------


def test_every_key_is_listed_with_its_class_and_why_it_is_not_drawn(page: Page) -> None:
    shown = files_page(page)
    names = [text(r.children[0]) for r in key_table_rows(shown)]
    assert names == sorted({*NAMES, *SKIPPED})
    assert text(row_of(shown, "events tree").children[1]) == "TTree"
    assert text(row_of(shown, "events tree").children[2]) == NOT_A_HISTOGRAM, "in both files: no count"
    assert text(row_of(shown, "g/raph").children[2]) == f"{NOT_A_HISTOGRAM} (in 1 of 2 files)"
    assert text(row_of(shown, "hist#1").children[1]) == "TH1F"
    assert text(row_of(shown, "hist#1").children[2]) == ""
    summary = by_id(shown, root_files.KEYS).children[0]
    assert text(summary) == "Keys in the files: 13 histograms, 2 other objects 2 undecodable"


def test_undecodable_histograms_are_marked_as_problems_and_open_the_list(page: Page) -> None:
    shown = files_page(page)
    keys = by_id(shown, root_files.KEYS)
    assert keys.open is True
    problems = [text(r.children[0]) for r in by_class(keys, "key-problem")]
    assert problems == ["a?b&c", UNDECODABLE_NAME]
    broken = row_of(shown, UNDECODABLE_NAME)
    assert "table-danger" in broken.className
    assert text(broken.children[2]) == f"{UNDECODABLE_REASON} (in 1 of 2 files)"
    assert hist_link(broken) is None, "never decoded: nothing to show"
    partly = row_of(shown, "a?b&c")
    assert text(partly.children[2]) == "cannot decode: truncated (in 1 of 2 files)"
    assert hist_link(partly) is not None, "the newest file has it: the run page shows it"


def test_a_directory_and_a_slash_named_key_are_two_rows_with_two_links(page: Page) -> None:
    shown = files_page(page)
    directory, top_level = hist_link(row_of(shown, IN_DIRECTORY_TPC)), hist_link(row_of(shown, TOP_LEVEL_TPC))
    assert directory == f"/runs/{RUN}/HLT?hist=TPCQA%2Fh_tpc_event_recvertex_0"
    assert top_level == f"/runs/{RUN}/HLT?hist=TPCQA%252Fh_tpc_event_recvertex_0"


def test_names_and_problems_are_plain_text(page: Page) -> None:
    shown = files_page(page)
    strings = [c for c in walk(shown) if isinstance(getattr(c, "children", None), str)]
    assert any(c.children == "<b>bold</b>" for c in strings), "the name as text, escaped by React"
    assert any(PROBLEM in c.children for c in strings)
    assert not [c for c in walk(shown) if isinstance(c, dcc.Markdown)]
    assert not [c for c in walk(shown) if getattr(c, "dangerously_allow_html", False)]
    assert all(isinstance(i, str) and "." not in i and "{" not in i for i in ids(shown)), "valid ids"


def test_stacked_histograms_link_to_their_stack(page: Page) -> None:
    shown = files_page(page, 300003, "EMC")
    stacked = [r for r in key_table_rows(shown) if text(r.children[2]).startswith("drawn in ")]
    assert stacked, "the EMC demo data has EMCal/DCal stacks"
    for row in stacked:
        target = text(row.children[2]).removeprefix("drawn in ")
        query = urlsplit(hist_link(row) or "").query
        assert _parse_query_string(f"?{query}") == {"hist": target}


def test_histograms_of_hlt_files_that_another_subsystem_does_not_draw_are_not_linked(page: Page) -> None:
    shown = files_page(page, 300004, "TPC")
    rows = key_table_rows(shown)
    unlinked = [r for r in rows if hist_link(r) is None]
    assert unlinked, "HLT's own histograms"
    assert all(text(r.children[2]) == "not drawn on the TPC run page" for r in unlinked)
    assert any(hist_link(r) is not None for r in rows), "TPC's histograms in the HLT files"


def test_without_a_run_page_view_the_keys_are_listed_unlinked(
    page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise OverwatchError("newest file is missing")

    monkeypatch.setattr(services().views, "full_run", broken)
    shown = files_page(page)
    assert len(key_table_rows(shown)) == len({*NAMES, *SKIPPED})
    assert all(hist_link(r) is None for r in key_table_rows(shown))


def test_key_rows_prefer_the_undecodable_reason_and_count_files() -> None:
    reports = {
        "one": FileReport(
            "one", "done", None, None, {"h": ("TH1F", "cannot decode: x"), "t": ("TTree", "other")}
        ),
        "two": FileReport("two", "done", None, None, {"h": ("TH1F", "not drawn"), "t": ("TTree", "other")}),
    }
    rows = key_rows({"h": "TH1F", "k": "TH2F"}, reports, {"h": "h", "k": "stack"})
    assert rows == [
        KeyRow("h", "TH1F", "cannot decode: x (in 1 of 2 files)", True, "h"),
        KeyRow("k", "TH2F", None, False, "stack"),
        KeyRow("t", "TTree", "other", False, None),
    ]


# -- names survive the round trip URL → page → the histogram shown -------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_each_link_shows_its_histogram(page: Page, name: str) -> None:
    """The link's query, parsed as Dash's router parses it, makes the run page draw exactly that one."""
    href = hist_link(row_of(files_page(page), name))
    assert href is not None
    parts = urlsplit(href)
    assert parts.path == f"/runs/{RUN}/HLT"
    assert parts.fragment == "", "a # in a name is encoded, never a fragment"
    params = _parse_query_string(f"?{parts.query}")
    assert params == {"hist": name}
    shown = page(run_page, run=str(RUN), subsystem="HLT", **params)
    (graph,) = [c for c in walk(by_id(shown, run_page.MAIN)) if isinstance(c, dcc.Graph)]
    assert graph.id == {"type": "hist-graph", "name": name}
    assert [text(a) for a in by_class(shown, "active")] == [name], "the sidebar marks it"


@pytest.mark.parametrize("name", ["a?b&c", "hist#1", "../../etc/passwd", TOP_LEVEL_TPC, IN_DIRECTORY_TPC])
def test_the_router_over_http_shows_the_histogram_of_the_link(
    hostile_app: dash.Dash, app_login: Callable[[FlaskClient], TestResponse], name: str
) -> None:
    with hostile_app.server.test_request_context("/"):
        href = hist_link(row_of(root_files.layout(run=str(RUN), subsystem="HLT"), name))
    assert href is not None
    client = hostile_app.server.test_client()
    app_login(client)
    response = router(client, href)
    assert response.status_code == 200
    content = json.dumps(response.get_json()["response"]["_pages_content"])
    graphs = [g["name"] for g in _graph_ids(response.get_json())]
    assert graphs == [name], content[:300]


def _graph_ids(body: object) -> Iterator[dict[str, str]]:
    if isinstance(body, dict):
        if body.get("type") == "hist-graph" and "name" in body:
            yield body
        for value in body.values():
            yield from _graph_ids(value)
    elif isinstance(body, list):
        for value in body:
            yield from _graph_ids(value)


def test_the_files_page_over_http_lists_the_hostile_names(
    hostile_app: dash.Dash, app_login: Callable[[FlaskClient], TestResponse]
) -> None:
    client = hostile_app.server.test_client()
    app_login(client)
    response = router(client, f"/runs/{RUN}/HLT/files")
    content = json.dumps(response.get_json()["response"]["_pages_content"])
    assert json.dumps("<b>bold</b>") in content, "a JSON string: React renders it as text"
    assert json.dumps(PROBLEM) in content
