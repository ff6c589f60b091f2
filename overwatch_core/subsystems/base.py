"""What a subsystem declares (groups, display options as data, derived histograms) and the pure pipeline."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from overwatch_core.checks import CheckSpec
from overwatch_core.errors import OverwatchError
from overwatch_core.model import FloatArray, Histogram

__all__ = [
    "DisplayOptions",
    "GenericSubsystem",
    "HistGroup",
    "HistogramStack",
    "Layer",
    "LayerStyle",
    "Line",
    "Moments",
    "ProcessedGroup",
    "ProcessedHistogram",
    "ProcessingOptionError",
    "ProcessingOptions",
    "SecondaryAxis",
    "SourceHistogram",
    "SubsystemDefinition",
    "TrendKind",
    "TrendingSource",
    "available_histograms",
    "classify",
    "histograms_with_derived",
    "plain_layers",
    "process_subsystem",
    "scale_by_events",
    "scaling_applies",
    "statistics_information",
    "trend_value",
    "trending_sources_from",
    "x_moments",
]

TrendKind = Literal["max", "mean", "stddev"]

#: Prefix of a trend's name per kind, as the original named its trending objects (REF §5.1).
TREND_PREFIXES: Mapping[TrendKind, str] = MappingProxyType({"max": "max", "mean": "mean", "stddev": "stdDev"})

#: Upper end of the user's hot-channel slider; the value is divided by this to give the threshold.
MAX_HOT_CHANNEL_THRESHOLD = 1000

MarkerSymbol = Literal["circle", "circle-open"]


class ProcessingOptionError(OverwatchError, ValueError):
    """A processing option (from a time-slice request or a subsystem's defaults) is out of range."""

    category = "Invalid processing option"


@dataclass(frozen=True)
class HistGroup:
    """A named group of histograms on the run page: a histogram belongs to it when ``pattern`` is in its name.

    The empty pattern is the catch-all. A grid group is shown as a grid of small plots, one per super module.
    """

    name: str
    pattern: str
    grid: bool = False

    def claims(self, hist_name: str) -> bool:
        return self.pattern in hist_name


@dataclass(frozen=True)
class Line:
    """A straight line drawn over a plot, in the plot's own axis units (e.g. one TRU boundary)."""

    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class SecondaryAxis:
    """A second x axis at the top showing the first one times ``scale`` (ADC counts as energy, say)."""

    scale: float
    title: str

    def convert(self, value: float) -> float:
        return value * self.scale


@dataclass(frozen=True)
class DisplayOptions:
    """How to draw a histogram, as data: the drawing code turns this into a figure, nothing is drawn here.

    Titles are ROOT TLatex strings (``dN/dp_{T}``, ``#gamma``) as the detector groups wrote them; ``None``
    keeps the histogram's own axis title. ``colour_scale`` names a colour scale for 2D maps, ``None`` leaves
    the dashboard's default. ``title`` replaces the histogram's own title when shown.
    """

    log_x: bool = False
    log_y: bool = False
    log_z: bool = False
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    x_title: str | None = None
    y_title: str | None = None
    z_title: str | None = None
    colour_scale: str | None = None
    grid: bool = False
    lines: tuple[Line, ...] = ()
    secondary_x_axis: SecondaryAxis | None = None
    show_title: bool = True
    title: str | None = None


@dataclass(frozen=True)
class LayerStyle:
    """Colour and marker for one layer; ``marker=None`` means the usual histogram line (or heat map)."""

    colour: str | None = None
    marker: MarkerSymbol | None = None


@dataclass(frozen=True)
class Layer:
    """One histogram drawn in a figure, with the legend label it gets when there are several."""

    label: str
    hist: Histogram
    style: LayerStyle = LayerStyle()


@dataclass(frozen=True, eq=False)
class HistogramStack:
    """Histograms of one quantity drawn overlaid (EMCal and DCal spectra), named after the first."""

    name: str
    labels: tuple[str, ...]
    hists: tuple[Histogram, ...]

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.hists) or len(self.hists) < 2:
            raise ValueError(f"{self.name}: a stack needs two or more histograms, each with one label")

    @property
    def root_class(self) -> str:
        return "THStack"


#: What a subsystem processes: a histogram read from a file or derived from them, or a stack of them.
SourceHistogram = Histogram | HistogramStack


