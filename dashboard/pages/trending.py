"""Trending page at ``/trending``: a trend within one run and across runs, alarm bounds and alarmed points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import trend_figures
from dashboard.errors import from_exception, notice
from dashboard.figures import empty_figure
from dashboard.formatting import parse_int
from dashboard.services import services
from dashboard.shell import page_title
from overwatch_core.alarms import Alarm
from overwatch_core.errors import NotFoundError
from overwatch_core.subsystems.base import SubsystemDefinition, TrendingSource
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.trending import find_source

PATH = "/trending"
#: The across-run plot shows this many newest runs unless the URL names a range.
DEFAULT_RUN_SPAN = 100
#: The run chooser offers this many newest runs (plus the one shown).
RUN_CHOICES = 500
_HEADER = "header:"

SUBSYSTEM = "trending-subsystem"
TREND = "trending-trend"
RUN = "trending-run"
FIRST_RUN = "trending-first-run"
LAST_RUN = "trending-last-run"
WITHIN = "trending-within"
ACROSS = "trending-across"
STATE = "trending-state"
REDIRECT = "trending-legacy-redirect"
MESSAGE = "trending-message"


def title(**_params: object) -> str:
    return page_title("Trending")


@dataclass(frozen=True)
class TrendingState:
    """What the page shows; the URL holds exactly this (``?subsystem=&trend=&run=&runs=A-B``)."""

    subsystem: str | None = None
    trend: str | None = None
    run: int | None = None
    first_run: int | None = None
    last_run: int | None = None

    def href(self) -> str:
        query: dict[str, object] = {"subsystem": self.subsystem, "trend": self.trend, "run": self.run}
        if self.first_run is not None and self.last_run is not None:
            query["runs"] = f"{self.first_run}-{self.last_run}"
        shown = {k: v for k, v in query.items() if v not in (None, "")}
        return PATH + (f"?{urlencode(shown)}" if shown else "")

    def to_data(self) -> dict[str, Any]:
        return {"subsystem": self.subsystem, "trend": self.trend, "run": self.run,
                "first_run": self.first_run, "last_run": self.last_run}  # fmt: skip

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> TrendingState:
        return cls(**(data or {}))

    def changed(self, **changes: Any) -> TrendingState:
        return replace(self, **changes)


def run_page_href(run_number: int, subsystem: str, hist: str, minute: int | None = None) -> str:
    """The run page showing the trend's source histogram; with a minute, the time slice from the start."""
    query: dict[str, object] = {"hist": hist}
    if minute is not None and minute > 0:
        query.update({"from": 0, "to": minute})
    return f"/runs/{run_number}/{subsystem}?{urlencode(query)}"


# --- choices ---------------------------------------------------------------------------------------------


def trended_subsystems() -> list[str]:
    """Configured subsystems that define trends, in configuration order."""
    configured = services().settings.subsystems
    return [name for name in configured if get_subsystem(name, configured).trending_sources()]


def trend_options(definition: SubsystemDefinition) -> list[dict[str, Any]]:
    """Trends grouped under their source histogram (a disabled header), kinds in the subsystem's order.

    Each header's search text holds its trends' names, so a search keeps the header above its matches.
    """
    groups: dict[str, list[TrendingSource]] = {}
    for source in definition.trending_sources():
        groups.setdefault(source.hist_name, []).append(source)
    options: list[dict[str, Any]] = []
    for hist_name, sources in groups.items():
        options.append(
            {
                "label": html.Span(hist_name, className="trend-option-header fw-semibold text-muted small"),
                "value": _HEADER + hist_name,
                "disabled": True,
                "search": " ".join([hist_name, *(f"{s.trend_name} {s.kind}" for s in sources)]),
            }
        )
        options.extend(_trend_option(source) for source in sources)
    return options


def _trend_option(source: TrendingSource) -> dict[str, Any]:
    label = html.Span(
        [
            source.trend_name,
            html.Span(source.kind, className="badge text-bg-light border ms-2"),
        ],
        className="ps-3",
        title=source.description,
    )
    search = f"{source.trend_name} {source.hist_name} {source.kind} {source.description}"
    return {"label": label, "value": source.trend_name, "search": search}


def run_options(run_numbers: Sequence[int], shown: int | None) -> list[dict[str, Any]]:
    newest = list(reversed(run_numbers[-RUN_CHOICES:]))
    if shown is not None and shown not in newest:
        newest.insert(0, shown)
    return [{"label": f"Run {n}", "value": n} for n in newest]


# --- reading the URL ---------------------------------------------------------------------------------------


def parse_run_range(text: object) -> tuple[tuple[int, int] | None, str | None]:
    """``A-B`` (or a single run) as an ordered pair, or None and the notice saying it was ignored."""
    if text is None or text == "":
        return None, None
    first, _, last = str(text).partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        return None, f"Ignored runs={text!r}: write a run range as 300000-300050."
    if min(low, high) < 0:
        return None, f"Ignored runs={text!r}: run numbers are not negative."
    return (min(low, high), max(low, high)), None


