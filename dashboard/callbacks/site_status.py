"""Site-status callbacks: refresh, and the confirmed restart; each checks the admin role on the server."""

from __future__ import annotations

import dash
from dash import Input, Output, no_update
from flask_login import current_user

from dashboard.auth import ensure_role
from dashboard.errors import from_exception
from dashboard.pages import site_status as page
from dashboard.services import services
from overwatch_core.admin import AdminActionError, run_restart


def refresh_report() -> object:
    ensure_role("admin")
    return page.report_view(page.current_report())


def toggle_confirmation(changed: object) -> bool:
    """The restart button opens the confirmation; Cancel closes it."""
    ensure_role("admin")
    return changed == page.RESTART


def restart() -> object:
    """Run the configured command for the logged-in admin; the core writes the audit lines."""
    ensure_role("admin")
    try:
        result = run_restart(services().settings, str(current_user.username))
    except AdminActionError as exc:
        return from_exception(exc)
    return page.action_view(result)


def register(app: dash.Dash) -> None:
    @app.callback(Output(page.REPORT, "children"), Input(page.REFRESH, "n_clicks"), prevent_initial_call=True)
    def refresh(_clicks: int | None) -> object:
        return refresh_report()

    @app.callback(
        Output(page.MODAL, "is_open"),
        Input(page.RESTART, "n_clicks"),
        Input(page.CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )
    def confirm(_restart: int | None, _cancel: int | None) -> bool:
        return toggle_confirmation(dash.ctx.triggered_id)

    @app.callback(
        Output(page.RESULT, "children"),
        Output(page.MODAL, "is_open", allow_duplicate=True),
        Input(page.CONFIRM, "n_clicks"),
        prevent_initial_call=True,
    )
    def confirmed(clicks: int | None) -> tuple[object, object]:
        if not clicks:
            return no_update, no_update
        return restart(), False
