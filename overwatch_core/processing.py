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
from overwatch_core.catalog import DONE, FAILED, Catalog
from overwatch_core.checks import CheckResult, CheckSpec, evaluate, merged_specs
from overwatch_core.errors import ConfigError, NotFoundError, OverwatchError
from overwatch_core.histograms import FileContents, HistogramCache
from overwatch_core.ingest import Ingester, IngestReport, rebuild
from overwatch_core.model import Histogram, RunFile
from overwatch_core.notifications import AlarmChange, Notifier
from overwatch_core.settings import Settings
from overwatch_core.subsystems.base import histograms_with_derived
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.trending import TrendStore, TrendValue, trend_of

log = logging.getLogger(__name__)


class LeaderError(OverwatchError):
    """Another processing loop already runs on this data folder."""

    category = "Processing already running"


class FileProcessingError(OverwatchError):
    """Processing one stored file failed because of its content; the file is marked failed, others go on."""

    category = "File processing error"

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


#: What a file's content can make processing raise: our own errors (a changed binning, a missing piece),
#: numpy's and the subsystems' arithmetic and indexing on shapes nobody expected, and a value the database
#: refuses. Anything else (a lost database, a full disk) is not the file's fault and stops the pass.
_CONTENT_ERRORS: tuple[type[BaseException], ...] = (
    OverwatchError,
    ValueError,
    ArithmeticError,
    IndexError,
    KeyError,
    TypeError,
    sqlalchemy.exc.DataError,
    sqlalchemy.exc.IntegrityError,
)


@dataclass(frozen=True)
class ProcessReport:
    ingest: IngestReport
    trend_values: int
    alarms: int
    failed: tuple[tuple[str, str], ...] = ()
    decodes: int = 0

    def summary(self) -> str:
        text = f"{self.ingest.summary()}; {self.trend_values} trend values, {self.alarms} alarms"
        text += f", {len(self.failed)} files failed" if self.failed else ""
        return f"{text}; {self.decodes} files decoded"


def open_services(settings: Settings, memory_mb: int | None = None) -> tuple[Catalog, HistogramCache]:
    """The catalog and the shared decoded-histogram cache for ``settings`` (its in-memory level holds
    ``memory_mb``, by default ``histogram_cache_mb``; the decoded store on disk holds every file)."""
    settings.data_path.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.connect(settings.catalog_url, filenames.zone(settings.timezone))
    megabytes = settings.histogram_cache_mb if memory_mb is None else memory_mb
    cache = HistogramCache(max_bytes=megabytes * 2**20, disk_directory=settings.cache_path / "decoded")
    return catalog, cache


