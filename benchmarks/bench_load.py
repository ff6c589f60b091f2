"""Concurrent shifters against a real ``overwatch serve`` (gunicorn, 2 workers by default).

Each simulated shifter logs in through the real form, then loops: the run list, a run page (a random EMC
group, or HLT/TPC), another group of the same run, and every third round a time slice through the JSON
API (``/api/v1/.../slice?wait=``: the same validation and background job as the page; random windows, so
some are computed and some come from the view cache), with a think time of 0.2–1 s between requests.
The page requests are the POSTs the browser makes for a page's content (Dash's pages callback). Latency
is wall-clock per request on the client side; p50 / p95 / max per kind, and errors (any status other
than 200, or a slice that is not done).

The clients run on the same 2 cores as the server: the numbers include their cost.

Command: ``cd benchmarks && ../.venv/bin/python bench_load.py [--shifters 20] [--seconds 60] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests
from bench_dashboard import add_user, page_body
from common import BENCH_RUN, ingested_run

from overwatch_core.settings import Settings

USER, PASSWORD = "bench", "bench-password"
EMC_GROUPS = ("FastOR", "L0", "Gamma Trigger High", "Jet Trigger High", "Background", "FEE vs TRU")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(settings: Settings, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OVERWATCH_DATA_FOLDER": str(settings.data_path),
        "OVERWATCH_SECRET_KEY": secrets.token_hex(32),
    }
    command = [
        sys.executable, "-m", "overwatch_core.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers),
    ]  # fmt: skip
    log = open(Path(settings.data_path).parent / "serve.log", "wb")  # noqa: SIM115 - lives with the server
    # Its own process group: `overwatch serve` runs gunicorn as a child, stopped with it (stop_server).
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group (the CLI, gunicorn's master and workers), SIGKILL after 30 s."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
        time.sleep(1)  # gunicorn's master outlives the CLI by its graceful shutdown
        os.killpg(server.pid, signal.SIGKILL)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)


def wait_until_up(base: str, deadline: float = 120.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if requests.get(base + "/status", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not answer /status")


def log_in(base: str) -> requests.Session:
    session = requests.Session()
    form = session.get(base + "/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None, "no CSRF token in the login form"
    data = {"username": USER, "password": PASSWORD, "csrf_token": token.group(1)}
    response = session.post(base + "/login", data=data, allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.status_code
    return session


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if error is not None:
                self.errors[kind].append(error)


def shifter(base: str, until: float, record: Recorder, seed: int) -> None:
    rng = random.Random(seed)
    session = log_in(base)
    csrf = session.cookies.get("_csrf_token")
    headers = {"X-CSRFToken": csrf or ""}
    rounds = 0

    def timed(kind: str, call: object) -> None:
        started = time.perf_counter()
        error = None
        try:
            response = call()  # type: ignore[operator]
            if response.status_code != 200:
                error = f"HTTP {response.status_code}"
            elif kind == "time slice (API, wait)" and response.json().get("status") != "done":
                error = f"slice {response.json().get('status')}"
        except requests.RequestException as exc:
            error = type(exc).__name__
        record.add(kind, time.perf_counter() - started, error)
        time.sleep(rng.uniform(0.2, 1.0))

    def page(kind: str, path: str, search: str = "") -> None:
        body = page_body(path, search)
        timed(
            kind,
            lambda: session.post(base + "/_dash-update-component", json=body, headers=headers, timeout=60),
        )

    while time.monotonic() < until:
        rounds += 1
        page("run list", "/")
        subsystem = rng.choice(("EMC", "EMC", "EMC", "HLT", "TPC"))
        path = f"/runs/{BENCH_RUN}/{subsystem}"
        if subsystem == "EMC":
            first, second = rng.sample(EMC_GROUPS, 2)
            page("run page", path, f"?group={first.replace(' ', '+')}")
            page("run page", path, f"?group={second.replace(' ', '+')}")
        else:
            page("run page", path)
        if rounds % 3 == 0:
            low = rng.randrange(0, 30)
            high = low + rng.randrange(2, 10)
            url = f"{base}/api/v1/runs/{BENCH_RUN}/EMC/slice?from={low}&to={high}&wait=30"
            timed("time slice (API, wait)", lambda url=url: session.get(url, timeout=60))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shifters", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    settings = ingested_run(n_files=40)
    add_user(settings)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(settings, port, args.workers)
    try:
        wait_until_up(base)
        warm = log_in(base)  # one page of each kind drawn once: the caches as a running site has them
        for path in (f"/runs/{BENCH_RUN}/EMC", f"/runs/{BENCH_RUN}/HLT", f"/runs/{BENCH_RUN}/TPC"):
            warm.post(
                base + "/_dash-update-component",
                json=page_body(path),
                headers={"X-CSRFToken": warm.cookies.get("_csrf_token") or ""},
                timeout=120,
            )
        record = Recorder()
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=shifter, args=(base, until, record, seed))
            for seed in range(args.shifters)
        ]
        load_before = os.getloadavg()[0]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(
            f"{args.shifters} shifters, {args.seconds:.0f} s, overwatch serve --workers {args.workers}, "
            f"load average before {load_before:.1f}, after {os.getloadavg()[0]:.1f}"
        )
        pages = [t for kind, times in record.times.items() if kind != "time slice (API, wait)" for t in times]
        for kind, times in [*sorted(record.times.items()), ("all page requests", pages)]:
            errors = sum(len(v) for k, v in record.errors.items() if k == kind or kind == "all page requests")
            print(
                f"  {kind}: n={len(times)}, p50 {statistics.median(times) * 1000:.0f} ms, "
                f"p95 {percentile(times, 0.95) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms, "
                f"errors {errors}"
            )
        for kind, found in record.errors.items():
            print(f"  errors of {kind}: {sorted(set(found))[:5]}")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
