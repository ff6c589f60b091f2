"""The real processes of the integration tests (the CLI, gunicorn, redis, Celery) and a headless Chromium
that talks to them: started in their own sessions, waited for on what they print or answer."""

from __future__ import annotations

import contextlib
import os
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
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By

WAIT = 60  # seconds: process start-up and a slice on two cores shared with other work
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1920,1080",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)


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


def serve(start: Callable[..., Started], env: dict[str, str], *watched: Started) -> tuple[Started, str]:
    """`overwatch serve`, waited for until /status answers and all its workers have booted."""
    server = start("serve", [*overwatch_command(), "serve"], env)
    base_url = f"http://127.0.0.1:{env['OVERWATCH_PORT']}"
    workers = int(env.get("OVERWATCH_WORKERS", "2"))
    wait_for(lambda: answers(f"{base_url}/status"), f"{base_url}/status", server, *watched)
    booted = lambda: server.output().count("Booting worker with pid") >= workers  # noqa: E731
    wait_for(booted, f"{workers} gunicorn workers", server)
    assert "Control server error" not in server.output(), "gunicorn must run with --no-control-socket"
    return server, base_url


def text_of(browser: webdriver.Chrome, selector: str) -> str:
    try:
        found = browser.find_elements(By.CSS_SELECTOR, selector)
        return found[0].text if found else ""
    except StaleElementReferenceException:
        return ""


def wait_in_browser(
    browser: webdriver.Chrome, condition: Callable[[], object], what: str, *watched: Started
) -> None:
    """Like wait_for, with a re-rendered (stale) element counting as not yet."""

    def settled() -> object:
        try:
            return condition()
        except WebDriverException:
            return False

    wait_for(settled, what, *watched)


def severe_logs(browser: webdriver.Chrome) -> list[dict[str, object]]:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
