"""The `overwatch users` commands: add, remove, list and set the role of dashboard users."""

from __future__ import annotations

import argparse
import getpass
import sys

from overwatch_core import filenames
from overwatch_core.catalog import Catalog
from overwatch_core.errors import OverwatchError
from overwatch_core.settings import Settings
from overwatch_core.users import ROLES, UserError, UserStore


def _store(settings: Settings) -> UserStore:
    """The user store; the first user of a fresh install may come before any data."""
    settings.data_path.mkdir(parents=True, exist_ok=True)
    return UserStore(Catalog.connect(settings.catalog_url, filenames.zone(settings.timezone)))


def read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin for scripts, else typed twice without echo.

    Never an argument, as arguments show up in `ps` and in the shell history.
    """
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UserError("--password-stdin: standard input is empty")
        return line.removesuffix("\n").removesuffix("\r")
    try:
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Repeat the password: ")
    except EOFError as exc:
        raise UserError("no password typed (use --password-stdin to pipe one in)") from exc
    if first != second:
        raise UserError("the two passwords differ; nothing was changed")
    return first


def cmd_users_add(settings: Settings, args: argparse.Namespace) -> int:
    store = _store(settings)
    user = store.add(args.username, read_password(args.password_stdin), args.role)
    print(f"added user {user.username} with role {user.role}")
    return 0


def cmd_users_remove(settings: Settings, args: argparse.Namespace) -> int:
    _store(settings).remove(args.username)
    print(f"removed user {args.username}")
    return 0


def cmd_users_list(settings: Settings, args: argparse.Namespace) -> int:
    found = _store(settings).list()
    if not found:
        print("no users; add one with: overwatch users add NAME --role admin")
    for user in found:
        print(f"{user.username:32}  {user.role}")
    return 0


def cmd_users_set_role(settings: Settings, args: argparse.Namespace) -> int:
    user = _store(settings).set_role(args.username, args.role)
    print(f"user {user.username} now has role {user.role}")
    return 0


def cmd_users_token(settings: Settings, args: argparse.Namespace) -> int:
    """Create an API token (shown once), list tokens, or revoke one."""
    store = _store(settings)
    if args.revoke is not None:
        if not store.revoke_token(args.revoke):
            raise OverwatchError(f"no active API token with id {args.revoke}")
        print(f"revoked API token {args.revoke}")
        return 0
    if args.list:
        for token_id, user, label, revoked in store.tokens(args.username):
            print(f"{token_id:>5}  {user:16} {label or '-':24} {'revoked' if revoked else 'active'}")
        return 0
    if args.username is None:
        raise OverwatchError("users token: name the user (or use --list / --revoke ID)")
    token_id, token = store.create_token(args.username, args.label)
    print(f"API token {token_id} for {args.username} (shown only now; send it as 'Authorization: Bearer …'):")
    print(token)
    return 0


def add_users_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `users` and its sub-commands to the `overwatch` parser."""
    users = subparsers.add_parser("users", help="add, remove, list dashboard users and set their roles")
    sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    p = sub.add_parser("add", help="add a user; the password is prompted for twice")
    p.add_argument("username", help="1-64 characters of A-Z a-z 0-9 . _ -")
    p.add_argument("--role", required=True, choices=ROLES, help="shifter, expert or admin")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    p.set_defaults(func=cmd_users_add)

    p = sub.add_parser("remove", help="remove a user")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_remove)

    p = sub.add_parser("list", help="print every user and role")
    p.set_defaults(func=cmd_users_list)

    p = sub.add_parser("token", help="create an API token for a user (or --list, --revoke ID)")
    p.add_argument("username", nargs="?", help="the user the token acts as")
    p.add_argument("--label", default="", help="what the token is for, e.g. the script's name")
    p.add_argument("--list", action="store_true", help="list tokens (of the user, if named)")
    p.add_argument("--revoke", type=int, metavar="ID", help="revoke the token with this id")
    p.set_defaults(func=cmd_users_token)

    p = sub.add_parser("set-role", help="change a user's role")
    p.add_argument("username")
    p.add_argument("role", choices=ROLES, help="shifter, expert or admin")
    p.set_defaults(func=cmd_users_set_role)
