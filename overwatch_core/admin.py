"""The admin "restart / upgrade" action: run the configured command, no shell, with a timeout and an audit."""

from __future__ import annotations

import logging
import shlex
import subprocess
import time
from dataclasses import dataclass

from overwatch_core.errors import OverwatchError
from overwatch_core.settings import Settings

log = logging.getLogger(__name__)
#: Who did what, on its own logger so operators can route it to a separate file.
audit = logging.getLogger("overwatch.audit")

RESTART_TIMEOUT = 60.0
TAIL_LINES = 40
TAIL_CHARS = 4000


class AdminActionError(OverwatchError):
    """The action is not available (not configured, or the command line cannot be parsed)."""

    category = "Admin action"


@dataclass(frozen=True)
class ActionResult:
    """How the command ended: exit code (None when it never ran or was killed), and its output's tail."""

    command: tuple[str, ...]
    exit_code: int | None
    output_tail: str
    seconds: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def restart_argv(settings: Settings) -> list[str]:
    """The command as an argument list (shlex rules); AdminActionError saying why when unusable."""
    text = settings.restart_command.strip()
    if not text:
        raise AdminActionError("restart_command is not set in the configuration, so the action is off")
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise AdminActionError(f"restart_command cannot be parsed: {exc}") from exc
    if not argv:
        raise AdminActionError("restart_command holds no command")
    return argv


def restart_disabled_reason(settings: Settings) -> str | None:
    """Why the button is disabled, or None when the action can run."""
    try:
        restart_argv(settings)
    except AdminActionError as exc:
        return str(exc)
    return None


def tail(text: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The end of a command's output: enough to see why it failed, never a whole log."""
    kept = "\n".join(text.rstrip().splitlines()[-lines:])
    return kept[-chars:]


def run_restart(settings: Settings, user: str, timeout: float = RESTART_TIMEOUT) -> ActionResult:
    """Run restart_command for ``user`` (never through a shell) and write the audit lines.

    A command that restarts this very server should detach (e.g. ``systemd-run``), or the answer is lost
    with the worker that waits for it.
    """
    argv = restart_argv(settings)
    audit.warning("admin action: user %s runs restart command %s", user, shlex.join(argv))
    result = _run(argv, timeout)
    audit.warning(
        "admin action: restart command of user %s ended: exit code %s after %.1f s%s",
        user,
        result.exit_code,
        result.seconds,
        " (timed out)" if result.timed_out else "",
    )
    return result


def _run(argv: list[str], timeout: float) -> ActionResult:
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = f"{_text(exc.output).rstrip()}\n(killed after {timeout:g} s)".lstrip()
        return ActionResult(tuple(argv), None, tail(output), time.monotonic() - started, timed_out=True)
    except OSError as exc:
        log.error("restart command %s could not start: %s", argv[0], exc)
        return ActionResult(
            tuple(argv), None, f"could not start {argv[0]}: {exc}", time.monotonic() - started
        )
    return ActionResult(tuple(argv), done.returncode, tail(_text(done.stdout)), time.monotonic() - started)


def _text(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output if isinstance(output, str) else output.decode("utf-8", errors="replace")
