"""Real processes for the integration tests: free ports, `overwatch` commands, waiting on conditions with
deadlines, and redis-server."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

WAIT = 60  # seconds: process start-up and a slice on two cores shared with other work


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def overwatch_command() -> list[str]:
    script = Path(sys.executable).with_name("overwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "overwatch_core.cli"]


@dataclass
class Started:
    """A process group started for a test; its output goes to ``log``."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return f"--- {self.name} output (last {lines} lines) ---\n" + "\n".join(
            self.output().splitlines()[-lines:]
        )

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.process.returncode}\n{self.tail()}")

    def stop(self) -> None:
        """SIGTERM to the whole group (the CLI, gunicorn's master and workers, jobs), then wait."""
        try:
            members = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(True)]
        except psutil.NoSuchProcess:
            members = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        _gone, alive = psutil.wait_procs(members, timeout=30)
        for survivor in alive:
            try:
                survivor.kill()
            except psutil.NoSuchProcess:
                continue
        self.process.wait(timeout=10)


def wait_for(condition: Callable[[], object], what: str, *watched: Started, timeout: float = WAIT) -> None:
    """Poll ``condition`` until true; fail at once (with its output) when a watched process exits."""
    deadline = time.monotonic() + timeout
    while not condition():
        for item in watched:
            item.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n" + "\n".join(
                item.tail() for item in watched
            ))  # fmt: skip
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200 and response.read() == b"Alive")
    except (OSError, urllib.error.URLError):
        return False


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(start: Callable[..., Started], env: dict[str, str], folder: Path) -> str:
    """A real redis-server on a free port (no persistence); returns its URL. Missing redis fails."""
    redis = shutil.which("redis-server")
    if redis is None:
        pytest.fail(
            "redis-server is not installed: the Celery tests need it (Debian package redis-server; "
            "`make test` installs it, or run: apt-get install redis-server)"
        )
    port = free_port()
    broker = start(
        "redis",
        [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        env,
    )  # fmt: skip
    wait_for(lambda: redis_answers(port), "redis-server to answer PING", broker)
    return f"redis://127.0.0.1:{port}/0"


def serve(
    start: Callable[..., Started], env: dict[str, str], *watched: Started, name: str = "serve"
) -> tuple[Started, str]:
    """`overwatch serve`, waited for until /status answers and all its workers have booted."""
    server = start(name, [*overwatch_command(), "serve"], env)
    base_url = f"http://127.0.0.1:{env['OVERWATCH_PORT']}"
    workers = int(env.get("OVERWATCH_WORKERS", "2"))
    wait_for(lambda: answers(f"{base_url}/status"), f"{base_url}/status", server, *watched)
    booted = lambda: server.output().count("Booting worker with pid") >= workers  # noqa: E731
    wait_for(booted, f"{workers} gunicorn workers", server)
    assert "Control server error" not in server.output(), "gunicorn must run with --no-control-socket"
    return server, base_url
