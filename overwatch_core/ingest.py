"""Ingest: move dropped files into Run<N>/<SYS>/, quarantine unreadable ones, record them in the catalog."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TextIO

from overwatch_core import filenames
from overwatch_core.catalog import Catalog
from overwatch_core.errors import FileNameError, HistogramReadError
from overwatch_core.histograms import HistogramCache, event_count
from overwatch_core.model import RunFile
from overwatch_core.settings import Settings

log = logging.getLogger(__name__)

RUN_INFO = "run_info.json"
JOURNAL = ".ingest-journal.json"
REPLAY_MODE = "E"


@dataclass
class IngestReport:
    """What one ingest pass did with each file it saw."""

    stored: list[str] = field(default_factory=list)
    replay: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    runs: set[int] = field(default_factory=set)

    def summary(self) -> str:
        return (
            f"{len(self.stored)} stored, {len(self.replay)} replay, "
            f"{len(self.quarantined)} quarantined, {len(self.left)} left for the next pass"
        )


@dataclass(frozen=True)
class _Moved:
    """A file moved into its run folder, waiting to be decoded and recorded."""

    received: str
    relative: str
    run_number: int
    hlt_mode: str


class Quarantine(Exception):
    """Internal signal: this file cannot be ingested, for the reason given."""


def quarantine(source: Path, folder: Path, reason: str, name: str | None = None) -> Path:
    """Move ``source`` into ``folder`` (as ``name``) next to a ``.reason`` file; never overwrite or delete."""
    folder.mkdir(parents=True, exist_ok=True)
    name = name or source.name
    target = folder / name
    counter = 1
    while target.exists():
        target = folder / f"{name}.{counter}"
        counter += 1
    shutil.move(source, target)
    target.with_name(target.name + ".reason").write_text(reason + "\n", encoding="utf-8")
    log.warning("quarantined %s: %s", name, reason)
    return target


def _note(journal: TextIO, item: _Moved) -> None:
    """One line of the ingest journal, on disk before the move it announces."""
    journal.write(json.dumps(dataclasses.asdict(item)) + "\n")
    journal.flush()


def _candidates(drop: Path) -> Iterator[Path]:
    """Top-level ROOT files of the drop folder; dot-files are still being written (REF §1.1)."""
    for entry in sorted(drop.iterdir()):
        if entry.is_file() and not entry.is_symlink() and entry.name.endswith(".root"):
            yield entry


def _write_run_info(run_dir: Path, hlt_mode: str) -> None:
    """Keep the run's HLT mode on disk (first file wins) so a rebuild can recover it."""
    info = run_dir / RUN_INFO
    if not info.exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        info.write_text(json.dumps({"hlt_mode": hlt_mode}) + "\n", encoding="utf-8")


def read_run_info(run_dir: Path) -> str:
    """The HLT mode recorded for a run folder, ``U`` (unknown) when missing or unreadable."""
    try:
        mode = json.loads((run_dir / RUN_INFO).read_text(encoding="utf-8")).get("hlt_mode", "U")
    except (OSError, ValueError, AttributeError):
        return "U"
    return str(mode)


