"""Site status and admin action: admin-only on the server (layout and every callback), and the archive."""

from __future__ import annotations

import io
import logging
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dash
import pytest
from dash.development.base_component import Component
from flask.testing import FlaskClient
from flask_login import login_user
from werkzeug.test import TestResponse

from dashboard.auth import SessionUser
from dashboard.pages import site_status
from overwatch_core.archive import plan_archive
from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.processing import open_services
from overwatch_core.settings import load_settings
from overwatch_core.users import User, UserStore
from tests.dashboard.component_tree import ids, text, walk
from tests.dashboard.conftest import APP_USER, add_app_user, copy_demo
from tests.dashboard.dash_http import fire

ADMIN = ("adam", "adam-pw", "admin")
EXPERT = ("erin", "erin-pw", "expert")
UPGRADE = f"{sys.executable} -c \"print('upgraded to v2')\""


@pytest.fixture(scope="module")
def status_data(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data with a shifter, an expert and an admin who can log in, and one receiver heartbeat."""
    data = copy_demo(demo_data, tmp_path_factory.mktemp("status") / "data")
    add_app_user(data)
    settings = load_settings(None, env={}, data_folder=str(data))
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    for name, password, role in (ADMIN, EXPERT):
        UserStore(catalog, rounds=4).add(name, password, role)
    catalog.close()
    (data / "heartbeat.EMCReceiver").write_text("1448386000")
    return data


@pytest.fixture
def make_status_app(
    make_app: Callable[..., dash.Dash], status_data: Path, sites: dict[str, str]
) -> Callable[..., dash.Dash]:
    return lambda **overrides: make_app(status_data, status_sites=sites, **overrides)


def render_as(app: dash.Dash, role: str) -> Component:
    with app.server.test_request_context("/"):
        login_user(SessionUser(User(f"a-{role}", role)))
        return site_status.layout()


# --- the layout ---------------------------------------------------------------------------------------


def test_admin_sees_runs_receivers_sites_and_the_action(make_status_app: Callable[..., dash.Dash]) -> None:
    page = render_as(make_status_app(restart_command=UPGRADE), "admin")
    shown = text(page)
    assert "Ongoing run: no" in shown
    assert "(run 300004, last file Tuesday, 24 Nov 2015 18:45:14 (Europe/Zurich))" in shown
    assert {"heartbeat-EMC", "heartbeat-TPC", "heartbeat-HLT", "site-Up", "site-Down"} <= set(ids(page))
    rows = {
        c.id: text(c) for c in walk(page) if str(getattr(c, "id", "")).startswith(("heartbeat-", "site-"))
    }
    assert "dead" in rows["heartbeat-EMC"]
    assert "missing" in rows["heartbeat-TPC"]
    assert "up" in rows["site-Up"]
    assert "connection error" in rows["site-Down"]
    controls = {site_status.REFRESH, site_status.RESTART, site_status.MODAL, site_status.CONFIRM}
    assert controls <= set(ids(page))
    button = next(c for c in walk(page) if getattr(c, "id", None) == site_status.RESTART)
    assert button.disabled is False
    assert f"Runs the configured command: {UPGRADE}" in shown


def test_restart_is_disabled_with_the_reason_when_not_configured(
    make_status_app: Callable[..., dash.Dash],
) -> None:
    page = render_as(make_status_app(), "admin")
    button = next(c for c in walk(page) if getattr(c, "id", None) == site_status.RESTART)
    assert button.disabled is True
    assert "restart_command is not set in the configuration" in text(page)


@pytest.mark.parametrize("role", ["shifter", "expert"])
def test_others_get_the_refusal_and_no_callback_components(
    make_status_app: Callable[..., dash.Dash], role: str
) -> None:
    page = render_as(make_status_app(restart_command=UPGRADE), role)
    assert "403 Forbidden" in text(page)
    assert f"You are logged in as a-{role} ({role})" in text(page)
    controls = {site_status.REFRESH, site_status.RESTART, site_status.CONFIRM, site_status.REPORT}
    assert not set(ids(page)) & controls


# --- over HTTP: every callback refuses non-admins --------------------------------------------------------


CALLBACKS = [
    f"{site_status.REFRESH}.n_clicks",
    f"{site_status.RESTART}.n_clicks",
    f"{site_status.CONFIRM}.n_clicks",
]


@pytest.fixture
def client_as(
    make_status_app: Callable[..., dash.Dash], auth_login: Callable[..., TestResponse]
) -> Callable[..., FlaskClient]:
    def log_in(user: tuple[str, str, str], **overrides: Any) -> FlaskClient:
        client = make_status_app(**overrides).server.test_client()
        assert auth_login(client, user[0], user[1]).status_code == 302
        return client

    return log_in


@pytest.mark.parametrize("user", [APP_USER, EXPERT], ids=["shifter", "expert"])
@pytest.mark.parametrize("trigger", CALLBACKS)
def test_every_callback_refuses_non_admins(
    client_as: Callable[..., FlaskClient], user: tuple[str, str, str], trigger: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="overwatch.audit")
    response = fire(client_as(user, restart_command=UPGRADE), trigger)
    assert response.status_code == 403
    assert response.get_json() == {"error": "This needs the admin role"}
    assert not [r for r in caplog.records if r.name == "overwatch.audit"], "nothing ran"


def test_the_page_router_refuses_non_admins_on_the_server(client_as: Callable[..., FlaskClient]) -> None:
    """The layout comes from the server through Dash's router callback; it carries only the refusal."""
    values = {"_pages_location.pathname": site_status.PATH, "_pages_location.search": ""}
    shifter = fire(client_as(APP_USER), "_pages_location.pathname", values).get_data(as_text=True)
    assert "403 Forbidden" in shifter
    assert site_status.REFRESH not in shifter
    admin = fire(client_as(ADMIN), "_pages_location.pathname", values).get_data(as_text=True)
    assert site_status.REFRESH in admin
    assert "Receivers" in admin


def test_admin_refreshes_and_confirms_the_restart(
    client_as: Callable[..., FlaskClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="overwatch.audit")
    client = client_as(ADMIN, restart_command=UPGRADE)
    refreshed = fire(client, f"{site_status.REFRESH}.n_clicks").get_json()["response"]
    assert "Checked at" in str(refreshed[site_status.REPORT])
    opened = fire(client, f"{site_status.RESTART}.n_clicks").get_json()["response"]
    assert opened[site_status.MODAL] == {"is_open": True}
    closed = fire(client, f"{site_status.CANCEL}.n_clicks").get_json()["response"]
    assert closed[site_status.MODAL] == {"is_open": False}
    assert not [r for r in caplog.records if r.name == "overwatch.audit"], (
        "opening and cancelling run nothing"
    )
    done = fire(client, f"{site_status.CONFIRM}.n_clicks").get_json()["response"]
    assert done[site_status.MODAL] == {"is_open": False}
    result = str(done[site_status.RESULT])
    assert "exit code 0" in result
    assert "upgraded to v2" in result
    audit = [r.getMessage() for r in caplog.records if r.name == "overwatch.audit"]
    assert len(audit) == 2
    assert audit[0].startswith("admin action: user adam runs restart command")


def test_the_server_refuses_an_unconfigured_restart_whatever_the_button_says(
    client_as: Callable[..., FlaskClient],
) -> None:
    done = fire(client_as(ADMIN), f"{site_status.CONFIRM}.n_clicks").get_json()["response"]
    assert "restart_command is not set" in str(done[site_status.RESULT])


def test_logged_out_callbacks_get_401(make_status_app: Callable[..., dash.Dash]) -> None:
    client = make_status_app().server.test_client()
    response = client.post("/_dash-update-component", json={"output": f"{site_status.REPORT}.children"})
    assert response.status_code == 401


# --- the test-data archive ---------------------------------------------------------------------------------


def test_archive_needs_login(make_status_app: Callable[..., dash.Dash]) -> None:
    response = make_status_app().server.test_client().get("/testing-data-archive")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


def test_archive_is_streamed_to_any_logged_in_user(
    client_as: Callable[..., FlaskClient], status_data: Path
) -> None:
    response = client_as(APP_USER).get("/testing-data-archive")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="overwatch-testing-data.zip"'
    names = zipfile.ZipFile(io.BytesIO(response.get_data())).namelist()
    catalog, cache = open_services(load_settings(None, env={}, data_folder=str(status_data)))
    cache.close()
    assert names == list(plan_archive(catalog, ["EMC", "TPC", "HLT"]).paths)
    assert {n.split("/")[0] for n in names} == {"Run300000", "Run300003", "Run300004"}


def test_archive_without_complete_runs_says_why(client_as: Callable[..., FlaskClient]) -> None:
    response = client_as(APP_USER, subsystems=["EMC", "HLT", "PHS"]).get("/testing-data-archive")
    assert response.status_code == 404
    assert "no run has files of every configured subsystem (EMC, HLT, PHS)" in response.get_data(as_text=True)
