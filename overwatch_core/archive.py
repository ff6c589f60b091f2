"""The test-data archive: a zip of a few recent complete runs, streamed chunk by chunk (REF §6.13)."""

from __future__ import annotations

import logging
import os
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from overwatch_core.catalog import Catalog
from overwatch_core.errors import OverwatchError
from overwatch_core.model import Run, RunFile

log = logging.getLogger(__name__)

#: At most this many runs go into the archive, newest first.
MAX_RUNS = 5
#: Besides the first and the newest file, the file this far from the end (for time-slice tests).
FROM_END = 5
CHUNK_BYTES = 256 * 1024
ARCHIVE_NAME = "overwatch-testing-data.zip"


class EmptyArchiveError(OverwatchError):
    """No run has every configured subsystem, so there is nothing worth archiving."""

    category = "Test-data archive"


@dataclass(frozen=True)
class ArchivePlan:
    """Which runs were chosen and which stored files (relative paths, no duplicates) go into the zip."""

    run_numbers: tuple[int, ...]
    paths: tuple[str, ...]


def is_complete(run: Run, configured: Iterable[str]) -> bool:
    """A run is worth archiving when every configured subsystem has files in it.

    The original demanded the exact set; a run with an extra subsystem is just as useful for tests.
    """
    present = {s.name for s in run.subsystems if s.files}
    return set(configured) <= present


def chosen_files(files: Sequence[RunFile]) -> list[RunFile]:
    """The first, the 5th-from-newest and the newest file, in time order, each once (short runs: fewer)."""
    indexes = {0, len(files) - 1, len(files) - FROM_END} if files else set()
    return [files[i] for i in sorted(indexes) if i >= 0]


def plan_archive(catalog: Catalog, configured: Sequence[str], max_runs: int = MAX_RUNS) -> ArchivePlan:
    """Up to ``max_runs`` newest complete runs and their chosen files, or EmptyArchiveError.

    Subsystems reading HLT's files name the same paths as HLT; each path is stored once.
    """
    runs: list[int] = []
    paths: dict[str, None] = {}
    for number in reversed(catalog.run_numbers()):
        run = catalog.run(number)
        if not is_complete(run, configured):
            continue
        runs.append(number)
        for sub in run.subsystems:
            paths.update((f.path, None) for f in chosen_files(sub.files))
        if len(runs) == max_runs:
            break
    if not runs:
        raise EmptyArchiveError(f"no run has files of every configured subsystem ({', '.join(configured)})")
    return ArchivePlan(tuple(runs), tuple(paths))


class _Chunks:
    """A write-only, unseekable file object: zipfile writes into it, the stream takes what was written.

    zipfile notices that it cannot seek and writes data descriptors after each member instead, so the
    archive never needs a temporary file.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered here beyond what ``take`` hands out."""

    def close(self) -> None:
        """The consumer decides when the stream ends."""

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _member(archive: zipfile.ZipFile, source: BinaryIO, arcname: str, out: _Chunks) -> Iterator[bytes]:
    """Copy one open file into the archive, yielding the zip bytes as they are produced."""
    stat = os.fstat(source.fileno())
    info = zipfile.ZipInfo(arcname, date_time=time.localtime(stat.st_mtime)[:6])
    info.file_size = stat.st_size
    info.compress_type = zipfile.ZIP_STORED  # ROOT files are compressed already; deflate gains ~nothing
    with archive.open(info, "w") as member:
        while block := source.read(CHUNK_BYTES):
            member.write(block)
            yield out.take()
    yield out.take()


def stream_archive(data_path: Path, paths: Iterable[str]) -> Iterator[bytes]:
    """The zip of ``paths`` (relative to the data folder, kept as names in the zip), in chunks.

    A file that vanished since the plan was made is left out with a warning, not a broken download.
    """
    return (chunk for chunk in _zip_parts(data_path, paths) if chunk)


def _zip_parts(data_path: Path, paths: Iterable[str]) -> Iterator[bytes]:
    out = _Chunks()
    with zipfile.ZipFile(out, "w") as archive:
        for relative in paths:
            try:
                source = (data_path / relative).open("rb")
            except OSError as exc:
                log.warning("test-data archive: skipped %s: %s", relative, exc)
                continue
            with source:
                yield from _member(archive, source, relative, out)
    yield out.take()


def write_archive(out: BinaryIO, data_path: Path, paths: Iterable[str]) -> int:
    """Write the zip into an open binary file (``overwatch archive``); returns the bytes written."""
    written = 0
    for chunk in stream_archive(data_path, paths):
        out.write(chunk)
        written += len(chunk)
    return written
