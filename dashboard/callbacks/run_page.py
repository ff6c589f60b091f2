"""Run page callbacks: live refresh of the view when a new file arrives for an ongoing run."""

from __future__ import annotations

import dash
from dash import Input, Output, State, no_update

from dashboard.pages import run_page as page
from dashboard.services import services
from overwatch_core.errors import OverwatchError


def newest_file(run_number: int, subsystem: str) -> str:
    sub = services().catalog.run(run_number).subsystem(subsystem)
    return sub.files[-1].path if sub.files else ""


def register(app: dash.Dash) -> None:
    @app.callback(
        Output(page.MAIN, "children"),
        Output(page.LATEST, "data"),
        Output(page.LIVE, "disabled"),
        Input(page.LIVE, "n_intervals"),
        State(page.QUERY, "data"),
        State(page.LATEST, "data"),
        prevent_initial_call=True,
    )
    def live(_ticks: int, query: dict[str, object], shown: str) -> tuple[object, object, bool]:
        svc = services()
        run_number, subsystem = int(str(query["run"])), str(query["subsystem"])
        still_ongoing = svc.ongoing_run() == run_number
        try:
            latest = newest_file(run_number, subsystem)
            if latest == shown:
                return no_update, no_update, not still_ongoing
            view = svc.views.full_run(run_number, subsystem)
        except OverwatchError:
            return no_update, no_update, not still_ongoing
        group = query.get("group")
        hist = query.get("hist")
        content = page.body(
            run_number,
            subsystem,
            group if isinstance(group, str) else None,
            hist if isinstance(hist, str) else None,
            view,
        )
        return content, latest, not still_ongoing
