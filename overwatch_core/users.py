"""Dashboard users: bcrypt password hashes and roles in the catalog, and the shared failed-login record."""

from __future__ import annotations

import builtins
import functools
import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import bcrypt
import sqlalchemy as sa

from overwatch_core.catalog import Catalog, api_tokens, login_failures, users
from overwatch_core.errors import NotFoundError, OverwatchError

log = logging.getLogger(__name__)

Role = Literal["shifter", "expert", "admin"]
#: Roles from least to most trusted; a role may do everything the roles before it may.
ROLES: tuple[Role, ...] = ("shifter", "expert", "admin")
DEFAULT_ROUNDS = 12
MAX_PASSWORD_BYTES = 72
MAX_USERNAME_LENGTH = 64
_USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


class UserError(OverwatchError):
    """A user name, role or password breaks a rule, or a user exists where it must not."""

    category = "User error"


class InvalidUsernameError(UserError):
    """The name does not follow the user-name rule."""


class InvalidRoleError(UserError):
    """The role is not one of ROLES."""


class InvalidPasswordError(UserError):
    """The password is empty or longer than bcrypt can hash."""


class DuplicateUserError(UserError):
    """A user of this name exists already."""


class UnknownUserError(NotFoundError):
    """No user of this name exists; the message lists the users that do."""


def check_username(username: str) -> str:
    """The name unchanged, or InvalidUsernameError: names end up in URLs, logs and the CLI."""
    if not _USERNAME.fullmatch(username):
        raise InvalidUsernameError(
            f"user name {username!r} must be 1–{MAX_USERNAME_LENGTH} characters of A-Z a-z 0-9 . _ -"
        )
    return username


def check_role(role: str) -> Role:
    """The role typed as Role, or InvalidRoleError listing the valid roles."""
    if role not in ROLES:
        raise InvalidRoleError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> bytes:
    """The password as UTF-8 bytes; bcrypt 5 refuses more than 72 bytes rather than truncating."""
    encoded = password.encode("utf-8")
    if not encoded:
        raise InvalidPasswordError("the password must not be empty")
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise InvalidPasswordError(
            f"the password is {len(encoded)} bytes long; bcrypt allows at most {MAX_PASSWORD_BYTES} "
            "(UTF-8 bytes, not characters)"
        )
    return encoded


def role_at_least(role: str | None, minimum: Role) -> bool:
    """True when ``role`` ranks at or above ``minimum``; None or an unknown role ranks below all."""
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(minimum)


