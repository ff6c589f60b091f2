"""The login session: cookie flags, Flask-Login's user loader, and the session's CSRF token."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

import flask
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin

from overwatch_core.users import User, UserStore

#: Idle time after which a session ends; every request renews it, so a control-room screen stays in.
SESSION_LIFETIME = timedelta(hours=12)
SESSION_COOKIE = "overwatch_session"
CSRF_SESSION_KEY = "csrf_token"


class SessionUser(UserMixin):  # type: ignore[misc]
    """The logged-in user as Flask-Login wants it; loaded from the catalog on every request, so a
    removed user or a changed role takes effect at once on every host."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = user.username

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure whenever the request came over https (behind a proxy, only
    when the app trusts its X-Forwarded-Proto, e.g. through werkzeug's ProxyFix)."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return flask.request.is_secure or super().get_cookie_secure(app)


def configure_session(server: flask.Flask, secret_key: str) -> None:
    """HttpOnly, SameSite=Lax session cookies that expire after SESSION_LIFETIME without use."""
    server.secret_key = secret_key
    server.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    server.session_interface = HttpsAwareSessionInterface()


def init_login_manager(server: flask.Flask, users: UserStore) -> LoginManager:
    manager = LoginManager()
    manager.init_app(server)

    def load_user(username: str) -> SessionUser | None:
        user = users.get(username)
        return None if user is None else SessionUser(user)

    manager.user_loader(load_user)
    return manager


def csrf_token() -> str:
    """This session's CSRF token, made on first use; forms send it as ``csrf_token``."""
    token = flask.session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        flask.session[CSRF_SESSION_KEY] = token
    return token


def new_csrf_token() -> str:
    """A fresh token, after login, so a token seen before login is worth nothing after it."""
    flask.session.pop(CSRF_SESSION_KEY, None)
    return csrf_token()


def csrf_token_matches(sent: str | None) -> bool:
    expected = flask.session.get(CSRF_SESSION_KEY)
    if not sent or not isinstance(expected, str):
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())
