"""The processing loop: ingest new files, extract their trends, evaluate alarms; `--watch` repeats it."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy.exc

from overwatch_core import filenames
from overwatch_core.catalog import Catalog
from overwatch_core.errors import OverwatchError
from overwatch_core.histograms import HistogramCache
from overwatch_core.ingest import Ingester, IngestReport, rebuild
from overwatch_core.settings import Settings
from overwatch_core.subsystems.base import histograms_with_derived
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.trending import TrendStore, extract_trends

log = logging.getLogger(__name__)


class LeaderError(OverwatchError):
    """Another processing loop already runs on this data folder."""

    category = "Processing already running"


@dataclass(frozen=True)
class ProcessReport:
    ingest: IngestReport
    trend_values: int
    alarms: int

    def summary(self) -> str:
        return f"{self.ingest.summary()}; {self.trend_values} trend values, {self.alarms} alarms"


def open_services(settings: Settings) -> tuple[Catalog, HistogramCache]:
    """The catalog and the shared decoded-histogram cache for ``settings``."""
    settings.data_path.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.connect(settings.catalog_url, filenames.zone(settings.timezone))
    cache = HistogramCache(
        max_bytes=settings.histogram_cache_mb * 2**20,
        disk_directory=settings.cache_path / "histograms",
        disk_size_limit=settings.histogram_disk_cache_mb * 2**20,
    )
    return catalog, cache


class Processor:
    """Ingest plus trending: what `overwatch process` does on every pass."""

    def __init__(self, settings: Settings, catalog: Catalog, cache: HistogramCache) -> None:
        self.settings = settings
        self.ingester = Ingester(settings, catalog, cache)
        self.trends = TrendStore(catalog)

    def run_pass(self) -> ProcessReport:
        report = self.ingester.run_pass()
        values = alarms = 0
        for relative in report.stored:
            counted = self.trend_file(relative)
            values += counted[0]
            alarms += counted[1]
        result = ProcessReport(report, values, alarms)
        if report.stored:
            log.info("process pass: %s", result.summary())
        return result

    def trend_file(self, relative: str) -> tuple[int, int]:
        """Trend values of one stored file for every subsystem reading it; returns (values, alarms)."""
        run_number = filenames.parse_run_dir(relative.split("/")[0])
        if run_number is None:
            raise OverwatchError(f"{relative!r} is not below a Run<N> folder")
        run = self.ingester.catalog.run(run_number)
        readers = [(s, f) for s in run.subsystems for f in s.files if f.path == relative]
        if not readers:
            raise OverwatchError(f"{relative!r} is not in the catalog")
        contents = self.ingester.cache.get(self.settings.data_path / relative)
        values = alarms = 0
        with self.ingester.catalog.engine.begin() as conn:
            for sub, run_file in readers:
                definition = get_subsystem(sub.name, self.settings.subsystems)
                own_files = sub.file_location == sub.name
                hists = histograms_with_derived(definition, contents.histograms, own_files)
                extracted = extract_trends(definition, hists)
                alarms += self.trends.record(conn, run_file, sub.name, extracted, self.settings.trend_alarms)
                values += len(extracted)
        return values, alarms

    def recompute_trends(self) -> int:
        """Trend values and alarms of every stored file again, from disk (`overwatch rebuild --trending`)."""
        count = rebuild(self.ingester)
        for number in self.ingester.catalog.run_numbers():
            run = self.ingester.catalog.run(number)
            paths = sorted({f.path for s in run.subsystems for f in s.files})
            for relative in paths:
                self.trend_file(relative)
        return count

    @property
    def lease_seconds(self) -> float:
        """Long enough to survive a slow pass; short enough that a dead leader is replaced soon."""
        return max(60.0, 3 * self.settings.process_period_seconds)

    def watch(self, stop: threading.Event, renew: Callable[[], bool] = lambda: True) -> int:
        """Pass after pass until ``stop`` is set; errors of one pass are logged and the loop goes on."""
        passes = 0
        while not stop.is_set():
            if not renew():
                log.error("lost the processing lease to another host; stopping")
                break
            try:
                self.run_pass()
            except (OverwatchError, sqlalchemy.exc.OperationalError, OSError) as exc:
                log.error("processing pass failed, retrying next period: %s", exc)
            passes += 1
            stop.wait(self.settings.process_period_seconds)
        return passes


LEASE = "process-leader"


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextlib.contextmanager
def leader_lock(catalog: Catalog, seconds: float) -> Iterator[Callable[[], bool]]:
    """Be the one processing loop for this catalog (a lease in the database, so it holds across hosts).

    Yields a function that renews the lease; it returns False if the lease was lost (then stop).
    """
    holder = _holder()
    if not catalog.acquire_lease(LEASE, holder, time.time(), seconds):
        raise LeaderError("another `overwatch process` holds the processing lease of this catalog")
    try:
        yield lambda: catalog.acquire_lease(LEASE, holder, time.time(), seconds)
    finally:
        catalog.release_lease(LEASE, holder)
