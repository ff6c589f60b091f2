"""The real processes: `overwatch serve` (gunicorn, 2 workers) and `overwatch worker` (Celery on a real
redis-server), each completing a time slice for headless Chromium.

With 2 gunicorn workers the browser's polls for a background job land on both, so a job cache private
to one worker would hang silently (the output never comes, no error); these tests catch that.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.integration.browser import log_in, text_of, wait_in_browser
from tests.integration.processes import (
    WAIT,
    Started,
    free_port,
    overwatch_command,
    serve,
    start_redis,
    wait_for,
)

pytestmark = pytest.mark.browser

USER = ("sam", "sam-integration-pw")
RUN_PAGE = "/runs/300003/EMC"
HOT_LIST = "517, 2222, 3931"


# -- processes -------------------------------------------------------------------------------------------


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


# -- the browser -------------------------------------------------------------------------------------------


def threshold(browser: webdriver.Chrome) -> str | None:
    return browser.find_element(By.CSS_SELECTOR, "#ts-threshold .dash-slider-thumb").get_attribute(
        "aria-valuenow"
    )


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


#: An access-log line of a poll for a background job's result: its cache key, status and the answering
#: worker's PID (cli.ACCESS_LOG_FORMAT ends in it).
POLL = re.compile(
    r'"POST /_dash-update-component\?\S*\bcacheKey=([^&\s]+)\S* HTTP/[\d.]+" (\d{3}) .* <(\d+)>$'
)


def job_polls(log: str) -> dict[str, set[str]]:
    """Job cache key → PIDs of the workers that answered its polls (ready or not yet)."""
    answered: dict[str, set[str]] = {}
    for line in log.splitlines():
        found = POLL.search(line)
        if found is not None and found[2] in ("200", "204"):
            answered.setdefault(found[1], set()).add(found[3])
    return answered


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
    log_in(driver, base_url, USER)
    complete_slices(driver, base_url, server)
    workers = set(re.findall(r"Booting worker with pid: (\d+)", server.output()))
    assert len(workers) == 2
    answered = job_polls(server.output())
    assert len(answered) == 2, f"the two slices' jobs: {answered}"
    for job, pids in answered.items():
        assert pids == workers, f"job {job}: its polls were answered by both workers"
    api_slice_through_the_job(base_url, site)
    jobs = Path(site["OVERWATCH_INSTANCE_FOLDER"]) / "jobs"
    assert any(jobs.iterdir()), "the diskcache job store every worker shares"
    assert "Traceback" not in server.output(), server.tail()


def test_celery_worker_completes_a_slice(
    start: Callable[..., Started], site: dict[str, str], driver: webdriver.Chrome, tmp_path: Path
) -> None:
    env = {**site, "OVERWATCH_CELERY_BROKER_URL": start_redis(start, site, tmp_path)}
    worker = start("worker", [*overwatch_command(), "worker", "--concurrency", "1"], env)
    server, base_url = serve(start, env, worker)
    wait_for(lambda: " ready." in worker.output(), "the Celery worker to be ready", worker)
    log_in(driver, base_url, USER)
    complete_slices(driver, base_url, server, worker)
    api_slice_through_the_job(base_url, env)

    done = re.findall(r"Task background_callback_\w+\[[\w-]+\] succeeded", worker.output())
    assert len(done) >= 3, worker.tail()
    assert "Task background_callback_overwatch_api_time_slice[" in worker.output(), worker.tail()
    jobs = Path(site["OVERWATCH_INSTANCE_FOLDER"]) / "jobs"
    assert not jobs.exists() or not any(jobs.iterdir()), "no diskcache jobs: Celery ran them"
    assert "Traceback" not in server.output() + worker.output(), server.tail() + worker.tail()
