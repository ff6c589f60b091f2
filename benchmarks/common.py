"""Helpers shared by the benchmark scripts: repeated timing with medians, and demo data in a temp folder."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from overwatch_core.demo import generate_source_run
from overwatch_core.processing import Processor, open_services
from overwatch_core.settings import Settings, load_settings

BENCH_RUN = 310000


def timed(
    func: Callable[[], object], repeat: int = 7, setup: Callable[[], object] | None = None
) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls (``setup`` runs untimed before each)."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return times


def median_ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:.1f} ms (min {min(times) * 1000:.1f}, n={len(times)})"


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="overwatch-bench-"))


def settings_for(data: Path, **overrides: object) -> Settings:
    return load_settings(None, env={}, data_folder=str(data), settle_seconds=0.0, **overrides)


def ingested_run(n_files: int = 40) -> Settings:
    """One EMC/HLT/TPC demo run of ``n_files`` minutes, ingested and trended in a fresh folder."""
    data = workdir() / "data"
    generate_source_run(data, BENCH_RUN, n_files=n_files)
    settings = settings_for(data)
    Processor(settings, *open_services(settings)).run_pass()
    return settings
