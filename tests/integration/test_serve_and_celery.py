"""The real processes: `overwatch serve` (gunicorn, 2 workers) and `overwatch worker` (Celery on a real
redis-server), each completing a time slice for headless Chromium.

With 2 gunicorn workers the browser's polls for a background job land on both, so a job cache private
to one worker would hang silently (the output never comes, no error); these tests catch that.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.browser

WAIT = 60  # seconds: process start-up and a slice on two cores shared with other work
USER = ("sam", "sam-integration-pw")
RUN_PAGE = "/runs/300003/EMC"
HOT_LIST = "517, 2222, 3931"
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


# -- processes -------------------------------------------------------------------------------------------


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


@pytest.fixture
def site(demo_data: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of every process: a copy of the demo data, an instance folder, a secret key, a
    free port, 2 gunicorn workers, and a user made with `overwatch users add --password-stdin`."""
    data = tmp_path / "data"
    shutil.copytree(demo_data, data, symlinks=True, ignore=lambda folder, _names: ["cache"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERWATCH_")}
    env.update(
        OVERWATCH_DATA_FOLDER=str(data),
        OVERWATCH_INSTANCE_FOLDER=str(tmp_path / "instance"),
        OVERWATCH_SECRET_KEY=secrets.token_hex(32),
        OVERWATCH_HOST="127.0.0.1",
        OVERWATCH_PORT=str(free_port()),
        OVERWATCH_WORKERS="2",
        OVERWATCH_SETTLE_SECONDS="0",
    )
    added = subprocess.run(
        [*overwatch_command(), "users", "add", USER[0], "--role", "shifter", "--password-stdin"],
        input=f"{USER[1]}\n", env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    assert f"added user {USER[0]} with role shifter" in added.stdout
    return env


def serve(start: Callable[..., Started], env: dict[str, str], *watched: Started) -> tuple[Started, str]:
    """`overwatch serve`, waited for until /status answers and both workers have booted."""
    server = start("serve", [*overwatch_command(), "serve"], env)
    base_url = f"http://127.0.0.1:{env['OVERWATCH_PORT']}"
    wait_for(lambda: answers(f"{base_url}/status"), f"{base_url}/status", server, *watched)
    wait_for(lambda: server.output().count("Booting worker with pid") >= 2, "2 gunicorn workers", server)
    assert "Control server error" not in server.output(), "gunicorn must run with --no-control-socket"
    return server, base_url


# -- the browser -------------------------------------------------------------------------------------------


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


def threshold(browser: webdriver.Chrome) -> str | None:
    return browser.find_element(By.CSS_SELECTOR, "#ts-threshold .dash-slider-thumb").get_attribute(
        "aria-valuenow"
    )


def log_in(browser: webdriver.Chrome, base_url: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base_url}/login")
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.ID, "username"))
    browser.find_element(By.ID, "username").send_keys(USER[0])
    browser.find_element(By.ID, "password").send_keys(USER[1])
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.ID, "run-list-summary"))


def complete_slices(browser: webdriver.Chrome, base_url: str, *watched: Started) -> None:
    """An uncached permalink computes in the background; then Apply computes another and sets the URL."""
    browser.get(f"{base_url}{RUN_PAGE}?from=0&to=3&threshold=0&scale=1&group=FastOR")
    wait_in_browser(
        browser,
        lambda: text_of(browser, "#ts-banner").startswith("Time slice: requested 0–3 min, shown 0–3 min"),
        "the linked slice, computed in the background",
        *watched,
    )

    lower = browser.find_elements(By.CSS_SELECTOR, "#ts-range .dash-slider-thumb")[0]
    lower.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)  # 2–3
    box = browser.find_element(By.CSS_SELECTOR, "#ts-threshold input[type=number]")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("100", Keys.TAB)
    wait_in_browser(
        browser,
        lambda: text_of(browser, "#ts-window") == "Window: 2–3 min" and threshold(browser) == "100",
        "the controls at 2–3 min, threshold 100",
        *watched,
    )
    browser.find_element(By.ID, "ts-apply").click()
    wait_in_browser(
        browser,
        lambda: re.fullmatch(
            r"Time slice: requested 2–3 min, shown 2–3 min \(nearest files\), scaled by \d+ events, "
            r"threshold 100",
            text_of(browser, "#ts-banner"),
        ),
        "the applied slice",
        *watched,
    )
    assert browser.current_url == f"{base_url}{RUN_PAGE}?from=2&to=3&threshold=100&scale=1&group=FastOR"
    assert "Threshold: 0.1" in text_of(browser, "#run-page-main .info-panel")
    logs = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert logs == []


