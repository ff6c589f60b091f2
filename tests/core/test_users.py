"""Users: bcrypt hashes and roles in the catalog, rules with clear errors, and the failed-login record."""

from __future__ import annotations

import contextlib
import functools
import getpass
import inspect
import io
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from overwatch_core.catalog import DATA_TABLES, Catalog, login_failures, users
from overwatch_core.errors import OverwatchError
from overwatch_core.filenames import zone
from overwatch_core.users import (
    DEFAULT_ROUNDS,
    DuplicateUserError,
    InvalidPasswordError,
    InvalidRoleError,
    InvalidUsernameError,
    UnknownUserError,
    User,
    UserStore,
    role_at_least,
)

TZ = zone("Europe/Zurich")
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=TZ)


@pytest.fixture
def store(catalog_url: str) -> UserStore:
    return UserStore(Catalog.connect(catalog_url, TZ), rounds=4)


def test_default_cost_is_12_rounds(tmp_path: Path) -> None:
    assert DEFAULT_ROUNDS == 12
    assert inspect.signature(UserStore).parameters["rounds"].default == 12
    store = UserStore(Catalog.connect(f"sqlite:///{tmp_path / 'c.sqlite'}", TZ))
    store.add("alice", "pw", "shifter")
    with store.catalog.engine.connect() as conn:
        stored = conn.execute(users.select()).one().password_hash
    assert stored.startswith("$2b$12$")


def test_add_get_list_set_role_remove(store: UserStore) -> None:
    assert store.add("bob", "secret-1", "expert") == User("bob", "expert")
    store.add("alice", "secret-2", "admin")
    assert store.get("bob") == User("bob", "expert")
    assert store.get("nobody") is None
    assert store.list() == [User("alice", "admin"), User("bob", "expert")]
    assert store.set_role("bob", "admin").is_admin
    assert store.get("bob") == User("bob", "admin")
    store.remove("bob")
    assert store.list() == [User("alice", "admin")]


def test_the_hash_is_bcrypt_never_the_password(store: UserStore) -> None:
    store.add("alice", "correct horse", "shifter")
    with store.catalog.engine.connect() as conn:
        row = conn.execute(users.select()).one()
    assert row.password_hash.startswith("$2b$04$")
    assert "correct horse" not in row.password_hash
    assert row.role == "shifter"
    assert row.created > 0


def test_verify(store: UserStore) -> None:
    store.add("alice", "correct horse", "expert")
    assert store.verify("alice", "correct horse") == User("alice", "expert")
    assert store.verify("alice", "wrong") is None
    assert store.verify("alice", "") is None
    assert store.verify("alice", "x" * 100) is None
    assert store.verify("nobody", "correct horse") is None
    assert store.verify("not a valid name!", "correct horse") is None


def test_unicode_password_counts_bytes(store: UserStore) -> None:
    store.add("alice", "ü" * 36, "shifter")  # 72 bytes: the most bcrypt takes
    assert store.verify("alice", "ü" * 36) is not None
    with pytest.raises(InvalidPasswordError, match="74 bytes long; bcrypt allows at most 72"):
        store.add("bob", "ü" * 37, "shifter")


