"""Run list callbacks: jump to a run, and refresh the table while a run is ongoing."""

from __future__ import annotations

import dash
from dash import Input, Output, State, html, no_update

from dashboard.pages import run_list as page
from dashboard.services import services
from dashboard.shell import URL
from overwatch_core.errors import NotFoundError


def jump_target(value: object) -> tuple[str | None, str]:
    """The run page to go to for a typed run number, or None and the reason."""
    try:
        number = int(str(value))
    except ValueError:
        return None, "Type a run number."
    try:
        run = page.find_run(number)
    except NotFoundError as exc:
        return None, str(exc)
    if not run.subsystems:
        return None, f"Run {number} has no subsystems yet."
    return page.run_href(number, run.subsystems[0].name), ""


def register(app: dash.Dash) -> None:
    @app.callback(
        Output(URL, "href", allow_duplicate=True),
        Output(page.JUMP_FEEDBACK, "children"),
        Input(page.JUMP_BUTTON, "n_clicks"),
        Input(page.JUMP_INPUT, "n_submit"),
        State(page.JUMP_INPUT, "value"),
        prevent_initial_call=True,
    )
    def jump(clicks: int | None, submits: int | None, value: object) -> tuple[object, object]:
        if not clicks and not submits:  # the page was just drawn; nobody asked yet
            return no_update, no_update
        target, problem = jump_target(value)
        if target is None:
            return no_update, html.Span(problem, className="text-danger")
        return target, ""

    @app.callback(
        Output(page.TABLE, "children"),
        Output(page.ONGOING, "children"),
        Output(page.REFRESH, "disabled"),
        Input(page.REFRESH, "n_intervals"),
        State(page.PAGE_STORE, "data"),
        prevent_initial_call=True,
    )
    def refresh(_ticks: int, page_number: int) -> tuple[object, object, bool]:
        ongoing = services().ongoing_run()
        return page.run_table(int(page_number or 1)), page.ongoing_banner(ongoing), ongoing is None
