"""Auth: every page and Dash endpoint behind login, login/logout, rate limit, CSRF, roles, secret key."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dash
import flask
import pytest
from flask.testing import FlaskClient
from flask_login import login_user
from werkzeug.test import TestResponse

from dashboard.auth import (
    PUBLIC_ROUTES,
    SessionUser,
    current_role,
    has_role,
    load_secret_key,
    safe_next,
)
from overwatch_core.errors import ConfigError
from overwatch_core.settings import Settings
from overwatch_core.users import User, UserStore

Login = Callable[..., TestResponse]
HOST = "http://localhost/"


def callback_body(output: str = "out", trigger: str = "btn", prop: str = "n_clicks") -> dict[str, Any]:
    """The body Dash's renderer posts to /_dash-update-component for a one-input callback."""
    return {
        "output": f"{output}.children",
        "outputs": {"id": output, "property": "children"},
        "inputs": [{"id": trigger, "property": prop, "value": 1}],
        "changedPropIds": [f"{trigger}.{prop}"],
        "state": [],
    }


def run_callback(
    client: FlaskClient, output: str = "out", trigger: str = "btn", token: str | None = "cookie"
) -> TestResponse:
    """Post a callback; ``token`` "cookie" sends the CSRF cookie in the header, as Dash's renderer does."""
    if token == "cookie":
        cookie = client.get_cookie("_csrf_token")
        token = cookie.value if cookie else None
    headers = {"X-CSRFToken": token} if token is not None else {}
    trigger_id = "admin-btn" if output == "admin-out" else trigger
    return client.post("/_dash-update-component", json=callback_body(output, trigger_id), headers=headers)


# -- the gate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/runs/300000/EMC", "/trending?subsystem=EMC&x=1", "/site-status", "/testing-data-archive",
     "/files/Run300000/EMC/x.root", "/admin-view", "/no-such-page"],
)  # fmt: skip
def test_pages_redirect_to_login(auth_client: FlaskClient, path: str) -> None:
    response = auth_client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert flask.Request.from_values(response.location).args["next"] == path


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/_dash-layout"), ("GET", "/_dash-dependencies"), ("POST", "/_dash-update-component"),
     ("GET", "/_dash-component-suites/dash/dash-renderer/build/dash_renderer.v4_4_1m.min.js"),
     ("GET", "/_reload-hash")],
)  # fmt: skip
def test_dash_endpoints_answer_401_json(auth_client: FlaskClient, method: str, path: str) -> None:
    response = auth_client.open(path, method=method, json=callback_body() if method == "POST" else None)
    assert response.status_code == 401
    assert response.get_json() == {"error": "login required"}


def test_scripts_get_json_401_on_pages_too(auth_client: FlaskClient) -> None:
    response = auth_client.get("/runs", headers={"X-Requested-With": "XMLHttpRequest"})
    assert (response.status_code, response.get_json()) == (401, {"error": "login required"})


def test_a_pathname_input_does_not_open_callbacks(auth_client: FlaskClient) -> None:
    """dash-auth's own gate lets a callback through when its body names a public pathname."""
    body = callback_body(trigger="url", prop="pathname")
    body["inputs"][0]["value"] = "/login"
    assert auth_client.post("/_dash-update-component", json=body).status_code == 401


@pytest.mark.parametrize(
    ("path", "status"),
    [("/login", 200), ("/logout", 302), ("/status", 200), ("/contact", 200),
     ("/assets/bootstrap.min.css", 404),  # the minimal test app has no assets folder: not found, not gated
     ("/favicon.ico", 200), ("/rest/api/files", 200), ("/rest/api/files/Run1/EMC/x.root", 200)],
)  # fmt: skip
def test_public_routes_answer_without_login(auth_client: FlaskClient, path: str, status: int) -> None:
    """Each public route's own answer (never a server error, never the login redirect)."""
    response = auth_client.get(path)
    assert response.status_code == status
    assert not response.location or not response.location.startswith("/login?next")


