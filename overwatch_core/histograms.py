"""Reading histograms out of ROOT files (the one module that opens them) and caching the decoded arrays."""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import struct
import threading
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import uproot

from overwatch_core.decoded_store import DecodedStore
from overwatch_core.errors import HistogramReadError
from overwatch_core.model import SUPPORTED_CLASSES, FillStats, FloatArray, Histogram, ProfileSums

log = logging.getLogger(__name__)

#: What uproot and the OS raise for missing, unreadable or corrupt files. uproot has no common base class:
#: OSError for short reads and missing files, ValueError for a wrong magic number or a bad reshape,
#: DeserializationError/KeyError/IndexError/struct.error for garbage in records, zlib.error for bad
#: compressed blocks, AssertionError for impossible block sizes (uproot.compression.decompress checks
#: them with ``assert``), EOFError/NotImplementedError for cut or unknown compression headers. Anything
#: else is a bug in this module and must surface as such.
_READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    AssertionError,
    ValueError,
    KeyError,
    IndexError,
    EOFError,
    NotImplementedError,
    struct.error,
    zlib.error,
    uproot.deserialization.DeserializationError,
)

#: What decoding one object can raise besides uproot's read errors (a member that does not fit its shape).
_OBJECT_ERRORS: tuple[type[BaseException], ...] = (*_READ_ERRORS, HistogramReadError)

_PROFILE_CLASSES = frozenset(["TProfile", "TProfile2D"])
_AXES = ("fXaxis", "fYaxis", "fZaxis")
#: uproot writes TDirectory, ROOT itself TDirectoryFile.
_DIRECTORY_CLASSES = frozenset(["TDirectory", "TDirectoryFile"])


@dataclass(frozen=True)
class SkippedObject:
    """An object of a file that is not shown: its ROOT class and why (not a histogram, or undecodable)."""

    class_name: str
    reason: str

    @property
    def failed(self) -> bool:
        """True for a histogram that could not be decoded, False for a class the dashboard does not draw."""
        return self.reason != NOT_A_HISTOGRAM


NOT_A_HISTOGRAM = "not a histogram the dashboard draws"


@dataclass(frozen=True, eq=False)
class FileContents:
    """Everything a ROOT file holds that the dashboard can use, plus what it had to skip and why.

    Both mappings are sorted by key (``dir/name``), the order in which the original listed a file's keys.
    ``recovered`` says how the file was read when its writer died before closing it (None: read normally).
    """

    histograms: dict[str, Histogram]
    skipped: dict[str, SkippedObject] = field(default_factory=dict)
    recovered: str | None = None

    @property
    def unsupported(self) -> dict[str, str]:
        """Key -> class of the objects that are not drawable histograms (trees, graphs, lists, …)."""
        return {k: s.class_name for k, s in self.skipped.items() if not s.failed}

    @property
    def failed(self) -> dict[str, SkippedObject]:
        """Histograms that could not be decoded, with the reason; the rest of the file is still used."""
        return {k: s for k, s in self.skipped.items() if s.failed}

    @property
    def nbytes(self) -> int:
        """Bytes held in arrays, which is what bounds the in-memory cache."""
        return sum(_histogram_nbytes(h) for h in self.histograms.values())


def _histogram_nbytes(hist: Histogram) -> int:
    """Bytes of the histogram's distinct arrays (values and variances are often one shared array)."""
    return sum(a.nbytes for a in {id(a): a for a in _arrays(hist)}.values())


def _arrays(hist: Histogram) -> list[FloatArray]:
    arrays = [hist.values, hist.variances, *hist.edges]
    if hist.profile is not None:
        arrays += [hist.profile.sum_w, hist.profile.sum_wy, hist.profile.sum_wy2]
    return arrays


@dataclass(frozen=True)
class _Recovered:
    """The keys found by scanning a file whose writer died before Close() wrote its key list."""

    entries: tuple[_Entry, ...]

    @property
    def message(self) -> str:
        return (
            f"the file was never closed (no key list); {len(self.entries)} objects recovered by scanning "
            "its records, as ROOT's TFile::Recover does"
        )


