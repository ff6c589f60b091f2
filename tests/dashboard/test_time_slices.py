"""Time slices on the run page without a browser: validation, the cached path, the URL state, compute."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import dash
import pytest
from dash.development.base_component import Component
from flask.testing import FlaskClient
from flask_login import login_user
from werkzeug.test import TestResponse

from dashboard import hot_channels
from dashboard import time_slice_panel as ts
from dashboard.auth import SessionUser
from dashboard.callbacks.time_slices import job, job_result, slice_href, validate
from dashboard.pages import run_page
from dashboard.services import services
from overwatch_core.demo import HOT_FASTOR_IDS, HOT_FROM_MINUTE
from overwatch_core.errors import OverwatchError
from overwatch_core.subsystems.base import ProcessingOptions
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.users import User
from tests.dashboard.component_tree import by_id, text, walk
from tests.dashboard.dash_http import fire

HOT_RUN = 300003  # hot FastORs 517, 2222, 3931 from minute 5; 8 files, 7 minutes
RUN_LENGTH = 7
GROUP = "FastOR"
FASTOR_L0 = "EMCTRQA_histFastORL0"
CONTEXT = {
    "run": HOT_RUN,
    "subsystem": "EMC",
    "group": GROUP,
    "hist": None,
    "slice": False,
    "user": "x",
    "request": None,
    "href": "/runs/300003/EMC?group=FastOR",
}
EMC_DEFAULTS = ProcessingOptions(scale_hists=True, hot_channel_threshold=0)
HOT_LIST = ", ".join(str(i) for i in HOT_FASTOR_IDS)


# -- searching a component tree ------------------------------------------------------------------------


def find(node: object, wanted: object) -> list[Component]:
    return [c for c in walk(node) if getattr(c, "id", None) == wanted]


def info_panels(node: object) -> list[str]:
    return [text(c) for c in walk(node) if "info-panel" in (getattr(c, "className", None) or "").split()]


def warnings(node: object) -> list[str]:
    return [text(c) for c in walk(node) if getattr(c, "color", None) == "warning"]


# -- apps ------------------------------------------------------------------------------------------------


@pytest.fixture
def fresh_app(make_app: Callable[..., dash.Dash], make_app_data: Callable[[], Path]) -> dash.Dash:
    """The real app on its own copy of the demo data: its view cache starts empty."""
    return make_app(make_app_data())


def logged_in_request(app: dash.Dash) -> Iterator[dash.Dash]:
    """A request of ``app`` with a logged-in shifter (what layouts and callbacks run inside)."""
    with app.server.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        yield app


@pytest.fixture
def in_request(fresh_app: dash.Dash) -> Iterator[dash.Dash]:
    """A request of ``fresh_app`` (an empty view cache)."""
    yield from logged_in_request(fresh_app)


@pytest.fixture
def in_shared_request(app: dash.Dash) -> Iterator[dash.Dash]:
    """A request of the real app on the shared demo copy (its view cache may hold anything)."""
    yield from logged_in_request(app)


# -- validate: the message next to the controls ----------------------------------------------------------


@pytest.mark.usefixtures("in_shared_request")
def test_a_valid_window_is_a_request() -> None:
    assert validate([5, 7], 100, True, CONTEXT) == TimeSliceRequest(5, 7, True, 100)
    # The number box and the slider may send floats; whole ones are fine.
    assert validate([5.0, 7.0], 100.0, False, CONTEXT) == TimeSliceRequest(5, 7, False, 100)
    assert validate([0, RUN_LENGTH], 0, True, {**CONTEXT, "group": None}) == TimeSliceRequest(0, 7, True, 0)
    assert validate([1, 2], 0, True, {**CONTEXT, "group": None, "hist": FASTOR_L0}).max_time == 2


@pytest.mark.usefixtures("in_shared_request")
@pytest.mark.parametrize(
    ("window", "threshold", "context", "message"),
    [
        ([5, 5], 0, CONTEXT, "max_time (5 min) must be greater than min_time (5 min)"),
        ([6, 2], 0, CONTEXT, "max_time (2 min) must be greater than min_time (6 min)"),
        ([-1, 3], 0, CONTEXT, "min_time must be at least 0 minutes, got -1"),
        (
            [0, 30],
            0,
            CONTEXT,
            "max_time 30 min is beyond the run, which is 7 min long (valid: 0–7)",
        ),
        ([0, 8], 0, CONTEXT, "which is 7 min long"),
        ([5, 7], 1001, CONTEXT, "hot_channel_threshold must be between 0 and 1000, got 1001"),
        ([5, 7], -1, CONTEXT, "hot_channel_threshold must be between 0 and 1000, got -1"),
        ([5, 7], 2.5, CONTEXT, "hot_channel_threshold must be an integer 0–1000, got 2.5"),
        ([5, 7], "abc", CONTEXT, "hot_channel_threshold must be an integer 0–1000, got 'abc'"),
        ([5, 7], None, CONTEXT, "hot_channel_threshold must be an integer 0–1000, got None"),
        ([5, 7], True, CONTEXT, "hot_channel_threshold must be an integer 0–1000, got True"),
        (["a", 7], 0, CONTEXT, "window end must be a number, got 'a'"),
        ([float("nan"), 7], 0, CONTEXT, "window end must be a finite number, got nan"),
        ([5], 0, CONTEXT, "choose a window with two ends"),
        (None, 0, CONTEXT, "choose a window with two ends"),
        (
            [5, 7],
            0,
            {**CONTEXT, "group": "No such group"},
            "unknown group of EMC in run 300003 'No such group'; valid: FEE vs TRU, FEE vs STU",
        ),
        (
            [5, 7],
            0,
            {**CONTEXT, "group": None, "hist": "hNope"},
            "unknown histogram of EMC in run 300003 'hNope'; valid: ",
        ),
        ([5, 7], 0, {**CONTEXT, "run": 300001}, "unknown run 300001; valid: 300000, 300003, 300004"),
        ([5, 7], 0, {**CONTEXT, "subsystem": "PHS"}, "'PHS'; valid: EMC, HLT, TPC"),
    ],
)
def test_validation_messages(window: Any, threshold: object, context: dict[str, Any], message: str) -> None:
    with pytest.raises(OverwatchError) as caught:
        validate(window, threshold, True, context)
    assert message in str(caught.value)


# -- the run page: cached slices are drawn at once, others are computed through PENDING ---------------------


def render_run_page(**params: object) -> Component:
    return run_page.layout(run=str(HOT_RUN), subsystem="EMC", **params)


def slice_params(request: TimeSliceRequest) -> dict[str, str]:
    return dict(parse_qsl(ts.query_string(request, None, None).lstrip("?")))


def test_a_cached_slice_is_drawn_directly_and_an_uncached_one_pending(in_request: dash.Dash) -> None:
    cached = TimeSliceRequest(HOT_FROM_MINUTE, RUN_LENGTH, True, 100)
    view = services().views.time_slice(HOT_RUN, "EMC", cached)
    assert not view.from_cache

    page = render_run_page(group=GROUP, **slice_params(cached))
    assert text(by_id(page, ts.BANNER)) == (
        f"Time slice: requested 5–7 min, shown 5–7 min (nearest files), scaled by {view.n_events:g} events, "
        "threshold 100"
    )
    assert by_id(page, ts.PENDING).data is None, "nothing left to compute"
    assert "Computing" not in text(by_id(page, run_page.MAIN))
    l0_info = info_panels(page)[0]
    assert l0_info.startswith(f"Threshold: 0.1Fast OR Hot Channels ID: {HOT_LIST}Statistics: mean "), "L0"
    assert l0_info.endswith("(from bin centres: a computed histogram, as ROOT after a subtraction)")
    assert by_id(page, ts.RANGE).value == [5, 7], "the controls show the slice"
    assert by_id(page, ts.THRESHOLD).value == 100
    assert by_id(page, ts.SCALE).value is True
    context = by_id(page, run_page.QUERY).data
    assert context["slice"] is True
    assert context["request"] == asdict(cached)
    assert context["href"] == "/runs/300003/EMC?from=5&to=7&threshold=100&scale=1&group=FastOR"

    uncached = TimeSliceRequest(2, 6, False, 100)
    page = render_run_page(group=GROUP, **slice_params(uncached))
    assert find(page, ts.BANNER) == []
    assert text(by_id(page, run_page.MAIN)) == "Computing the time slice…"
    assert by_id(page, ts.PENDING).data == asdict(uncached)
    assert by_id(page, ts.RANGE).value == [2, 6]
    assert by_id(page, ts.SCALE).value is False
    assert services().views.cached_time_slice(HOT_RUN, "EMC", uncached) is None, "the page computed nothing"


@pytest.mark.usefixtures("in_request")
def test_the_full_run_asked_for_as_a_slice_is_the_full_run_view() -> None:
    page = render_run_page(**{"from": "0", "to": "7", "threshold": "0", "scale": "1"})
    assert find(page, ts.BANNER) == []
    assert by_id(page, ts.PENDING).data is None
    assert text(by_id(page, "view-description")).startswith("Full run (newest file)")


@pytest.mark.usefixtures("in_shared_request")
def test_the_plain_run_page_has_the_panel_at_the_full_run() -> None:
    page = render_run_page()
    assert by_id(page, ts.RANGE).value == [0, RUN_LENGTH]
    assert by_id(page, ts.RANGE).max == RUN_LENGTH
    assert sorted(by_id(page, ts.RANGE).marks) == list(range(8)), "a mark at every file's minute"
    assert by_id(page, ts.THRESHOLD).value == 0
    assert by_id(page, ts.PENDING).data is None
    assert by_id(page, ts.CANCEL).disabled is True
    assert by_id(page, ts.PROGRESS_WRAP).style == {"display": "none"}
    assert text(by_id(page, ts.WINDOW)) == "Window: 0–7 min"
    assert warnings(page) == []


@pytest.mark.usefixtures("in_shared_request")
@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"from": "abc"}, "from must be a number, got 'abc'"),
        ({"from": "5", "to": ""}, "to must be a number, got ''"),
        ({"threshold": "2.5"}, "threshold must be a whole number 0–1000, got 2.5"),
        ({"threshold": "x"}, "threshold must be a number, got 'x'"),
        ({"threshold": "5000"}, "hot_channel_threshold must be between 0 and 1000, got 5000"),
        ({"from": "5", "to": "3"}, "max_time (3 min) must be greater than min_time (5 min)"),
        ({"from": "-1"}, "min_time must be at least 0 minutes, got -1"),
        ({"to": "99"}, "max_time 99 min is beyond the run, which is 7 min long (valid: 0–7)"),
        ({"from": "nan"}, "from must be a finite number, got 'nan'"),
        ({"threshold": "1e400"}, "threshold must be a finite number, got '1e400'"),
    ],
)
def test_a_malformed_slice_in_the_link_is_a_notice_and_the_full_run(
    params: dict[str, str], problem: str
) -> None:
    page = render_run_page(**params)
    assert warnings(page) == [f"Ignored the time slice in the link: {problem}"]
    assert find(page, ts.BANNER) == []
    assert by_id(page, ts.PENDING).data is None
    assert text(by_id(page, "view-description")).startswith("Full run")
    assert by_id(page, ts.RANGE).value == [0, RUN_LENGTH], "the controls show the full run"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, None),
        ({"group": "FastOR"}, None),
        ({"from": "5", "to": "7"}, TimeSliceRequest(5, 7, True, 0)),
        ({"from": "5"}, TimeSliceRequest(5, 7, True, 0)),
        ({"to": "3"}, TimeSliceRequest(0, 3, True, 0)),
        ({"threshold": "250"}, TimeSliceRequest(0, 7, True, 250)),
        ({"threshold": "250.0"}, TimeSliceRequest(0, 7, True, 250)),
        ({"scale": "0"}, TimeSliceRequest(0, 7, False, 0)),
        ({"scale": "false"}, TimeSliceRequest(0, 7, False, 0)),
        ({"scale": "1"}, TimeSliceRequest(0, 7, True, 0)),
        ({"from": "2.4", "to": "6.6"}, TimeSliceRequest(2, 7, True, 0)),
    ],
)
def test_parse_query(params: dict[str, str], expected: TimeSliceRequest | None) -> None:
    assert ts.parse_query(params, RUN_LENGTH, EMC_DEFAULTS) == ts.SliceQuery(expected)


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"from": "nan"}, "from must be a finite number, got 'nan'"),
        ({"to": "inf"}, "to must be a finite number, got 'inf'"),
        ({"to": "-inf"}, "to must be a finite number, got '-inf'"),
        ({"threshold": "nan"}, "threshold must be a finite number, got 'nan'"),
        ({"threshold": "1e400"}, "threshold must be a finite number, got '1e400'"),
    ],
)
def test_parse_query_non_finite_numbers_are_a_notice(params: dict[str, str], problem: str) -> None:
    """Once a page error (ValueError/OverflowError from round() and int(), HTTP 500, empty page)."""
    query = ts.parse_query(params, RUN_LENGTH, EMC_DEFAULTS)
    assert query == ts.SliceQuery(None, f"Ignored the time slice in the link: {problem}")


@pytest.mark.parametrize(
    ("request_", "group", "hist", "query"),
    [
        (None, None, None, ""),
        (None, "FastOR", None, "?group=FastOR"),
        (None, None, FASTOR_L0, f"?hist={FASTOR_L0}"),
        (TimeSliceRequest(5, 7, True, 100), "FastOR", None,
         "?from=5&to=7&threshold=100&scale=1&group=FastOR"),
        (TimeSliceRequest(0, 3, False, 0), "EMCal cluster level", None,
         "?from=0&to=3&threshold=0&scale=0&group=EMCal+cluster+level"),
        (TimeSliceRequest(1, 2, True, 1000), None, FASTOR_L0,
         f"?from=1&to=2&threshold=1000&scale=1&hist={FASTOR_L0}"),
    ],
)  # fmt: skip
def test_query_string_round_trip(
    request_: TimeSliceRequest | None, group: str | None, hist: str | None, query: str
) -> None:
    assert ts.query_string(request_, group, hist) == query
    params = dict(parse_qsl(query.lstrip("?")))
    assert ts.parse_query(params, RUN_LENGTH, EMC_DEFAULTS) == ts.SliceQuery(request_)
    assert params.get("group") == group
    assert params.get("hist") == hist


def test_slice_href_is_the_permalink() -> None:
    assert (
        slice_href(CONTEXT, TimeSliceRequest(5, 7, True, 100))
        == "/runs/300003/EMC?from=5&to=7&threshold=100&scale=1&group=FastOR"
    )


# -- the job: computes the slice, returns only the new data -------------------------------------------------


def l0_names(view_group: str = GROUP) -> list[str]:
    return [h.name for h in services().views.full_run(HOT_RUN, "EMC").group(view_group).histograms]


def typed_arrays_only(value: object, path: str = "") -> list[str]:
    """Where a figure patch holds a list of more than 16 numbers (what should be a base64 typed array)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += typed_arrays_only(item, f"{path}.{key}")
    elif isinstance(value, list):
        if len(value) > 16 and all(isinstance(v, int | float) for v in value):
            found.append(path)
        for index, item in enumerate(value):
            found += typed_arrays_only(item, f"{path}[{index}]")
    return found


