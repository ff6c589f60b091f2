"""ROOT files page at ``/runs/<run>/<subsystem>/files``: every received file, its time and download link."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.errors import from_exception
from dashboard.formatting import parse_int, short_time
from dashboard.pages.run_list import find_run, newest_run_numbers
from dashboard.services import services
from dashboard.shell import page_title
from overwatch_core.errors import NotFoundError, OverwatchError

PATH = "/runs/<run>/<subsystem>/files"


def title(run: str = "", subsystem: str = "", **_params: object) -> str:
    return page_title(f"Run {run} {subsystem} ROOT files".strip())


def download_href(relative: str) -> str:
    return f"/files/{relative}"


def files_href(run_number: int, subsystem: str) -> str:
    return f"/runs/{run_number}/{subsystem}/files"


def _links(exc: OverwatchError, number: int | None) -> dict[str, str]:
    """The files pages of what exists instead: the other subsystems, or the listed runs."""
    if not isinstance(exc, NotFoundError):
        return {}
    if exc.kind == "run":
        runs = [services().catalog.run(int(str(v))) for v in exc.valid]
        return {
            str(r.run_number): files_href(r.run_number, r.subsystems[0].name) for r in runs if r.subsystems
        }
    if number is None:
        return {}
    return {str(v): files_href(number, str(v)) for v in exc.valid}


def _not_found(exc: OverwatchError, number: int | None) -> html.Div:
    return html.Div([from_exception(exc, _links(exc, number)), dcc.Link("Back to the run list", href="/")])


def layout(run: str = "", subsystem: str = "", **_ignored: object) -> html.Div:
    svc = services()
    number, _ = parse_int(run, "run")
    try:
        if number is None:
            raise NotFoundError("run", run, newest_run_numbers())
        sub = find_run(number).subsystem(subsystem)
    except OverwatchError as exc:
        return _not_found(exc, number)
    via = " (stored in HLT files)" if sub.file_location != sub.name else ""
    items = [
        html.Li(
            [
                html.A(
                    short_time(f.timestamp), href=download_href(f.path), download=f.path.rsplit("/", 1)[-1]
                ),
                html.Small(
                    f" {f.size / 1e6:.2f} MB, {f.n_events:g} events"
                    if f.n_events
                    else f" {f.size / 1e6:.2f} MB",
                    className="text-muted",
                ),
            ],
        )
        for f in sub.files
    ]
    return html.Div(
        [
            html.H2(f"Run {number} {sub.name} ROOT files{via}"),
            html.P(
                [
                    f"All times in {svc.tz_name}. Each file holds everything since the start of the run. ",
                    dcc.Link("Back to the histograms", href=f"/runs/{number}/{sub.name}"),
                ],
                className="text-muted",
            ),
            dbc.Card(
                dbc.CardBody(
                    html.Ul(items, style={"columns": "18rem"}, className="mb-0", id="root-file-list")
                )
            ),
        ]
    )