@dataclass(frozen=True, eq=False)
class ProcessedHistogram:
    """A histogram ready to draw: its (possibly scaled) layers, display options and derived information.

    ``information`` holds label → text shown next to the plot (e.g. "Fast OR Hot Channels ID").
    """

    name: str
    pretty_name: str
    layers: tuple[Layer, ...]
    display: DisplayOptions
    information: Mapping[str, str]
    root_class: str

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError(f"{self.name}: a processed histogram needs at least one layer")
        object.__setattr__(self, "information", MappingProxyType(dict(self.information)))

    def __reduce__(self) -> tuple[type[ProcessedHistogram], tuple[object, ...]]:
        """Pickle with a plain dict (a mappingproxy cannot be pickled) for the on-disk view cache."""
        information = dict(self.information)
        return (
            ProcessedHistogram,
            (self.name, self.pretty_name, self.layers, self.display, information, self.root_class),
        )


@dataclass(frozen=True, eq=False)
class ProcessedGroup:
    """One group of the run page with its processed histograms, in display order."""

    name: str
    grid: bool
    histograms: tuple[ProcessedHistogram, ...]


@dataclass(frozen=True)
class ProcessingOptions:
    """Options a user may change for a time slice; each subsystem has its own defaults.

    ``hot_channel_threshold`` is the slider value 0-1000: 0 keeps each histogram's default threshold, any
    other value means value / 1000 (REF §3.5).
    """

    scale_hists: bool = True
    hot_channel_threshold: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.scale_hists, bool):
            raise ProcessingOptionError(f"scale_hists must be true or false, got {self.scale_hists!r}")
        threshold = self.hot_channel_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int):
            raise ProcessingOptionError(f"hot_channel_threshold must be an integer, got {threshold!r}")
        if not 0 <= threshold <= MAX_HOT_CHANNEL_THRESHOLD:
            raise ProcessingOptionError(
                f"hot_channel_threshold must be between 0 and {MAX_HOT_CHANNEL_THRESHOLD}, got {threshold}"
            )


@dataclass(frozen=True)
class TrendingSource:
    """One trend: which histogram feeds it and which number of it is recorded (REF §5.1).

    A ``per_event`` trend is taken of the histogram divided by its file's own event count, as the original
    trended the histograms it had scaled for display (REF §3.3 step 5); without events it has no value.
    """

    trend_name: str
    hist_name: str
    kind: TrendKind
    description: str
    per_event: bool = False

    def __post_init__(self) -> None:
        if self.kind not in TREND_PREFIXES:
            raise ValueError(f"{self.trend_name}: unknown trend kind {self.kind!r}")


def trending_sources_from(
    table: Iterable[tuple[str, str, str]],
    kinds: Collection[TrendKind],
    per_event: Callable[[str], bool] = lambda _hist_name: False,
) -> tuple[TrendingSource, ...]:
    """Trends named ``<prefix><name>`` and described ``"<prefix>: <desc>"`` from (name, desc, hist) rows.

    Kinds form the outer loop, as in the original, so the order of trends matches its listing. Rows whose
    histogram ``per_event`` selects are trended per event; their maximum is also kept as counted, as
    ``max<name>Unscaled`` (mean and standard deviation do not change with a scale).
    """
    rows = tuple(table)
    sources = [
        TrendingSource(
            f"{TREND_PREFIXES[kind]}{name}",
            hist_name,
            kind,
            f"{TREND_PREFIXES[kind]}: {desc}" + (" (per event)" if per_event(hist_name) else ""),
            per_event(hist_name),
        )
        for kind in kinds
        for name, desc, hist_name in rows
    ]
    sources += [
        TrendingSource(f"max{name}Unscaled", hist_name, "max", f"max: {desc} (as counted, not per event)")
        for name, desc, hist_name in rows
        if "max" in kinds and per_event(hist_name)
    ]
    return tuple(sources)


