"""Run list at ``/``: newest runs first, 50 per page, jump to a run, ongoing-run indicator, alarm badges."""

from __future__ import annotations

from collections.abc import Mapping

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.errors import notice
from dashboard.formatting import parse_int, when
from dashboard.pages import quality
from dashboard.services import services
from dashboard.shell import page_title
from overwatch_core.catalog import RunPage, RunSummary
from overwatch_core.errors import NotFoundError
from overwatch_core.model import Run
from overwatch_core.quality import Cell, overview

PATH = "/"
PER_PAGE = 50
#: Largest page asked of the database (its OFFSET is a 64-bit integer); beyond it, the last page is shown.
MAX_PAGE = (2**63 - 1) // PER_PAGE
#: Largest run number the catalog can hold (a 32-bit column on PostgreSQL); larger ones are unknown runs.
MAX_RUN_NUMBER = 2**31 - 1

TABLE = "run-list-table"
REFRESH = "run-list-refresh"
PAGE_STORE = "run-list-page"
JUMP_INPUT = "run-list-jump-input"
JUMP_BUTTON = "run-list-jump-button"
JUMP_FEEDBACK = "run-list-jump-feedback"
ONGOING = "run-list-ongoing"


def title(**_params: object) -> str:
    return page_title("Run list")


def run_href(run_number: int, subsystem: str) -> str:
    return f"/runs/{run_number}/{subsystem}"


def newest_run_numbers(count: int = 10) -> list[int]:
    return sorted(r.run_number for r in services().catalog.runs_page(1, count).runs)


def find_run(number: int) -> Run:
    """The run, or NotFoundError listing runs near it (the newest runs for a number no run can have)."""
    if abs(number) > MAX_RUN_NUMBER:
        raise NotFoundError("run", number, newest_run_numbers())
    return services().catalog.run(number)


def _subsystem_links(run: RunSummary, verdicts: Mapping[tuple[int, str], Cell]) -> list[object]:
    cells: list[object] = []
    for name, count in run.file_counts.items():
        via = run.file_locations[name]
        label = f"{name} ({count} files{'' if via == name else ', via ' + via})"
        verdict = verdicts.get((run.run_number, name))
        badge = (
            [" ", dcc.Link(quality.verdict_badge(verdict), href=quality.quality_href(run.run_number, name))]
            if verdict is not None and verdict.quality != "Null"
            else []
        )
        cells.append(
            html.Span(
                [
                    dcc.Link(name, href=run_href(run.run_number, name), className="fw-semibold"),
                    *badge,
                    html.Small(
                        [" ", dcc.Link("files", href=run_href(run.run_number, name) + "/files", title=label)],
                        className="text-muted",
                    ),
                ],
                className="me-3 text-nowrap",
            )
        )
    return cells


def _row(
    run: RunSummary,
    alarms: int,
    ongoing: int | None,
    zone_name: str,
    verdicts: Mapping[tuple[int, str], Cell],
) -> html.Tr:
    badges: list[object] = []
    if run.run_number == ongoing:
        badges.append(dbc.Badge("ongoing", color="success", className="ms-2"))
    if run.hlt_mode not in ("U", "C"):
        badges.append(dbc.Badge(f"HLT mode {run.hlt_mode}", color="secondary", className="ms-2"))
    alarm_cell = (
        dbc.Badge(f"{alarms} alarms", color="danger") if alarms else html.Span("–", className="text-muted")
    )
    first = next(iter(run.file_counts), None)
    number = (
        dcc.Link(f"Run {run.run_number}", href=run_href(run.run_number, first))
        if first
        else f"Run {run.run_number}"
    )
    return html.Tr(
        [
            html.Td([number, *badges], className="text-nowrap"),
            html.Td(when(run.start, zone_name), className="text-nowrap"),
            html.Td(_subsystem_links(run, verdicts)),
            html.Td(alarm_cell, className="text-end"),
        ],
        id=f"run-row-{run.run_number}",
    )


