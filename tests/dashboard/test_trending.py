"""Trending page on demo data with alarms: series shapes, bounds, alarm marks, choices, URLs, clicks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dash
import pytest
from dash import dcc
from dash.development.base_component import Component
from flask.testing import FlaskClient
from flask_login import login_user
from werkzeug.test import TestResponse

from dashboard.auth import SessionUser
from dashboard.callbacks.trending import navigation_href, point_href
from dashboard.pages import trending
from dashboard.pages.trending import TrendingState
from dashboard.services import services
from overwatch_core.processing import Processor, open_services
from overwatch_core.settings import load_settings
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.users import User
from tests.dashboard.component_tree import by_id, text, walk
from tests.dashboard.conftest import APP_USER, add_app_user, copy_demo
from tests.dashboard.dash_http import fire

LOW, HIGH = 2280.0, 2297.0
ALARMS = {
    "meanFastORL0": [{"kind": "between_values", "min_value": LOW, "max_value": HIGH, "label": "ERROR"}],
    "maxEvents": [
        {"kind": "or", "label": "WARNING", "children": [{"kind": "between_values", "max_value": 300}]}
    ],
}
RUN = 300003


@pytest.fixture(scope="module")
def alarm_data(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo data whose trends were recomputed with ALARMS configured."""
    data = copy_demo(demo_data, tmp_path_factory.mktemp("trending") / "data")
    settings = load_settings(None, env={}, data_folder=str(data), alarms=ALARMS)
    catalog, cache = open_services(settings)
    Processor(settings, catalog, cache).recompute_trends()
    catalog.close()
    cache.close()
    add_app_user(data)
    return data


@pytest.fixture
def alarm_app(make_app: Callable[..., dash.Dash], alarm_data: Path) -> dash.Dash:
    return make_app(alarm_data, alarms=ALARMS)


@pytest.fixture
def render(alarm_app: dash.Dash) -> Iterator[Callable[..., Component]]:
    """``render(**params)``: the trending layout built in a request of the app, as a logged-in shifter."""
    with alarm_app.server.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        yield lambda **params: trending.layout(**params)


def error_cards(node: object) -> list[Component]:
    return [c for c in walk(node) if "error-card" in (getattr(c, "className", None) or "")]


def notices(node: object) -> list[str]:
    """Texts of the dismissable notices of ignored query values (the run page's alarm panel is not one)."""
    return [
        text(c)
        for c in walk(node)
        if getattr(c, "color", None) == "warning" and getattr(c, "dismissable", None)
    ]


def figure_of(page: Component, graph_id: str) -> Any:
    graph = by_id(page, graph_id)
    assert isinstance(graph, dcc.Graph)
    return graph.figure


def state_of(page: Component) -> TrendingState:
    return TrendingState.from_data(by_id(page, trending.STATE).data)


# --- series and alarms --------------------------------------------------------------------------------------


def test_within_run_series_is_value_against_time_with_errors(render: Callable[..., Component]) -> None:
    page = render(subsystem="EMC", trend="meanFastORL0", run=str(RUN))
    points = services().trends.within_run("EMC", "meanFastORL0", RUN)
    figure = figure_of(page, trending.WITHIN)
    values = figure.data[0]
    assert len(points) == 8, "one value per file"
    assert list(values.y) == [p.value for p in points]
    assert list(values.error_y.array) == [p.error for p in points]
    assert [str(x) for x in values.x] == [f"{p.timestamp:%Y-%m-%dT%H:%M:%S}" for p in points]
    assert [row[:2] for row in values.customdata] == [[RUN, minute] for minute in range(8)]
    assert figure.layout.xaxis.title.text == "Time (Europe/Zurich)"
    assert "Run %{customdata[0]:d}" in values.hovertemplate
    assert error_cards(page) == []
    assert notices(page) == []


