"""`overwatch demo` from an installed venv until the dashboard answers, and until the run list is complete.

Each repetition starts `overwatch demo` in a fresh folder on a free port (as `make demo` does after the venv
exists), polls the login page until it answers 200, then the catalog until all demo runs are listed, and
stops the demo. Command: ``cd benchmarks && ../.venv/bin/python bench_demo_start.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
DEMO_RUNS = 11  # the ten runs of the default plan and the live run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _runs(catalog: Path) -> int:
    try:
        with sqlite3.connect(catalog, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return 0


def one_start() -> tuple[float, float]:
    folder = Path(tempfile.mkdtemp(prefix="overwatch-bench-demo-"))
    port = _free_port()
    env = {**os.environ, "OVERWATCH_DATA_FOLDER": str(folder / "data"), "OVERWATCH_PORT": str(port)}
    started = time.perf_counter()
    demo = subprocess.Popen(
        [sys.executable, "-m", "overwatch_core.cli", "--config", str(CONFIG), "demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while not _answers(f"http://127.0.0.1:{port}/login"):
            assert demo.poll() is None, "overwatch demo stopped"
            time.sleep(0.2)
        answered = time.perf_counter() - started
        while _runs(folder / "data" / "overwatch.sqlite") < DEMO_RUNS:
            assert demo.poll() is None, "overwatch demo stopped"
            time.sleep(0.5)
        listed = time.perf_counter() - started
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=60)
    return answered, listed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    answered, listed = [], []
    for _ in range(args.repeat):
        first, complete = one_start()
        answered.append(first)
        listed.append(complete)
        print(f"  dashboard answers after {first:.1f} s, all {DEMO_RUNS} runs listed after {complete:.1f} s")
    print(f"dashboard answers: median {statistics.median(answered):.1f} s (n={len(answered)})")
    print(f"run list complete: median {statistics.median(listed):.1f} s (n={len(listed)})")


if __name__ == "__main__":
    main()
