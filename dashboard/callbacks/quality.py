"""Quality overview callbacks: the table refreshes itself (runs go on while a control room watches)."""

from __future__ import annotations

import dash
from dash import Input, Output, State

from dashboard.pages import quality as page


def register(app: dash.Dash) -> None:
    @app.callback(
        Output(page.TABLE, "children"),
        Input(page.REFRESH, "n_intervals"),
        State(page.MODE, "data"),
        prevent_initial_call=True,
    )
    def refresh(_ticks: int, large: bool) -> object:
        return page.overview_table(large=bool(large))
