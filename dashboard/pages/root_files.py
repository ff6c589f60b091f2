"""ROOT files page at ``/runs/<run>/<subsystem>/files``: every received file, its time and download link."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.errors import from_exception
from dashboard.formatting import parse_int, short_time
from dashboard.services import services
from dashboard.shell import page_title
from overwatch_core.errors import NotFoundError, OverwatchError

PATH = "/runs/<run>/<subsystem>/files"


def title(run: str = "", subsystem: str = "", **_params: object) -> str:
    return page_title(f"Run {run} {subsystem} ROOT files".strip())


def download_href(relative: str) -> str:
    return f"/files/{relative}"


def layout(run: str = "", subsystem: str = "", **_ignored: object) -> html.Div:
    svc = services()
    number, _ = parse_int(run, "run")
    try:
        if number is None:
            raise NotFoundError("run", run, [])
        sub = svc.catalog.run(number).subsystem(subsystem)
    except OverwatchError as exc:
        return html.Div([from_exception(exc), dcc.Link("Back to the run list", href="/")])
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