def test_alarmed_points_are_marked_and_bounds_drawn(render: Callable[..., Component]) -> None:
    page = render(subsystem="EMC", trend="meanFastORL0", run=str(RUN))
    figure = figure_of(page, trending.WITHIN)
    values, marks = figure.data
    outside = [i for i, y in enumerate(values.y) if not LOW <= y <= HIGH]
    assert outside, "the demo values leave the band, so the test means something"
    assert len(outside) < len(values.y)
    assert list(marks.y) == [values.y[i] for i in outside]
    assert [row[1] for row in marks.customdata] == outside, "marks keep the minute, so they click too"
    assert all("outside [2280, 2297]" in t for t in marks.text)
    assert sorted(s.y0 for s in figure.layout.shapes) == [LOW, HIGH]
    assert [a.text for a in figure.layout.annotations] == ["ERROR min 2280", "ERROR max 2297"]
    assert figure.layout.meta["alarmed"] == len(outside)
    assert f"{len(outside)} alarmed points are marked" in text(page)


def test_across_runs_is_the_last_value_of_each_run(render: Callable[..., Component]) -> None:
    page = render(subsystem="EMC", trend="meanFastORL0")
    figure = figure_of(page, trending.ACROSS)
    values = figure.data[0]
    assert list(values.x) == [300000, 300003, 300004]
    store = services().trends
    assert list(values.y) == [store.within_run("EMC", "meanFastORL0", r)[-1].value for r in values.x]
    assert [row[1] for row in values.customdata] == [-1, -1, -1]
    assert figure.layout.xaxis.type == "category"
    assert sorted(s.y0 for s in figure.layout.shapes) == [LOW, HIGH]


def test_aggregate_alarm_bounds_and_a_kind_without_errors(render: Callable[..., Component]) -> None:
    page = render(subsystem="EMC", trend="maxEvents", run=str(RUN))
    figure = figure_of(page, trending.WITHIN)
    values, marks = figure.data
    assert values.error_y.array is None, "a maximum has no error bar"
    assert sorted(s.y0 for s in figure.layout.shapes) == [0, 300], "bounds of the Or's child"
    assert len(marks.y) == len(values.y), "event counts are all far above 300"
    assert "WARNING" in marks.text[0]


def test_a_trend_without_alarms_has_no_marks(render: Callable[..., Component]) -> None:
    page = render(subsystem="HLT", trend="meanClusterChargeMax", run=str(RUN))
    figure = figure_of(page, trending.WITHIN)
    assert len(figure.data) == 1
    assert figure.layout.shapes == ()
    assert "No alarms are configured for meanClusterChargeMax." in text(page)


# --- defaults, choices and bad input ---------------------------------------------------------------------


def test_defaults_newest_run_all_recent_runs_first_trend_with_values(
    render: Callable[..., Component],
) -> None:
    page = render()
    state = state_of(page)
    first = get_subsystem("EMC").trending_sources()[0].trend_name
    assert state == TrendingState("EMC", first, 300004, 300000, 300004)
    assert by_id(page, trending.SUBSYSTEM).value == "EMC"
    assert by_id(page, trending.TREND).value == first
    assert by_id(page, trending.RUN).value == 300004
    # Run 300004 has no TPC files: its TPC trends come from the HLT files, whose track TH3s now give the
    # projections too, so TPC's first trend (a projection's) has values there and is chosen.
    tpc = state_of(render(subsystem="TPC"))
    assert tpc.trend == get_subsystem("TPC").trending_sources()[0].trend_name == "meanTPCClusterTrending"
    assert services().trends.within_run("TPC", tpc.trend, 300004)


def test_trend_options_are_grouped_by_source_histogram(render: Callable[..., Component]) -> None:
    page = render(subsystem="EMC", trend="meanFastORL0")
    options = by_id(page, trending.TREND).options
    sources = get_subsystem("EMC").trending_sources()
    headers = [o for o in options if o.get("disabled")]
    assert len(headers) == len({s.hist_name for s in sources})
    assert len(options) == len(headers) + len(sources)
    at = [o["value"] for o in options].index("header:EMCTRQA_histFastORL0")
    assert [o["value"] for o in options[at + 1 : at + 4]] == ["maxFastORL0", "meanFastORL0", "stdDevFastORL0"]
    assert "meanFastORL0" in options[at]["search"], "a search for a trend keeps its header"
    assert "EMCTRQA_histFastORL0" in options[at + 2]["search"], "a trend is found by its histogram"
    assert by_id(page, trending.TREND).search_order == "original"