class Processor:
    """Ingest plus trending: what `overwatch process` does on every pass."""

    def __init__(self, settings: Settings, catalog: Catalog, cache: HistogramCache) -> None:
        self.settings = settings
        self.ingester = Ingester(settings, catalog, cache)
        self.trends = TrendStore(catalog)
        self.checks = configured_checks(settings)  # a bad [checks] table stops here, naming its key
        self.notifier = Notifier.from_settings(settings)

    def run_pass(self) -> ProcessReport:
        """Ingest, then the trends of every file not yet processed: this pass's and any a cut pass left.

        A file whose content breaks processing is logged, marked failed with the problem (shown on the files
        page and by `overwatch runs`) and not retried; the pass goes on with the next file.
        """
        decoded_before = self.ingester.cache.stats.decodes
        started = time.perf_counter()
        report = self.ingester.run_pass()
        values, alarms, failed = self._trend_pending()
        decodes = self.ingester.cache.stats.decodes - decoded_before
        result = ProcessReport(report, values, alarms, failed, decodes)
        seconds = time.perf_counter() - started
        self.ingester.catalog.record_pass(_holder(), time.time(), seconds, len(report.stored), decodes)
        if report.stored or failed:
            log.info("process pass: %s (%.2f s)", result.summary(), seconds)
        return result

    def trend_file(self, relative: str) -> tuple[int, int]:
        """Trend values of one stored file for every subsystem reading it; returns (values, alarms).

        Marks the file done, or failed with the problem (then raises FileProcessingError naming the file and,
        where known, the histogram).
        """
        catalog = self.ingester.catalog
        try:
            values, alarms, missing = self._trend_file(relative)
        except _CONTENT_ERRORS as exc:
            problem = exc.problem if isinstance(exc, FileProcessingError) else f"{type(exc).__name__}: {exc}"
            log.error("processing %s failed: %s", relative, problem)
            with catalog.engine.begin() as conn:
                catalog.set_file_state(conn, relative, FAILED, problem)
            raise FileProcessingError(relative, problem) from exc
        note = _missing_summary(missing)
        if note is not None:
            log.warning("%s: %s", relative, note)
        with catalog.engine.begin() as conn:
            catalog.set_file_state(conn, relative, DONE, note)
        return values, alarms

    def _trend_file(self, relative: str) -> tuple[int, int, list[TrendValue]]:
        run_number = filenames.parse_run_dir(relative.split("/")[0])
        if run_number is None:
            raise OverwatchError(f"{relative!r} is not below a Run<N> folder")
        run = self.ingester.catalog.run(run_number)
        readers = [(s, f) for s in run.subsystems for f in s.files if f.path == relative]
        if not readers:
            raise OverwatchError(f"{relative!r} is not in the catalog")
        contents = self.ingester.cache.get(self.settings.data_path / relative)
        values = alarms = 0
        missing: list[TrendValue] = []
        changes: list[AlarmChange] = []
        with self.ingester.catalog.engine.begin() as conn:
            for sub, run_file in readers:
                own_files = sub.file_location == sub.name
                extracted = self._extract(sub.name, own_files, contents, run_file)
                alarms += self.trends.record(
                    conn, run_file, sub.name, extracted, self.settings.trend_alarms, changes
                )
                values += len(extracted)
                missing += [v for v in extracted if v.value is None]
                verdicts = self._check(sub.name, own_files, contents, run_file)
                self.ingester.catalog.record_checks(conn, run_file, sub.name, verdicts)
        self.notifier.notify(changes)  # after the commit: what is announced is stored
        return values, alarms, missing

    def _check(
        self, subsystem: str, own_files: bool, contents: FileContents, run_file: RunFile
    ) -> dict[str, list[CheckResult]]:
        """The file's verdicts for one subsystem, against the newest file of its reference run (if any)."""
        definition = get_subsystem(subsystem, self.settings.subsystems)
        hists = histograms_with_derived(definition, contents.histograms, own_files)
        reference = self.reference_histograms(subsystem, run_file.run_number)
        try:
            return evaluate(
                self.checks[subsystem],
                hists,
                None if reference is None else reference[1],
                run_file.n_events,
                None if reference is None else reference[0],
            )
        except _CONTENT_ERRORS as exc:
            raise FileProcessingError(
                run_file.path, f"{subsystem} checks: {type(exc).__name__}: {exc}"
            ) from exc

    def reference_histograms(
        self, subsystem: str, run_number: int
    ) -> tuple[int, dict[str, Histogram]] | None:
        return reference_histograms(
            self.settings, self.ingester.catalog, self.ingester.cache, subsystem, run_number
        )

    def _extract(
        self, subsystem: str, own_files: bool, contents: FileContents, run_file: RunFile
    ) -> list[TrendValue]:
        """The file's trend values for one subsystem; a failure names the histogram it came from."""
        definition = get_subsystem(subsystem, self.settings.subsystems)
        try:
            hists = histograms_with_derived(definition, contents.histograms, own_files)
        except _CONTENT_ERRORS as exc:
            raise FileProcessingError(
                run_file.path, f"{subsystem}: deriving histograms failed: {type(exc).__name__}: {exc}"
            ) from exc
        values = []
        for source in definition.trending_sources():
            hist = hists.get(source.hist_name)
            if hist is None:
                continue
            try:
                values.append(trend_of(source, hist, run_file.n_events))
            except _CONTENT_ERRORS as exc:
                raise FileProcessingError(
                    run_file.path,
                    f"{subsystem} trend {source.trend_name} of histogram {source.hist_name}: "
                    f"{type(exc).__name__}: {exc}",
                ) from exc
        return values

    def recheck(self, subsystem: str, first_run: int) -> int:
        """The verdicts of the newest file of ``subsystem`` in every run from ``first_run`` on, again (after a
        reference change); returns the number of runs rechecked. Older files keep their stored verdicts."""
        catalog = self.ingester.catalog
        count = 0
        for number in (n for n in catalog.run_numbers() if n >= first_run):
            sub = next((s for s in catalog.run(number).subsystems if s.name == subsystem), None)
            if sub is None or not sub.files:
                continue
            newest = sub.files[-1]
            contents = self.ingester.cache.get(self.settings.data_path / newest.path)
            verdicts = self._check(subsystem, sub.file_location == subsystem, contents, newest)
            with catalog.engine.begin() as conn:
                catalog.record_checks(conn, newest, subsystem, verdicts)
            count += 1
        return count

    def recompute_trends(self) -> int:
        """Trend values and alarms of every stored file again, from disk (`overwatch rebuild --trending`)."""
        count = rebuild(self.ingester)
        self._trend_pending()
        return count

    def _trend_pending(self) -> tuple[int, int, tuple[tuple[str, str], ...]]:
        """Trends of every pending file: (values, alarms, (path, problem) of the files that failed)."""
        values = 0
        per_run: dict[int, int] = {}
        failed: list[tuple[str, str]] = []
        for relative in self.ingester.catalog.pending_paths():
            try:
                counted = self.trend_file(relative)
            except FileProcessingError as exc:
                failed.append((relative, exc.problem))
                continue
            values += counted[0]
            run_number = filenames.parse_run_dir(relative.split("/")[0])
            if counted[1] and run_number is not None:
                per_run[run_number] = per_run.get(run_number, 0) + counted[1]
        for run_number, count in sorted(per_run.items()):
            log.warning(
                "run %s: %s alarm%s raised (listed on its run page)", run_number, count, "s" * (count > 1)
            )
        return values, sum(per_run.values()), tuple(failed)

    @property
    def lease_seconds(self) -> float:
        """How long the lease lasts unrenewed: a dead leader is replaced this long after its last renewal."""
        return self.settings.process_lease_seconds

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