def test_public_routes_are_the_documented_ones() -> None:
    assert set(PUBLIC_ROUTES) >= {"/login", "/logout", "/status", "/contact", "/assets/<path:path>"}
    assert not any(route.startswith("/_dash-") for route in PUBLIC_ROUTES)


# -- logging in ------------------------------------------------------------------------------------


def test_login_page(auth_client: FlaskClient) -> None:
    response = auth_client.get("/login?next=/runs/1")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert '<link rel="stylesheet" href="/assets/bootstrap.min.css">' in page
    assert '<input type="hidden" name="next" value="/runs/1">' in page
    assert page.count("autofocus") == 1
    assert "required autofocus>" in page.split('id="password"')[0], "the user name field has the focus"


def test_login_goes_to_next_and_opens_everything(auth_client: FlaskClient, auth_login: Login) -> None:
    response = auth_login(auth_client, "alice", next="/runs/300000/EMC?group=FEE")
    assert (response.status_code, response.location) == (302, "/runs/300000/EMC?group=FEE")
    assert auth_client.get("/").status_code == 200
    assert auth_client.get("/runs/300000/EMC").status_code == 200, "Dash answers unknown pages itself"
    assert auth_client.get("/_dash-layout").status_code == 200
    assert auth_client.get("/_dash-dependencies").status_code == 200
    assert run_callback(auth_client).get_json()["response"]["out"]["children"] == "clicked 1"


def test_login_without_next_goes_to_the_run_list(auth_client: FlaskClient, auth_login: Login) -> None:
    assert auth_login(auth_client, "alice").location == "/"
    assert auth_client.get("/login?next=/trending").location == "/trending", "logged in already"


@pytest.mark.parametrize(
    "target", ["//evil.com/x", "https://evil.com/", "javascript:alert(1)", "/logout", "/testing-data-archive",
               "\\\\evil.com", "/\\evil.com"],
)  # fmt: skip
def test_login_ignores_unsafe_next(auth_client: FlaskClient, auth_login: Login, target: str) -> None:
    assert auth_login(auth_client, "alice", next=target).location == "/"


def test_login_keeps_a_same_host_absolute_next(auth_client: FlaskClient, auth_login: Login) -> None:
    assert auth_login(auth_client, "alice", next="http://localhost/trending?x=1").location == "/trending?x=1"


def test_wrong_password_and_unknown_user_look_the_same(auth_client: FlaskClient, auth_login: Login) -> None:
    wrong = auth_login(auth_client, "alice", "not-her-password")
    unknown = auth_login(auth_client, "mallory", "alice-pw")
    for response, name in ((wrong, "alice"), (unknown, "mallory")):
        page = response.get_data(as_text=True)
        assert response.status_code == 401
        assert "Invalid user name or password" in page
        assert f'value="{name}"' in page, "the name is kept"
        assert "value=" not in page.split('id="password"')[1].split(">")[0], "the password is not sent back"
        assert "required autofocus>" in page.split('id="password"')[1], "the password field has the focus"
    assert "not-her-password" not in wrong.get_data(as_text=True)
    assert auth_client.get("/").status_code == 302


def test_the_user_name_is_escaped(auth_client: FlaskClient, auth_login: Login) -> None:
    page = auth_login(auth_client, '"><script>alert(1)</script>', "x").get_data(as_text=True)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_rate_limit_per_user_and_address(auth_app: dash.Dash, auth_login: Login) -> None:
    client = auth_app.server.test_client()
    for _ in range(3):
        assert auth_login(client, "alice", "wrong", address="10.0.0.1").status_code == 401
    locked = auth_login(client, "alice", address="10.0.0.1")
    assert locked.status_code == 429
    assert "Too many failed logins, try again in 15 minutes" in locked.get_data(as_text=True)
    assert client.get("/").status_code == 302, "not even the right password gets in"
    other_user = auth_login(auth_app.server.test_client(), "erin", address="10.0.0.1")
    other_address = auth_login(auth_app.server.test_client(), "alice", address="10.0.0.2")
    assert other_user.status_code == 302
    assert other_address.status_code == 302


