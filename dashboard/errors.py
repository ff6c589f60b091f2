"""One way to show errors on a page: a category and its messages (REF §6.2), never a traceback."""

from __future__ import annotations

from collections.abc import Iterable

import dash_bootstrap_components as dbc
from dash import html

from overwatch_core.errors import NotFoundError, OverwatchError


def error_card(category: str, messages: Iterable[str], *, links: Iterable[html.A] = ()) -> dbc.Alert:
    """An alert with the error category as heading and one line per message."""
    items = [html.Li(m) for m in messages]
    body: list[object] = [html.H5(category, className="alert-heading"), html.Ul(items, className="mb-0")]
    shown_links = list(links)
    if shown_links:
        body.append(html.Div([html.Span("Available: "), *_joined(shown_links)], className="mt-2 small"))
    return dbc.Alert(body, color="danger", className="error-card")  # react-bootstrap adds role="alert"


def _joined(links: list[html.A]) -> list[object]:
    joined: list[object] = []
    for index, link in enumerate(links):
        if index:
            joined.append(", ")
        joined.append(link)
    return joined


def from_exception(exc: OverwatchError, link_for: dict[str, str] | None = None) -> dbc.Alert:
    """An error card for a core exception; for unknown names, links to what exists when we know where."""
    links = []
    if isinstance(exc, NotFoundError) and link_for is not None:
        links = [html.A(str(v), href=link_for[str(v)]) for v in exc.valid if str(v) in link_for]
    return error_card(exc.category, [str(exc)], links=links)


def notice(message: str) -> dbc.Alert:
    """A dismissable notice for input that was ignored (malformed query values)."""
    return dbc.Alert(message, color="warning", dismissable=True, className="py-2")