def assigned(patch: dict[str, Any]) -> dict[str, Any]:
    """location → value of a serialised dash.Patch's Assign operations."""
    assert patch["__dash_patch_update"] == "__dash_patch_update"
    assert {op["operation"] for op in patch["operations"]} == {"Assign"}
    return {".".join(map(str, op["location"])): op["params"]["value"] for op in patch["operations"]}


@pytest.mark.usefixtures("in_request")
def test_the_job_reports_progress_and_returns_only_the_new_data() -> None:
    seen: list[tuple[int, str]] = []
    request = TimeSliceRequest(HOT_FROM_MINUTE, RUN_LENGTH, True, 0)
    names = l0_names()
    result = job_result(seen.append, job(request, CONTEXT, names, push=True))

    assert seen, "progress was reported"
    values = [value for value, _label in seen]
    assert values == sorted(values)
    assert values[-1] == 100
    done, total = seen[-1][1].removesuffix(" histograms").split("/")
    assert done == total
    assert int(total) > 100, "every histogram of the EMC file"

    assert result["kind"] == "patch"
    assert result["from"] == CONTEXT["href"], "dropped by the browser if the page moved on meanwhile"
    assert result["push"] is True
    permalink = "/runs/300003/EMC?from=5&to=7&threshold=0&scale=1&group=FastOR"
    assert result["href"] == permalink
    assert result["context"] == {**CONTEXT, "slice": True, "request": asdict(request), "href": permalink}
    assert sorted(result["graphs"]) == sorted(names) == sorted(result["info"]), "every mounted graph"
    assert "main" not in result, "no page body: the page stays mounted"
    banner = text(result["parts"]["description"])
    assert banner.startswith("Time slice: requested 5–7 min, shown 5–7 min (nearest files), scaled by ")
    assert banner.endswith(" events, threshold default Back to the full run")
    hot = [info for name in names for info in info_panels(result["info"][name]) if "Hot Channels" in info]
    assert len(hot) == 6, "FastOR L0/L1, each plain, Amp and LargeAmp"
    assert all(f"Fast OR Hot Channels ID: {HOT_LIST}" in info for info in hot)
    links = [c.href for c in walk(result["parts"]["sidebar"]) if getattr(c, "href", None)]
    assert links
    assert all("from=5&to=7&threshold=0&scale=1" in link for link in links), "the sidebar keeps the slice"

    l0 = assigned(result["graphs"][FASTOR_L0])
    assert l0["layout.uirevision"] == FASTOR_L0, "the same uirevision: Plotly keeps the user's zoom"
    assert {"layout.xaxis.title", "layout.yaxis.title", "layout.shapes", "layout.annotations"} <= set(l0)
    assert not any(key in ("layout", "layout.xaxis", "layout.yaxis") for key in l0), "axes hold the zoom"
    assert [s["name"] for s in l0["layout.shapes"]] == [hot_channels.MARK], "the threshold line"
    assert l0["data"][0]["y"]["dtype"] == "f4", "numpy arrays as Plotly typed arrays"
    assert typed_arrays_only(result["graphs"]) == []

    again: list[tuple[int, str]] = []
    job_result(again.append, job(request, CONTEXT, names, push=True))
    assert again == [], "the second time the view cache answers"


