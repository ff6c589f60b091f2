"""Fixtures of the dashboard tests. Auth fixtures (``auth_*``): a minimal Dash app behind init_auth."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import dash
import flask
import pytest
from dash import Input, Output, dcc, html
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dashboard.auth import ensure_role, init_auth, require_role
from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.settings import Settings
from overwatch_core.users import UserStore

#: name: (password, role) of the users every auth app has.
AUTH_USERS = {
    "alice": ("alice-pw", "shifter"),
    "erin": ("erin-pw", "expert"),
    "adam": ("adam-pw", "admin"),
}
AUTH_LOGIN_ATTEMPTS = 3


def reset_dash_pages() -> None:
    """Dash keeps registered pages in a module global; each app must start without the last one's."""
    dash._pages.PAGE_REGISTRY.clear()


@pytest.fixture
def auth_settings(make_settings: Callable[..., Settings]) -> Settings:
    settings = make_settings(login_attempts=AUTH_LOGIN_ATTEMPTS, login_window_minutes=15.0)
    settings.data_path.mkdir(parents=True)
    return settings


@pytest.fixture
def auth_users(auth_settings: Settings) -> UserStore:
    """A user store with AUTH_USERS, hashed with 4 bcrypt rounds to keep the tests fast."""
    catalog = Catalog.connect(auth_settings.catalog_url, zone(auth_settings.timezone))
    store = UserStore(catalog, rounds=4)
    for name, (password, role) in AUTH_USERS.items():
        store.add(name, password, role)
    return store


def _build_auth_app(settings: Settings, users: UserStore, **dash_options: Any) -> dash.Dash:
    """One page, one callback any user may run, one only admins may run, one admin-only Flask view."""
    app = dash.Dash(__name__, server=flask.Flask(__name__), use_pages=True, pages_folder="", **dash_options)
    dash.register_page("home", path="/", layout=html.Div("home page"))
    app.layout = html.Div([dcc.Location(id="url"), dash.page_container, html.Button(id="btn")])

    @app.callback(Output("out", "children"), Input("btn", "n_clicks"))
    def clicked(n_clicks: int | None) -> str:
        return f"clicked {n_clicks}"

    @app.callback(Output("admin-out", "children"), Input("admin-btn", "n_clicks"))
    def admin_action(n_clicks: int | None) -> str:
        ensure_role("admin")
        return "restarted"

    @app.server.route("/admin-view")
    @require_role("admin")
    def admin_view() -> str:
        return "admin page"

    init_auth(app, users, settings)
    return app


@pytest.fixture
def make_auth_app(
    auth_settings: Settings, auth_users: UserStore, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., dash.Dash]]:
    """Build auth apps (keyword arguments go to dash.Dash); the secret key comes from the data folder."""
    monkeypatch.delenv("OVERWATCH_SECRET_KEY", raising=False)

    def make(**dash_options: Any) -> dash.Dash:
        reset_dash_pages()
        return _build_auth_app(auth_settings, auth_users, **dash_options)

    yield make
    reset_dash_pages()


@pytest.fixture
def auth_app(make_auth_app: Callable[..., dash.Dash]) -> dash.Dash:
    return make_auth_app()


@pytest.fixture
def auth_client(auth_app: dash.Dash) -> FlaskClient:
    return auth_app.server.test_client()


def _form_token(client: FlaskClient, base_url: str = "http://localhost") -> str:
    page = client.get("/login", base_url=base_url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


@pytest.fixture
def auth_form_token() -> Callable[[FlaskClient], str]:
    """Read the CSRF token of the login form, as a browser would."""
    return _form_token


@pytest.fixture
def auth_login() -> Callable[..., TestResponse]:
    """Post the login form like a browser: ``auth_login(client, "alice")`` uses the password of
    AUTH_USERS; ``password=``, ``address=`` (REMOTE_ADDR), ``base_url=`` and form fields may be given."""

    def log_in(
        client: FlaskClient,
        username: str,
        password: str | None = None,
        address: str = "127.0.0.1",
        base_url: str = "http://localhost",
        **form: str,
    ) -> TestResponse:
        data = {
            "username": username,
            "password": AUTH_USERS[username][0] if password is None else password,
            "csrf_token": _form_token(client, base_url),
            **form,
        }
        return client.post("/login", data=data, base_url=base_url, environ_base={"REMOTE_ADDR": address})

    return log_in