def _pagination(page: RunPage) -> html.Nav:
    def item(label: str, target: int, disabled: bool = False, active: bool = False) -> html.Li:
        state = " disabled" if disabled else " active" if active else ""
        link = dcc.Link(label, href=f"/?page={target}", className="page-link")
        return html.Li(link, className=f"page-item{state}")

    numbers = sorted({1, page.pages, *range(max(1, page.page - 2), min(page.pages, page.page + 2) + 1)})
    items = [item("« Newer", page.page - 1, disabled=page.page <= 1)]
    items += [item(str(n), n, active=n == page.page) for n in numbers]
    items.append(item("Older »", page.page + 1, disabled=page.page >= page.pages))
    return html.Nav(html.Ul(items, className="pagination pagination-sm mb-0"), **{"aria-label": "Run pages"})


def run_table(page_number: int) -> html.Div:
    """The table of one page of runs, with "Showing runs a–b of n" and pagination."""
    svc = services()
    page = svc.catalog.runs_page(min(page_number, MAX_PAGE), PER_PAGE)
    shown: list[object] = []
    if page.runs == () and page.total and page_number > page.pages:
        page = svc.catalog.runs_page(page.pages, PER_PAGE)
        shown.append(notice(f"There is no page {page_number}; showing the last page, {page.pages}."))
    ongoing = svc.ongoing_run()
    alarms = svc.trends.alarm_counts([r.run_number for r in page.runs])
    verdicts = overview(svc.catalog, [r.run_number for r in page.runs])
    rows = [_row(r, alarms.get(r.run_number, 0), ongoing, svc.tz_name, verdicts) for r in page.runs]
    header = html.Thead(html.Tr([html.Th("Run"), html.Th("Start"), html.Th("Subsystems"), html.Th("Alarms")]))
    if not rows:
        return html.Div(
            dbc.Alert("No runs yet. Files dropped into the drop folder appear here once ingested.")
        )
    summary = html.Div(
        [
            html.Span(
                f"Showing runs {page.first_index}–{page.last_index} of {page.total}", id="run-list-summary"
            ),
            _pagination(page),
        ],
        className="d-flex justify-content-between align-items-center my-2",
    )
    table = dbc.Table([header, html.Tbody(rows)], hover=True, size="sm", className="align-middle")
    return html.Div([*shown, summary, table])


def ongoing_banner(ongoing: int | None) -> object:
    if ongoing is None:
        return None
    return dbc.Alert(
        [html.Strong(f"Run {ongoing} is ongoing. "), "This list refreshes itself while the run lasts."],
        color="success",
        className="py-2",
    )


def layout(page: str | None = None, **ignored: object) -> html.Div:
    number, problem = parse_int(page, "page", minimum=1)
    notices = [notice(problem)] if problem else []
    notices += [notice(f"Ignored unknown parameter {k!r}.") for k in ignored]
    svc = services()
    ongoing = svc.ongoing_run()
    refresh_ms = round(svc.settings.live_refresh_seconds * 1000)
    jump = dbc.InputGroup(
        [
            dbc.Input(id=JUMP_INPUT, type="number", placeholder="Run number", min=0, debounce=False),
            dbc.Button("Go to run", id=JUMP_BUTTON, color="primary"),
        ],
        size="sm",
        style={"maxWidth": "22rem"},
    )
    return html.Div(
        [
            html.Div(
                [
                    html.H2("Runs", className="mb-0"),
                    html.Div([jump, html.Div(id=JUMP_FEEDBACK, className="small")]),
                ],
                className="d-flex justify-content-between align-items-start flex-wrap gap-2",
            ),
            *notices,
            html.Div(ongoing_banner(ongoing), id=ONGOING, className="mt-2"),
            dcc.Store(id=PAGE_STORE, data=number or 1),
            dcc.Interval(id=REFRESH, interval=refresh_ms, disabled=ongoing is None),
            html.Div(run_table(number or 1), id=TABLE),
        ]
    )