def test_a_good_login_clears_the_failures(auth_client: FlaskClient, auth_login: Login) -> None:
    for _ in range(2):
        auth_login(auth_client, "alice", "wrong")
    assert auth_login(auth_client, "alice").status_code == 302
    auth_client.get("/logout")
    for _ in range(2):
        assert auth_login(auth_client, "alice", "wrong").status_code == 401
    assert auth_login(auth_client, "alice").status_code == 302


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_login_form_needs_its_csrf_token(auth_client: FlaskClient, token: str | None) -> None:
    auth_client.get("/login")
    form = {
        "username": "alice",
        "password": "alice-pw",
        **({"csrf_token": token} if token is not None else {}),
    }
    response = auth_client.post("/login", data=form)
    assert response.status_code == 400
    assert "The form had expired" in response.get_data(as_text=True)
    assert auth_client.get("/").status_code == 302


def test_login_form_token_of_another_session_is_refused(
    auth_app: dash.Dash, auth_form_token: Callable[[FlaskClient], str]
) -> None:
    stolen = auth_form_token(auth_app.server.test_client())
    victim = auth_app.server.test_client()
    victim.get("/login")
    response = victim.post("/login", data={"username": "alice", "password": "alice-pw", "csrf_token": stolen})
    assert response.status_code == 400


# -- the session and CSRF of Dash callbacks -----------------------------------------------------------


def test_cookie_flags_over_http(auth_client: FlaskClient, auth_login: Login) -> None:
    response = auth_login(auth_client, "alice")
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    session, csrf = cookies["overwatch_session"], cookies["_csrf_token"]
    assert "HttpOnly" in session
    assert "SameSite=Lax" in session
    assert "Secure" not in session
    assert "HttpOnly" not in csrf, "Dash's renderer reads it"
    assert "SameSite=Lax" in csrf


def test_cookies_are_secure_over_https(auth_app: dash.Dash, auth_login: Login) -> None:
    response = auth_login(auth_app.server.test_client(), "alice", base_url="https://localhost")
    for cookie in response.headers.getlist("Set-Cookie"):
        assert "; Secure" in cookie, cookie


def test_the_csrf_token_changes_at_login(
    auth_client: FlaskClient, auth_login: Login, auth_form_token: Callable[[FlaskClient], str]
) -> None:
    before = auth_form_token(auth_client)
    auth_login(auth_client, "alice")
    cookie = auth_client.get_cookie("_csrf_token")
    assert cookie is not None
    assert cookie.value != before
    assert run_callback(auth_client, token=before).status_code == 400


@pytest.mark.parametrize(("token", "status"), [("cookie", 200), (None, 400), ("forged", 400), ("", 400)])
def test_callbacks_need_the_csrf_header(
    auth_client: FlaskClient, auth_login: Login, token: str | None, status: int
) -> None:
    auth_login(auth_client, "alice")
    response = run_callback(auth_client, token=token)
    assert response.status_code == status
    if status == 400:
        assert response.get_json() == {"error": "CSRF token missing or wrong; reload the page"}


def test_dash_csrf_names_come_from_the_dash_app(
    make_auth_app: Callable[..., dash.Dash], auth_login: Login
) -> None:
    app = make_auth_app(csrf_token_name="ow_csrf", csrf_header_name="X-OW-CSRF")
    client = app.server.test_client()
    auth_login(client, "alice")
    cookie = client.get_cookie("ow_csrf")
    assert cookie is not None
    headers = {"X-OW-CSRF": cookie.value}
    assert client.post("/_dash-update-component", json=callback_body(), headers=headers).status_code == 200
    headers = {"X-CSRFToken": cookie.value}
    assert client.post("/_dash-update-component", json=callback_body(), headers=headers).status_code == 400


