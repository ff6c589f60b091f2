"""Callbacks per page, registered on the app being built (never through the global ``dash.callback``)."""

from __future__ import annotations

import dash

from dashboard.callbacks import quality, run_list, run_page, search, site_status, time_slices, trending


def register_callbacks(app: dash.Dash) -> None:
    run_list.register(app)
    run_page.register(app)
    time_slices.register(app)
    trending.register(app)
    site_status.register(app)
    quality.register(app)
    search.register(app)