@pytest.mark.parametrize("name", ["alice", "nobody"])
def test_unknown_users_cost_one_bcrypt_check_too(
    store: UserStore, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    store.add("alice", "pw", "shifter")
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    assert store.verify(name, "wrong") is None
    assert len(calls) == 1
    assert calls[0].startswith(b"$2b$04$")


@pytest.mark.parametrize(
    ("name", "password", "role", "error", "message"),
    [
        ("", "pw", "shifter", InvalidUsernameError, "must be 1–64 characters"),
        ("a" * 65, "pw", "shifter", InvalidUsernameError, "must be 1–64 characters"),
        ("al ice", "pw", "shifter", InvalidUsernameError, "'al ice'"),
        ("al/ice", "pw", "shifter", InvalidUsernameError, "A-Z a-z 0-9 . _ -"),
        ("alice", "pw", "root", InvalidRoleError, "'root' is not one of shifter, expert, admin"),
        ("alice", "", "shifter", InvalidPasswordError, "must not be empty"),
        ("alice", "x" * 73, "shifter", InvalidPasswordError, "73 bytes long"),
    ],
)
def test_rules(store: UserStore, name: str, password: str, role: str, error: Any, message: str) -> None:
    with pytest.raises(error, match=message) as info:
        store.add(name, password, role)
    assert isinstance(info.value, OverwatchError)
    assert store.list() == []


def test_duplicate_and_unknown_users(store: UserStore) -> None:
    store.add("alice", "pw", "shifter")
    with pytest.raises(DuplicateUserError, match="user 'alice' exists already"):
        store.add("alice", "other", "admin")
    assert store.verify("alice", "pw") == User("alice", "shifter")
    with pytest.raises(UnknownUserError, match="unknown user 'bob'; valid: alice"):
        store.remove("bob")
    with pytest.raises(UnknownUserError, match="unknown user 'bob'"):
        store.set_role("bob", "admin")
    with pytest.raises(InvalidRoleError):
        store.set_role("alice", "boss")


def test_user_checks_its_fields() -> None:
    with pytest.raises(InvalidRoleError):
        User("alice", "boss")  # type: ignore[arg-type]
    assert not User("alice", "expert").is_admin


@pytest.mark.parametrize(
    ("role", "minimum", "allowed"),
    [
        ("shifter", "shifter", True),
        ("shifter", "expert", False),
        ("expert", "expert", True),
        ("expert", "admin", False),
        ("admin", "shifter", True),
        ("admin", "admin", True),
        (None, "shifter", False),
        ("root", "shifter", False),
    ],
)
def test_role_ranks(role: str | None, minimum: Any, allowed: bool) -> None:
    assert role_at_least(role, minimum) is allowed


def test_lock_after_attempts_within_the_window(store: UserStore) -> None:
    for minute in range(3):
        assert not store.is_locked("alice", "10.0.0.1", NOW, 3, 15)
        store.record_failure("alice", "10.0.0.1", NOW + timedelta(minutes=minute))
    later = NOW + timedelta(minutes=3)
    assert store.is_locked("alice", "10.0.0.1", later, 3, 15)
    assert store.locked_until("alice", "10.0.0.1", later, 3, 15) == NOW + timedelta(minutes=15)
    assert not store.is_locked("alice", "10.0.0.2", later, 3, 15), "other address"
    assert not store.is_locked("bob", "10.0.0.1", later, 3, 15), "other user"
    assert not store.is_locked("alice", "10.0.0.1", NOW + timedelta(minutes=15), 3, 15), "window passed"
    assert not store.is_locked("alice", "10.0.0.1", later, 0, 15), "0 attempts turns the limit off"


def test_clear_and_prune_failures(store: UserStore) -> None:
    for address in ("10.0.0.1", "10.0.0.2"):
        store.record_failure("alice", address, NOW)
    store.record_failure("bob", "10.0.0.1", NOW + timedelta(hours=1))
    store.clear_failures("alice", "10.0.0.1")
    assert not store.is_locked("alice", "10.0.0.1", NOW, 1, 15)
    assert store.is_locked("alice", "10.0.0.2", NOW, 1, 15)
    assert store.prune_failures(NOW + timedelta(minutes=1)) == 1
    with store.catalog.engine.connect() as conn:
        rows = conn.execute(login_failures.select()).all()
    assert [(r.username, r.address) for r in rows] == [("bob", "10.0.0.1")]


def test_failures_of_any_name_are_recorded(store: UserStore) -> None:
    """Attempted names are not valid user names; they are cut to the column width, not refused."""
    name = "x" * 300 + " <script>"
    store.record_failure(name, "2001:db8::1", NOW)
    assert store.is_locked(name, "2001:db8::1", NOW, 1, 15)


def test_failures_live_in_the_database(catalog_url: str) -> None:
    """SPEC §12: a second store on the same catalog (another web host) sees the same lock."""
    url = catalog_url
    first = UserStore(Catalog.connect(url, TZ), rounds=4)
    second = UserStore(Catalog.connect(url, TZ), rounds=4)
    first.record_failure("alice", "10.0.0.1", NOW)
    assert second.is_locked("alice", "10.0.0.1", NOW, 1, 15)


def test_users_and_failures_survive_a_rebuild(store: UserStore) -> None:
    assert users not in DATA_TABLES
    assert login_failures not in DATA_TABLES
    store.add("alice", "pw", "admin")
    store.catalog.drop_data()
    store.catalog.create_schema()
    assert store.get("alice") == User("alice", "admin")


# -- the `overwatch users` commands --------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `overwatch ARGS` on a temporary data folder with fast bcrypt; returns (exit code, out, err)."""
    from overwatch_core import cli_users
    from overwatch_core.cli import main

    monkeypatch.setattr(cli_users, "UserStore", functools.partial(UserStore, rounds=4))
    data = tmp_path / "data"

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--data-folder", str(data), *args])
        return code, out.getvalue(), err.getvalue()

    return run


def test_cli_add_list_set_role_remove(cli: Any, tmp_path: Path) -> None:
    assert cli("users", "list")[1] == "no users; add one with: overwatch users add NAME --role admin\n"
    code, out, _ = cli("users", "add", "alice", "--role", "expert", "--password-stdin", stdin="s3cret pw\n")
    assert (code, out) == (0, "added user alice with role expert\n")
    assert "s3cret" not in out
    assert cli("users", "add", "bob", "--role", "admin", "--password-stdin", stdin="pw2")[0] == 0
    assert cli("users", "list")[1].split() == ["alice", "expert", "bob", "admin"]
    assert cli("users", "set-role", "alice", "admin")[1] == "user alice now has role admin\n"
    assert cli("users", "remove", "bob")[1] == "removed user bob\n"
    assert cli("users", "list")[1].split() == ["alice", "admin"]
    store = UserStore(Catalog.connect(f"sqlite:///{tmp_path / 'data' / 'overwatch.sqlite'}", TZ), 4)
    assert store.verify("alice", "s3cret pw") == User("alice", "admin"), "the newline is not the password"


def test_cli_errors(cli: Any) -> None:
    cli("users", "add", "alice", "--role", "shifter", "--password-stdin", stdin="pw\n")
    code, _, err = cli("users", "add", "alice", "--role", "shifter", "--password-stdin", stdin="pw\n")
    assert (code, err) == (2, "overwatch: User error: user 'alice' exists already\n")
    code, _, err = cli("users", "remove", "bob")
    assert (code, err) == (2, "overwatch: Not found: unknown user 'bob'; valid: alice\n")
    code, _, err = cli("users", "add", "carol", "--role", "shifter", "--password-stdin")
    assert (code, err) == (2, "overwatch: User error: --password-stdin: standard input is empty\n")
    code, _, err = cli("users", "add", "bad name", "--role", "shifter", "--password-stdin", stdin="pw\n")
    assert code == 2
    assert "must be 1–64 characters" in err


def test_cli_refuses_unknown_roles_and_password_arguments(cli: Any) -> None:
    with pytest.raises(SystemExit):
        cli("users", "set-role", "alice", "root")
    with pytest.raises(SystemExit):
        cli("users", "add", "alice", "--role", "admin", "--password", "pw")


def test_cli_prompts_twice(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    typed = iter(["first", "second", "same", "same"])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(typed)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    code, out, err = cli("users", "add", "alice", "--role", "shifter")
    assert (code, out) == (2, "")
    assert err == "overwatch: User error: the two passwords differ; nothing was changed\n"
    assert cli("users", "list")[1].startswith("no users")
    code, out, err = cli("users", "add", "alice", "--role", "shifter")
    assert (code, out) == (0, "added user alice with role shifter\n")
    assert prompts == ["Password: ", "Repeat the password: "] * 2
    assert "same" not in out + err


def test_api_tokens_are_stored_hashed_shown_once_and_revocable(store: UserStore) -> None:
    from overwatch_core.catalog import api_tokens

    store.add("alice", "pw", "expert")
    token_id, token = store.create_token("alice", "nightly script")
    assert store.token_user(token) == User("alice", "expert")
    with store.catalog.engine.connect() as conn:
        stored = conn.execute(api_tokens.select()).one()
    assert token not in str(tuple(stored))  # only its hash is kept
    assert store.tokens("alice") == [(token_id, "alice", "nightly script", False)]
    assert store.revoke_token(token_id)
    assert store.token_user(token) is None
    assert not store.revoke_token(token_id)
    assert store.token_user("ow_" + "x" * 43) is None
    with pytest.raises(UnknownUserError):
        store.create_token("nobody")
    _, other = store.create_token("alice")
    store.remove("alice")  # a removed user's tokens go with them
    assert store.token_user(other) is None


def test_users_token_command(cli: Any) -> None:
    assert cli("users", "add", "bob", "--role", "shifter", "--password-stdin", stdin="pw")[0] == 0
    code, out, _ = cli("users", "token", "bob", "--label", "grafana")
    assert code == 0
    token = out.splitlines()[-1]
    assert token.startswith("ow_")
    assert cli("users", "token", "--list")[1].split() == ["1", "bob", "grafana", "active"]
    assert cli("users", "token", "--revoke", "1")[1] == "revoked API token 1\n"
    assert cli("users", "token", "--revoke", "1")[0] == 2