def test_a_lost_csrf_cookie_comes_back(auth_client: FlaskClient, auth_login: Login) -> None:
    auth_login(auth_client, "alice")
    auth_client.delete_cookie("_csrf_token")
    assert auth_client.get("/").status_code == 200
    assert run_callback(auth_client).status_code == 200


# -- logging out, and users who change ----------------------------------------------------------------


def test_logout(auth_client: FlaskClient, auth_login: Login) -> None:
    auth_login(auth_client, "alice")
    response = auth_client.get("/logout")
    assert (response.status_code, response.location) == (302, "/login?logged_out=1")
    assert "You have been logged out" in auth_client.get(response.location).get_data(as_text=True)
    assert auth_client.get_cookie("_csrf_token") is None
    assert auth_client.get("/").status_code == 302
    assert auth_client.get("/_dash-layout").status_code == 401


def test_logout_by_post_too(auth_client: FlaskClient, auth_login: Login) -> None:
    auth_login(auth_client, "alice")
    assert auth_client.post("/logout").location == "/login?logged_out=1"
    assert auth_client.get("/").status_code == 302


def test_a_removed_user_is_out_at_once(
    auth_client: FlaskClient, auth_login: Login, auth_users: UserStore
) -> None:
    auth_login(auth_client, "alice")
    auth_users.remove("alice")
    assert auth_client.get("/").status_code == 302


# -- roles ---------------------------------------------------------------------------------------------


def test_admin_view_needs_admin(auth_app: dash.Dash, auth_login: Login, auth_users: UserStore) -> None:
    client = auth_app.server.test_client()
    auth_login(client, "erin")
    refused = client.get("/admin-view")
    assert refused.status_code == 403
    assert "This needs the admin role" in refused.get_data(as_text=True)
    auth_users.set_role("erin", "admin")
    assert client.get("/admin-view").get_data(as_text=True) == "admin page", "the new role counts at once"


@pytest.mark.parametrize(("user", "status"), [("alice", 403), ("erin", 403), ("adam", 200)])
def test_admin_callback_refuses_on_the_server(
    auth_client: FlaskClient, auth_login: Login, user: str, status: int
) -> None:
    auth_login(auth_client, user)
    response = run_callback(auth_client, output="admin-out")
    assert response.status_code == status
    if status == 403:
        assert response.get_json() == {"error": "This needs the admin role"}
    else:
        assert response.get_json()["response"]["admin-out"]["children"] == "restarted"


@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, [False, False, False]), ("shifter", [True, False, False]), ("expert", [True, True, False]),
     ("admin", [True, True, True])],
)  # fmt: skip
def test_role_helpers(auth_app: dash.Dash, role: Any, expected: list[bool]) -> None:
    with auth_app.server.test_request_context("/"):
        if role is not None:
            login_user(SessionUser(User("someone", role)))
        assert current_role() == role
        assert [has_role(r) for r in ("shifter", "expert", "admin")] == expected


# -- safe redirects ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/"),
        ("", "/"),
        ("/", "/"),
        ("/runs/300000/EMC", "/runs/300000/EMC"),
        ("/trending?subsystem=EMC&trend=max#top", "/trending?subsystem=EMC&trend=max#top"),
        ("/runs/300000/EMC/files", "/runs/300000/EMC/files"),
        ("http://localhost/runs/1", "/runs/1"),
        ("https://localhost/runs/1", "/runs/1"),
        ("HTTP://LOCALHOST/runs/1", "/"),  # written out differently than a browser would send it
        ("http://localhost", "/"),
        ("//evil.com", "/"),
        ("///evil.com", "/"),
        ("////evil.com", "/"),
        ("https://evil.com", "/"),
        ("http://evil.com/runs/1", "/"),
        ("http://localhost.evil.com/", "/"),
        ("http://localhost@evil.com/", "/"),
        ("http://evil.com@localhost/", "/"),
        ("http://localhost:8050/", "/"),
        ("https:evil.com", "/"),
        ("http:/evil.com", "/"),
        ("ftp://localhost/x", "/"),
        ("javascript:alert(1)", "/"),
        ("JavaScript:alert(1)", "/"),
        ("data:text/html,<script>alert(1)</script>", "/"),
        ("\\\\evil.com", "/"),
        ("/\\evil.com", "/"),
        ("\\/evil.com", "/"),
        ("/\t/evil.com", "/"),
        ("/\n/evil.com", "/"),
        (" //evil.com", "/"),
        ("/runs/1 ", "/"),
        ("/r\u00fcns", "/"),
        ("runs/1", "/"),
        ("/logout", "/"),
        ("/logout?x=1", "/"),
        ("/logout/", "/"),
        ("http://localhost/logout", "/"),
        ("/%6cogout", "/"),
        ("/runs/../logout", "/"),
        ("/./logout", "/"),
        ("/login?next=/x", "/"),
        ("/testing-data-archive", "/"),
        ("/testingDataArchive", "/"),
        ("/runs/%2e%2e/testing-data-archive", "/"),
    ],
)
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target, HOST) == expected


