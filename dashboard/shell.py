"""The page shell: navbar (run list, trending, user menu), content area and shared location component."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_login import current_user

from dashboard import search

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


def layout() -> html.Div:
    """Built per page load (in the request), so the user menu shows who is logged in."""
    return html.Div(
        [
            dcc.Location(id=URL, refresh="callback-nav"),
            navbar(),
            dbc.Container(dash.page_container, fluid=True),
        ]
    )