@runtime_checkable
class SubsystemDefinition(Protocol):
    """Everything the core needs to know about one subsystem; implementations are plain, stateless objects."""

    @property
    def name(self) -> str: ...

    @property
    def default_options(self) -> ProcessingOptions: ...

    @property
    def uses_hot_channel_threshold(self) -> bool:
        """Whether the hot-channel threshold option changes anything (the time-slice panel shows it)."""
        ...

    def groups(self, own_files: bool) -> tuple[HistGroup, ...]:
        """Groups in display order; with own files the last one is a catch-all."""
        ...

    def derived(self, hists: Mapping[str, Histogram], own_files: bool) -> dict[str, SourceHistogram]:
        """New histograms and stacks made from ``hists``; a stack hides its members from the listing."""
        ...

    def process(
        self, hist: SourceHistogram, options: ProcessingOptions, n_events: float | None
    ) -> ProcessedHistogram:
        """Pretty name, display options, scaling and derived information for one histogram."""
        ...

    def trending_sources(self) -> tuple[TrendingSource, ...]: ...

    def default_checks(self) -> tuple[CheckSpec, ...]:
        """The automatic checks this subsystem's histograms get unless the configuration changes them."""
        ...


# --- scaling -----------------------------------------------------------------------------------------------


def scaling_applies(options: ProcessingOptions, n_events: float | None) -> bool:
    """Scale only when asked and the event count is a usable positive number (never divide by 0 or None)."""
    return options.scale_hists and n_events is not None and math.isfinite(n_events) and n_events > 0


def scale_by_events(hist: Histogram, n_events: float) -> Histogram:
    """Contents divided by the event count, variances by its square; profiles hold means and stay as is."""
    if hist.is_profile:
        return hist
    factor = 1.0 / n_events
    return hist.replace(
        values=hist.values * factor,
        variances=hist.variances * factor * factor,
        stats=None if hist.stats is None else hist.stats.scaled(factor),
    )


def plain_layers(
    item: SourceHistogram, options: ProcessingOptions, n_events: float | None, label: str
) -> tuple[Layer, ...]:
    """Layers of a histogram or stack, every one scaled when scaling applies, in the default style."""
    scale = scaling_applies(options, n_events)
    hists = item.hists if isinstance(item, HistogramStack) else (item,)
    labels = item.labels if isinstance(item, HistogramStack) else (label,)
    return tuple(
        Layer(lbl, scale_by_events(h, n_events) if scale and n_events else h)
        for lbl, h in zip(labels, hists, strict=True)
    )


# --- classification and the pipeline ------------------------------------------------------------------------


def available_histograms(
    definition: SubsystemDefinition, hists: Mapping[str, Histogram], own_files: bool
) -> dict[str, SourceHistogram]:
    """The histograms of a file plus the derived ones; a histogram that went into a stack is shown only there.

    Keys of ``hists`` are histogram names (``dir/name`` as read). A derived item replaces a read one of the
    same name, which is how an EMCal spectrum gives its place to the EMCal/DCal stack named after it.
    """
    derived = definition.derived(hists, own_files)
    stacked = {h.name for item in derived.values() if isinstance(item, HistogramStack) for h in item.hists}
    available: dict[str, SourceHistogram] = {n: h for n, h in hists.items() if n not in stacked}
    available.update(derived)
    return available


def histograms_with_derived(
    definition: SubsystemDefinition, hists: Mapping[str, Histogram], own_files: bool
) -> dict[str, Histogram]:
    """The file's histograms plus the derived plain ones, stacked members kept: what trends read.

    Some trend sources exist only as derived histograms (TPC's ``…_restrictedPtEta``), so looking trend
    sources up in the file alone would leave those trends empty.
    """
    derived = definition.derived(hists, own_files)
    return {**hists, **{n: h for n, h in derived.items() if isinstance(h, Histogram)}}


def classify(
    groups: Iterable[HistGroup], names: Iterable[str]
) -> tuple[tuple[HistGroup, tuple[str, ...]], ...]:
    """Each name goes to the first group that claims it; names in name order, SM order in grid groups.

    A name no group claims is left out. That only happens for a subsystem reading HLT's files (its groups
    have no catch-all then): such histograms are HLT's and are shown there, not lost.
    """
    ordered_groups = tuple(groups)
    members: dict[int, list[str]] = {i: [] for i in range(len(ordered_groups))}
    for name in sorted(names):
        index = next((i for i, g in enumerate(ordered_groups) if g.claims(name)), None)
        if index is not None:
            members[index].append(name)
    return tuple(
        (group, tuple(sorted(members[i], key=_super_module_key) if group.grid else members[i]))
        for i, group in enumerate(ordered_groups)
    )