@pytest.mark.usefixtures("in_request")
def test_the_job_sends_only_the_mounted_graphs() -> None:
    request = TimeSliceRequest(2, 6, True, 0)
    result = job_result(
        lambda _progress: None, job(request, CONTEXT, [FASTOR_L0, "not on the page"], push=True)
    )
    assert list(result["graphs"]) == list(result["info"]) == [FASTOR_L0]


@pytest.mark.usefixtures("in_request")
def test_the_job_of_a_pending_permalink_draws_the_whole_body() -> None:
    request = TimeSliceRequest(HOT_FROM_MINUTE, RUN_LENGTH, True, 100)
    result = job_result(lambda _progress: None, job(request, CONTEXT, [], push=False, render=True))
    assert result["kind"] == "render"
    assert text(by_id(result["main"], ts.BANNER)).startswith("Time slice: requested 5–7 min")
    graph_ids = [c.id["name"] for c in walk(result["main"]) if isinstance(getattr(c, "id", None), dict)]
    assert FASTOR_L0 in graph_ids
    assert result["context"]["slice"] is True


@pytest.mark.usefixtures("in_request")
def test_the_job_before_the_hot_channels_shows_none() -> None:
    request = TimeSliceRequest(0, HOT_FROM_MINUTE - 1)
    result = job_result(lambda _progress: None, job(request, CONTEXT, l0_names(), push=True))
    hot = [info for panel in result["info"].values() for info in info_panels(panel) if "Hot Channels" in info]
    assert hot
    assert all("Fast OR Hot Channels ID: none" in info for info in hot)


