"""Role checks for views and callbacks, done on the server (hiding a link is not a check)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import flask
from flask.typing import ResponseReturnValue
from flask_login import current_user

from dashboard.auth.guard import refusal
from overwatch_core.users import Role, role_at_least

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class RoleRequiredError(PermissionError):
    """The logged-in user (or nobody) lacks the role an action needs; answered with a 403."""

    def __init__(self, minimum: Role) -> None:
        self.minimum = minimum
        super().__init__(f"This needs the {minimum} role")


def current_role() -> str | None:
    """The role of the logged-in user, or None when nobody is logged in."""
    if not current_user.is_authenticated:
        return None
    return str(current_user.role)


def has_role(minimum: Role) -> bool:
    """True when the user's role is ``minimum`` or above (shifter < expert < admin)."""
    return role_at_least(current_role(), minimum)


def ensure_role(minimum: Role) -> None:
    """Raise RoleRequiredError unless the user has ``minimum``; the first line of an admin callback."""
    if not has_role(minimum):
        log.warning("refused %s to %r: needs %s", flask.request.path, current_user.get_id(), minimum)
        raise RoleRequiredError(minimum)


def require_role(minimum: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator for Flask views: a 403 page unless the user has ``minimum``."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            ensure_role(minimum)
            return view(*args, **kwargs)

        return checked

    return decorate


def role_refused(error: RoleRequiredError) -> ResponseReturnValue:
    """Error handler: 403 JSON for Dash callbacks and scripts, a 403 page for people."""
    return refusal(403, str(error))
