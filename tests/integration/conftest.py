"""Fixtures of the integration tests: processes started for a test (stopped at teardown) and a headless
Chromium."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options

from tests.integration.processes import Started

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


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Started]]:
    """``start(name, command, env)``: a process in its own session; all are stopped at teardown, the
    last started first."""
    started: list[Started] = []

    def run(name: str, command: list[str], env: dict[str, str]) -> Started:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=tmp_path,
            )  # fmt: skip
        started.append(Started(name, process, log))
        return started[-1]

    yield run
    for item in reversed(started):
        item.stop()


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    options = Options()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    if os.environ.get("DASH_TEST_CHROMEPATH"):
        options.binary_location = os.environ["DASH_TEST_CHROMEPATH"]
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    browser = webdriver.Chrome(options=options)
    yield browser
    browser.quit()
