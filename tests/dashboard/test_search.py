"""The header search: fuzzy scorer, run numbers, links, and the callback over HTTP (login needed)."""

from __future__ import annotations

import dash
import pytest
from flask.testing import FlaskClient
from flask_login import login_user

from dashboard import search
from dashboard.auth import SessionUser
from dashboard.callbacks.search import histogram_entries
from dashboard.pages import run_page
from overwatch_core.users import User
from tests.dashboard.component_tree import by_id, hrefs, text
from tests.dashboard.dash_http import fire

ENTRIES = [
    search.Entry("EMCTRQA_histFastORL0", "FastOR L0 hits", "FastOR"),
    search.Entry("EMCTRQA_histFastORL1Amp", "FastOR L1 amplitude", "FastOR"),
    search.Entry("EMCTRQA_histEMCalMaxPatchAmpEMC", "EMCal max patch amplitude", "Patches"),
    search.Entry("fHistClusterEnergy", "Cluster energy", "Clusters"),
]


def names(found: list[search.Entry]) -> list[str]:
    return [e.name for e in found]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("fastorl0", "EMCTRQA_histFastORL0"),  # a substring, case-blind
        ("FastOR L1", "EMCTRQA_histFastORL1Amp"),  # every word matches the pretty name
        ("maxpatch", "EMCTRQA_histEMCalMaxPatchAmpEMC"),
        ("clen", "fHistClusterEnergy"),  # a subsequence over word starts
        ("cluster energy", "fHistClusterEnergy"),
    ],
)
def test_best_match_first(query: str, first: str) -> None:
    assert names(search.find_histograms(query, ENTRIES))[0] == first


def test_no_match_and_blank_query() -> None:
    assert search.find_histograms("zzz", ENTRIES) == []
    assert search.find_histograms("   ", ENTRIES) == []
    assert search.score("ab", "ba") is None, "characters must come in order"


def test_results_are_bounded() -> None:
    many = [search.Entry(f"hist{i}", f"Histogram {i}", "G") for i in range(100)]
    assert len(search.find_histograms("hist", many)) == search.LIMIT


def test_word_starts() -> None:
    assert search.word_starts("fHistClusterEnergy") == {0, 1, 5, 12}
    assert search.word_starts("EMCTRQA_histFastORL0") == {0, 8, 12, 16, 19}


def test_runs_by_number() -> None:
    numbers = [100, 300000, 300003, 300004, 1300003]
    assert search.find_runs("300003", numbers) == [300003, 1300003], "the run itself first"
    assert search.find_runs("3000", numbers) == [300004, 300003, 300000, 1300003], "prefix, newest first"
    assert search.find_runs("30a", numbers) == []
    assert len(search.find_runs("1", list(range(1000)))) == search.LIMIT


def test_place_and_links_keep_the_time_slice_and_switches() -> None:
    query = "?from=1&to=6&threshold=0&scale=1&group=FastOR&problems=1&ref=1&hist=old"
    place = search.place_of("/runs/300003/EMC", query)
    assert place == search.Place(
        300003,
        "EMC",
        (("from", "1"), ("to", "6"), ("threshold", "0"), ("scale", "1"), ("problems", "1"), ("ref", "1")),
    )
    assert (
        search.histogram_href(place, "a b")
        == "/runs/300003/EMC?from=1&to=6&threshold=0&scale=1&problems=1&ref=1&hist=a+b"
    ), "the group and the old histogram are not kept; the slice and the switches are"
    assert search.place_of("/trending", "") == search.Place(None, None)
    assert search.place_of("/runs/300003/EMC/files", "").subsystem == "EMC"
    assert search.run_href(5, ["EMC", "HLT"], "HLT") == "/runs/5/HLT"
    assert search.run_href(5, ["EMC", "HLT"], "TPC") == "/runs/5/EMC", "else the first subsystem"
    assert search.run_href(5, [], "TPC") == "/"


def json_hrefs(node: object) -> list[str]:
    """The links of a callback's JSON answer (components as {"type", "namespace", "props"})."""
    if isinstance(node, list):
        return [h for child in node for h in json_hrefs(child)]
    if not isinstance(node, dict):
        return []
    props = node.get("props", {})
    own = [props["href"]] if "href" in props else []
    return own + json_hrefs(props.get("children"))


def request(query: str, path: str = "/runs/300003/EMC", where: str = "") -> dict[str, object]:
    return {f"{search.REQUEST}.data": {"q": query, "path": path, "search": where}}


def test_callback_finds_histograms_across_groups(logged_in_client: FlaskClient, app: dash.Dash) -> None:
    response = fire(logged_in_client, f"{search.REQUEST}.data", request("fastorl0", where="?from=1&to=6"))
    answer = response.get_json()["response"][search.RESULTS]
    assert "show" in answer["className"]
    links = json_hrefs(answer["children"])
    assert links[0] == "/runs/300003/EMC?from=1&to=6&hist=EMCTRQA_histFastORL0"
    assert 1 <= len(links) <= search.LIMIT
    with app.server.test_request_context("/"):
        groups = {e.group for e in histogram_entries(300003, "EMC")}
    assert len(groups) > 3, "every group of the subsystem is searched"


def test_callback_finds_runs_anywhere(logged_in_client: FlaskClient) -> None:
    response = fire(logged_in_client, f"{search.REQUEST}.data", request("30000", path="/trending"))
    answer = response.get_json()["response"][search.RESULTS]
    assert json_hrefs(answer["children"]) == ["/runs/300004/EMC", "/runs/300003/EMC", "/runs/300000/EMC"]
    nothing = fire(logged_in_client, f"{search.REQUEST}.data", request("qqqqq"))
    assert "Nothing found" in str(nothing.get_json()["response"][search.RESULTS]["children"])
    empty = fire(logged_in_client, f"{search.REQUEST}.data", request(""))
    assert empty.get_json()["response"][search.RESULTS] == {
        "children": [],
        "className": "dropdown-menu search-results",
    }


def test_callback_needs_a_login(app_client: FlaskClient) -> None:
    body = {
        "output": "..search-results.children...search-results.className...",
        "outputs": [
            {"id": search.RESULTS, "property": "children"},
            {"id": search.RESULTS, "property": "className"},
        ],
        "inputs": [{"id": search.REQUEST, "property": "data", "value": {"q": "fastor", "path": "/"}}],
        "changedPropIds": [f"{search.REQUEST}.data"],
    }
    response = app_client.post("/_dash-update-component", json=body)
    assert response.status_code == 401
    assert app_client.get("/_dash-dependencies").status_code == 401


@pytest.mark.parametrize(("run", "before", "after"), [(300003, 300000, 300004), (300000, None, 300003)])
def test_header_links_neighbouring_runs(app: dash.Dash, run: int, before: int | None, after: int) -> None:
    with app.server.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        page = run_page.layout(run=str(run), subsystem="EMC")
    previous = by_id(page, run_page.PREVIOUS_RUN)
    if before is None:
        assert text(previous) == "← Previous: none"
    else:
        assert previous.href == f"/runs/{before}/EMC"
    assert by_id(page, run_page.NEXT_RUN).href == f"/runs/{after}/EMC"
    assert text(by_id(page, run_page.NEXT_RUN)) == f"Next: run {after} →"


def test_header_links_other_subsystems(app: dash.Dash) -> None:
    with app.server.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        page = run_page.layout(run="300004", subsystem="TPC")
    assert by_id(page, run_page.PREVIOUS_RUN).href == "/runs/300003/TPC"
    assert {"/runs/300004/EMC", "/runs/300004/HLT"} <= set(hrefs(page))
