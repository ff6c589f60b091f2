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

from dashboard import time_slice_panel as ts
from dashboard.auth import SessionUser
from dashboard.callbacks.time_slices import compute, slice_href, validate
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
CONTEXT = {"run": HOT_RUN, "subsystem": "EMC", "group": GROUP, "hist": None, "slice": False, "user": "x"}
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
    assert by_id(page, run_page.QUERY).data["slice"] is True

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


# -- compute: the background job's work ------------------------------------------------------------------


@pytest.mark.usefixtures("in_request")
def test_compute_reports_progress_and_shows_the_hot_channels() -> None:
    seen: list[tuple[int, str]] = []
    request = TimeSliceRequest(HOT_FROM_MINUTE, RUN_LENGTH, True, 0)
    content, description = compute(seen.append, asdict(request), CONTEXT)

    assert seen, "progress was reported"
    values = [value for value, _label in seen]
    assert values == sorted(values)
    assert values[-1] == 100
    assert all(0 <= v <= 100 for v in values)
    done, total = seen[-1][1].removesuffix(" histograms").split("/")
    assert done == total
    assert int(total) > 100, "every histogram of the EMC file"

    assert description.startswith("Time slice: requested 5–7 min, shown 5–7 min (nearest files), scaled by ")
    assert description.endswith(" events, threshold default")
    assert text(by_id(content, ts.BANNER)) == description
    hot = [info for info in info_panels(content) if "Hot Channels" in info]
    assert len(hot) == 6, "FastOR L0/L1, each plain, Amp and LargeAmp"
    assert all(f"Fast OR Hot Channels ID: {HOT_LIST}" in info for info in hot)
    graph_ids = [c.id["name"] for c in walk(content) if isinstance(getattr(c, "id", None), dict)]
    assert FASTOR_L0 in graph_ids

    again: list[tuple[int, str]] = []
    compute(again.append, asdict(request), CONTEXT)
    assert again == [], "the second time the view cache answers"


@pytest.mark.usefixtures("in_request")
def test_compute_before_the_hot_channels_shows_none() -> None:
    content, _ = compute(lambda _progress: None, asdict(TimeSliceRequest(0, HOT_FROM_MINUTE - 1)), CONTEXT)
    hot = [info for info in info_panels(content) if "Hot Channels" in info]
    assert hot
    assert all("Fast OR Hot Channels ID: none" in info for info in hot)


@pytest.mark.usefixtures("in_request")
def test_compute_of_a_window_without_files_raises_the_message() -> None:
    # The slider cannot produce it, but a link or a stale page can: the core validates again.
    with pytest.raises(OverwatchError, match="beyond the run"):
        compute(lambda _progress: None, asdict(TimeSliceRequest(0, 30)), CONTEXT)


# -- over HTTP, as the browser sends it: an invalid Apply starts no job ----------------------------------


@pytest.fixture
def client(fresh_app: dash.Dash, app_login: Callable[[FlaskClient], TestResponse]) -> FlaskClient:
    client = fresh_app.server.test_client()
    app_login(client)
    client.get(f"/runs/{HOT_RUN}/EMC")  # sets the CSRF cookie as a page load does
    return client


def apply_values(window: object, threshold: object) -> dict[str, object]:
    return {
        f"{ts.APPLY}.n_clicks": 1,
        f"{ts.RANGE}.value": window,
        f"{ts.THRESHOLD}.value": threshold,
        f"{ts.SCALE}.value": True,
        f"{run_page.QUERY}.data": CONTEXT,
    }


def test_apply_over_http_valid_sets_the_request(client: FlaskClient) -> None:
    response = fire(client, f"{ts.APPLY}.n_clicks", apply_values([5, 7], 100))
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()["response"]
    assert answer[ts.REQUEST]["data"] == asdict(TimeSliceRequest(5, 7, True, 100))
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
    response = fire(client, f"{ts.APPLY}.n_clicks", apply_values(window, threshold))
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()["response"]
    assert ts.REQUEST not in answer, "no request, so no background job"
    shown = answer[ts.MESSAGE]["children"]
    assert shown["props"]["id"] == "ts-error"
    assert message in shown["props"]["children"]


def test_apply_over_http_cached_slice_navigates_without_a_job(
    client: FlaskClient, fresh_app: dash.Dash
) -> None:
    with fresh_app.server.app_context():
        services().views.time_slice(HOT_RUN, "EMC", TimeSliceRequest(5, 7, True, 100))
    response = fire(client, f"{ts.APPLY}.n_clicks", apply_values([5, 7], 100))
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()["response"]
    assert ts.REQUEST not in answer, "no background job, so no progress bar"
    assert answer[ts.NAVIGATE]["data"] == "/runs/300003/EMC?from=5&to=7&threshold=100&scale=1&group=FastOR"
    assert answer[ts.MESSAGE]["children"] == ""


@pytest.mark.parametrize(
    ("target", "current", "expected"),
    [
        ("/runs/1/EMC?from=1&to=2", "http://h/runs/1/EMC", "/runs/1/EMC?from=1&to=2"),
        ({"to": "/runs/1/EMC?from=1&to=2", "from": "http://h/runs/1/EMC"}, "http://h/runs/1/EMC",
         "/runs/1/EMC?from=1&to=2"),
        # The user went to another group while the job ran: the finished slice must not take over.
        ({"to": "/runs/1/EMC?from=1&to=2", "from": "http://h/runs/1/EMC"},
         "http://h/runs/1/EMC?group=L0", None),
        (None, "http://h/runs/1/EMC", None),
    ],
)  # fmt: skip
def test_a_finished_job_navigates_only_from_where_it_started(
    target: object, current: str, expected: str | None
) -> None:
    from dashboard.callbacks.time_slices import follow

    assert follow(target, current) == expected  # type: ignore[arg-type]
