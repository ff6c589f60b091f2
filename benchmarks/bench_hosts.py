"""Several hosts on one machine: the load mix against one `overwatch serve` or two behind a round-robin,
and time-slice throughput with one or two Celery workers (issue 13, "Measure").

Real processes throughout: PostgreSQL (a throwaway cluster, as in the tests), redis-server, `overwatch
serve` (gunicorn) and `overwatch worker`. The data is demo data (5 runs of 20 minutes) ingested into
PostgreSQL once.

Load mix: 20 client threads, each logged in once (the session cookie is valid on every host: one secret
key), repeating {run list page content, run page content of 300003 EMC, GET /api/v1/runs, GET
/api/v1/runs/300003/EMC/slice (a cached window after the first), GET /status}. With two hosts the clients
send each request to the next host in turn (a client-side round-robin: no proxy hop is measured).

Slice throughput: distinct, uncached time slices of 300003 EMC (with the FastOR group's graphs drawn, as
the run page's job does) submitted to the Celery queue through Dash's own manager (the same task the
browser's callback starts) and waited for; the view cache is emptied before each round.

    cd benchmarks && ../.venv/bin/python bench_hosts.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages, and tests/

import diskcache
import requests
from bench_dashboard import page_body
from common import workdir

from overwatch_core.demo import generate_demo_data
from overwatch_core.processing import Processor, open_services
from overwatch_core.settings import load_settings
from tests.postgres_cluster import running_cluster

USER, PASSWORD = "bench", "bench-hosts-password"
CLIENTS = 20
ITERATIONS = 6  # per client and round: 5 requests each, so 600 requests per round
SLICES = 40  # per round
OVERWATCH = [sys.executable, "-m", "overwatch_core.cli"]


# -- processes ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait(condition: Callable[[], object], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


@contextlib.contextmanager
def started(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session, its output in ``log``; the whole group stopped afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def alive(url: str) -> bool:
    try:
        return requests.get(f"{url}/status", timeout=5).text == "Alive"
    except requests.RequestException:
        return False


@contextlib.contextmanager
def hosts(env: dict[str, str], folder: Path, count: int, workers: int) -> Iterator[list[str]]:
    """``count`` `overwatch serve` instances with ``workers`` gunicorn workers each; yields their URLs."""
    urls: list[str] = []
    with contextlib.ExitStack() as stack:
        for index in range(count):
            port = free_port()
            host_env = {
                **env,
                "OVERWATCH_PORT": str(port),
                "OVERWATCH_WORKERS": str(workers),
                "OVERWATCH_INSTANCE_FOLDER": str(folder / f"instance-{index}"),
            }
            stack.enter_context(started([*OVERWATCH, "serve"], host_env, folder / f"serve-{index}.log"))
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait(lambda url=url: alive(url), f"{url}/status")  # type: ignore[misc]
        yield urls


# -- the load mix ------------------------------------------------------------------------------------------


def logged_in(url: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{url}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    reply = session.post(
        f"{url}/login", data={"username": USER, "password": PASSWORD, "csrf_token": token.group(1)},
        allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert reply.status_code == 302, reply.status_code
    return session


def mix(session: requests.Session) -> list[Callable[[str], requests.Response]]:
    headers = {"X-CSRFToken": session.cookies.get("_csrf_token", "")}

    def page(path: str) -> Callable[[str], requests.Response]:
        body = page_body(path)
        return lambda url: session.post(
            f"{url}/_dash-update-component", json=body, headers=headers, timeout=60
        )

    def get(path: str) -> Callable[[str], requests.Response]:
        return lambda url: session.get(f"{url}{path}", timeout=60)

    return [
        page("/"),
        page("/runs/300003/EMC"),
        get("/api/v1/runs"),
        get("/api/v1/runs/300003/EMC/slice?from=2&to=9"),
        get("/status"),
    ]


def load_round(urls: list[str]) -> tuple[list[float], int, float]:
    """(latencies in s, errors, wall seconds) of CLIENTS threads doing ITERATIONS of the mix."""
    sessions = [logged_in(urls[i % len(urls)]) for i in range(CLIENTS)]
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    gate = threading.Barrier(CLIENTS + 1)

    def client(index: int) -> None:
        nonlocal errors
        calls = mix(sessions[index])
        turn = index
        gate.wait()
        for _ in range(ITERATIONS):
            for call in calls:
                url = urls[turn % len(urls)]
                turn += 1
                began = time.perf_counter()
                try:
                    ok = call(url).status_code == 200
                except requests.RequestException:
                    ok = False
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    errors += not ok

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - began


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def bench_load(env: dict[str, str], folder: Path, rounds: int) -> None:
    print(f"load mix: {CLIENTS} clients x {ITERATIONS} x 5 requests per round, {rounds} rounds")
    for number, (label, count, workers) in enumerate(
        (
            ("1 host, 2 gunicorn workers", 1, 2),
            ("2 hosts x 2 workers, round-robin", 2, 2),
            ("1 host, 4 gunicorn workers (same process count)", 1, 4),
        )
    ):
        (folder / f"load-{number}").mkdir()
        with hosts(env, folder / f"load-{number}", count, workers) as urls:
            load_round(urls)  # warm-up: imports, caches, the slice cached
            results = [load_round(urls) for _ in range(rounds)]
        medians = [statistics.median(r[0]) * 1000 for r in results]
        p95s = [p95(r[0]) * 1000 for r in results]
        rates = [len(r[0]) / r[2] for r in results]
        print(
            f"  {label}: median {statistics.median(medians):.0f} ms, p95 {statistics.median(p95s):.0f} ms, "
            f"{statistics.median(rates):.1f} requests/s, errors {sum(r[1] for r in results)} "
            f"(medians over {rounds} rounds of {len(results[0][0])} requests)",
            flush=True,
        )


# -- slice throughput ---------------------------------------------------------------------------------------


def windows() -> Iterator[tuple[int, int]]:
    for width in (2, 3, 4, 5, 6):
        for start in range(0, 20 - width, 2):
            yield start, start + width


def slice_round(env: dict[str, str], settings: Any) -> float:
    """Seconds for SLICES distinct uncached slices, submitted at once to the workers."""
    from dashboard.callbacks.time_slices import job
    from dashboard.factory import create_app
    from dashboard.services import services
    from overwatch_core.time_slices import TimeSliceRequest

    os.environ.update(env)  # the same settings as the workers (Dash's manager on the same Redis)
    app = create_app(load_settings())
    manager = app._background_manager
    (job_fn,) = manager.func_registry.values()
    context = {"run": 300003, "subsystem": "EMC", "group": "FastOR", "hist": None, "href": "/runs/300003/EMC"}
    with app.server.app_context():
        names = [h.name for h in services().views.full_run(300003, "EMC").group("FastOR").histograms]
    diskcache.Cache(str(settings.cache_path / "views")).clear()
    works = [
        job(TimeSliceRequest(low, high, True, 0), context, names, push=True)
        for low, high in list(windows())[:SLICES]
    ]
    keys = [f"bench-slice-{secrets.token_hex(8)}" for _ in works]
    began = time.perf_counter()
    for key, work in zip(keys, works, strict=True):
        manager.call_job_fn(key, job_fn, [work], {})
    wait(lambda: all(manager.result_ready(k) for k in keys), "the slices", timeout=600)
    took = time.perf_counter() - began
    for key in keys:
        result = manager.get_result(key, None)
        assert result.get("kind") == "patch", str(result)[:300]
    return took


def bench_slices(env: dict[str, str], folder: Path, settings: Any, rounds: int) -> None:
    print(f"slice throughput: {SLICES} distinct uncached EMC slices per round, {rounds} rounds")
    for count in (1, 2):
        with contextlib.ExitStack() as stack:
            logs = [folder / f"worker-{count}-{i}.log" for i in range(count)]
            for log in logs:
                command = [*OVERWATCH, "worker", "--concurrency", "1"]
                stack.enter_context(started(command, {**env, "OVERWATCH_LOG_LEVEL": "INFO"}, log))
            for log in logs:
                wait(lambda log=log: " ready." in log.read_text(errors="replace"), "a worker")  # type: ignore[misc]
            slice_round(env, settings)  # warm-up: the workers' imports and decoded files
            times = [slice_round(env, settings) for _ in range(rounds)]
        median = statistics.median(times)
        print(
            f"  {count} worker process{'es' if count > 1 else ''} (concurrency 1 each): "
            f"{SLICES / median:.2f} slices/s ({median:.1f} s per {SLICES}; rounds: "
            f"{', '.join(f'{t:.1f}' for t in times)} s)",
            flush=True,
        )


# -- set-up ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["load", "slices"])
    args = parser.parse_args()
    folder = workdir()
    try:
        run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, folder: Path) -> None:
    data = folder / "data"
    generate_demo_data(data, n_runs=5, files_per_run=20)
    redis_port = free_port()
    with running_cluster() as cluster, contextlib.ExitStack() as stack:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OVERWATCH_", "PROMETHEUS_"))}
        env.update(
            PYTHONPATH=str(Path(__file__).resolve().parents[1]),
            OVERWATCH_DATA_FOLDER=str(data),
            OVERWATCH_DATABASE_URL=cluster.database(),
            OVERWATCH_SECRET_KEY=secrets.token_hex(32),
            OVERWATCH_CELERY_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
            OVERWATCH_SETTLE_SECONDS="0",
            OVERWATCH_LOG_LEVEL="WARNING",
        )
        redis = [shutil.which("redis-server") or "redis-server", "--port", str(redis_port), "--save", ""]
        stack.enter_context(started([*redis, "--appendonly", "no"], env, folder / "redis.log"))
        subprocess.run([*OVERWATCH, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run(
            [*OVERWATCH, "users", "add", USER, "--role", "shifter", "--password-stdin"],
            env=env, input=f"{PASSWORD}\n".encode(), check=True, capture_output=True,
        )  # fmt: skip
        settings = load_settings(None, env=env)
        Processor(settings, *open_services(settings)).run_pass()
        if args.only != "slices":
            bench_load(env, folder, args.rounds)
        if args.only != "load":
            bench_slices(env, folder, settings, args.rounds)


if __name__ == "__main__":
    main()
