"""Run page callbacks: live refresh when a new file arrives for an ongoing run (slider range grows too), and
the graphs of lazy plot cards as they come into view."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, no_update
from flask_login import current_user

from dashboard import time_slice_panel as ts
from dashboard.auth import ensure_role
from dashboard.pages import run_page as page
from dashboard.reference_overlay import Compare
from dashboard.services import services
from overwatch_core.errors import OverwatchError
from overwatch_core.processing import Processor


def newest_file(run_number: int, subsystem: str) -> str:
    sub = services().catalog.run(run_number).subsystem(subsystem)
    return sub.files[-1].path if sub.files else ""


def refreshed(context: dict[str, Any], shown: str) -> tuple[object, ...]:
    """New main content (full-run views only), latest file, interval state, slider range and marks, and the
    header (its file count and ongoing badge) when a file arrived or the run is over."""
    svc = services()
    run_number, name = int(context["run"]), str(context["subsystem"])
    still_ongoing = svc.ongoing_run() == run_number
    unchanged = (no_update, no_update, not still_ongoing, no_update, no_update, no_update, no_update)
    try:
        run = svc.catalog.run(run_number)
        sub = run.subsystem(name)
        latest = sub.files[-1].path if sub.files else ""
        header = page.header(run, sub, still_ongoing)
        if latest == shown:
            return (*unchanged[:-1], no_update if still_ongoing else header)
        content: object = no_update
        if not context.get("slice"):  # a time slice the user chose stays on screen
            view = svc.views.full_run(run_number, name)
            group, hist = context.get("group"), context.get("hist")
            compare = Compare.from_context(context)
            content = page.body(run_number, name, group, hist, view, bool(context.get("problems")), compare)
    except OverwatchError:
        return unchanged
    length = sub.run_length_minutes
    return content, latest, not still_ongoing, max(length, 1), ts.minute_marks(sub), length < 1, header


def make_reference(context: dict[str, Any]) -> tuple[object, str]:
    """Make the page's run the reference of its subsystem from this run on, recheck the verdicts, confirm.

    Experts and admins only, checked here (a shifter posting the callback gets a 403)."""
    ensure_role("expert")
    svc = services()
    run_number, subsystem = int(context["run"]), str(context["subsystem"])
    try:
        svc.catalog.set_reference(subsystem, run_number, run_number, str(current_user.get_id()))
        rechecked = Processor(svc.settings, svc.catalog, svc.hist_cache).recheck(subsystem, run_number)
    except OverwatchError as exc:
        return dbc.Alert(f"Not set: {exc}", color="danger", className="py-1 mt-1"), no_update
    confirmation = dbc.Alert(
        f"Run {run_number} is now the {subsystem} reference for runs from {run_number} on; "
        f"verdicts of {rechecked} runs recomputed.",
        color="success",
        className="py-1 mt-1",
        id="run-page-reference-confirmation",
    )
    return confirmation, page.reference_text(run_number, subsystem)


def register(app: dash.Dash) -> None:
    @app.callback(
        Output(page.REFERENCE_STATUS, "children"),
        Output(page.REFERENCE, "children"),
        Input(page.MAKE_REFERENCE, "n_clicks"),
        State(page.QUERY, "data"),
        prevent_initial_call=True,
    )
    def reference(_clicks: int | None, context: dict[str, Any]) -> tuple[object, str]:
        return make_reference(context)

    @app.callback(
        Output(page.MAIN, "children"),
        Output(page.LATEST, "data"),
        Output(page.LIVE, "disabled"),
        Output(ts.RANGE, "max"),
        Output(ts.RANGE, "marks"),
        Output(ts.RANGE, "disabled"),
        Output(page.HEADER, "children"),
        Input(page.LIVE, "n_intervals"),
        State(page.QUERY, "data"),
        State(page.LATEST, "data"),
        prevent_initial_call=True,
    )
    def live(_ticks: int, context: dict[str, Any], shown: str) -> tuple[object, ...]:
        return refreshed(context, shown)

    @app.callback(
        Output({"type": page.LAZY, "name": MATCH}, "children"),
        Output({"type": page.INFO, "name": MATCH}, "children"),
        Input({"type": page.LAZY_SEEN, "name": MATCH}, "data"),
        State(page.QUERY, "data"),
        prevent_initial_call=True,
    )
    def lazy_plot(_seen: object, context: dict[str, Any]) -> tuple[object, object]:
        """Set by ``assets/lazy_plots.js``; like every ``/_dash-*`` request it needs a login."""
        return page.lazy_card(context, str(dash.ctx.triggered_id["name"]))