_TRAILING_NUMBER = re.compile(r"(\d+)$")


def _super_module_key(name: str) -> tuple[str, int]:
    """Sort ``…_SM10`` after ``…_SM9``: by the name without its trailing number, then by that number."""
    match = _TRAILING_NUMBER.search(name)
    if match is None:
        return (name, -1)
    return (name[: match.start()], int(match.group(1)))


def process_subsystem(
    definition: SubsystemDefinition,
    hists: Mapping[str, Histogram],
    n_events: float | None,
    options: ProcessingOptions | None,
    own_files: bool,
) -> tuple[ProcessedGroup, ...]:
    """Derive, classify and process every histogram of one file (or time slice); empty groups are omitted.

    ``options=None`` means the subsystem's defaults. ``n_events`` is the event count of exactly the data in
    ``hists``, so a later file or a time slice is never scaled with a stale count (REF §11.2 item 3).
    """
    chosen = definition.default_options if options is None else options
    available = available_histograms(definition, hists, own_files)
    return tuple(
        ProcessedGroup(
            group.name,
            group.grid,
            tuple(
                _with_statistics(definition.process(available[n], chosen, n_events), available[n])
                for n in names
            ),
        )
        for group, names in classify(definition.groups(own_files), available)
        if names
    )


def _with_statistics(processed: ProcessedHistogram, source: SourceHistogram) -> ProcessedHistogram:
    """Add the source histogram's statistics to the information panel (stacks show their parts)."""
    if not isinstance(source, Histogram):
        return processed
    information = {**processed.information, **statistics_information(source)}
    return dataclasses.replace(processed, information=information)


# --- the generic subsystem ----------------------------------------------------------------------------------

#: Every histogram: not empty where the reference run filled it. The χ² shape test against the reference
#: is declared but off: with run-level changes of gains and vertex positions and 10⁵ entries it flags
#: healthy runs; switch it on for chosen histograms (``[[checks.HLT]] name = "shape-vs-reference"``,
#: ``enabled = true``, ``pattern = …``).
GENERIC_CHECKS = (
    CheckSpec("not-empty", "empty"),
    CheckSpec("shape-vs-reference", "chi2", params={"medium_below": 1e-3, "bad_below": 1e-6}, enabled=False),
)


@dataclass(frozen=True)
class GenericSubsystem:
    """A subsystem with no detector-specific rules: one group, titles shown, no scaling unless asked for.

    With its own files the group is a catch-all; reading HLT's files it takes only names containing the
    subsystem's name (REF §3.2 step 5), the rest being HLT's. HLT itself is one of these, with trends.
    """

    name: str
    trends: tuple[TrendingSource, ...] = ()
    default_options: ProcessingOptions = field(default_factory=lambda: ProcessingOptions(scale_hists=False))
    uses_hot_channel_threshold: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a subsystem needs a name")

    def groups(self, own_files: bool) -> tuple[HistGroup, ...]:
        """One group of every histogram, shown as a grid of small plots (HLT's 39 would be a long page)."""
        return (HistGroup(f"{self.name} Histograms", "" if own_files else self.name, grid=True),)

    def derived(self, hists: Mapping[str, Histogram], own_files: bool) -> dict[str, SourceHistogram]:
        return {}

    def process(
        self, hist: SourceHistogram, options: ProcessingOptions, n_events: float | None
    ) -> ProcessedHistogram:
        layers = plain_layers(hist, options, n_events, hist.name)
        return ProcessedHistogram(hist.name, hist.name, layers, DisplayOptions(), {}, hist.root_class)

    def trending_sources(self) -> tuple[TrendingSource, ...]:
        return self.trends

    def default_checks(self) -> tuple[CheckSpec, ...]:
        return GENERIC_CHECKS


# --- trend values -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moments:
    """Mean and standard deviation along x with ROOT's errors, and where they came from."""

    mean: float
    std_dev: float
    n_eff: float
    from_fill_sums: bool

    @property
    def mean_error(self) -> float:
        """ROOT's GetMeanError: stddev / sqrt(effective entries)."""
        return self.std_dev / math.sqrt(self.n_eff) if self.n_eff > 0 else 0.0

    @property
    def std_dev_error(self) -> float:
        """ROOT's GetStdDevError: stddev / sqrt(2 · effective entries)."""
        return self.std_dev / math.sqrt(2 * self.n_eff) if self.n_eff > 0 else 0.0

    @property
    def source(self) -> str:
        if self.from_fill_sums:
            return "fill-time sums stored in the file"
        return "bin centres: a computed histogram, as ROOT after a subtraction"