@pytest.mark.usefixtures("in_request")
def test_the_job_of_a_window_without_files_returns_the_message() -> None:
    # The slider cannot produce it, but a link or a stale page can: the core validates again.
    result = job_result(lambda _progress: None, job(TimeSliceRequest(0, 30), CONTEXT, [], push=True))
    assert result["kind"] == "error"
    assert result["from"] == CONTEXT["href"]
    assert "beyond the run" in text(result["message"])


# -- over HTTP, as the browser sends it ---------------------------------------------------------------------


@pytest.fixture
def client(fresh_app: dash.Dash, app_login: Callable[[FlaskClient], TestResponse]) -> FlaskClient:
    client = fresh_app.server.test_client()
    app_login(client)
    client.get(f"/runs/{HOT_RUN}/EMC")  # sets the CSRF cookie as a page load does
    return client


GRAPH_IDS = '{"name":["ALL"],"type":"hist-graph"}.id'


def mounted(names: list[str]) -> dict[str, object]:
    """The State of the mounted graphs' ids, as the browser sends it."""
    return {
        GRAPH_IDS: [({"type": "hist-graph", "name": n}, {"type": "hist-graph", "name": n}) for n in names]
    }


def apply_values(window: object, threshold: object, names: list[str] | None = None) -> dict[str, object]:
    return {
        f"{ts.APPLY}.n_clicks": 1,
        f"{ts.RANGE}.value": window,
        f"{ts.THRESHOLD}.value": threshold,
        f"{ts.SCALE}.value": True,
        f"{run_page.QUERY}.data": CONTEXT,
        **mounted(names or [FASTOR_L0]),
    }