def test_safe_next_with_a_port() -> None:
    assert safe_next("http://localhost:8050/runs/1", "http://localhost:8050/") == "/runs/1"
    assert safe_next("http://localhost/runs/1", "http://localhost:8050/") == "/"


# -- the secret key ------------------------------------------------------------------------------------


def test_secret_key_is_generated_once(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    key = load_secret_key(settings, env={})
    path = settings.instance_path / "secret_key"
    assert len(key) == 64
    assert int(key, 16) > 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_key(settings, env={}) == key
    assert sorted(os.listdir(settings.instance_path)) == ["secret_key"], "no temporary file is left"
    other = make_settings(data_folder=str(Path(settings.data_folder) / "other"))
    assert load_secret_key(other, env={}) != key, "each site its own key"


def test_the_environment_wins(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    assert load_secret_key(settings, env={"OVERWATCH_SECRET_KEY": "k" * 40}) == "k" * 40
    assert not (settings.instance_path / "secret_key").exists()


def test_a_key_written_by_another_process_first_wins(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings()
    path = settings.instance_path / "secret_key"
    real_link = os.link

    def racing_link(source: Any, target: Any) -> None:
        path.write_text("a" * 64 + "\n")  # the other process links first
        real_link(source, target)

    monkeypatch.setattr(os, "link", racing_link)
    assert load_secret_key(settings, env={}) == "a" * 64
    assert sorted(os.listdir(settings.instance_path)) == ["secret_key"]


def test_a_broken_key_file_is_an_error(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    settings.instance_path.mkdir(parents=True)
    (settings.instance_path / "secret_key").write_text("short\n")
    with pytest.raises(ConfigError, match="too short; delete the file"):
        load_secret_key(settings, env={})


def test_init_auth_warns_when_nobody_can_log_in(
    make_auth_app: Callable[..., dash.Dash], auth_users: UserStore, caplog: pytest.LogCaptureFixture
) -> None:
    make_auth_app()
    assert "no users can log in yet" not in caplog.text
    for user in auth_users.list():
        auth_users.remove(user.username)
    make_auth_app()
    assert "no users can log in yet; add one with: overwatch users add NAME --role admin" in caplog.text


def test_init_auth_uses_the_environment_key(
    make_auth_app: Callable[..., dash.Dash], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVERWATCH_SECRET_KEY", "e" * 64)
    assert make_auth_app().server.secret_key == "e" * 64


def test_two_apps_share_the_generated_key(make_auth_app: Callable[..., dash.Dash], auth_login: Login) -> None:
    """Two web hosts on one instance folder: a session made by one is valid on the other."""
    first, second = make_auth_app(), make_auth_app()
    assert first.server.secret_key == second.server.secret_key
    client = first.server.test_client()
    auth_login(client, "alice")
    other = second.server.test_client()
    for cookie in ("overwatch_session",):
        found = client.get_cookie(cookie)
        assert found is not None
        other.set_cookie(cookie, found.value)
    assert other.get("/").status_code == 200