def default_span(run_numbers: Sequence[int]) -> tuple[int | None, int | None]:
    if not run_numbers:
        return None, None
    span = run_numbers[-DEFAULT_RUN_SPAN:]
    return span[0], span[-1]


def resolve_state(
    subsystem: str | None, trend: str | None, run: object, runs: object
) -> tuple[TrendingState, list[str]]:
    """The state to show with defaults filled in (newest run, newest runs), and notices for bad values.

    Unknown subsystems and trends are left in the state; ``check_state`` turns them into messages.
    """
    problems: list[str] = []
    run_number, problem = parse_int(run, "run")
    problems += [problem] if problem else []
    span, problem = parse_run_range(runs)
    problems += [problem] if problem else []
    catalog = services().catalog
    numbers = catalog.run_numbers()
    if run_number is None and numbers:
        run_number = numbers[-1]
    first, last = span if span is not None else default_span(numbers)
    chosen = subsystem or next(iter(trended_subsystems()), None)
    return TrendingState(chosen, trend, run_number, first, last), problems


def check_state(state: TrendingState) -> tuple[SubsystemDefinition, TrendingSource]:
    """The subsystem's definition and the chosen trend's source, or NotFoundError naming what exists."""
    subsystems = trended_subsystems()
    if state.subsystem not in subsystems:
        raise NotFoundError("subsystem", state.subsystem, subsystems)
    definition = get_subsystem(state.subsystem, subsystems)
    if state.trend is None:
        return definition, default_source(definition, state.run)
    return definition, find_source(definition, state.trend)


def default_source(definition: SubsystemDefinition, run_number: int | None) -> TrendingSource:
    """The first trend with values in the run (TPC's first trends never get any), else the first trend."""
    sources = definition.trending_sources()
    if run_number is not None:
        store = services().trends
        for source in sources:
            if store.within_run(definition.name, source.trend_name, run_number):
                return source
    return sources[0]


# --- the page parts ---------------------------------------------------------------------------------------


def controls(state: TrendingState, definition: SubsystemDefinition | None) -> dbc.Card:
    numbers = services().catalog.run_numbers()
    subsystem = dcc.Dropdown(
        id=SUBSYSTEM,
        options=[{"label": s, "value": s} for s in trended_subsystems()],
        value=state.subsystem if definition is not None else None,
        clearable=False,
        searchable=False,
    )
    trend = dcc.Dropdown(
        id=TREND,
        options=trend_options(definition) if definition is not None else [],
        value=state.trend,
        clearable=False,
        placeholder="Search a trend or its source histogram",
        search_order="original",
        maxHeight=420,
    )
    run = dcc.Dropdown(id=RUN, options=run_options(numbers, state.run), value=state.run, clearable=False)
    span = dbc.InputGroup(
        [
            dbc.Input(id=FIRST_RUN, type="number", value=state.first_run, min=0, debounce=True,
                      placeholder="first run"),
            dbc.InputGroupText("–"),
            dbc.Label("Last run of the range", html_for=LAST_RUN, className="visually-hidden"),
            dbc.Input(id=LAST_RUN, type="number", value=state.last_run, min=0, debounce=True,
                      placeholder="last run"),
        ],
        size="sm",
    )  # fmt: skip
    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    _field("Subsystem", subsystem, SUBSYSTEM, md=2),
                    _field("Trend (grouped by source histogram)", trend, TREND, md=5),
                    _field("Run (within-run plot)", run, RUN, md=2),
                    _field("Runs (across-run plot)", span, FIRST_RUN, md=3),
                ],
                className="g-2",
            ),
            className="py-2",
        ),
        className="mb-2",
    )


def _field(label: str, control: object, control_id: str, md: int) -> dbc.Col:
    return dbc.Col([dbc.Label(label, html_for=control_id, className="small mb-0"), control], md=md)


def alarm_summary(trend: str, alarms: Sequence[Alarm], alarmed: int) -> html.P:
    """Which alarms watch this trend, so a red cross can be read without the configuration at hand."""
    if not alarms:
        return html.P(f"No alarms are configured for {trend}.", className="small text-muted mb-1")
    kinds = ", ".join(f"{a.label} {type(a).__name__}".strip() for a in alarms)
    return html.P(
        f"Alarms on {trend}: {kinds}. Dashed lines are their bounds; {alarmed} alarmed points are marked ×.",
        className="small text-muted mb-1",
    )


def _panel(heading: str, content: object) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(heading, className="py-1"), dbc.CardBody(content, className="p-1")])


def _graph(graph_id: str, figure: object) -> dcc.Graph:
    return dcc.Graph(
        id=graph_id,
        figure=figure,
        config={"displaylogo": False, "responsive": True},
        style={"height": "420px"},
        className="trend-graph",
    )


