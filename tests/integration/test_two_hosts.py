"""Two hosts on one machine (SPEC §12, docs/deployment.md): hosts A and B each run `overwatch serve` and
`overwatch process --watch` with their own instance folder, and share one PostgreSQL catalog, one data
folder, one redis-server, one Celery worker and the secret key.

It shows what the deployment guide promises: only the lease holder ingests; when it is killed (SIGKILL,
in the middle of a pass) the other takes over once the lease runs out; every file is in the catalog once;
a time slice asked on A is computed by the worker, and the same permalink on B is answered from the
shared view cache without a job; the session cookie A set is valid on B.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from selenium import webdriver

from overwatch_core import filenames
from overwatch_core.catalog import file_status, files, leases
from overwatch_core.demo import generate_demo_data
from overwatch_core.processing import LEASE
from tests.integration.browser import log_in, text_of, wait_in_browser
from tests.integration.processes import Started, free_port, overwatch_command, serve, start_redis, wait_for
from tests.postgres_cluster import Cluster

pytestmark = pytest.mark.browser

USER = ("sam", "sam-two-hosts-pw")
METRICS_TOKEN = "two-hosts-metrics-token"
ZONE = "Europe/Zurich"  # the default timezone setting
LEASE_SECONDS = "4"  # short, so the hand-over comes soon; the leader renews it every third of that
FIRST_RUNS = (300000, 300003)  # ingested by whichever process leads first
LATER_RUN = 300004  # dropped just before the leader is killed
SLICE = "/runs/300003/EMC?from=0&to=3&threshold=0&scale=1&group=FastOR"
BANNER = "Time slice: requested 0–3 min, shown 0–3 min"
TASK_DONE = re.compile(r"Task background_callback_\w+\[[\w-]+\] succeeded")
TASK_RECEIVED = re.compile(r"Task background_callback_\w+\[[\w-]+\] received")


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[Path]]:
    """Files as receivers write them, per run (the demo's mode-E run left out: it is not catalogued)."""
    out = tmp_path_factory.mktemp("received")
    generate_demo_data(out, n_runs=3, files_per_run=8)
    runs: dict[int, list[Path]] = {}
    for path in sorted(out.glob("*.root")):
        runs.setdefault(filenames.parse_received_name(path.name, ZoneInfo("UTC")).run_number, []).append(path)
    return runs


def stored_path(received: Path) -> str:
    """Where ingest keeps a received file (in the default zone both hosts use)."""
    zone = filenames.zone(ZONE)
    name = filenames.parse_received_name(received.name, zone)
    return filenames.stored_path(name.run_number, name.subsystem, name.timestamp, zone)


def drop(paths: list[Path], folder: Path) -> None:
    """Into the drop folder as a receiver does: a dot-file first, then renamed."""
    for path in paths:
        partial = folder / f".{path.name}.part"
        shutil.copyfile(path, partial)
        os.replace(partial, folder / path.name)


def overwatch(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [*overwatch_command(), *args], input=stdin, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class Catalog:
    """What the test reads from the shared PostgreSQL catalog."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

    def paths(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(files.c.path)).scalars())

    def states(self) -> dict[str, int]:
        query = sa.select(file_status.c.state, sa.func.count()).group_by(file_status.c.state)
        with self.engine.connect() as conn:
            return {str(state): int(count) for state, count in conn.execute(query).all()}

    def all_done(self, expected: int) -> bool:
        return len(self.paths()) == expected and self.states() == {"done": expected}

    def leader_pid(self) -> int | None:
        with self.engine.connect() as conn:
            holder = conn.execute(sa.select(leases.c.holder).where(leases.c.name == LEASE)).scalar()
        return None if holder is None else int(str(holder).rsplit(":", 1)[1])


def cookie_header(browser: webdriver.Chrome) -> str:
    return "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())


def api_status(url: str, cookie: str | None) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def metrics(base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    request = urllib.request.Request(
        f"{base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def slice_counts(base_url: str) -> tuple[float, float, float]:
    """(jobs done by this host's worker, slices this host sent to a job, slices answered from the cache)."""
    values = metrics(base_url)
    return (
        values.get(("overwatch_time_slice_jobs_total", (("outcome", "done"),)), 0.0),
        values.get(("overwatch_time_slice_requests_total", (("answer", "job"),)), 0.0),
        values.get(("overwatch_time_slice_requests_total", (("answer", "cache"),)), 0.0),
    )


def test_two_hosts_share_catalog_data_jobs_and_sessions(
    start: Callable[..., Started],
    postgres: Cluster,
    received: dict[int, list[Path]],
    driver: webdriver.Chrome,
    tmp_path: Path,
) -> None:
    data = tmp_path / "shared-data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERWATCH_")}
    env.update(
        OVERWATCH_DATA_FOLDER=str(data),
        OVERWATCH_DATABASE_URL=postgres.database(),
        OVERWATCH_SECRET_KEY=secrets.token_hex(32),
        OVERWATCH_SETTLE_SECONDS="0",
        OVERWATCH_PROCESS_PERIOD_SECONDS="0.5",
        OVERWATCH_PROCESS_LEASE_SECONDS=LEASE_SECONDS,
        OVERWATCH_WORKERS="2",  # a browser's idle preconnection can hold a sync worker: one more answers
        OVERWATCH_HOST="127.0.0.1",
        OVERWATCH_METRICS_TOKEN=METRICS_TOKEN,
    )
    env["OVERWATCH_CELERY_BROKER_URL"] = start_redis(start, env, tmp_path)
    assert "catalog upgraded" in overwatch(env, "db", "upgrade")
    overwatch(env, "users", "add", USER[0], "--role", "shifter", "--password-stdin", stdin=f"{USER[1]}\n")
    hosts = {
        name: {**env, "OVERWATCH_INSTANCE_FOLDER": str(tmp_path / f"instance-{name}"),
               "OVERWATCH_PORT": str(free_port())}
        for name in "AB"
    }  # fmt: skip

    # The worker runs "on host A": its job metrics are in A's instance folder, which A's /metrics adds in.
    worker = start("worker", [*overwatch_command(), "worker", "--concurrency", "1"], hosts["A"])
    server_a, url_a = serve(start, hosts["A"], worker, name="serve-A")
    server_b, url_b = serve(start, hosts["B"], worker, name="serve-B")
    loops = {
        name: start(f"process-{name}", [*overwatch_command(), "process", "--watch"], hosts[name])
        for name in "AB"
    }
    catalog = Catalog(env["OVERWATCH_DATABASE_URL"])

    # One leads, the other stands by; only the leader ingests.
    wait_for(
        lambda: catalog.leader_pid() in {p.process.pid for p in loops.values()}, "a leader", *loops.values()
    )
    leader = next(p for p in loops.values() if p.process.pid == catalog.leader_pid())
    standby = next(p for p in loops.values() if p is not leader)
    wait_for(lambda: "standing by" in standby.output(), "the other loop to stand by", standby)
    first = [path for run in FIRST_RUNS for path in received[run]]
    drop(first, data)
    wait_for(lambda: catalog.all_done(len(first)), f"{len(first)} files ingested and processed", leader)
    assert "ingest pass:" in leader.output()
    assert "ingest pass:" not in standby.output()

    # A time slice asked on A is computed once, by the Celery worker.
    wait_for(lambda: " ready." in worker.output(), "the Celery worker to be ready", worker)
    log_in(driver, url_a, USER)
    driver.get(f"{url_a}{SLICE}")
    wait_in_browser(
        driver, lambda: text_of(driver, "#ts-banner").startswith(BANNER), "the slice on A", worker
    )
    assert len(TASK_RECEIVED.findall(worker.output())) == 1, worker.tail()
    wait_for(lambda: len(TASK_DONE.findall(worker.output())) == 1, "the worker's task to succeed", worker)
    assert slice_counts(url_a) == (1, 1, 0)

    # The session cookie A set is valid on B (the same secret key); without it B refuses.
    cookie = cookie_header(driver)
    assert api_status(f"{url_b}/api/v1/runs", cookie) == 200
    assert api_status(f"{url_b}/api/v1/runs", None) == 401
    # The same permalink on B: from the shared view cache, no new job (the browser sends A's cookie to B:
    # cookies do not depend on the port).
    driver.get(f"{url_b}{SLICE}")
    wait_in_browser(
        driver, lambda: text_of(driver, "#ts-banner").startswith(BANNER), "the slice on B", server_b
    )
    assert "/login" not in driver.current_url
    assert len(TASK_RECEIVED.findall(worker.output())) == 1, worker.tail()
    assert slice_counts(url_b) == (0, 0, 1)
    assert slice_counts(url_a) == (1, 1, 0)
    assert metrics(url_b)[("overwatch_time_slice_queue_depth", ())] == 0
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []

    # The leader dies in the middle of ingesting the later run; the standby takes over and finishes it.
    later = received[LATER_RUN]
    drop(later, data)
    wait_for(lambda: len(catalog.paths()) > len(first), "the leader to start on the later run", leader)
    os.kill(leader.process.pid, signal.SIGKILL)
    leader.process.wait(timeout=30)
    wait_for(lambda: catalog.leader_pid() == standby.process.pid, "the standby to take the lease", standby)
    total = len(first) + len(later)
    wait_for(lambda: catalog.all_done(total), f"all {total} files ingested and processed", standby)
    assert "took over the processing lease" in standby.output()
    passes = metrics(url_a)  # the loop's numbers, which it stores in the catalog, on either host
    assert passes[("overwatch_process_decodes_total", ())] >= len(later)
    assert passes[("overwatch_process_passes_total", ())] >= 2

    # Every file once: as many catalogued files as dropped, one per received name, none left or quarantined.
    paths = catalog.paths()
    assert len(paths) == len(set(paths)) == total
    assert sorted(paths) == sorted(stored_path(path) for path in [*first, *later])
    assert not list(data.glob("*.root"))
    assert not (data / "quarantine").exists() or not any((data / "quarantine").iterdir())
    for item in (server_a, server_b, worker, standby):
        assert "Traceback" not in item.output(), item.tail()
        item.check_alive()
