"""The page shown for an unknown address."""

from __future__ import annotations

from dash import html

from dashboard.errors import error_card
from dashboard.shell import page_title


def title(**_params: object) -> str:
    return page_title("Page not found")


def layout(**_params: object) -> html.Div:
    return html.Div(
        [
            error_card("Page not found", ["There is no page at this address."]),
            html.A("Back to the run list", href="/"),
        ]
    )
