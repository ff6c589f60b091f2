"""The login gate in front of every route but a few public ones, with the CSRF check of changes."""

from __future__ import annotations

import logging
from urllib.parse import quote

import dash
import flask
from dash_auth.auth import Auth
from dash_auth.public_routes import PUBLIC_ROUTES as PUBLIC_ROUTES_KEY
from dash_auth.public_routes import get_public_routes
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.routing import Map, Rule

from dashboard.auth.session import csrf_token_matches
from dashboard.auth.templates import message_page
from dashboard.services import services
from overwatch_core.users import User

log = logging.getLogger(__name__)

#: Reachable without login (Flask route syntax). The upload API and /metrics check their own tokens.
PUBLIC_ROUTES = (
    "/login",
    "/logout",
    "/status",
    "/contact",
    "/assets/<path:path>",
    "/favicon.ico",
    "/_favicon.ico",
    "/rest/api/files",
    "/rest/api/files/<path:name>",
    "/metrics",  # checks an admin session or the metrics token itself
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginGuard(Auth):  # type: ignore[misc]
    """dash-auth's gate with Flask-Login as the judge, stricter than dash-auth's own ``_protect``.

    dash-auth makes ``/_dash-layout`` and ``/_dash-dependencies`` public, and lets any callback
    request through whose (client-written) body names a ``pathname`` input equal to a public
    route. SPEC §7 wants every Dash endpoint behind login, so ``_protect`` is replaced: a request
    passes when its path is public, or the user is logged in (and, for a change, sent the
    session's CSRF token). Routes added with ``dash_auth.add_public_routes(app, [...])`` still count.
    """

    def __init__(self, app: dash.Dash, public_routes: tuple[str, ...], csrf_header: str) -> None:
        self.csrf_header = csrf_header
        super().__init__(app)
        routes = Map([Rule(route) for route in public_routes]).bind("")
        app.server.config[PUBLIC_ROUTES_KEY] = routes

    def _protect(self) -> None:
        self.app.server.before_request(self.check_request)

    def check_request(self) -> ResponseReturnValue | None:
        """None lets the request through; anything else is the answer instead."""
        if get_public_routes(self.app).test(flask.request.path):
            return None
        if not self.is_authorized():
            return self.login_request()
        if flask.request.method not in SAFE_METHODS and not self._csrf_ok():
            return refusal(400, "CSRF token missing or wrong; reload the page")
        return None

    def is_authorized(self) -> bool:
        """A logged-in session, or for the JSON API (only there) a valid API token."""
        if current_user.is_authenticated:
            return True
        return flask.request.path.startswith(API_PREFIX) and api_token_user() is not None

    def login_request(self) -> ResponseReturnValue:
        """401 JSON for Dash's own requests and scripts; pages go to the login form and come back."""
        if wants_json():
            return flask.jsonify(error="login required"), 401
        here = flask.request.script_root + flask.request.full_path.rstrip("?")
        return flask.redirect(f"{flask.url_for('overwatch_auth.login')}?next={quote(here, safe='/')}")

    def _csrf_ok(self) -> bool:
        """Dash 4 echoes the CSRF cookie in a header; forms send a ``csrf_token`` field."""
        sent = flask.request.headers.get(self.csrf_header) or flask.request.form.get("csrf_token")
        if csrf_token_matches(sent):
            return True
        log.warning("refused %s %s: CSRF token missing or wrong", flask.request.method, flask.request.path)
        return False


API_PREFIX = "/api/"


def api_token_user() -> User | None:
    """The user of the request's ``Authorization: Bearer <token>`` if it is valid (kept in ``flask.g``)."""
    if "api_user" not in flask.g:
        header = flask.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user = services().users.token_user(token.strip()) if scheme.lower() == "bearer" and token else None
        if header and user is None:
            log.warning("refused %s: invalid or revoked API token", flask.request.path)
        flask.g.api_user = user
    found: User | None = flask.g.api_user
    return found


def wants_json() -> bool:
    """True for Dash's endpoints (``/_dash-*``, ``/_reload-hash``) and scripts (XHR, JSON body, or
    JSON preferred over HTML)."""
    request = flask.request
    return (
        request.path.startswith(API_PREFIX)
        or "/_dash-" in request.path
        or request.path.endswith("/_reload-hash")
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"
        or request.is_json
        or request.accept_mimetypes.best == "application/json"
    )


def refusal(status: int, message: str) -> ResponseReturnValue:
    """The same refusal as JSON for scripts and as a small page for people."""
    if wants_json():
        return flask.jsonify(error=message), status
    return message_page(status, message), status
