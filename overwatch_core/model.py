"""Plain, frozen data types shared by the core: histograms, runs, subsystems and files."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

#: Bin contents and sums: float64, or float32 where the file stores single precision (TH*F, TH*S, TH*C).
FloatArray = npt.NDArray[np.floating[Any]]

#: ROOT classes the histogram reader understands.
SUPPORTED_CLASSES = frozenset(
    [f"TH{d}{t}" for d in (1, 2, 3) for t in "FDISCL"] + ["TProfile", "TProfile2D"]
)


@dataclass(frozen=True, eq=False)
class ProfileSums:
    """Per-bin sums a profile is made of, so that profiles can be subtracted and added exactly.

    ``sum_w`` is ROOT's fBinEntries, ``sum_wy`` its fArray and ``sum_wy2`` its fSumw2 (flow bins removed).
    """

    sum_w: FloatArray
    sum_wy: FloatArray
    sum_wy2: FloatArray


@dataclass(frozen=True)
class FillStats:
    """The sums ROOT accumulates while filling (fTsumw, fTsumw2, fTsumwx, fTsumwx2, and per further axis).

    ROOT's GetMean, GetStdDev and their errors on a stored histogram come from these, not from bin centres:
    a hit filled at an integer FastOR ID is half a bin away from its bin's centre. ``sum_wx`` and
    ``sum_wx2`` hold one sum per histogram axis (x, y, z).
    """

    sum_w: float
    sum_w2: float
    sum_wx: tuple[float, ...]
    sum_wx2: tuple[float, ...]

    def scaled(self, factor: float) -> FillStats:
        """The sums after ROOT's Scale(factor): weights times factor, squared weights times factor²."""
        return FillStats(
            self.sum_w * factor,
            self.sum_w2 * factor * factor,
            tuple(s * factor for s in self.sum_wx),
            tuple(s * factor for s in self.sum_wx2),
        )

    def plus(self, other: FillStats, sign: float = 1.0) -> FillStats:
        """The sums of ``self + sign·other``, as ROOT's Add keeps them for a positive coefficient."""
        return FillStats(
            self.sum_w + sign * other.sum_w,
            self.sum_w2 + sign * sign * other.sum_w2,
            tuple(a + sign * b for a, b in zip(self.sum_wx, other.sum_wx, strict=True)),
            tuple(a + sign * b for a, b in zip(self.sum_wx2, other.sum_wx2, strict=True)),
        )


@dataclass(frozen=True, eq=False)
class Histogram:
    """One decoded histogram: bin contents without flow bins, and what is needed to draw it.

    ``values`` has one axis per histogram dimension, in ROOT's (x, y, z) order; ``edges`` holds one edge
    array per axis. For profiles ``values`` are the bin means and ``profile`` keeps the raw sums.

    ``labels`` holds, per axis, the alphanumeric bin labels (one string per bin, ``""`` where a bin has
    none), or an empty tuple for an axis without labels. ``stats`` are the fill-time sums of a histogram as
    stored in a file; a computed histogram (a time slice, a projection) has none and its statistics come
    from bin centres, as ROOT's do after a subtraction. ``flow`` is (Σ contents, Σ squared errors) of the
    under- and overflow bins, which are not kept but count in ROOT's entries after a subtraction.
    """

    name: str
    root_class: str
    values: FloatArray
    variances: FloatArray
    edges: tuple[FloatArray, ...]
    title: str = ""
    axis_titles: tuple[str, ...] = ()
    entries: float = 0.0
    profile: ProfileSums | None = None
    labels: tuple[tuple[str, ...], ...] = ()
    stats: FillStats | None = None
    flow: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        if self.values.ndim != len(self.edges):
            raise ValueError(f"{self.name}: {self.values.ndim}-d values but {len(self.edges)} edge arrays")
        expected = tuple(len(e) - 1 for e in self.edges)
        if self.values.shape != expected:
            raise ValueError(f"{self.name}: values shape {self.values.shape} does not match edges {expected}")
        if self.variances.shape != self.values.shape:
            raise ValueError(f"{self.name}: variances shape differs from values shape")
        if len(self.labels) > len(self.edges):
            raise ValueError(f"{self.name}: labels for {len(self.labels)} axes, but {self.ndim} axes")
        for axis, labels in enumerate(self.labels):
            if labels and len(labels) != expected[axis]:
                raise ValueError(f"{self.name}: {len(labels)} labels on axis {axis}, {expected[axis]} bins")

    def axis_labels(self, axis: int) -> tuple[str, ...]:
        """Bin labels of ``axis`` (0 = x), empty when the axis is numeric."""
        return self.labels[axis] if axis < len(self.labels) else ()

    @property
    def ndim(self) -> int:
        return int(self.values.ndim)

    @property
    def is_profile(self) -> bool:
        return self.profile is not None

    def replace(self, **changes: object) -> Histogram:
        """A copy with some fields changed (the arrays are shared, never mutated)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RunFile:
    """One received file of a subsystem, as stored below the data folder."""

    run_number: int
    subsystem: str
    path: str  # relative to the data folder, always with forward slashes
    timestamp: datetime
    size: int
    n_events: float | None = None

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None:
            raise ValueError("RunFile.timestamp must be timezone-aware")


@dataclass(frozen=True)
class Subsystem:
    """A subsystem of a run and where its files come from (itself, or HLT when it has none)."""

    run_number: int
    name: str
    file_location: str
    files: tuple[RunFile, ...] = ()

    @property
    def start(self) -> datetime | None:
        return self.files[0].timestamp if self.files else None

    @property
    def end(self) -> datetime | None:
        return self.files[-1].timestamp if self.files else None

    @property
    def run_length_minutes(self) -> int:
        """Minutes between the first and the last file, rounded like the time-slice selection rounds.

        REF §1.4 floors instead; with receiver jitter (6 min 58 s) that made the last file unselectable.
        """
        if not self.files:
            return 0
        return round((self.files[-1].timestamp - self.files[0].timestamp).total_seconds() / 60)


@dataclass(frozen=True)
class Run:
    """A run with its HLT mode and its subsystems (ordered by name)."""

    run_number: int
    hlt_mode: str = "U"
    subsystems: tuple[Subsystem, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.run_number < 0:
            raise ValueError(f"run number must be non-negative, got {self.run_number}")

    @property
    def start(self) -> datetime | None:
        starts = [s.start for s in self.subsystems if s.start is not None]
        return min(starts) if starts else None

    @property
    def end(self) -> datetime | None:
        ends = [s.end for s in self.subsystems if s.end is not None]
        return max(ends) if ends else None

    def subsystem(self, name: str) -> Subsystem:
        from overwatch_core.errors import NotFoundError

        for sub in self.subsystems:
            if sub.name == name:
                return sub
        raise NotFoundError(f"subsystem of run {self.run_number}", name, [s.name for s in self.subsystems])