#: Records of the file's own bookkeeping, not objects: its header key, key list, free list, streamers.
_BOOKKEEPING = frozenset(["TFile", "KeysList", "FreeSegments", "StreamerInfo"])


def _recover(root: Any, size: int) -> _Recovered:
    """Walk the records from the first key on, as ROOT does for a file without a key list.

    Each record starts with its TKey header (negative byte counts mark free gaps); a record belongs to the
    directory whose key sits at its fSeekPdir. The walk stops at the first record that does not make sense
    (a count that runs past the end, a key that does not point at itself): the rest was never written.
    """
    file = root.file
    chunk = file.chunk(0, size)
    directories: dict[int, tuple[str, ...]] = {int(file.fBEGIN): ()}
    entries: list[_Entry] = []
    position = int(file.fBEGIN)
    while position + 4 <= size:
        (count,) = struct.unpack(">i", chunk.raw_data[position : position + 4].tobytes())
        if count < 0:
            position -= count
            continue
        if count == 0 or position + count > size:
            break
        try:
            cursor = uproot.source.cursor.Cursor(position)
            key = uproot.reading.ReadOnlyKey(chunk, cursor, {}, file, root, read_strings=True)
        except _READ_ERRORS:
            break  # a half-written record: what follows was never completed
        if int(key.fSeekKey) != position:
            break
        _recovered_entry(key, directories, entries)
        position += count
    return _Recovered(tuple(entries))


def _recovered_entry(key: Any, directories: dict[int, tuple[str, ...]], entries: list[_Entry]) -> None:
    parent = directories.get(int(key.fSeekPdir))
    class_name, name = str(key.fClassName), str(key.fName)
    if parent is None or class_name in _BOOKKEEPING or (not parent and name in _BOOKKEEPING):
        return
    if class_name in _DIRECTORY_CLASSES:
        directories[int(key.fSeekKey)] = (*parent, name)
    else:
        entries.append(_Entry(key, (*parent, name), int(key.fCycle), class_name))


def read_file(path: str | os.PathLike[str]) -> FileContents:
    """Decode every supported histogram of ``path``; other objects are listed by class, failures by reason.

    Only a file that cannot be opened at all raises HistogramReadError; one object that cannot be decoded
    is logged and listed, and the rest of the file is used.
    """
    histograms: dict[str, Histogram] = {}
    skipped: dict[str, SkippedObject] = {}
    with _open_root(path) as (root, recovered):
        for key, entry in sorted(_newest_entries(root, recovered).items()):
            if entry.class_name not in SUPPORTED_CLASSES:
                skipped[key] = SkippedObject(entry.class_name, NOT_A_HISTOGRAM)
                continue
            try:
                histograms[key] = _decode_object(path, key, entry.key.get(), entry.class_name)
            except _OBJECT_ERRORS as exc:
                reason = _first_line(exc)
                log.warning("%s: cannot decode %s (%s): %s", os.fspath(path), key, entry.class_name, reason)
                skipped[key] = SkippedObject(entry.class_name, f"cannot decode: {reason}")
    return FileContents(
        histograms=histograms, skipped=skipped, recovered=None if recovered is None else recovered.message
    )


def list_classes(path: str | os.PathLike[str]) -> dict[str, str]:
    """Key -> ROOT class name of every object except directories, from the key lists alone (no decoding)."""
    with _open_root(path) as (root, recovered):
        return {key: entry.class_name for key, entry in sorted(_newest_entries(root, recovered).items())}


def event_count(contents: FileContents) -> float | None:
    """Bin 1 of the first histogram whose name contains "events", the original's nEvents rule (REF §3.2).

    A non-finite count (NaN, ±Inf in a broken file) is no count: nothing may be divided by it.
    """
    for key, hist in contents.histograms.items():
        if "events" in key.rsplit("/", 1)[-1].lower() and hist.values.size:
            count = float(hist.values.flat[0])
            return count if math.isfinite(count) else None
    return None