class Ingester:
    """One object per process: settings, catalog and decoded-histogram cache used by every pass."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        cache: HistogramCache,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.cache = cache
        self.clock = clock
        self.tz = filenames.zone(settings.timezone)

    def run_pass(self) -> IngestReport:
        """Look at every file in the drop folder once; a bad file never stops the pass.

        Files are moved first, then decoded in parallel into the shared disk cache, then recorded one by
        one (decoding is pure Python and most of the cost; the catalog wants a single writer).
        """
        report = IngestReport()
        drop = self.settings.drop_path
        if not drop.is_dir():
            log.warning("drop folder %s does not exist; nothing to ingest", drop)
            return report
        moved = self._interrupted()
        with self._journal.open("w", encoding="utf-8") as journal:
            note = functools.partial(_note, journal)
            for item in moved:
                note(item)
            moved += [
                m for path in _candidates(drop) if (m := self._move_one(path, report, note)) is not None
            ]
        self.cache.warm([self.settings.data_path / m.relative for m in moved])
        for item in moved:
            self._register_moved(item, report)
        self.update_subsystems(report.runs)
        self._journal.unlink(missing_ok=True)
        log.info("ingest pass: %s", report.summary())
        return report

    @property
    def _journal(self) -> Path:
        """Files moved but not yet recorded: a pass cut short (crash, kill) is finished by the next one."""
        return self.settings.data_path / JOURNAL

    def _interrupted(self) -> list[_Moved]:
        """The journal's files not recorded yet; an entry whose move never happened (the journal is written
        ahead of each move) is left out."""
        try:
            text = self._journal.read_text(encoding="utf-8")
            entries = json.loads(text) if text.startswith("[") else [json.loads(x) for x in text.splitlines()]
        except FileNotFoundError:
            return []
        except ValueError:
            log.error(
                "unreadable ingest journal %s; run `overwatch rebuild` if files are missing", self._journal
            )
            return []
        moved = [_Moved(**entry) for entry in entries]
        known = self.catalog.recorded_paths([m.relative for m in moved])
        pending = [
            m for m in moved if m.relative not in known and (self.settings.data_path / m.relative).exists()
        ]
        if pending:
            log.warning("finishing %s files of an interrupted ingest pass", len(pending))
        return pending

    def _move_one(self, path: Path, report: IngestReport, note: Callable[[_Moved], None]) -> _Moved | None:
        if path.name.startswith("."):
            report.left.append(path.name)
            return None
        stat = path.stat()
        if self.clock() - stat.st_mtime < self.settings.settle_seconds:
            log.debug("%s is still being written; left for the next pass", path.name)
            report.left.append(path.name)
            return None
        try:
            return self._move(path, stat.st_size, report, note)
        except Quarantine as reason:
            report.quarantined.append((path.name, str(reason)))
            return None

    def _move(
        self, path: Path, size: int, report: IngestReport, note: Callable[[_Moved], None]
    ) -> _Moved | None:
        """Move a received file into its run folder; ``note`` journals it first, so a kill during the move
        phase loses nothing."""
        if size == 0:
            self._reject(path, "zero-size file")
        try:
            name = filenames.parse_received_name(path.name, self.tz)
        except FileNameError as exc:
            self._reject(path, str(exc))
        if name.subsystem not in self.settings.subsystems:
            configured = ", ".join(self.settings.subsystems)
            self._reject(path, f"subsystem {name.subsystem!r} is not configured ({configured})")
        replay = name.hlt_mode == REPLAY_MODE
        relative = filenames.stored_path(
            name.run_number, name.subsystem, name.timestamp, self.tz, replay=replay
        )
        target = self.settings.data_path / relative
        if target.exists():
            self._reject(path, f"a file for this subsystem and time already exists: {relative}")
        target.parent.mkdir(parents=True, exist_ok=True)
        item = _Moved(path.name, relative, name.run_number, name.hlt_mode)
        if not replay:
            note(item)
        shutil.move(path, target)
        if replay:
            report.replay.append(relative)
            return None
        return item

    def _register_moved(self, item: _Moved, report: IngestReport) -> None:
        try:
            self.register(item.relative, item.run_number, item.hlt_mode)
        except HistogramReadError as exc:
            reason = f"unreadable ROOT file: {exc}"
            with contextlib.suppress(Quarantine):
                self._reject(self.settings.data_path / item.relative, reason, name=item.received)
            report.quarantined.append((item.received, reason))
            return
        report.stored.append(item.relative)
        report.runs.add(item.run_number)

    def _reject(self, path: Path, reason: str, name: str | None = None) -> NoReturn:
        quarantine(path, self.settings.quarantine_path, reason, name)
        if name is not None:  # it came out of a run folder: do not leave empty folders behind
            for folder in (path.parent, path.parent.parent):
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise Quarantine(reason)

    def register(self, relative: str, run_number: int, hlt_mode: str) -> None:
        """Decode a stored file once (filling the cache) and record it, its index and event count."""
        target = self.settings.data_path / relative
        contents = self.cache.get(target)
        stored = filenames.parse_stored_name(target.name, self.tz)
        run_file = RunFile(
            run_number=run_number,
            subsystem=stored.subsystem,
            path=relative,
            timestamp=stored.timestamp,
            size=target.stat().st_size,
            n_events=event_count(contents),
        )
        _write_run_info(target.parent.parent, hlt_mode)
        classes = {key: hist.root_class for key, hist in contents.histograms.items()}
        skipped = {key: (obj.class_name, obj.reason) for key, obj in contents.skipped.items()}
        if contents.recovered is not None:
            log.warning("%s: %s", relative, contents.recovered)
        with self.catalog.engine.begin() as conn:
            self.catalog.add_run(conn, run_number, hlt_mode)
            self.catalog.add_file(conn, run_file, classes, skipped, contents.recovered, self.clock())

    def update_subsystems(self, run_numbers: set[int]) -> None:
        with self.catalog.engine.begin() as conn:
            for number in sorted(run_numbers):
                self.catalog.update_subsystems(conn, number, self.settings.subsystems)


def _stored_files(data: Path, subsystems: list[str]) -> Iterator[tuple[int, Path]]:
    for run_dir in sorted(data.iterdir()):
        number = filenames.parse_run_dir(run_dir.name)
        if number is None or not run_dir.is_dir():
            continue
        for subsystem in subsystems:
            for path in sorted((run_dir / subsystem).glob(f"{subsystem}hists.*.root")):
                yield number, path


def rebuild(ingester: Ingester) -> int:
    """Recreate the catalog from the run folders on disk; returns the number of files recorded.

    Unreadable files are logged and skipped, not moved: a rebuild never changes the data folder.
    """
    catalog, settings = ingester.catalog, ingester.settings
    catalog.drop_data()
    catalog.create_schema()
    count = 0
    run_numbers: set[int] = set()
    stored = list(_stored_files(settings.data_path, settings.subsystems))
    ingester.cache.warm([path for _, path in stored])
    for number, path in stored:
        relative = path.relative_to(settings.data_path).as_posix()
        try:
            ingester.register(relative, number, read_run_info(path.parent.parent))
        except (HistogramReadError, FileNameError) as exc:
            log.error("rebuild skipped %s: %s", relative, exc)
            continue
        run_numbers.add(number)
        count += 1
    ingester.update_subsystems(run_numbers)
    return count
