"""Login for the dashboard: Flask-Login sessions, the login gate, CSRF, roles and safe redirects."""

from __future__ import annotations

import logging
from collections.abc import Callable

import dash
import flask

from dashboard.auth.guard import PUBLIC_ROUTES, LoginGuard
from dashboard.auth.login import login_blueprint
from dashboard.auth.redirects import safe_next
from dashboard.auth.roles import (
    RoleRequiredError,
    current_role,
    ensure_role,
    has_role,
    require_role,
    role_refused,
)
from dashboard.auth.secret import load_secret_key
from dashboard.auth.session import (
    CSRF_SESSION_KEY,
    SESSION_LIFETIME,
    SessionUser,
    configure_session,
    csrf_token,
    init_login_manager,
)
from dashboard.auth.templates import STYLESHEET_KEY
from overwatch_core.settings import Settings
from overwatch_core.users import UserStore

log = logging.getLogger(__name__)

__all__ = [
    "PUBLIC_ROUTES",
    "LoginGuard",
    "RoleRequiredError",
    "SessionUser",
    "csrf_token",
    "current_role",
    "ensure_role",
    "has_role",
    "init_auth",
    "load_secret_key",
    "require_role",
    "safe_next",
]


def init_auth(app: dash.Dash, users: UserStore, settings: Settings) -> None:
    """Put every route of ``app`` but PUBLIC_ROUTES behind login; call once from create_app."""
    server = app.server
    configure_session(server, load_secret_key(settings))
    init_login_manager(server, users)
    server.config[STYLESHEET_KEY] = app.get_asset_url("bootstrap.min.css")
    server.register_blueprint(login_blueprint(users, settings))
    server.register_error_handler(RoleRequiredError, role_refused)
    LoginGuard(app, PUBLIC_ROUTES, csrf_header=app.config.csrf_header_name)
    server.after_request(_csrf_cookie_setter(app.config.csrf_token_name))
    if not users.list():
        log.warning("no users can log in yet; add one with: overwatch users add NAME --role admin")


def _csrf_cookie_setter(cookie_name: str) -> Callable[[flask.Response], flask.Response]:
    """Keep the cookie Dash's renderer copies into its CSRF header equal to the session's token.

    Readable by scripts by design (the renderer must read it); it is worth nothing without the
    HttpOnly session cookie it matches.
    """

    def set_cookie(response: flask.Response) -> flask.Response:
        token = flask.session.get(CSRF_SESSION_KEY)
        logged_in = "_user_id" in flask.session
        if logged_in and isinstance(token, str) and flask.request.cookies.get(cookie_name) != token:
            response.set_cookie(
                cookie_name,
                token,
                max_age=SESSION_LIFETIME,
                secure=flask.request.is_secure,
                httponly=False,
                samesite="Lax",
            )
        elif not logged_in and cookie_name in flask.request.cookies:
            response.delete_cookie(cookie_name)
        return response

    return set_cookie