def within_run_section(state: TrendingState, source: TrendingSource) -> tuple[html.Div, int]:
    """The within-run plot, with a message above when the run is unknown, and its alarmed point count.

    The graph is always there (empty when need be): the click callback listens to both graphs.
    """
    svc = services()
    if state.run is None:
        return html.Div(_graph(WITHIN, empty_figure("No runs yet."))), 0
    try:
        run = svc.catalog.run(state.run)
    except NotFoundError as exc:
        links = {str(n): state.changed(run=int(str(n))).href() for n in exc.valid}
        empty = empty_figure(f"Run {state.run} does not exist.")
        return html.Div([from_exception(exc, links), _graph(WITHIN, empty)]), 0
    start = next((s.start for s in run.subsystems if s.name == state.subsystem), None)
    points = svc.trends.within_run(str(state.subsystem), source.trend_name, state.run)
    bounds = trend_figures.alarm_bounds(svc.settings.trend_alarms.get(source.trend_name, ()))
    figure = trend_figures.within_run_figure(points, source, state.run, start, bounds, svc.tz_name)
    missing = svc.trends.missing_within_run(str(state.subsystem), source.trend_name, state.run)
    alarmed = sum(1 for p in points if p.alarms)
    return html.Div([_graph(WITHIN, figure), missing_note(missing, svc.tz_name)]), alarmed


MISSING = "trend-missing"


def missing_note(missing: Sequence[tuple[datetime, str]], zone_name: str = "") -> html.Div | None:
    """Files of the run for which the trend has no value (NaN bins, no events), each with the reason."""
    if not missing:
        return None
    items = [html.Li(f"{stamp:%H:%M:%S}: {reason}") for stamp, reason in missing[:20]]
    more = [html.Li(f"… and {len(missing) - 20} more")] if len(missing) > 20 else []
    zone_note = f" (times in {zone_name})" if zone_name else ""
    return html.Div(
        [
            html.Span(
                f"{len(missing)} file(s) of this run have no value{zone_note}:",
                className="fw-semibold",
            ),
            html.Ul([*items, *more], className="mb-0"),
        ],
        id=MISSING,
        className="small text-warning-emphasis mt-1",
    )


def across_runs_section(state: TrendingState, source: TrendingSource) -> html.Div:
    svc = services()
    if state.first_run is None or state.last_run is None:
        return html.Div(_graph(ACROSS, empty_figure("No runs yet.")))
    points = svc.trends.across_runs(str(state.subsystem), source.trend_name, state.first_run, state.last_run)
    bounds = trend_figures.alarm_bounds(svc.settings.trend_alarms.get(source.trend_name, ()))
    figure = trend_figures.across_runs_figure(points, source, state.first_run, state.last_run, bounds)
    return html.Div(_graph(ACROSS, figure))


def plots(state: TrendingState, source: TrendingSource) -> html.Div:
    alarms = services().settings.trend_alarms.get(source.trend_name, ())
    within, alarmed = within_run_section(state, source)
    across = across_runs_section(state, source)
    return html.Div(
        [
            alarm_summary(source.trend_name, alarms, alarmed),
            html.P(
                "Click a point to open that run's histogram; a point within a run opens the time slice "
                "from the start of the run up to that minute.",
                className="small text-muted mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(_panel(f"Within run {state.run}", within), xl=6),
                    dbc.Col(_panel(f"Across runs {state.first_run}–{state.last_run}", across), xl=6),
                ],
                className="g-2",
            ),
        ]
    )


def _unknown(exc: NotFoundError, state: TrendingState) -> object:
    if exc.kind == "subsystem":
        links = {str(s): TrendingState(str(s)).href() for s in exc.valid}
    else:
        links = {str(t): state.changed(trend=str(t)).href() for t in exc.valid}
    return from_exception(exc, links)


# --- layout -----------------------------------------------------------------------------------------------


def legacy_target(hist_group: object, hist_name: object) -> str:
    """The original's ``/trending?histGroup=EMC&histName=…`` in today's words."""
    group = str(hist_group) if hist_group else None
    name = str(hist_name) if hist_name else None
    return TrendingState(group, name).href()


def layout(
    subsystem: str | None = None,
    trend: str | None = None,
    run: str | None = None,
    runs: str | None = None,
    histGroup: str | None = None,  # the original's query names, kept for old links
    histName: str | None = None,
    **ignored: object,
) -> html.Div:
    if histGroup is not None or histName is not None:
        return html.Div(
            [dcc.Location(id=REDIRECT, href=legacy_target(histGroup, histName), refresh=True),
             html.P("Moving to the new trending address…", className="text-muted")]
        )  # fmt: skip
    state, problems = resolve_state(subsystem, trend, run, runs)
    notices = [notice(p) for p in problems] + [notice(f"Ignored unknown parameter {k!r}.") for k in ignored]
    definition: SubsystemDefinition | None = None
    try:
        definition, source = check_state(state)
        state = state.changed(trend=source.trend_name)
        content: object = plots(state, source)
    except NotFoundError as exc:
        content = _unknown(exc, state)
        if exc.kind != "subsystem":
            definition = get_subsystem(str(state.subsystem), trended_subsystems())
            state = state.changed(trend=None)
    return html.Div(
        [
            html.H2("Trending", className="mb-2"),
            *notices,
            controls(state, definition),
            dcc.Store(id=STATE, data=state.to_data()),
            html.Div(content, id=MESSAGE),
        ]
    )
