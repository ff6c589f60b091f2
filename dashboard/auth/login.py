"""The /login and /logout routes: bcrypt check, rate limit in the catalog, CSRF token, safe return."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

import flask
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from dashboard.auth.redirects import safe_next
from dashboard.auth.session import SessionUser, csrf_token, csrf_token_matches, new_csrf_token
from dashboard.auth.templates import login_page
from overwatch_core.settings import Settings
from overwatch_core.users import MAX_USERNAME_LENGTH, User, UserStore

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "Invalid user name or password"
LOGGED_OUT = "You have been logged out"


def login_blueprint(users: UserStore, settings: Settings) -> flask.Blueprint:
    """The routes of one app; made per app so tests can build as many apps as they like."""
    blueprint = flask.Blueprint("overwatch_auth", __name__)
    attempts, window = settings.login_attempts, settings.login_window_minutes

    @blueprint.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        target = safe_next(flask.request.values.get("next"), flask.request.host_url)
        if flask.request.method == "GET":
            if current_user.is_authenticated:
                return flask.redirect(target)
            message = LOGGED_OUT if flask.request.args.get("logged_out") else ""
            return _form(target, message=message, kind="info")
        if not csrf_token_matches(flask.request.form.get("csrf_token")):
            log.warning("login form from %s without a valid CSRF token", flask.request.remote_addr)
            return _form(target, message="The form had expired; please log in again", status=400)
        return _check(users, target, attempts, window)

    @blueprint.route("/logout", methods=["GET", "POST"])
    def logout() -> ResponseReturnValue:
        if current_user.is_authenticated:
            log.info("logout of %r", current_user.get_id())
        logout_user()
        flask.session.clear()
        return flask.redirect(flask.url_for("overwatch_auth.login", logged_out=1))

    return blueprint


def _check(users: UserStore, target: str, attempts: int, window: float) -> ResponseReturnValue:
    """Refuse while locked (without a bcrypt check), else check the password."""
    username = flask.request.form.get("username", "")
    address = flask.request.remote_addr or "unknown"
    now = datetime.now(UTC)
    until = users.locked_until(username, address, now, attempts, window)
    if until is not None:
        return _locked(username, address, math.ceil((until - now).total_seconds() / 60), target)
    user = users.verify(username, flask.request.form.get("password", ""))
    if user is None:
        users.record_failure(username, address, now)
        users.prune_failures(now - timedelta(minutes=window))
        log.warning("failed login of %r from %s", username[:MAX_USERNAME_LENGTH], address)
        return _form(target, username=username, message=BAD_CREDENTIALS, status=401)
    users.clear_failures(username, address)
    return _log_in(user, address, target)


def _locked(username: str, address: str, minutes: int, target: str) -> ResponseReturnValue:
    log.warning("login of %r from %s refused: rate limited", username[:MAX_USERNAME_LENGTH], address)
    minutes = max(1, minutes)
    text = f"Too many failed logins, try again in {minutes} minute{'s' if minutes > 1 else ''}"
    return _form(target, username=username, message=text, status=429)


def _log_in(user: User, address: str, target: str) -> ResponseReturnValue:
    """A new session (nothing from before login carries over), with a new CSRF token."""
    flask.session.clear()
    login_user(SessionUser(user))
    flask.session.permanent = True
    new_csrf_token()
    log.info("login of %r (%s) from %s", user.username, user.role, address)
    return flask.redirect(target)


def _form(
    target: str, *, username: str = "", message: str = "", kind: str = "danger", status: int = 200
) -> ResponseReturnValue:
    """The login page, never cached and never framed (no clickjacking of the password field)."""
    page = login_page(
        action=flask.url_for("overwatch_auth.login"),
        csrf_token=csrf_token(),
        next_url=target,
        username=username[:MAX_USERNAME_LENGTH],
        message=message,
        kind=kind,
    )
    headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
    return page, status, headers