def _missing_summary(missing: list[TrendValue]) -> str | None:
    """One line naming the trends without a value and the first reasons, or None when all have one."""
    if not missing:
        return None
    reasons = sorted({v.reason or "" for v in missing})
    shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more reasons" if len(reasons) > 3 else "")
    names = ", ".join(v.trend for v in missing[:5]) + (", …" if len(missing) > 5 else "")
    return f"{len(missing)} trend values missing ({names}): {shown}"


def reference_histograms(
    settings: Settings, catalog: Catalog, cache: HistogramCache, subsystem: str, run_number: int
) -> tuple[int, dict[str, Histogram]] | None:
    """(reference run, its newest file's histograms with derived ones) for ``subsystem`` in a run, or None
    when no reference is set or it is not (yet) in the catalog."""
    reference = catalog.reference_for(subsystem, run_number)
    if reference is None:
        return None
    try:
        sub = catalog.run(reference.reference_run).subsystem(subsystem)
    except NotFoundError:
        log.warning("the %s reference run %s is not in the catalog", subsystem, reference.reference_run)
        return None
    if not sub.files:
        return None
    definition = get_subsystem(subsystem, settings.subsystems)
    contents = cache.get(settings.data_path / sub.files[-1].path)
    own_files = sub.file_location == subsystem
    return reference.reference_run, histograms_with_derived(definition, contents.histograms, own_files)


def configured_checks(settings: Settings) -> dict[str, tuple[CheckSpec, ...]]:
    """Each configured subsystem's checks: its defaults with the ``[checks]`` table applied."""
    unknown = set(settings.checks) - set(settings.subsystems)
    if unknown:
        raise ConfigError(f"checks: no such subsystem {sorted(unknown)}; configured: {settings.subsystems}")
    result = {}
    for name in settings.subsystems:
        entries = settings.checks.get(name, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ConfigError(f"checks.{name}: must be a list of check tables ([[checks.{name}]])")
        result[name] = merged_specs(get_subsystem(name, settings.subsystems).default_checks(), entries, name)
    return result


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


def stand_by(catalog: Catalog, seconds: float, stop: threading.Event, period: float) -> bool:
    """Wait until this process holds the lease (True), trying every ``period``; False when ``stop`` is set.

    The standby of another host's leader: it takes over once the leader's lease has run out unrenewed.
    """
    holder, waiting = _holder(), False
    while not stop.is_set():
        if catalog.acquire_lease(LEASE, holder, time.time(), seconds):
            if waiting:
                log.info("took over the processing lease")
            return True
        if not waiting:
            log.info("%s holds the processing lease; standing by", catalog.lease_holder(LEASE))
            waiting = True
        stop.wait(period)
    return False


@contextlib.contextmanager
def kept_lease(renew: Callable[[], bool], seconds: float, lost: threading.Event) -> Iterator[None]:
    """Renew the lease every third of ``seconds`` from a thread, so a pass longer than the lease keeps it.

    Sets ``lost`` (the watch loop's stop) if another holder has taken the lease; a failed renewal (the
    database away for a moment) is tried again at the next beat.
    """
    done = threading.Event()

    def beat() -> None:
        while not done.wait(seconds / 3):
            try:
                held = renew()
            except sqlalchemy.exc.OperationalError as exc:
                log.warning("renewing the processing lease failed, trying again: %s", exc)
                continue
            if not held:
                log.error("lost the processing lease to another host; stopping")
                lost.set()
                return

    thread = threading.Thread(target=beat, name="processing-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
