"""Fixtures of the dashboard tests. Auth fixtures (``auth_*``): a minimal Dash app behind init_auth; app
fixtures (``app_*``, ``make_app``): the real app of ``create_app`` on copies of the demo data."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

# pytest puts tests/ on sys.path, where tests/dashboard/ passes for a namespace package "dashboard"
# without __file__, and create_app's flask.Flask("dashboard") cannot find its root path. With the
# repository first on the path the real package wins (`python -m pytest` does this by itself).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import dash
import flask
import pytest
from dash import Input, Output, dcc, html
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dashboard.auth import ensure_role, init_auth, require_role
from dashboard.factory import create_app
from overwatch_core import catalog as catalog_tables
from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.settings import Settings, load_settings
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


# -- the real app on demo data (``app_*``) -----------------------------------------------------------

#: The user of the real-app tests: name, password, role.
APP_USER = ("shirley", "shirley-pw", "shifter")
#: Runs of the demo data (see tests/conftest.py ``demo_data``).
DEMO_RUNS = (300000, 300003, 300004)
#: Extra runs put into the catalog of ``app_many_runs_data`` so the run list has three pages.
EXTRA_RUNS = range(100001, 100118)


def copy_demo(demo_data: Path, target: Path) -> Path:
    """A writable copy of the demo data without its caches (their keys name the original paths anyway)."""
    shutil.copytree(demo_data, target, symlinks=True, ignore=lambda folder, _names: ["cache"])
    return target


def add_app_user(data: Path) -> None:
    """APP_USER in the catalog of ``data``, with 4 bcrypt rounds (the real app checks any cost)."""
    settings = load_settings(None, env={}, data_folder=str(data))
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    name, password, role = APP_USER
    UserStore(catalog, rounds=4).add(name, password, role)
    catalog.close()


def add_runs(data: Path, numbers: Iterable[int]) -> None:
    """Runs with one EMC file row each, written with SQL like the catalog tests do (no files on disk)."""
    settings = load_settings(None, env={}, data_folder=str(data))
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    numbers = list(numbers)
    with catalog.engine.begin() as conn:
        conn.execute(catalog_tables.runs.insert(), [{"run_number": n, "hlt_mode": "C"} for n in numbers])
        conn.execute(
            catalog_tables.files.insert(),
            [
                {"run_number": n, "location": "EMC", "path": f"Run{n}/EMC/EMChists.2015_01_01_00_00_00.root",
                 "timestamp": 1420066800 + n, "size": 1000, "n_events": 10.0}
                for n in numbers
            ],
        )  # fmt: skip
        conn.execute(
            catalog_tables.subsystems.insert(),
            [{"run_number": n, "name": "EMC", "file_location": "EMC"} for n in numbers],
        )
    catalog.close()


def with_references(data: Path, reference_run: int = 300000) -> Path:
    """``reference_run`` as every subsystem's reference in ``data``, with the verdicts recomputed (run 300003
    of the demo data then comes out Bad on the FastOR checks, the others Good)."""
    from overwatch_core.processing import Processor, open_services

    settings = load_settings(None, env={}, data_folder=str(data))
    processor = Processor(settings, *open_services(settings))
    for subsystem in settings.subsystems:
        processor.ingester.catalog.set_reference(subsystem, reference_run, reference_run, "erin")
        processor.recheck(subsystem, reference_run)
    processor.ingester.catalog.close()
    return data


@pytest.fixture(scope="session")
def app_data(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo data with APP_USER, shared by the tests that only read it (the view caches of
    the apps built on it are written there, not into ``demo_data``)."""
    data = copy_demo(demo_data, tmp_path_factory.mktemp("app") / "data")
    add_app_user(data)
    return data


@pytest.fixture(scope="session")
def app_many_runs_data(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data plus EXTRA_RUNS: 120 runs, so the run list has pages 1–50, 51–100 and 101–120."""
    data = copy_demo(demo_data, tmp_path_factory.mktemp("many") / "data")
    add_runs(data, EXTRA_RUNS)
    return data


@pytest.fixture(scope="session")
def make_app_data(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Path]:
    """Make a new copy of the demo data (with APP_USER) that the caller may change; usable from fixtures
    of any scope."""

    def make() -> Path:
        data = copy_demo(demo_data, tmp_path_factory.mktemp("copy") / "data")
        add_app_user(data)
        return data

    return make


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., dash.Dash]]:
    """Build the real app with ``create_app`` on a data folder; keyword arguments override settings.

    The instance folder (secret key, job cache) is below tmp_path, so apps never share sessions by
    accident, and Dash's page registry is reset before each app and after the test.
    """
    monkeypatch.delenv("OVERWATCH_SECRET_KEY", raising=False)

    def make(data: Path, **overrides: Any) -> dash.Dash:
        reset_dash_pages()
        overrides.setdefault("instance_folder", str(tmp_path / "instance"))
        settings = load_settings(None, env={}, data_folder=str(data), settle_seconds=0.0, **overrides)
        return create_app(settings)

    yield make
    reset_dash_pages()


@pytest.fixture
def app(make_app: Callable[..., dash.Dash], app_data: Path) -> dash.Dash:
    """The real app on the shared demo data copy."""
    return make_app(app_data)


@pytest.fixture
def app_client(app: dash.Dash) -> FlaskClient:
    return app.server.test_client()


@pytest.fixture
def app_login(auth_login: Callable[..., TestResponse]) -> Callable[[FlaskClient], TestResponse]:
    """Log APP_USER in through the real login form (CSRF token read from the form)."""

    def log_in(client: FlaskClient) -> TestResponse:
        response = auth_login(client, APP_USER[0], APP_USER[1])
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return log_in


@pytest.fixture
def logged_in_client(
    app_client: FlaskClient, app_login: Callable[[FlaskClient], TestResponse]
) -> FlaskClient:
    app_login(app_client)
    return app_client
