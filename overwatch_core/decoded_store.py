"""The decoded form of every stored ROOT file, on disk for as long as the file: compact, shared by processes.

A file is decoded once (uproot's streamers are most of the cost of everything), and every process after that
(the other gunicorn workers, the processing loop, a time slice job) loads its arrays from here. There is no
size limit to overflow: one entry per file, replaced when the file is replaced, so the store grows with
the data folder at a small multiple of the ROOT files' size (arrays in the files' own precision, TH*F as
float32, no error array where the file keeps none, LZ4-compressed).

Entry layout: ``MAGIC``, a 4-byte header length, a JSON header naming the source file's path, size and
mtime (a replaced file never serves stale arrays), then an LZ4 frame of the pickled FileContents.
Writes go to a temporary file and are renamed into place, so readers never see half an entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import lz4.frame

if TYPE_CHECKING:
    from overwatch_core.histograms import CacheKey, FileContents

log = logging.getLogger(__name__)

#: Bump the digit when FileContents or Histogram change shape: entries of older code are then decoded anew.
MAGIC = b"OWDEC03\n"
_HEADER_LENGTH = 4


class DecodedStore:
    """One entry per source file below ``directory``, named by a hash of the file's absolute path."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def entry_path(self, source: str) -> Path:
        digest = hashlib.sha1(source.encode("utf-8", "surrogateescape"), usedforsecurity=False).hexdigest()
        return self.directory / digest[:2] / f"{digest}.owd"

    def has(self, key: CacheKey) -> bool:
        """Whether an entry for exactly this version of the file exists (reads only its header)."""
        try:
            with self.entry_path(key[0]).open("rb") as entry:
                return _matches(_read_header(entry), key)
        except FileNotFoundError:
            return False

    def load(self, key: CacheKey) -> FileContents | None:
        """The stored contents for exactly this version of the file, or None (missing, stale, unreadable)."""
        path = self.entry_path(key[0])
        try:
            with path.open("rb") as entry:
                if not _matches(_read_header(entry), key):
                    return None
                payload = entry.read()
        except FileNotFoundError:
            return None
        try:
            contents: FileContents = pickle.loads(lz4.frame.decompress(payload))
        except (RuntimeError, pickle.UnpicklingError, EOFError, AttributeError, ValueError) as exc:
            log.warning("decoded store: unreadable entry %s (%s); decoding the file again", path, exc)
            return None
        return contents

    def save(self, key: CacheKey, contents: FileContents) -> None:
        """Write the entry for this version of the file (replacing an older one) atomically."""
        path = self.entry_path(key[0])
        path.parent.mkdir(parents=True, exist_ok=True)
        header = json.dumps({"path": key[0], "size": key[1], "mtime_ns": key[2]}).encode()
        payload = lz4.frame.compress(pickle.dumps(contents, protocol=5))
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(MAGIC + len(header).to_bytes(_HEADER_LENGTH) + header + payload)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def size_bytes(self) -> int:
        """Bytes the entries take on disk (for the benchmarks and the site status)."""
        return sum(p.stat().st_size for p in self.directory.glob("*/*.owd"))


def _read_header(entry: BinaryIO) -> dict[str, object] | None:
    """The JSON header of an entry, leaving the stream at the payload; None for anything else."""
    prefix = entry.read(len(MAGIC) + _HEADER_LENGTH)
    if len(prefix) != len(MAGIC) + _HEADER_LENGTH or not prefix.startswith(MAGIC):
        return None
    try:
        header = json.loads(entry.read(int.from_bytes(prefix[len(MAGIC) :])))
    except ValueError:
        return None
    return header if isinstance(header, dict) else None


def _matches(header: dict[str, object] | None, key: CacheKey) -> bool:
    return header is not None and (header.get("path"), header.get("size"), header.get("mtime_ns")) == key