def test_unknown_subsystem_lists_the_trended_subsystems(render: Callable[..., Component]) -> None:
    page = render(subsystem="V0")
    (card,) = error_cards(page)
    assert "unknown subsystem 'V0'; valid: EMC, TPC, HLT" in text(card)
    assert [a.href for a in walk(card) if getattr(a, "href", None)] == [
        "/trending?subsystem=EMC", "/trending?subsystem=TPC", "/trending?subsystem=HLT"
    ]  # fmt: skip
    assert by_id(page, trending.SUBSYSTEM).value is None


def test_unknown_trend_lists_the_trends_and_keeps_the_chooser(render: Callable[..., Component]) -> None:
    page = render(subsystem="EMC", trend="meanNothing", run=str(RUN))
    (card,) = error_cards(page)
    assert "unknown trend of EMC 'meanNothing'; valid: maxAmpEdgePos" in text(card)
    links = [a.href for a in walk(card) if getattr(a, "href", None)]
    assert f"/trending?subsystem=EMC&trend=meanFastORL0&run={RUN}&runs=300000-300004" in links
    assert len(by_id(page, trending.TREND).options) > 90
    assert by_id(page, trending.TREND).value is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"run": "abc"}, "Ignored run='abc': not a whole number."),
        ({"runs": "last-week"}, "Ignored runs='last-week': write a run range as 300000-300050."),
        ({"colour": "red"}, "Ignored unknown parameter 'colour'."),
    ],
)
def test_bad_values_are_notices(
    render: Callable[..., Component], params: dict[str, str], message: str
) -> None:
    page = render(subsystem="EMC", trend="meanFastORL0", **params)
    assert notices(page) == [message]
    assert figure_of(page, trending.WITHIN).data, "the default is shown instead"


def test_unknown_run_lists_nearby_runs_and_keeps_both_plots(render: Callable[..., Component]) -> None:
    page = render(subsystem="EMC", trend="meanFastORL0", run="300001")
    (card,) = error_cards(page)
    assert "unknown run 300001; valid: 300000, 300003, 300004" in text(card)
    assert figure_of(page, trending.WITHIN).layout.meta["kind"] == "empty"
    assert figure_of(page, trending.ACROSS).data


def test_a_run_range_in_either_order(render: Callable[..., Component]) -> None:
    page = render(subsystem="EMC", trend="meanFastORL0", runs="300004-300003")
    assert list(figure_of(page, trending.ACROSS).data[0].x) == [300003, 300004]
    assert list(figure_of(render(subsystem="EMC", trend="maxEvents", runs="1-2"), trending.ACROSS).data) == []


def test_legacy_address_redirects(render: Callable[..., Component], alarm_app: dash.Dash) -> None:
    page = render(histGroup="EMC", histName="meanFastORL0")
    location = by_id(page, trending.REDIRECT)
    assert (location.href, location.refresh) == ("/trending?subsystem=EMC&trend=meanFastORL0", True)
    assert by_id(render(histGroup="HLT"), trending.REDIRECT).href == "/trending?subsystem=HLT"


# --- URL state and clicks --------------------------------------------------------------------------------


STATE = TrendingState("EMC", "meanFastORL0", RUN, 300000, 300004)


def test_state_round_trips_through_the_url() -> None:
    assert STATE.href() == "/trending?subsystem=EMC&trend=meanFastORL0&run=300003&runs=300000-300004"
    assert TrendingState.from_data(STATE.to_data()) == STATE


@pytest.mark.parametrize(
    ("changed", "values", "target"),
    [
        (trending.SUBSYSTEM, {"subsystem": "HLT"}, "/trending?subsystem=HLT&run=300003&runs=300000-300004"),
        (trending.SUBSYSTEM, {"subsystem": "EMC"}, None),
        (trending.TREND, {"trend": "maxEvents"},
         "/trending?subsystem=EMC&trend=maxEvents&run=300003&runs=300000-300004"),
        (trending.TREND, {"trend": None}, None),
        (trending.RUN, {"run": 300004},
         "/trending?subsystem=EMC&trend=meanFastORL0&run=300004&runs=300000-300004"),
        (trending.FIRST_RUN, {"first_run": 300004, "last_run": 300003},
         "/trending?subsystem=EMC&trend=meanFastORL0&run=300003&runs=300003-300004"),
        (trending.LAST_RUN, {"first_run": 300000, "last_run": None}, None),
    ],
)  # fmt: skip
def test_a_changed_choice_is_a_new_url(changed: str, values: dict[str, object], target: str | None) -> None:
    full = {"subsystem": "EMC", "trend": "meanFastORL0", "run": RUN, "first_run": 300000, "last_run": 300004}
    assert navigation_href(STATE, changed, {**full, **values}) == target


