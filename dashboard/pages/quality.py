"""Quality overview at ``/quality`` (newest runs × subsystems, worst verdict per cell, problems first) and one
run's verdicts at ``/runs/<run>/<subsystem>/quality``; ``?bigscreen=1`` shows the overview for a control-room
monitor: full screen, large type, dark, refreshing itself, no controls."""

from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.errors import from_exception, notice
from dashboard.formatting import parse_int
from dashboard.services import services
from dashboard.shell import page_title
from overwatch_core.checks import Quality
from overwatch_core.errors import NotFoundError, OverwatchError
from overwatch_core.quality import Cell, overview, subsystem_quality

PATH = "/quality"
RUN_PATH = "/runs/<run>/<subsystem>/quality"
ROWS = 30
REFRESH_MS = 30_000
#: An ongoing run's subsystem that sent nothing for this long is shown grey (stale), whatever its verdict.
STALE_MINUTES = 5

TABLE = "quality-table"
REFRESH = "quality-refresh"
MODE = "quality-mode"
#: Bootstrap colours of the verdicts (the text says the verdict too, colour is never the only cue).
COLOURS: dict[str, str] = {"Good": "success", "Medium": "warning", "Bad": "danger", "Null": "secondary"}


def title(**_params: object) -> str:
    return page_title("Quality")


def run_title(run: str = "", subsystem: str = "", **_params: object) -> str:
    return page_title(f"Run {run} {subsystem} quality".strip())


def quality_href(run_number: int, subsystem: str) -> str:
    return f"/runs/{run_number}/{subsystem}/quality"


def problems_href(run_number: int, subsystem: str, cell: Cell) -> str:
    """Where a cell leads: the run page with only its Bad and Medium histograms, or the whole page."""
    href = f"/runs/{run_number}/{subsystem}"
    return href + "?problems=1" if cell.bad or cell.medium else href


def verdict_badge(cell: Cell, stale: bool = False, large: bool = False) -> dbc.Badge:
    """The cell's verdict with its Bad/Medium counts; grey with "stale" when an ongoing run went quiet."""
    counts = [f"{cell.bad} Bad"] * bool(cell.bad) + [f"{cell.medium} Medium"] * bool(cell.medium)
    text = "stale" if stale else cell.quality + (f" ({', '.join(counts)})" if counts else "")
    return dbc.Badge(
        text,
        color="dark" if stale else COLOURS[cell.quality],
        className="fs-4 px-3 py-2" if large else "",
        title=f"{cell.quality}; {', '.join(counts) or 'no problems'}"
        + ("; no new file recently" if stale else ""),
    )


def _stale(run_number: int, subsystem: str, ongoing: int | None, now: datetime) -> bool:
    if run_number != ongoing:
        return False
    sub = services().catalog.run(run_number).subsystem(subsystem)
    return sub.end is None or (now - sub.end).total_seconds() > STALE_MINUTES * 60


def overview_table(large: bool = False) -> html.Div:
    """The newest runs as rows, the configured subsystems as columns."""
    svc = services()
    runs = svc.catalog.runs_page(1, ROWS).runs
    if not runs:
        return html.Div(dbc.Alert("No runs yet."))
    cells = overview(svc.catalog, [r.run_number for r in runs])
    names = [n for n in svc.settings.subsystems if any((r.run_number, n) in cells for r in runs)]
    ongoing, now = svc.ongoing_run(), svc.now()
    header = html.Thead(html.Tr([html.Th("Run"), *[html.Th(n) for n in names]]))
    rows = []
    for run in runs:
        tds: list[object] = [
            html.Td(f"Run {run.run_number}" + (" (ongoing)" if run.run_number == ongoing else ""))
        ]
        for name in names:
            cell = cells.get((run.run_number, name))
            if cell is None:
                tds.append(html.Td("–", className="text-muted"))
                continue
            badge = verdict_badge(cell, _stale(run.run_number, name, ongoing, now), large)
            tds.append(html.Td(dcc.Link(badge, href=problems_href(run.run_number, name, cell))))
        rows.append(html.Tr(tds, id=f"quality-row-{run.run_number}"))
    table = dbc.Table(
        [header, html.Tbody(rows)], size="sm", className="align-middle" + (" fs-3" if large else "")
    )
    return html.Div(table)


def layout(bigscreen: str | None = None, **ignored: object) -> html.Div:
    large = bigscreen in ("1", "true", "yes")
    refresh = html.Div([dcc.Interval(id=REFRESH, interval=REFRESH_MS), dcc.Store(id=MODE, data=large)])
    if large:
        # Over the whole window, above the navbar: nothing to click, readable from a few metres.
        return html.Div(
            [
                html.H1("Overwatch — data quality", className="display-5 mb-3"),
                html.Div(overview_table(large=True), id=TABLE),
                refresh,
            ],
            id="quality-bigscreen",
            className="p-4",
            **{"data-bs-theme": "dark"},
            style={"position": "fixed", "inset": 0, "zIndex": 2000, "overflow": "auto", "background": "#111"},
        )
    notices = [notice(f"Ignored unknown parameter {k!r}.") for k in ignored]
    return html.Div(
        [
            html.H2("Quality"),
            *notices,
            html.P(
                [
                    "Worst verdict of each subsystem's newest file (the run so far), with its Bad and Medium "
                    "histograms; grey when an ongoing run's subsystem sent nothing for "
                    f"{STALE_MINUTES} min. A cell opens the run page with its Bad and Medium histograms. ",
                    dcc.Link("Big-screen mode", href=f"{PATH}?bigscreen=1"),
                ],
                className="text-muted",
            ),
            html.Div(overview_table(), id=TABLE),
            refresh,
        ]
    )


def _verdict_row(run_number: int, subsystem: str, name: str, quality: Quality, lines: list[str]) -> html.Tr:
    from dashboard.pages.run_page import page_href

    return html.Tr(
        [
            html.Td(dbc.Badge(quality, color=COLOURS[quality])),
            html.Td(dcc.Link(name, href=page_href(run_number, subsystem, hist=name))),
            html.Td(html.Ul([html.Li(line) for line in lines], className="mb-0 small")),
        ]
    )


def run_layout(run: str = "", subsystem: str = "", **_ignored: object) -> html.Div:
    number, _ = parse_int(run, "run")
    try:
        if number is None:
            raise NotFoundError("run", run, [])
        verdict = subsystem_quality(services().catalog, number, subsystem)
    except OverwatchError as exc:
        return html.Div([from_exception(exc, {}), dcc.Link("Back to the quality overview", href=PATH)])
    ref = (
        f"reference run {verdict.reference_run}" if verdict.reference_run is not None else "no reference run"
    )
    counts = ", ".join(f"{n} {q}" for q, n in verdict.counts.items() if n) or "no checks stored"
    rows = [
        _verdict_row(
            number, subsystem, h.name, h.quality, [f"{r.quality}: {r.check}: {r.message}" for r in h.results]
        )
        for h in verdict.histograms
    ]
    return html.Div(
        [
            html.H2(f"Run {number} {subsystem}: {verdict.quality}"),
            html.P(
                [
                    f"{counts}; compared with the {ref}. Problems first. ",
                    dcc.Link("Back to the overview", href=PATH),
                ],
                className="text-muted",
            ),
            dbc.Table(
                [
                    html.Thead(html.Tr([html.Th("Verdict"), html.Th("Histogram"), html.Th("Checks")])),
                    html.Tbody(rows),
                ],
                size="sm",
                id="quality-histograms",
            ),
        ]
    )
