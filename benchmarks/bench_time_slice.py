"""Full EMC time slice (every histogram of a 40-minute demo run): cold, warm files, and cached (in the
same process, from memory; and in a new process, from the disk cache alone).

Command: ``cd benchmarks && ../.venv/bin/python bench_time_slice.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import diskcache
from common import ingested_run, median_ms, timed, workdir

from overwatch_core.histograms import HistogramCache
from overwatch_core.processing import open_services
from overwatch_core.settings import load_settings
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.views import ViewService

RUN = 310000


def main() -> None:
    settings = ingested_run(n_files=40)
    catalog, _ = open_services(settings)
    request = TimeSliceRequest(10, 30)

    def fresh(hist_cache: HistogramCache) -> ViewService:
        return ViewService(settings, catalog, hist_cache, diskcache.Cache(workdir() / "views"))

    n_hists = sum(len(g.histograms) for g in fresh(HistogramCache()).time_slice(RUN, "EMC", request).groups)
    print(f"EMC slice 10–30 min: {n_hists} processed histograms")
    print(
        "cold (decode both files, subtract, process):",
        median_ms(timed(lambda: fresh(HistogramCache()).time_slice(RUN, "EMC", request), 5)),
    )
    warm = HistogramCache()
    fresh(warm).time_slice(RUN, "EMC", request)
    print(
        "files decoded, view not cached:",
        median_ms(timed(lambda: fresh(warm).time_slice(RUN, "EMC", request), 7)),
    )
    shared = fresh(warm)
    shared.time_slice(RUN, "EMC", request)
    print(
        "cached view, same process (in memory):",
        median_ms(timed(lambda: shared.time_slice(RUN, "EMC", request), 21)),
    )
    assert shared.view_cache is not None
    views = Path(shared.view_cache.directory)
    seconds = [_in_new_process(settings.data_path, views) for _ in range(7)]
    print("cached view, new process (disk cache only, services opened untimed):", median_ms(seconds))


def _in_new_process(data: Path, views: Path) -> float:
    """One slice answered in a new Python process from the view cache on disk; its own timing."""
    command = [sys.executable, __file__, "--child", str(data), str(views)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def child(data: str, views: str) -> None:
    settings = load_settings(None, env={}, data_folder=data, settle_seconds=0.0)
    catalog, _ = open_services(settings)
    service = ViewService(settings, catalog, HistogramCache(), diskcache.Cache(views))
    started = time.perf_counter()
    view = service.time_slice(RUN, "EMC", TimeSliceRequest(10, 30))
    elapsed = time.perf_counter() - started
    assert view.from_cache, "the new process must find the slice in the disk cache"
    print(elapsed)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        main()