@contextmanager
def _open_root(path: str | os.PathLike[str]) -> Iterator[tuple[Any, _Recovered | None]]:
    """Open ``path`` as a ROOT directory, turning every way a file can be broken into HistogramReadError.

    The file is opened once and uproot reads from that handle, so the size checked against the header is
    the size of the very file decoded, even if a re-ingest replaces the path meanwhile. Yields the top
    directory and, for a file whose writer never closed it, how its keys were recovered.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise HistogramReadError(f"cannot read ROOT file {os.fspath(path)}: the file is empty")
            with uproot.open(handle, object_cache=None, array_cache=None) as root:
                _check_complete(path, root, size)
                yield root, (_recover(root, size) if int(root.fSeekKeys) == 0 else None)
    except _READ_ERRORS as exc:
        raise HistogramReadError(f"cannot read ROOT file {os.fspath(path)}: {_first_line(exc)}") from exc


def _check_complete(path: str | os.PathLike[str], root: Any, size: int) -> None:
    """Refuse a file shorter than its header says.

    Reading a cut file can succeed: the keys and histograms sit in the first half and uproot never needs
    the streamer info or free-segment list at the end, so partial files would pass silently otherwise.
    """
    end = int(root.file.fEND)
    if size < end:
        raise HistogramReadError(
            f"cannot read ROOT file {os.fspath(path)}: truncated, {size} bytes but the header says {end}"
        )


def _first_line(exc: BaseException) -> str:
    """uproot appends the file path on further lines; the message already names it."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


@dataclass(frozen=True)
class _Entry:
    """One key of a ROOT directory: the key itself, so the object is read without a lookup by name."""

    key: Any
    path: tuple[str, ...]
    cycle: int
    class_name: str


def _newest_entries(root: Any, recovered: _Recovered | None = None) -> dict[str, _Entry]:
    """Key name -> its highest cycle; directories are descended into, not listed.

    Entries are reached through each directory's own key list, never by a lookup of their name: uproot
    splits names at "/", and the HLT and DQM receivers wrote the TPC objects as top-level keys named
    ``TPCQA/…``. Such a key and a real ``TPCQA`` directory holding the same name are different objects;
    see ``key_names`` for how both are named then.
    """
    newest: dict[tuple[str, ...], _Entry] = {}
    for entry in _walk(root, ()) if recovered is None else recovered.entries:
        known = newest.get(entry.path)
        if known is None or entry.cycle > known.cycle:
            newest[entry.path] = entry
    names = key_names(list(newest))
    return {names[path]: entry for path, entry in newest.items()}


