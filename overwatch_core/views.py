"""The processed view of a run's subsystem, full run or time slice: what the dashboard draws."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diskcache

from overwatch_core.catalog import Catalog
from overwatch_core.checks import CheckResult, evaluate
from overwatch_core.errors import NotFoundError, OverwatchError
from overwatch_core.histograms import HistogramCache
from overwatch_core.model import Histogram, RunFile, Subsystem
from overwatch_core.settings import Settings
from overwatch_core.subsystems.base import (
    ProcessedGroup,
    ProcessedHistogram,
    ProcessingOptions,
    histograms_with_derived,
    process_subsystem,
)
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.time_slices import (
    FileSelection,
    Progress,
    TimeSliceRequest,
    select_files,
    slice_histograms,
    sliced_event_count,
)

log = logging.getLogger(__name__)

#: Bump when the processed view's content changes, so cached views of older code are not reused.
VIEW_FORMAT = 2
#: Processed views a process keeps in memory besides the disk cache, newest used last: unpickling an EMC
#: view costs ~11 ms of a 46 ms page request, and a page's lazy plots each ask for it again.
MEMORY_VIEWS = 4


class MissingFileError(OverwatchError):
    """A file the catalog lists is not on disk (moved or deleted behind Overwatch's back)."""

    category = "Missing file"


@dataclass(frozen=True, eq=False)
class SubsystemView:
    """Processed groups of one subsystem of a run, and where they came from."""

    run_number: int
    subsystem: str
    groups: tuple[ProcessedGroup, ...]
    n_events: float | None
    options: ProcessingOptions
    files: tuple[str, ...]
    selection: FileSelection | None = None
    from_cache: bool = False
    seconds: float = 0.0

    @property
    def is_time_slice(self) -> bool:
        return self.selection is not None

    def group(self, name: str) -> ProcessedGroup:
        for group in self.groups:
            if group.name == name:
                return group
        raise NotFoundError(f"group of {self.subsystem} in run {self.run_number}", name, self.group_names)

    @property
    def group_names(self) -> list[str]:
        return [g.name for g in self.groups]

    def histogram(self, name: str) -> ProcessedHistogram:
        for group in self.groups:
            for hist in group.histograms:
                if hist.name == name:
                    return hist
        names = [h.name for g in self.groups for h in g.histograms]
        raise NotFoundError(f"histogram of {self.subsystem} in run {self.run_number}", name, names)

    def describe(self) -> str:
        """One line for a banner or the CLI: window, scaling and threshold."""
        options = f", threshold {self.options.hot_channel_threshold or 'default'}"
        if not get_subsystem(self.subsystem).uses_hot_channel_threshold:
            options = ""  # no hot channels (HLT, TPC): the threshold changes nothing
        scaled = "unscaled"
        if self.options.scale_hists and self.n_events:
            scaled = f"scaled by {self.n_events:g} events"
        if self.selection is None:
            return f"Full run (newest file{'s' if len(self.files) > 1 else ''}), {scaled}{options}"
        (a, b), (c, d) = self.selection.requested, self.selection.shown
        return f"Time slice: requested {a}–{b} min, shown {c}–{d} min (nearest files), {scaled}{options}"


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


class ViewService:
    """Builds processed views from the catalog and decoded files; caches them by content on disk."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        hist_cache: HistogramCache,
        view_cache: diskcache.Cache | None = None,
        delay: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.hist_cache = hist_cache
        self.view_cache = view_cache
        self.delay = delay
        self._memory: dict[str, tuple[tuple[ProcessedGroup, ...], float | None]] = {}
        self._memory_lock = threading.Lock()  # the dev server and tests serve requests on threads

    def subsystem(self, run_number: int, name: str) -> Subsystem:
        return self.catalog.run(run_number).subsystem(name)

    def full_run(self, run_number: int, subsystem: str) -> SubsystemView:
        """The view of the newest file (everything so far, cumulative) with the subsystem's defaults."""
        sub = self.subsystem(run_number, subsystem)
        definition = get_subsystem(subsystem, self.settings.subsystems)
        if not sub.files:
            raise NotFoundError(f"file of {subsystem} in run {run_number}", "any", [])
        files = sub.files if not self.settings.cumulative else sub.files[-1:]
        request = None if self.settings.cumulative else TimeSliceRequest(0, max(1, sub.run_length_minutes))
        selection = None if request is None else select_files(sub.files, request)
        return self._view(sub, files, definition.default_options, selection, None)

    def time_slice(
        self, run_number: int, subsystem: str, request: TimeSliceRequest, progress: Progress | None = None
    ) -> SubsystemView:
        """The view of the data between two minutes of the run, scaled by exactly that data's events."""
        sub, plan = self._plan(run_number, subsystem, request)
        if plan is None:
            return self.full_run(run_number, subsystem)
        files, selection = plan
        return self._view(sub, files, request.options, selection, progress)

    def cached_time_slice(
        self, run_number: int, subsystem: str, request: TimeSliceRequest
    ) -> SubsystemView | None:
        """The slice if the view cache holds it (or it is the full run, cached or not); None means compute."""
        sub, plan = self._plan(run_number, subsystem, request)
        if plan is None:
            return self.full_run(run_number, subsystem)
        files, selection = plan
        return self._cached(sub, files, request.options, selection)

    def _plan(
        self, run_number: int, subsystem: str, request: TimeSliceRequest
    ) -> tuple[Subsystem, tuple[tuple[RunFile, ...], FileSelection] | None]:
        """Validate against the run and choose the files; None means the full-run view answers it."""
        sub = self.subsystem(run_number, subsystem)
        definition = get_subsystem(subsystem, self.settings.subsystems)
        request.check_run_length(sub.run_length_minutes)
        if request.is_full_run(sub.run_length_minutes, definition.default_options):
            return sub, None
        selection = select_files(sub.files, request)
        files = selection.files if not self.settings.cumulative else self._endpoints(selection)
        return sub, (files, selection)

    @staticmethod
    def _endpoints(selection: FileSelection) -> tuple[RunFile, ...]:
        return (selection.last,) if selection.from_run_start else (selection.first, selection.last)

    def _path(self, run_file: RunFile) -> Path:
        path = self.settings.data_path / run_file.path
        if not path.is_file():
            raise MissingFileError(f"file {run_file.path!r} of run {run_file.run_number} is missing on disk")
        return path

    def _view(
        self,
        sub: Subsystem,
        files: tuple[RunFile, ...],
        options: ProcessingOptions,
        selection: FileSelection | None,
        progress: Progress | None,
    ) -> SubsystemView:
        started = time.perf_counter()
        paths = [self._path(f) for f in files]
        key = self._cache_key(sub, paths, options)
        cached = self._lookup(key)
        if cached is None:
            cached = self._compute(sub, files, paths, options, selection, progress)
            if self.view_cache is not None:
                self.view_cache.set(key, cached)
            self._remember(key, cached)
            return self._make(sub, files, options, selection, cached, False, started)
        return self._make(sub, files, options, selection, cached, True, started)

    def _lookup(self, key: str) -> tuple[tuple[ProcessedGroup, ...], float | None] | None:
        """A view by its content key: from memory, else from the disk cache (then kept in memory)."""
        with self._memory_lock:
            found = self._memory.pop(key, None)
        if found is None and self.view_cache is not None:
            found = self.view_cache.get(key)
        if found is not None:
            self._remember(key, found)
        return found

    def _remember(self, key: str, content: tuple[tuple[ProcessedGroup, ...], float | None]) -> None:
        with self._memory_lock:
            self._memory.pop(key, None)
            self._memory[key] = content  # newest last; the views' arrays are never changed in place
            while len(self._memory) > MEMORY_VIEWS:
                self._memory.pop(next(iter(self._memory)))

    def _cached(
        self, sub: Subsystem, files: tuple[RunFile, ...], options: ProcessingOptions, selection: FileSelection
    ) -> SubsystemView | None:
        started = time.perf_counter()
        key = self._cache_key(sub, [self._path(f) for f in files], options)
        cached = self._lookup(key)
        return None if cached is None else self._make(sub, files, options, selection, cached, True, started)

    @staticmethod
    def _make(
        sub: Subsystem,
        files: tuple[RunFile, ...],
        options: ProcessingOptions,
        selection: FileSelection | None,
        content: tuple[tuple[ProcessedGroup, ...], float | None],
        from_cache: bool,
        started: float,
    ) -> SubsystemView:
        groups, n_events = content
        return SubsystemView(
            run_number=sub.run_number,
            subsystem=sub.name,
            groups=groups,
            n_events=n_events,
            options=options,
            files=tuple(f.path for f in files),
            selection=selection,
            from_cache=from_cache,
            seconds=time.perf_counter() - started,
        )

    def _cache_key(self, sub: Subsystem, paths: list[Path], options: ProcessingOptions) -> str:
        """Content key: the files (path, size, mtime) and every option that changes the result."""
        parts: list[Any] = [VIEW_FORMAT, sub.name, sub.file_location, self.settings.cumulative, options]
        parts.extend(_file_key(p) for p in paths)
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def _compute(
        self,
        sub: Subsystem,
        files: tuple[RunFile, ...],
        paths: list[Path],
        options: ProcessingOptions,
        selection: FileSelection | None,
        progress: Progress | None,
    ) -> tuple[tuple[ProcessedGroup, ...], float | None]:
        hists = self._sliced(paths, progress)
        if self.delay is not None:
            self.delay()
        if selection is None:
            n_events = files[-1].n_events
        else:
            n_events = sliced_event_count(selection, self.settings.cumulative)
        definition = get_subsystem(sub.name, self.settings.subsystems)
        own_files = sub.file_location == sub.name
        return process_subsystem(definition, hists, n_events, options, own_files), n_events

    def raw_histograms(
        self, run_number: int, subsystem: str, request: TimeSliceRequest | None = None
    ) -> tuple[dict[str, Histogram], float | None]:
        """The unscaled histograms (derived ones included) of the full run or of a time slice, with the
        event count of exactly that data: what checks judge and what the API hands out."""
        sub = self.subsystem(run_number, subsystem)
        plan = None if request is None else self._plan(run_number, subsystem, request)[1]
        if not sub.files:
            raise NotFoundError(f"file of {subsystem} in run {run_number}", "any", [])
        files = sub.files[-1:] if plan is None else plan[0]
        hists = self._sliced([self._path(f) for f in files], None)
        if plan is None:
            n_events = files[-1].n_events
        else:
            n_events = sliced_event_count(plan[1], self.settings.cumulative)
        definition = get_subsystem(subsystem, self.settings.subsystems)
        return histograms_with_derived(definition, hists, sub.file_location == subsystem), n_events

    def slice_checks(
        self, run_number: int, subsystem: str, request: TimeSliceRequest
    ) -> dict[str, list[CheckResult]]:
        """The automatic checks of a time slice, computed on demand (stored verdicts are per file): the
        sliced histograms, unscaled, against the reference run, with the slice's own event count."""
        from overwatch_core.processing import configured_checks, reference_histograms  # processing → ingest

        hists, n_events = self.raw_histograms(run_number, subsystem, request)
        reference = reference_histograms(self.settings, self.catalog, self.hist_cache, subsystem, run_number)
        return evaluate(
            configured_checks(self.settings)[subsystem],
            hists,
            None if reference is None else reference[1],
            n_events,
            None if reference is None else reference[0],
        )

    def _sliced(self, paths: list[Path], progress: Progress | None) -> dict[str, Histogram]:
        contents = [self.hist_cache.get(p).histograms for p in paths]
        if len(contents) == 1:
            return dict(contents[0])
        if self.settings.cumulative:
            return slice_histograms(contents[1], contents[0], -1.0, progress)
        total = contents[0]
        for more in contents[1:]:
            total = slice_histograms(more, total, +1.0, progress)
        return dict(total)
