"""Time slices: a validated request, file selection by whole minute, and subtraction of cumulative files."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from overwatch_core.errors import OverwatchError
from overwatch_core.model import Histogram, ProfileSums, RunFile
from overwatch_core.subsystems.base import MAX_HOT_CHANNEL_THRESHOLD, ProcessingOptions

Progress = Callable[[int, int], None]


class TimeSliceError(OverwatchError):
    """A time-slice request is invalid for this run, or no file lies in its window."""

    category = "Time slice error"


def _whole_number(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TimeSliceError(f"{name} must be a number of minutes, got {value!r}")
    return round(value)


@dataclass(frozen=True)
class TimeSliceRequest:
    """Minutes since the subsystem's first file, and the processing options to apply to the slice."""

    min_time: int
    max_time: int
    scale_hists: bool = True
    hot_channel_threshold: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "min_time", _whole_number("min_time", self.min_time))
        object.__setattr__(self, "max_time", _whole_number("max_time", self.max_time))
        if self.min_time < 0:
            raise TimeSliceError(f"min_time must be at least 0 minutes, got {self.min_time}")
        if self.min_time >= self.max_time:
            raise TimeSliceError(
                f"max_time ({self.max_time} min) must be greater than min_time ({self.min_time} min)"
            )
        threshold = self.hot_channel_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int):
            raise TimeSliceError(f"hot_channel_threshold must be an integer 0–1000, got {threshold!r}")
        if not 0 <= threshold <= MAX_HOT_CHANNEL_THRESHOLD:
            raise TimeSliceError(f"hot_channel_threshold must be between 0 and 1000, got {threshold}")

    @property
    def options(self) -> ProcessingOptions:
        return ProcessingOptions(self.scale_hists, self.hot_channel_threshold)

    def check_run_length(self, run_length: int) -> None:
        """The window must lie inside the run (0 … run length in whole minutes)."""
        if self.max_time > run_length:
            raise TimeSliceError(
                f"max_time {self.max_time} min is beyond the run, which is {run_length} min long "
                f"(valid: 0–{run_length})"
            )

    def is_full_run(self, run_length: int, defaults: ProcessingOptions) -> bool:
        """The whole run with the subsystem's default options: the full-run view answers it as is."""
        return self.min_time == 0 and self.max_time >= run_length and self.options == defaults


@dataclass(frozen=True)
class FileSelection:
    """The files a window selects: ``first`` is subtracted from ``last`` unless the run start is included."""

    files: tuple[RunFile, ...]
    requested: tuple[int, int]
    shown: tuple[int, int]
    from_run_start: bool

    @property
    def first(self) -> RunFile:
        return self.files[0]

    @property
    def last(self) -> RunFile:
        return self.files[-1]


def minutes_into_run(run_file: RunFile, start: RunFile) -> int:
    """Whole minutes since the first file, rounded because receiver seconds vary (REF §4.2 step 6)."""
    return round((run_file.timestamp - start.timestamp).total_seconds() / 60)


def select_files(files: Sequence[RunFile], request: TimeSliceRequest) -> FileSelection:
    """Files whose rounded minute lies in [min_time, max_time], in time order; TimeSliceError when none."""
    if not files:
        raise TimeSliceError("the subsystem has no files")
    ordered = sorted(files, key=lambda f: f.timestamp)
    start = ordered[0]
    chosen = tuple(
        f for f in ordered if request.min_time <= minutes_into_run(f, start) <= request.max_time
    )
    if not chosen:
        raise TimeSliceError(
            f"no file lies in the requested window {request.min_time}–{request.max_time} min; files exist at "
            f"minutes {', '.join(str(minutes_into_run(f, start)) for f in ordered[:30])}"
        )
    return FileSelection(
        files=chosen,
        requested=(request.min_time, request.max_time),
        shown=(minutes_into_run(chosen[0], start), minutes_into_run(chosen[-1], start)),
        from_run_start=chosen[0] == start,
    )