#: ROOT's GetMaximum only counts bin contents below this (its default ``maxval``, FLT_MAX).
_FLT_MAX = float(np.finfo(np.float32).max)


def trend_value(hist: Histogram, kind: TrendKind) -> tuple[float, float | None]:
    """The number a trend records for ``hist``, with its error: ROOT's GetMaximum, GetMean or GetStdDev.

    Mean and standard deviation are ROOT's (see ``moments``); for 2D and 3D histograms the x axis is used
    (ROOT's default axis 1). The maximum is the largest bin content below FLT_MAX, as ROOT's GetMaximum
    takes it (NaN and infinite bins are left out), and has no error. A value may be NaN or infinite for a
    broken file: the caller decides. The standard deviation of a histogram whose mean is not finite is NaN
    (ROOT's GetStdDev answers 0 there, which a trend would show as a real value).
    """
    if kind == "max":
        counted = hist.values[hist.values < _FLT_MAX]  # NaN compares false, so it is left out too
        return (float(np.max(counted)) if counted.size else math.nan), None
    moments = x_moments(hist)
    if kind == "mean":
        return moments.mean, moments.mean_error
    if not math.isfinite(moments.mean):  # ROOT's GetStdDev says 0 here; a trend must not show a fake 0
        return math.nan, None
    return moments.std_dev, moments.std_dev_error


def x_moments(hist: Histogram) -> Moments:
    """Mean, standard deviation and effective entries along x, as ROOT's GetStats gives them.

    A stored histogram has the sums gathered while filling (``hist.stats``); ROOT uses those, so a FastOR
    filled at integer IDs has its true mean, not the bin centres' (half a bin off). A computed histogram (a
    time slice, a projection) has none: its moments come from bin centres, as ROOT's after ``Add(h, -1)``.
    Effective entries are (Σw)²/Σw², or |Σw| when Σw² is 0 (ROOT's GetEffectiveEntries).
    """
    if hist.stats is not None:
        stats = hist.stats
        return _moments(stats.sum_w, stats.sum_w2, stats.sum_wx[0], stats.sum_wx2[0], True)
    weights = _along_x(hist.profile.sum_w if hist.profile is not None else hist.values)
    squares = _along_x(hist.profile.sum_w if hist.profile is not None else hist.variances)
    edges = hist.edges[0]
    centres = (edges[:-1] + edges[1:]) / 2
    return _moments(
        float(weights.sum()),
        float(squares.sum()),
        float((weights * centres).sum()),
        float((weights * centres**2).sum()),
        False,
    )


def _moments(sum_w: float, sum_w2: float, sum_wx: float, sum_wx2: float, stored: bool) -> Moments:
    """ROOT's GetMean/GetStdDev from the four sums (0s for an empty histogram). Profiles are weighted by
    their bin entries; their sum of squared weights is not kept, so n_eff assumes unit weights for them."""
    if sum_w == 0:
        return Moments(0.0, 0.0, 0.0, stored)
    mean = sum_wx / sum_w
    variance = abs(sum_wx2 / sum_w - mean**2)
    std_dev = math.sqrt(variance) if variance > 0 else 0.0  # ROOT's GetStdDev: 0 for a NaN variance too
    n_eff = sum_w**2 / sum_w2 if sum_w2 else abs(sum_w)
    return Moments(mean, std_dev, n_eff, stored)


def statistics_information(hist: Histogram) -> dict[str, str]:
    """The info-panel line of a histogram's statistics, naming where they come from."""
    moments = x_moments(hist)
    text = (
        f"mean {moments.mean:.6g} ± {moments.mean_error:.2g}, std dev {moments.std_dev:.6g} "
        f"± {moments.std_dev_error:.2g}, entries {hist.entries:.6g} (from {moments.source})"
    )
    return {"Statistics": text}


def _along_x(array: FloatArray) -> FloatArray:
    """Sum over every axis but x."""
    return array.sum(axis=tuple(range(1, array.ndim))) if array.ndim > 1 else array