# -- the tests -------------------------------------------------------------------------------------------


def api_slice_through_the_job(base_url: str, env: dict[str, str]) -> dict[str, object]:
    """/api/v1's slice with a token made by `overwatch users token`: submitted, then polled (any worker
    may answer) until done; the answer of the last poll."""
    made = subprocess.run(
        [*overwatch_command(), "users", "token", USER[0], "--label", "integration"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    token = made.stdout.strip().splitlines()[-1]

    def get(path: str) -> tuple[int, dict[str, object]]:
        request = urllib.request.Request(base_url + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status, json.loads(response.read())

    status, body = get("/api/v1/runs/300003/EMC/slice?from=1&to=3")
    assert (status, body["status"]) == (202, "pending"), body
    deadline = time.monotonic() + WAIT
    while body["status"] == "pending" and time.monotonic() < deadline:
        status, body = get(f"{body['poll']}?wait=2")
    assert (status, body["status"]) == (200, "done"), body
    assert str(body["description"]).startswith("Time slice: requested 1–3 min")
    return body


def test_serve_with_two_workers_completes_a_slice(
    start: Callable[..., Started], site: dict[str, str], driver: webdriver.Chrome
) -> None:
    # 2 s more per slice: several polls per job, so some surely land on the worker that did not start it.
    server, base_url = serve(start, {**site, "OVERWATCH_SLICE_DELAY_SECONDS": "2"})
    log_in(driver, base_url)
    complete_slices(driver, base_url, server)
    api_slice_through_the_job(base_url, site)
    jobs = Path(site["OVERWATCH_INSTANCE_FOLDER"]) / "jobs"
    assert any(jobs.iterdir()), "the diskcache job store every worker shares"
    assert "Traceback" not in server.output(), server.tail()


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_celery_worker_completes_a_slice(
    start: Callable[..., Started], site: dict[str, str], driver: webdriver.Chrome, tmp_path: Path
) -> None:
    redis = shutil.which("redis-server")
    if redis is None:
        pytest.fail(
            "redis-server is not installed: the Celery test needs it (Debian package redis-server; "
            "`make test` installs it, or run: apt-get install redis-server)"
        )
    port = free_port()
    broker = start(
        "redis",
        [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        site,
    )  # fmt: skip
    wait_for(lambda: redis_answers(port), "redis-server to answer PING", broker)

    env = {**site, "OVERWATCH_CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0"}
    worker = start("worker", [*overwatch_command(), "worker", "--concurrency", "1"], env)
    server, base_url = serve(start, env, worker, broker)
    wait_for(lambda: " ready." in worker.output(), "the Celery worker to be ready", worker, broker)
    log_in(driver, base_url)
    complete_slices(driver, base_url, server, worker, broker)
    api_slice_through_the_job(base_url, env)

    done = re.findall(r"Task background_callback_\w+\[[\w-]+\] succeeded", worker.output())
    assert len(done) >= 3, worker.tail()
    assert "Task background_callback_overwatch_api_time_slice[" in worker.output(), worker.tail()
    jobs = Path(site["OVERWATCH_INSTANCE_FOLDER"]) / "jobs"
    assert not jobs.exists() or not any(jobs.iterdir()), "no diskcache jobs: Celery ran them"
    assert "Traceback" not in server.output() + worker.output(), server.tail() + worker.tail()