def _profile_change(a: ProfileSums, b: ProfileSums, sign: float) -> ProfileSums:
    return ProfileSums(a.sum_w + sign * b.sum_w, a.sum_wy + sign * b.sum_wy, a.sum_wy2 + sign * b.sum_wy2)


def _profile_hist(hist: Histogram, sums: ProfileSums) -> Histogram:
    """Bin means and their squared errors from profile sums (ROOT's default error option)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(sums.sum_w > 0, sums.sum_wy / sums.sum_w, 0.0)
        spread = np.where(sums.sum_w > 0, sums.sum_wy2 / sums.sum_w - mean**2, 0.0)
        variance = np.where(sums.sum_w > 0, np.clip(spread, 0.0, None) / sums.sum_w, 0.0)
    return hist.replace(values=mean, variances=variance, profile=sums)


def combine(later: Histogram, earlier: Histogram, sign: float) -> Histogram:
    """``later + sign·earlier`` bin by bin (sign −1: difference of cumulative snapshots, +1: a sum).

    Variances add in both cases; for profiles the underlying sums are combined and means recomputed.
    As in ROOT's TH1::Add, a sum keeps the fill-time statistics (added) while a difference resets them:
    its statistics come from bin centres and its entries are the effective entries.
    """
    if later.values.shape != earlier.values.shape:
        raise TimeSliceError(
            f"histogram {later.name!r} changed binning between files ({earlier.values.shape} → "
            f"{later.values.shape}); it cannot be sliced"
        )
    if later.profile is not None and earlier.profile is not None:
        sums = _profile_change(later.profile, earlier.profile, sign)
        result = _profile_hist(later, sums)
    else:
        result = later.replace(
            values=later.values + sign * earlier.values,
            variances=later.variances + earlier.variances,
            flow=(later.flow[0] + sign * earlier.flow[0], later.flow[1] + earlier.flow[1]),
        )
    if sign > 0 and later.stats is not None and earlier.stats is not None:
        return result.replace(stats=later.stats.plus(earlier.stats), entries=later.entries + earlier.entries)
    return result.replace(stats=None, entries=reset_entries(result))


def reset_entries(hist: Histogram) -> float:
    """The entries ROOT gives a histogram after ``Add(h, -1)``: the effective entries of all its bins, flow
    bins included, (Σw)²/Σe², or |Σw| without errors (the fill-time count is gone after a subtraction)."""
    weights = hist.profile.sum_w if hist.profile is not None else hist.values
    sum_w = float(np.sum(weights)) + hist.flow[0]
    sum_e2 = float(np.sum(hist.profile.sum_w if hist.profile is not None else hist.variances)) + hist.flow[1]
    if sum_w > 0 and sum_e2 > 0:
        return sum_w * sum_w / sum_e2
    return abs(sum_w)


def slice_histograms(
    later: Mapping[str, Histogram],
    earlier: Mapping[str, Histogram] | None,
    sign: float = -1.0,
    progress: Progress | None = None,
) -> dict[str, Histogram]:
    """Combine two files' histograms by name; a histogram missing from ``earlier`` is new, kept as is."""
    result: dict[str, Histogram] = {}
    total = len(later)
    for done, (name, hist) in enumerate(later.items(), start=1):
        other = None if earlier is None else earlier.get(name)
        result[name] = hist if other is None else combine(hist, other, sign)
        if progress is not None and (done % 25 == 0 or done == total):
            progress(done, total)
    return result


def sliced_event_count(selection: FileSelection, cumulative: bool) -> float | None:
    """Events in exactly the slice: latest − earliest (cumulative), or the sum of the files (otherwise)."""
    counts = [f.n_events for f in selection.files]
    if any(c is None for c in counts):
        return None
    numbers = [float(c) for c in counts if c is not None]
    if not cumulative:
        return sum(numbers)
    return numbers[-1] if selection.from_run_start else numbers[-1] - numbers[0]
