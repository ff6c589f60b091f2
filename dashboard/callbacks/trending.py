"""Trending callbacks: a changed choice becomes a new URL (the page redraws from it); a click opens a run."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, no_update

from dashboard.pages import trending as page
from dashboard.shell import URL
from overwatch_core.errors import NotFoundError
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.trending import find_source


def _run_number(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def navigation_href(state: page.TrendingState, changed: str | None, values: dict[str, object]) -> str | None:
    """The URL of the state the controls now ask for, or None when nothing changed.

    A new subsystem starts with its default trend; emptied or unreadable run fields keep the shown value.
    """
    new = state
    if changed == page.SUBSYSTEM and values["subsystem"] not in (None, state.subsystem):
        new = state.changed(subsystem=str(values["subsystem"]), trend=None)
    elif changed == page.TREND and isinstance(values["trend"], str) and values["trend"]:
        new = state.changed(trend=values["trend"])
    elif changed == page.RUN:
        new = state.changed(run=_run_number(values["run"]) or state.run)
    elif changed in (page.FIRST_RUN, page.LAST_RUN):
        first = _run_number(values["first_run"]) or state.first_run
        last = _run_number(values["last_run"]) or state.last_run
        if first is not None and last is not None:
            new = state.changed(first_run=min(first, last), last_run=max(first, last))
    return None if new == state else new.href()


def point_href(state: page.TrendingState, click: dict[str, Any] | None) -> str | None:
    """The run page of a clicked point: customdata is [run, minute (−1 across runs), error]."""
    if not click or not click.get("points") or state.subsystem is None or state.trend is None:
        return None
    custom = click["points"][0].get("customdata")
    if not isinstance(custom, list) or len(custom) < 2:
        return None
    run_number, minute = int(custom[0]), int(custom[1])
    try:
        source = find_source(get_subsystem(state.subsystem, page.trended_subsystems()), state.trend)
    except NotFoundError:
        return None
    return page.run_page_href(run_number, state.subsystem, source.hist_name, minute if minute >= 0 else None)


def register(app: dash.Dash) -> None:
    @app.callback(
        Output(URL, "href", allow_duplicate=True),
        Input(page.SUBSYSTEM, "value"),
        Input(page.TREND, "value"),
        Input(page.RUN, "value"),
        Input(page.FIRST_RUN, "value"),
        Input(page.LAST_RUN, "value"),
        State(page.STATE, "data"),
        prevent_initial_call=True,
    )
    def choose(
        subsystem: object, trend: object, run: object, first: object, last: object, data: dict[str, Any]
    ) -> object:
        values = {"subsystem": subsystem, "trend": trend, "run": run, "first_run": first, "last_run": last}
        changed = dash.ctx.triggered_id if isinstance(dash.ctx.triggered_id, str) else None
        target = navigation_href(page.TrendingState.from_data(data), changed, values)
        return no_update if target is None else target

    @app.callback(
        Output(URL, "href", allow_duplicate=True),
        Input(page.WITHIN, "clickData"),
        Input(page.ACROSS, "clickData"),
        State(page.STATE, "data"),
        prevent_initial_call=True,
    )
    def open_point(
        within: dict[str, Any] | None, across: dict[str, Any] | None, data: dict[str, Any]
    ) -> object:
        click = within if dash.ctx.triggered_id == page.WITHIN else across
        target = point_href(page.TrendingState.from_data(data), click)
        return no_update if target is None else target
