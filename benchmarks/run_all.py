"""Run every benchmark script in turn (`make bench`); results go into benchmarks/README.md by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = [
    "bench_catalog.py",
    "bench_read.py",
    "bench_ingest.py",
    "bench_time_slice.py",
    "bench_dashboard.py",
    "bench_slider_browser.py",
    "bench_pages_browser.py",
    "bench_hosts.py",
    "bench_first_pass.py",
    "bench_checks.py",
    "bench_quality.py",
    "bench_load.py",
    "bench_demo_start.py",
]

if __name__ == "__main__":
    failed = 0
    for script in SCRIPTS:
        print(f"\n== {script}", flush=True)
        failed |= subprocess.call([sys.executable, str(HERE / script)], cwd=HERE)
    sys.exit(failed)