@pytest.mark.parametrize(
    ("custom", "target"),
    [
        ([RUN, 4, 8.2], "/runs/300003/EMC?hist=EMCTRQA_histFastORL0&from=0&to=4"),
        ([RUN, 0, 8.2], "/runs/300003/EMC?hist=EMCTRQA_histFastORL0"),
        ([300004, -1, 0.0], "/runs/300004/EMC?hist=EMCTRQA_histFastORL0"),
    ],
)
def test_a_clicked_point_opens_its_run(alarm_app: dash.Dash, custom: list[float], target: str) -> None:
    with alarm_app.server.test_request_context("/"):
        assert point_href(STATE, {"points": [{"customdata": custom}]}) == target
        assert point_href(STATE, {"points": [{"x": 1}]}) is None
        assert point_href(STATE, None) is None


def test_the_click_target_is_a_working_run_page(alarm_app: dash.Dash) -> None:
    from dashboard.pages import run_page

    with alarm_app.server.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        page = run_page.layout(
            run=str(RUN), subsystem="EMC", hist="EMCTRQA_histFastORL0", **{"from": "0", "to": "4"}
        )
        assert error_cards(page) == []
        assert notices(page) == []


# --- over HTTP, as the browser does it -------------------------------------------------------------------


@pytest.fixture
def client(alarm_app: dash.Dash, auth_login: Callable[..., TestResponse]) -> FlaskClient:
    client = alarm_app.server.test_client()
    assert auth_login(client, APP_USER[0], APP_USER[1]).status_code == 302
    return client


def test_click_callback_over_http(client: FlaskClient) -> None:
    click = {"points": [{"curveNumber": 0, "pointIndex": 5, "customdata": [RUN, 5, 6.1]}]}
    values = {f"{trending.WITHIN}.clickData": click, f"{trending.STATE}.data": STATE.to_data()}
    response = fire(client, f"{trending.WITHIN}.clickData", values)
    assert response.status_code == 200
    assert (
        response.get_json()["response"]["url"]["href"]
        == "/runs/300003/EMC?hist=EMCTRQA_histFastORL0&from=0&to=5"
    )


def test_choice_callback_over_http(client: FlaskClient) -> None:
    values = {f"{trending.TREND}.value": "maxEvents", f"{trending.STATE}.data": STATE.to_data()}
    response = fire(client, f"{trending.TREND}.value", values)
    assert response.get_json()["response"]["url"]["href"].startswith(
        "/trending?subsystem=EMC&trend=maxEvents"
    )


def test_the_page_and_the_legacy_address_are_dash_pages(client: FlaskClient) -> None:
    """No Flask route shadows /trending: the legacy query is handled by the page's layout."""
    for path in ("/trending", "/trending?histGroup=EMC&histName=meanFastORL0"):
        response = client.get(path)
        assert response.status_code == 200
        assert 'id="_dash-renderer"' in response.get_data(as_text=True)


def test_files_without_a_value_are_listed_under_the_plot(render: Callable[..., Component]) -> None:
    """A trend value stored as missing (NaN bins, no events) is not plotted but named, with its reason."""
    from overwatch_core.catalog import trend_missing

    run_file = services().catalog.run(RUN).subsystem("EMC").files[2]
    with services().catalog.engine.begin() as conn:
        conn.execute(
            trend_missing.insert().values(
                run_number=RUN,
                subsystem="EMC",
                trend="meanFastORL0Time",
                timestamp=int(run_file.timestamp.timestamp()),
                reason="mean of EMCTRQA_histFastORL0Time is nan (NaN or infinite bins)",
            )
        )
    page = render(subsystem="EMC", trend="meanFastORL0Time", run=str(RUN))
    note = text(by_id(page, trending.MISSING))
    assert "1 file(s) of this run have no value" in note
    assert f"{run_file.timestamp:%H:%M:%S}: mean of EMCTRQA_histFastORL0Time is nan" in note
    other = render(subsystem="EMC", trend="meanFastORL0", run=str(RUN))
    assert [c for c in walk(other) if getattr(c, "id", None) == trending.MISSING] == []
