"""The page shell: navbar (run list, trending, user menu), content area and shared location component."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import dash
import dash_bootstrap_components as dbc
import flask
from dash import dcc, html
from dash._pages import _parse_query_string, _path_to_page  # the router's own matching, see page_container
from flask_login import current_user

from dashboard import search

log = logging.getLogger(__name__)

URL = "url"
THEME_TOGGLE = "theme-toggle"
KEYS_BUTTON = "keys-help-button"
TITLE = "Overwatch"


def page_title(part: str) -> str:
    return f"{TITLE} — {part}"


def _user_menu() -> dbc.DropdownMenu | html.Span:
    if not getattr(current_user, "is_authenticated", False):
        return html.Span()
    return dbc.DropdownMenu(
        [
            dbc.DropdownMenuItem(f"Role: {current_user.role}", header=True),
            dbc.DropdownMenuItem("Contact and documentation", href="/contact", external_link=True),
            dbc.DropdownMenuItem(divider=True),
            dbc.DropdownMenuItem("Log out", href="/logout", external_link=True, id="logout-link"),
        ],
        label=current_user.username,
        nav=True,
        align_end=True,
        id="user-menu",
    )


def navbar() -> dbc.Navbar:
    brand = html.A(
        [
            html.Img(src=dash.get_asset_url("logo.svg"), height="30", alt=""),
            html.Span(TITLE, className="ms-2"),
        ],
        href="/",
        className="navbar-brand d-flex align-items-center",
    )
    links = dbc.Nav(
        [
            dbc.NavItem(dbc.NavLink("Run list", href="/", active="exact")),
            dbc.NavItem(dbc.NavLink("Quality", href="/quality", active="partial")),
            dbc.NavItem(dbc.NavLink("Trending", href="/trending", active="partial")),
            _user_menu(),
        ],
        className="ms-auto",
        navbar=True,
    )
    return dbc.Navbar(
        dbc.Container([brand, search.search_box(), links, *header_buttons()], fluid=True),
        color="dark",
        dark=True,
        className="mb-3 py-1",
    )


def header_buttons() -> list[html.Button]:
    """The colour-mode toggle (``assets/theme.js``) and the list of shortcuts (``assets/keyboard.js``)."""
    return [
        html.Button(
            "◐",
            id=THEME_TOGGLE,
            type="button",
            className="btn btn-sm btn-outline-light ms-2",
            title="Switch between light and dark mode",
            **{"aria-label": "Switch between light and dark mode"},
        ),
        html.Button(
            "?",
            id=KEYS_BUTTON,
            type="button",
            className="btn btn-sm btn-outline-light ms-2",
            title="Keyboard shortcuts (?)",
            **{"aria-label": "Keyboard shortcuts"},
        ),
    ]


def _requested_address() -> tuple[str, str] | None:
    """The address the browser shows (path and ``?query`` as it has them), from the layout request's Referer.

    The renderer asks for ``/_dash-layout`` from the page itself, so the Referer is that page's address; only
    one of this host counts (the page's own access checks run as they would in the router).
    """
    if not flask.has_request_context() or not flask.request.referrer:
        return None
    address = urlsplit(flask.request.referrer)
    if address.netloc != flask.request.host or not address.path:
        return None
    return address.path, f"?{address.query}" if address.query else ""


def page_container() -> html.Div:
    """Dash Pages' container with the requested page already in it, so a page load needs no router request.

    Without this the renderer mounts an empty container, ``dcc.Location`` reports the address, and the
    pages router renders the page in a second round trip (~0.3 s before the first plot can start). The
    location here carries the address the browser shows, so on mount it reports no change and the router
    (``prevent_initial_call``) stays quiet until the user navigates. The page is matched and called exactly
    as Dash's router does (its ``_path_to_page``/``_parse_query_string``; ``tests/dashboard/test_shell.py``
    compares both). Anything unusual (no Referer, an unknown path, a page that fails) leaves the container
    empty and the router renders the page as before, errors included.
    """
    location, content, store, dummy = dash.page_container.children
    address = _requested_address()
    if address is None:
        return dash.page_container
    path, query = address
    page, variables = _path_to_page(dash.strip_relative_path(path))
    if not page:
        return dash.page_container
    try:
        body = page["layout"](**{**(variables or {}), **_parse_query_string(query)})
        title = page["title"](**(variables or {})) if callable(page["title"]) else page["title"]
    except Exception:  # the router renders it again and reports the error the usual way
        log.warning("page %s not rendered with the layout; left to the router", path, exc_info=True)
        return dash.page_container
    return html.Div(
        [
            dcc.Location(id=location.id, refresh=location.refresh, pathname=path, search=query),
            html.Div(body, id=content.id, disable_n_clicks=True),
            dcc.Store(id=store.id, data={"title": title}),
            html.Div(id=dummy.id, disable_n_clicks=True),
        ]
    )


def layout() -> html.Div:
    """Built per page load (in the request), so the user menu shows who is logged in."""
    return html.Div(
        [
            dcc.Location(id=URL, refresh="callback-nav"),
            navbar(),
            dbc.Container(page_container(), fluid=True),
        ]
    )