@dataclass(frozen=True)
class User:
    """A user as the web app sees it: never carries the password hash."""

    username: str
    role: Role

    def __post_init__(self) -> None:
        check_username(self.username)
        check_role(self.role)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _failure_key(username: str, address: str) -> tuple[str, str]:
    """Column values for a failed login; cut to the column width, as attempted names can be anything."""
    return username[:MAX_USERNAME_LENGTH], address[:64]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UserStore:
    """Adds, changes, checks and removes users in the catalog, and keeps the failed-login record.

    ``rounds`` is bcrypt's log2 cost: 12 in production (about 0.25 s per check), less in tests.
    """

    def __init__(self, catalog: Catalog, rounds: int = DEFAULT_ROUNDS) -> None:
        self.catalog = catalog
        self.rounds = rounds

    @functools.cached_property
    def _dummy_hash(self) -> bytes:
        """Checked for unknown users, so a login costs the same whether the name exists or not."""
        return bcrypt.hashpw(b"no user has this password", bcrypt.gensalt(self.rounds))

    # -- managing users -------------------------------------------------------------------------

    def add(self, username: str, password: str, role: str) -> User:
        user = User(check_username(username), check_role(role))
        hashed = bcrypt.hashpw(check_password(password), bcrypt.gensalt(self.rounds)).decode("ascii")
        row = {"username": username, "password_hash": hashed, "role": user.role, "created": int(time.time())}
        try:
            with self.catalog.engine.begin() as conn:
                conn.execute(users.insert().values(**row))
        except sa.exc.IntegrityError as exc:
            raise DuplicateUserError(f"user {username!r} exists already") from exc
        log.info("added user %s with role %s", username, user.role)
        return user

    def remove(self, username: str) -> None:
        with self.catalog.engine.begin() as conn:
            deleted = conn.execute(users.delete().where(users.c.username == username)).rowcount
        if not deleted:
            raise self._unknown(username)
        log.info("removed user %s", username)

    def set_role(self, username: str, role: str) -> User:
        user = User(check_username(username), check_role(role))
        with self.catalog.engine.begin() as conn:
            changed = conn.execute(
                users.update().where(users.c.username == username).values(role=user.role)
            ).rowcount
        if not changed:
            raise self._unknown(username)
        log.info("user %s now has role %s", username, user.role)
        return user

    def list(self) -> builtins.list[User]:
        """Every user, by name."""
        with self.catalog.engine.connect() as conn:
            rows = conn.execute(sa.select(users.c.username, users.c.role).order_by(users.c.username))
            return [User(r.username, check_role(r.role)) for r in rows]

    def get(self, username: str) -> User | None:
        with self.catalog.engine.connect() as conn:
            row = conn.execute(
                sa.select(users.c.username, users.c.role).where(users.c.username == username)
            ).first()
        return None if row is None else User(row.username, check_role(row.role))

    def verify(self, username: str, password: str) -> User | None:
        """The user when the password matches, else None; unknown names cost one bcrypt check too."""
        encoded = password.encode("utf-8")
        if not encoded or len(encoded) > MAX_PASSWORD_BYTES:
            return None  # no stored password can match, and the length is the caller's own knowledge
        query = sa.select(users.c.password_hash, users.c.role).where(users.c.username == username)
        with self.catalog.engine.connect() as conn:
            row = conn.execute(query).first()
        hashed = self._dummy_hash if row is None else str(row.password_hash).encode("ascii")
        if not bcrypt.checkpw(encoded, hashed) or row is None:
            return None
        return User(username, check_role(row.role))

    # -- API tokens ------------------------------------------------------------------------------

    def create_token(self, username: str, label: str = "") -> tuple[int, str]:
        """A new API token for ``username``: (its id, the token). Only its SHA-256 is stored, so the token
        is shown this once; 32 random bytes need no slow hash (nobody can guess them)."""
        if self.get(username) is None:
            raise self._unknown(username)
        token = "ow_" + secrets.token_urlsafe(32)
        row = {
            "token_hash": _token_hash(token),
            "username": username,
            "label": label,
            "created": int(time.time()),
        }
        with self.catalog.engine.begin() as conn:
            inserted = conn.execute(api_tokens.insert().values(**row)).inserted_primary_key
        assert inserted is not None
        token_id = inserted[0]
        log.info("created API token %s for %s", token_id, username)
        return int(token_id), token

    def token_user(self, token: str) -> User | None:
        """The user a valid, unrevoked token belongs to, or None."""
        query = (
            sa.select(users.c.username, users.c.role)
            .join(api_tokens, api_tokens.c.username == users.c.username)
            .where(api_tokens.c.token_hash == _token_hash(token), api_tokens.c.revoked.is_(None))
        )
        with self.catalog.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else User(row.username, row.role)

    def revoke_token(self, token_id: int) -> bool:
        with self.catalog.engine.begin() as conn:
            done = conn.execute(
                api_tokens.update()
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked.is_(None))
                .values(revoked=int(time.time()))
            )
        return bool(done.rowcount)

    def tokens(self, username: str | None = None) -> builtins.list[tuple[int, str, str, bool]]:
        """(id, user, label, revoked) of every token (of one user), oldest first."""
        query = sa.select(api_tokens).order_by(api_tokens.c.id)
        if username is not None:
            query = query.where(api_tokens.c.username == username)
        with self.catalog.engine.connect() as conn:
            return [(r.id, r.username, r.label, r.revoked is not None) for r in conn.execute(query)]

    def _unknown(self, username: str) -> UnknownUserError:
        return UnknownUserError("user", username, [u.username for u in self.list()])

    # -- failed logins --------------------------------------------------------------------------

    def record_failure(self, username: str, address: str, now: datetime) -> None:
        name, addr = _failure_key(username, address)
        with self.catalog.engine.begin() as conn:
            conn.execute(
                login_failures.insert().values(username=name, address=addr, timestamp=int(now.timestamp()))
            )

    def locked_until(
        self, username: str, address: str, now: datetime, attempts: int, window_minutes: float
    ) -> datetime | None:
        """When the lock of this user and address lifts, or None when not locked.

        Locked while ``attempts`` or more failures lie within the last ``window_minutes``;
        ``attempts`` 0 turns the limit off.
        """
        if attempts <= 0:
            return None
        name, addr = _failure_key(username, address)
        window = timedelta(minutes=window_minutes)
        query = (
            sa.select(login_failures.c.timestamp)
            .where(
                login_failures.c.username == name,
                login_failures.c.address == addr,
                login_failures.c.timestamp > int((now - window).timestamp()),
            )
            .order_by(login_failures.c.timestamp.desc())
            .limit(attempts)
        )
        with self.catalog.engine.connect() as conn:
            stamps = conn.execute(query).scalars().all()
        if len(stamps) < attempts:
            return None
        return datetime.fromtimestamp(stamps[-1], now.tzinfo) + window

    def is_locked(
        self, username: str, address: str, now: datetime, attempts: int, window_minutes: float
    ) -> bool:
        return self.locked_until(username, address, now, attempts, window_minutes) is not None

    def clear_failures(self, username: str, address: str) -> None:
        """Forget the failures of this user and address (after a successful login)."""
        name, addr = _failure_key(username, address)
        with self.catalog.engine.begin() as conn:
            conn.execute(
                login_failures.delete().where(
                    login_failures.c.username == name, login_failures.c.address == addr
                )
            )

    def prune_failures(self, before: datetime) -> int:
        """Delete failures older than ``before``, so the table stays small; returns how many."""
        with self.catalog.engine.begin() as conn:
            result = conn.execute(
                login_failures.delete().where(login_failures.c.timestamp < int(before.timestamp()))
            )
        return int(result.rowcount)
