"""First `overwatch process` over a realistic 30-minute run (30 EMC + 30 HLT files, issue 10's layout) and
the pass after one more file pair: wall time, files decoded, and the peak RSS of the largest process.

Each repetition copies the files into a fresh data folder and runs `overwatch process` as a new process
(as an operator would), so nothing is cached between repetitions. Data comes from realistic_data.py.
Command: ``cd benchmarks && ../.venv/bin/python bench_first_pass.py [--repeat 3] [--files 30]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from realistic_data import write_run


def _process(data: Path) -> tuple[float, str]:
    env = {**os.environ, "OVERWATCH_DATA_FOLDER": str(data), "OVERWATCH_SETTLE_SECONDS": "0"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "overwatch_core.cli", "process"], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return seconds, done.stdout.strip().splitlines()[0]


def _peak_rss_mb() -> float:
    """Largest resident set of any finished child process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--files", type=int, default=30)
    args = parser.parse_args()
    source = Path(tempfile.mkdtemp(prefix="overwatch-bench-real-"))
    paths = write_run(source / "run", n_files=args.files + 1)
    first, last_pair = paths[:-2], paths[-2:]
    print(f"{len(first)} files, newest EMC file {max(p.stat().st_size for p in first) / 1e6:.2f} MB")
    firsts, seconds = [], []
    for _ in range(args.repeat):
        data = Path(tempfile.mkdtemp(prefix="overwatch-bench-pass-")) / "data"
        data.mkdir()
        for path in first:
            shutil.copy(path, data)
        took, summary = _process(data)
        firsts.append(took)
        for path in last_pair:
            shutil.copy(path, data)
        took2, summary2 = _process(data)
        seconds.append(took2)
        print(f"  first pass {took:.2f} s ({summary}); next pair {took2:.2f} s ({summary2})")
        shutil.rmtree(data.parent)
    print(f"first pass: median {statistics.median(firsts):.2f} s (min {min(firsts):.2f}, n={len(firsts)})")
    print(f"after one new file pair: median {statistics.median(seconds):.2f} s (n={len(seconds)})")
    print(f"peak RSS of the largest process: {_peak_rss_mb():.0f} MB")
    shutil.rmtree(source)


if __name__ == "__main__":
    main()