def answer_of(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    found: dict[str, Any] = response.get_json()["response"]
    return found


def test_apply_over_http_an_uncached_slice_goes_to_the_job(client: FlaskClient) -> None:
    answer = answer_of(fire(client, f"{ts.APPLY}.n_clicks", apply_values([5, 7], 100)))
    work = answer[ts.REQUEST]["data"]
    assert work["request"] == asdict(TimeSliceRequest(5, 7, True, 100))
    assert work["names"] == [FASTOR_L0], "the mounted graphs"
    assert work["source"] == CONTEXT["href"]
    assert work["push"] is True
    assert ts.RESULT not in answer, "nothing to show before the job is done"
    assert answer[ts.MESSAGE]["children"] == ""


@pytest.mark.parametrize(
    ("window", "threshold", "message"),
    [
        ([5, 5], 0, "must be greater than min_time"),
        ([5, 7], 1001, "between 0 and 1000, got 1001"),
        ([5, 7], 2.5, "an integer 0–1000, got 2.5"),
    ],
)
def test_apply_over_http_invalid_shows_the_message_and_starts_nothing(
    client: FlaskClient, window: list[object], threshold: object, message: str
) -> None:
    answer = answer_of(fire(client, f"{ts.APPLY}.n_clicks", apply_values(window, threshold)))
    assert ts.REQUEST not in answer, "no request, so no background job"
    assert ts.RESULT not in answer
    shown = answer[ts.MESSAGE]["children"]
    assert shown["props"]["id"] == "ts-error"
    assert message in shown["props"]["children"]


def test_apply_over_http_a_cached_slice_is_put_in_place_without_a_job(
    client: FlaskClient, fresh_app: dash.Dash
) -> None:
    with fresh_app.server.app_context():
        services().views.time_slice(HOT_RUN, "EMC", TimeSliceRequest(5, 7, True, 100))
    answer = answer_of(
        fire(client, f"{ts.APPLY}.n_clicks", apply_values([5, 7], 100, [FASTOR_L0, "EMCTRQA_histFastORL1"]))
    )
    assert ts.REQUEST not in answer, "no background job, so no progress bar"
    result = next(v["data"] for k, v in answer.items() if k.startswith(ts.RESULT))
    assert result["kind"] == "patch"
    assert result["href"] == "/runs/300003/EMC?from=5&to=7&threshold=100&scale=1&group=FastOR"
    assert result["push"] is True
    assert sorted(result["graphs"]) == [FASTOR_L0, "EMCTRQA_histFastORL1"]
    l0 = assigned(result["graphs"][FASTOR_L0])
    assert l0["data"][0]["y"]["dtype"] == "f4", "typed arrays in the JSON response too"
    assert typed_arrays_only(result["graphs"]) == []
    assert "Threshold: 0.1" in text_of_json(result["info"][FASTOR_L0])
    assert answer[ts.MESSAGE]["children"] == ""


def text_of_json(node: object) -> str:
    """The text of a component as JSON (the response of a callback)."""
    if isinstance(node, dict):
        return text_of_json(node.get("props", {}).get("children"))
    if isinstance(node, list):
        return "".join(text_of_json(n) for n in node)
    return "" if node is None else str(node)


def result_of(answer: dict[str, Any]) -> dict[str, Any] | None:
    return next((v["data"] for k, v in answer.items() if k.startswith(ts.RESULT)), None)


def show(client: FlaskClient, search: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    values = {f"{run_page.QUERY}.data": context or CONTEXT, **mounted([FASTOR_L0])}
    address = {"search": search, "href": f"http://h/runs/300003/EMC{search}", "at": 1}
    return answer_of(fire(client, f"{ts.SHOW}.data", {f"{ts.SHOW}.data": address, **values}))


def test_back_to_the_full_run_is_put_in_place_with_its_controls(client: FlaskClient) -> None:
    sliced = {
        **CONTEXT,
        "slice": True,
        "href": "/runs/300003/EMC?from=5&to=7&threshold=100&scale=1&group=FastOR",
    }
    result = result_of(show(client, "?group=FastOR", sliced))
    assert result is not None
    assert result["from"] is None, "the browser is already at this address"
    assert result["push"] is False
    assert result["href"] == "/runs/300003/EMC?group=FastOR"
    assert result["controls"] == {"range": [0, RUN_LENGTH], "threshold": 0, "scale": True}
    assert result["context"]["slice"] is False
    assert result["context"]["request"] is None
    assert text_of_json(result["parts"]["description"]).startswith("Full run (newest file)")


def test_forward_to_a_cached_slice_is_put_in_place(client: FlaskClient, fresh_app: dash.Dash) -> None:
    with fresh_app.server.app_context():
        services().views.time_slice(HOT_RUN, "EMC", TimeSliceRequest(5, 7, True, 100))
    answer = show(client, "?from=5&to=7&threshold=100&scale=1&group=FastOR")
    result = result_of(answer)
    assert result is not None
    assert ts.REQUEST not in answer, "cached: no job"
    assert result["controls"] == {"range": [5, 7], "threshold": 100, "scale": True}
    assert text_of_json(result["parts"]["description"]).startswith("Time slice: requested 5–7 min")


def test_an_address_whose_slice_was_evicted_goes_to_the_job(client: FlaskClient) -> None:
    answer = show(client, "?from=2&to=6&threshold=0&scale=0&group=FastOR")
    work = next(v["data"] for k, v in answer.items() if k.startswith(ts.REQUEST))
    assert work["request"] == asdict(TimeSliceRequest(2, 6, False, 0))
    assert work["push"] is False, "the address is already in the bar"
    assert work["controls"] is True
    assert result_of(answer) is None


def test_an_address_with_bad_values_is_reloaded(client: FlaskClient) -> None:
    """The page would show a notice for it, which only a page load draws."""
    assert result_of(show(client, "?from=abc&group=FastOR")) == {"kind": "reload", "from": None}


def test_reset_over_http_puts_the_full_run_in_place_with_the_defaults(client: FlaskClient) -> None:
    sliced = {
        **CONTEXT,
        "slice": True,
        "href": "/runs/300003/EMC?from=5&to=7&threshold=100&scale=1&group=FastOR",
    }
    values = {f"{ts.RESET}.n_clicks": 1, f"{run_page.QUERY}.data": sliced, **mounted([FASTOR_L0])}
    result = result_of(answer_of(fire(client, f"{ts.RESET}.n_clicks", values)))
    assert result is not None
    assert result["from"] == sliced["href"]
    assert result["push"] is True
    assert result["href"] == "/runs/300003/EMC?group=FastOR"
    assert result["controls"] == {"range": [0, RUN_LENGTH], "threshold": 0, "scale": True}
    assert "Threshold: 0.01" in text_of_json(result["info"][FASTOR_L0])


def test_graphs_mounted_while_a_result_was_on_its_way_are_refreshed(
    client: FlaskClient, fresh_app: dash.Dash
) -> None:
    """A lazy plot scrolled into view during a job was drawn for the old state: it asks again by name."""
    with fresh_app.server.app_context():
        services().views.time_slice(HOT_RUN, "EMC", TimeSliceRequest(5, 7, True, 100))
    permalink = "/runs/300003/EMC?from=5&to=7&threshold=100&scale=1&group=FastOR"
    address = {"search": permalink.split("?")[1], "names": ["EMCTRQA_histFastORL1"], "refresh": True, "at": 2}
    values = {f"{ts.SHOW}.data": address, f"{run_page.QUERY}.data": {**CONTEXT, "href": permalink}}
    answer = answer_of(fire(client, f"{ts.SHOW}.data", {**values, **mounted([FASTOR_L0])}))
    result = result_of(answer)
    assert result is not None
    assert result["refresh"] is True
    assert list(result["graphs"]) == ["EMCTRQA_histFastORL1"], "only the graphs asked for"
    assert result["from"] == permalink, "dropped unless the page still shows this state"
    assert result["push"] is False


# -- the diskcache manager: collecting a finished job's result costs no extra second -------------------------


def test_a_finished_job_forked_by_another_worker_is_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zombie only its parent (another gunicorn worker) can reap: Dash waited 1 s for it every time."""
    import subprocess
    import sys
    import time

    import diskcache
    import psutil

    from dashboard.jobs import DiskcacheJobs

    jobs = DiskcacheJobs(diskcache.Cache(str(tmp_path / "jobs")))
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    dead = psutil.Process(finished.pid)
    for _ in range(1000):  # not reaped: this test is its parent, and waits for no one yet
        if dead.status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.01)
    assert dead.status() == psutil.STATUS_ZOMBIE

    def no_waiting(*_args: object) -> None:
        raise AssertionError("waited for a dead process")

    monkeypatch.setattr(psutil.Process, "wait", no_waiting)
    jobs.terminate_job(str(finished.pid))
    monkeypatch.undo()
    assert finished.wait(timeout=5) == 0, "its parent reaps it"

    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    jobs.terminate_job(str(running.pid))
    assert not psutil.pid_exists(running.pid), "a running job is killed (and, being ours, reaped)"
    jobs.terminate_job(None)
    jobs.terminate_job(str(running.pid))  # gone: nothing to do


def test_a_finished_celery_task_is_not_terminated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Terminating it raced the worker completing it: the pool process it ran in was killed each time."""
    import json

    from dashboard.jobs import CeleryJobs, celery_app

    jobs = CeleryJobs(celery_app("redis://127.0.0.1:1/0"))  # never connected: the backend is replaced
    stored = {"result-key": json.dumps({"kind": "patch"})}
    terminated: list[object] = []
    monkeypatch.setattr(jobs.handle.backend, "get", stored.get)
    monkeypatch.setattr(jobs.handle.backend, "delete", lambda key: stored.pop(key, None))
    monkeypatch.setattr(jobs.handle.control, "terminate", terminated.append)
    assert jobs.get_result("result-key", "task-id") == {"kind": "patch"}
    assert terminated == []
    jobs.terminate_job("task-id")  # what Cancel does
    assert terminated == ["task-id"]
