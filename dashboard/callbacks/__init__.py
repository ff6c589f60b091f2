"""Callbacks per page, registered on the app being built (never through the global ``dash.callback``)."""

from __future__ import annotations

import dash

from dashboard.callbacks import run_list, run_page


def register_callbacks(app: dash.Dash) -> None:
    run_list.register(app)
    run_page.register(app)