def key_names(paths: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
    """Display names of object paths (directories, then the key's own name): the parts joined by "/".

    A key whose own name contains "/" keeps it (``TPCQA/h_tpc_events`` as the receivers wrote it). Only if
    that name equals the path of an object inside real directories is the slash in the key's name written
    ``%2F``, so both stay distinct; the object in the directories keeps the plain name.
    """
    plain = {path: "/".join(path) for path in paths}
    counts = Counter(plain.values())
    return {
        path: "/".join(part.replace("/", "%2F") for part in path)
        if counts[plain[path]] > 1 and any("/" in part for part in path)
        else plain[path]
        for path in paths
    }


def _walk(directory: Any, prefix: tuple[str, ...]) -> Iterator[_Entry]:
    """Every key below ``directory``, each directory read once (uproot would re-read it per lookup)."""
    for key in _directory_keys(directory):
        class_name = str(key.fClassName)
        path = (*prefix, str(key.fName))
        if class_name in _DIRECTORY_CLASSES:
            yield from _walk(key.get(), path)
        else:
            yield _Entry(key, path, int(key.fCycle), class_name)


def _directory_keys(directory: Any) -> list[Any]:
    """The directory's TKeys in file order. uproot has no public accessor that does not split names at "/"
    (``items()`` decodes every object, ``key(name)`` parses a path), so its key list is read directly."""
    return list(directory._keys)


def _decode_object(path: str | os.PathLike[str], key: str, obj: Any, class_name: str) -> Histogram:
    ndim = 1 if class_name == "TProfile" else 2 if class_name == "TProfile2D" else int(class_name[2])
    values = _float_array(obj.values(), _SINGLE if class_name[-1] in _SINGLE_PRECISION else np.float64)
    profile = _profile_sums(path, key, obj, values.shape) if class_name in _PROFILE_CLASSES else None
    axes = [obj.member(a) for a in _AXES[:ndim]]
    variances, flow = _errors(obj, values, profile is not None)
    return Histogram(
        name=key,
        root_class=class_name,
        values=values,
        variances=variances,
        edges=tuple(_float_array(obj.axis(i).edges()) for i in range(ndim)),
        title=str(obj.member("fTitle")),
        axis_titles=tuple(str(obj.member(a).member("fTitle")) for a in _AXES[: min(ndim + 1, 3)]),
        entries=float(obj.member("fEntries")),
        profile=profile,
        labels=_labels(axes),
        stats=_fill_stats(obj, ndim),
        flow=flow,
    )


def _errors(obj: Any, values: FloatArray, profile: bool) -> tuple[FloatArray, tuple[float, float]]:
    """Squared bin errors as ROOT gives them (fSumw2 where stored, otherwise |content|), and the flow bins'
    Σ contents and Σ squared errors, which ROOT's entries after a subtraction count."""
    if profile:
        return _float_array(obj.variances()), (0.0, 0.0)
    with_flow = np.asarray(obj.values(flow=True), dtype=np.float64)
    sumw2 = obj.member("fSumw2")
    stored = sumw2 is not None and len(sumw2) > 0
    errors = np.asarray(obj.variances(flow=True), dtype=np.float64) if stored else np.abs(with_flow)
    inside = tuple(slice(1, -1) for _ in range(values.ndim))
    is_flow = np.ones(with_flow.shape, dtype=bool)
    is_flow[inside] = False
    flow = (float(with_flow[is_flow].sum()), float(errors[is_flow].sum()))
    if stored:
        return _float_array(errors[inside]), flow
    # No Sumw2: errors² are |content|, so a histogram without negative bins shares its values array (read
    # only) as its variances, which costs nothing in memory or in the decoded store (pickle keeps one copy).
    return (values if not np.any(values < 0) else _float_array(np.abs(values), values.dtype)), flow


def _labels(axes: Sequence[Any]) -> tuple[tuple[str, ...], ...]:
    """Alphanumeric bin labels per axis. ROOT keeps them as TObjStrings whose unique ID is the bin number."""
    result: list[tuple[str, ...]] = []
    for axis in axes:
        found = axis.member("fLabels")
        n_bins = int(axis.member("fNbins"))
        if not found:
            result.append(())
            continue
        labels = [""] * n_bins
        for item in found:
            bin_number = int(item.member("@fUniqueID"))
            if 1 <= bin_number <= n_bins:
                labels[bin_number - 1] = str(item)
        result.append(tuple(labels))
    while result and not result[-1]:
        result.pop()
    return tuple(result)


#: Members holding the fill-time sums per axis.
_STATS_AXES = ("x", "y", "z")


def _fill_stats(obj: Any, ndim: int) -> FillStats | None:
    """The fill-time sums of a stored histogram, or None when ROOT itself would use bin centres.

    ROOT's TH1::GetStats falls back to bin centres when fTsumw is 0 but the histogram has entries (a
    histogram made with SetBinContent); then the decoded histogram carries no sums either.
    """
    sums = {name: float(obj.member(name)) for name in ("fTsumw", "fTsumw2", "fEntries")}
    if sums["fTsumw"] == 0 and sums["fEntries"] > 0:
        return None
    axes = _STATS_AXES[:ndim]
    return FillStats(
        sum_w=sums["fTsumw"],
        sum_w2=sums["fTsumw2"],
        sum_wx=tuple(float(obj.member(f"fTsumw{a}")) for a in axes),
        sum_wx2=tuple(float(obj.member(f"fTsumw{a}2")) for a in axes),
    )


def _profile_sums(path: str | os.PathLike[str], key: str, obj: Any, shape: tuple[int, ...]) -> ProfileSums:
    """The raw sums behind a profile; uproot's ``values()`` already divides them, so read the members.

    fArray is the TArrayD base class of the object (``values(flow=True)`` gives means, not fArray).
    """
    (raw,) = obj.base(uproot.models.TArray.Model_TArray)
    return ProfileSums(
        sum_w=_without_flow(path, key, "fBinEntries", obj.member("fBinEntries"), shape),
        sum_wy=_without_flow(path, key, "fArray", raw, shape),
        sum_wy2=_without_flow(path, key, "fSumw2", obj.member("fSumw2"), shape),
    )


def _without_flow(
    path: str | os.PathLike[str], key: str, member: str, flat: Any, shape: tuple[int, ...]
) -> FloatArray:
    """ROOT stores bins flat with flow bins, x fastest (Fortran order); cut back to ``shape``."""
    with_flow = tuple(n + 2 for n in shape)
    array = np.asarray(flat, dtype=np.float64)
    if array.size != int(np.prod(with_flow)):
        raise HistogramReadError(
            f"cannot read ROOT file {os.fspath(path)}: {key}.{member} has {array.size} cells, "
            f"expected {int(np.prod(with_flow))}"
        )
    inner = array.reshape(with_flow, order="F")[tuple(slice(1, -1) for _ in shape)]
    return _float_array(inner)


#: Classes whose bin contents are stored in single precision or less (TH*F, TH*S, TH*C): float32 holds them
#: exactly, so they stay float32 in memory and in the decoded store, half the bytes of float64.
_SINGLE_PRECISION = frozenset("FSC")
_SINGLE = np.float32


def _float_array(array: Any, dtype: Any = np.float64) -> FloatArray:
    """A compact, native, read-only copy (float64 unless asked): cached arrays are shared between callers."""
    out = np.array(array, dtype=dtype, order="C", copy=True)
    out.flags.writeable = False
    return out


# --- cache --------------------------------------------------------------------------------------------

CacheKey = tuple[str, int, int]


@dataclass(frozen=True)
class CacheStats:
    """Counters of one HistogramCache; ``hits`` includes ``disk_hits`` (loads from the decoded store), and
    ``decodes`` counts files decoded by this cache, in this process or in its ``warm`` children."""

    hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    decodes: int = 0


class HistogramCache:
    """Decoded file contents keyed by (absolute path, size, mtime_ns), in memory and in a decoded store.

    Re-ingest replaces a file under the same path, so the path alone would serve stale arrays; size and
    mtime change with every replacement and cost one ``stat``, far cheaper than a content hash. The store
    (``decoded_store``, one entry per file, kept as long as the file, no size limit to overflow) lets
    gunicorn workers and the processing loop share one decode per file. Two processes missing the same new
    file at the same moment may both decode it; that is wasted work, not wrong data, and cheaper than a
    cross-process lock that a dead worker could hold.
    """

    def __init__(
        self,
        max_bytes: int = 256 * 1024 * 1024,
        disk_directory: str | os.PathLike[str] | None = None,
        decode: Callable[[Path], FileContents] = read_file,
    ) -> None:
        self.max_bytes = max_bytes
        self._decode = decode
        self._disk = DecodedStore(disk_directory) if disk_directory is not None else None
        self._memory: OrderedDict[CacheKey, tuple[FileContents, int]] = OrderedDict()
        self._memory_bytes = 0
        self._lock = threading.Lock()
        self._counts = {"hits": 0, "disk_hits": 0, "misses": 0, "decodes": 0}

    @property
    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(**self._counts)

    @property
    def memory_bytes(self) -> int:
        """Array bytes currently held in memory (never above ``max_bytes``)."""
        return self._memory_bytes

    def get(self, path: str | os.PathLike[str]) -> FileContents:
        """The contents of ``path``, decoded only if neither level holds this version of the file."""
        absolute = Path(path).absolute()
        key = _cache_key(absolute)
        contents = self._from_memory(key) or self._from_disk(key)
        if contents is not None:
            return contents
        self._count("misses")
        contents = self._decode_counted(absolute)
        if _unchanged(absolute, key):  # not replaced while decoding, so the key describes these arrays
            self._store(key, contents)
        return contents

    def warm(self, paths: Sequence[Path], workers: int | None = None) -> None:
        """Decode ``paths`` in parallel processes into the decoded store (no-op without one, or for one file).

        Decoding is pure Python and single-core; the children share nothing but the store, so a later
        ``get`` in this process is a load from it. Files already in the store are not decoded again; the
        children's decodes are added to this cache's count. Failures are left for ``get`` to raise.
        """
        if self._disk is None or len(paths) < 2:
            return
        missing = [p for p in paths if not self._stored(Path(p).absolute())]
        count = min(workers or os.cpu_count() or 1, len(missing))
        if count < 2:
            return
        directory = os.fspath(self._disk.directory)
        with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork")) as pool:
            decoded = sum(pool.map(_warm_one, [(directory, os.fspath(p)) for p in missing]))
        with self._lock:
            self._counts["decodes"] += decoded

    def _stored(self, path: Path) -> bool:
        try:
            key = _cache_key(path)
        except HistogramReadError:
            return False
        return key in self._memory or (self._disk is not None and self._disk.has(key))

    def close(self) -> None:
        """Nothing to release: the store holds no open handles (kept for callers' symmetry)."""

    def _decode_counted(self, path: Path) -> FileContents:
        self._count("decodes")
        log.debug("decoding %s", path)
        return self._decode(path)

    def _from_memory(self, key: CacheKey) -> FileContents | None:
        with self._lock:
            entry = self._memory.get(key)
            if entry is None:
                return None
            self._memory.move_to_end(key)
            self._counts["hits"] += 1
            return entry[0]

    def _from_disk(self, key: CacheKey) -> FileContents | None:
        if self._disk is None:
            return None
        contents = self._disk.load(key)
        if not isinstance(contents, FileContents):
            return None
        self._count("hits")
        self._count("disk_hits")
        _make_read_only(contents)
        self._remember(key, contents)
        return contents

    def _store(self, key: CacheKey, contents: FileContents) -> None:
        if self._disk is not None:
            self._disk.save(key, contents)
        self._remember(key, contents)

    def _remember(self, key: CacheKey, contents: FileContents) -> None:
        """Keep ``contents`` in memory, evicting least recently used files beyond ``max_bytes``."""
        size = contents.nbytes
        with self._lock:
            for old in [k for k in self._memory if k[0] == key[0] and k != key]:
                self._forget(old)  # an older version of the same path is never asked for again
            if size > self.max_bytes or key in self._memory:
                return
            self._memory[key] = (contents, size)
            self._memory_bytes += size
            while self._memory_bytes > self.max_bytes:
                self._forget(next(iter(self._memory)))

    def _forget(self, key: CacheKey) -> None:
        _, size = self._memory.pop(key)
        self._memory_bytes -= size

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1


def _cache_key(path: Path) -> CacheKey:
    """(path, size, mtime_ns) of the file now at ``path``; a missing file is a read error like any other."""
    try:
        st = path.stat()
    except OSError as exc:
        raise HistogramReadError(f"cannot read ROOT file {path}: {_first_line(exc)}") from exc
    return (str(path), st.st_size, st.st_mtime_ns)


def _unchanged(path: Path, key: CacheKey) -> bool:
    try:
        return _cache_key(path) == key
    except HistogramReadError:
        return False


def _make_read_only(contents: FileContents) -> None:
    """Shared cached arrays must not be changed in place; only pickle protocol 5 keeps them read-only."""
    for hist in contents.histograms.values():
        for array in _arrays(hist):
            array.flags.writeable = False


def _warm_one(job: tuple[str, str]) -> int:
    """Child-process side of ``HistogramCache.warm``: decode one file into the store; 1 if it was decoded."""
    directory, path = job
    cache = HistogramCache(max_bytes=0, disk_directory=directory)
    try:
        cache.get(path)
    except HistogramReadError:
        return 0
    return cache.stats.decodes
