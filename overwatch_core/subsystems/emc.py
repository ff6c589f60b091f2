"""EMCal: groups, pretty names, TRU grid, patch spectra and EMCal/DCal stacks, FastOR hot channels."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from overwatch_core.checks import CheckSpec
from overwatch_core.model import Histogram
from overwatch_core.subsystems.base import (
    DisplayOptions,
    HistGroup,
    HistogramStack,
    Layer,
    LayerStyle,
    Line,
    ProcessedHistogram,
    ProcessingOptions,
    SecondaryAxis,
    SourceHistogram,
    TrendingSource,
    scale_by_events,
    scaling_applies,
    trending_sources_from,
)

__all__ = [
    "ADC_TO_GEV",
    "EMC",
    "ENERGY_AXIS",
    "FASTOR_SUMMARY_NAMES",
    "TRU_GRID",
    "EMCSubsystem",
    "hot_channel_threshold",
    "hot_channels",
    "pretty_name",
]

PREFIX = "EMCTRQA_hist"

#: EMCal L1 trigger ADC counts to GeV (the original's kEMCL1ADCtoGeV).
ADC_TO_GEV = 0.07874
ENERGY_AXIS = SecondaryAxis(scale=ADC_TO_GEV, title="Energy (GeV)")

#: The 1D/2D FastOR summaries the hot-channel finder runs on (``…FastORL0Time`` is deliberately absent).
FASTOR_SUMMARY_NAMES = frozenset(
    f"{PREFIX}FastOR{level}{kind}" for level in ("L0", "L1") for kind in ("", "Amp", "LargeAmp")
)

#: Substrings of EMCal spectra that get a DCal partner in a stack (the partner replaces EMCal by DCal).
STACK_SELECTORS = ("EMCalMaxPatchAmpEMC", "EMCalPatchAmpEMC")

#: EMC histograms are shown per event unless the user asks otherwise; 0 = default hot-channel thresholds.
DEFAULT_OPTIONS = ProcessingOptions(scale_hists=True, hot_channel_threshold=0)

SCALED_LABEL = "entries / events"
UNSCALED_LABEL = "entries"

_GRID_GROUPS = (
    ("FEE vs TRU", "FEEvsTRU_SM"),
    ("FEE vs STU", "FEEvsSTU_SM"),
    ("FastOR L0 (hits with ADC > 0)", "FastORL0_SM"),
    ("FastOR L0 Amp (hits weighted with ADC value)", "FastORL0Amp_SM"),
    ("FastOR L0 Large Amp (hits above 400 ADC)", "FastORL0LargeAmp_SM"),
    ("FastOR L1 (hits with ADC > 0)", "FastORL1_SM"),
    ("FastOR L1 Amp (hits weighted with ADC value)", "FastORL1Amp_SM"),
    ("FastOR L1 Large Amp (hits above 400 ADC)", "FastORL1LargeAmp_SM"),
)
_PLAIN_GROUPS = (
    ("EMCal cluster level", "Cluster"),
    ("EMCal cell level", "hIDvs"),
    ("EMCal vs DCal Median", "EMCalMedianVsDCalMedian"),
    ("Gamma Trigger Low", "GAL"),
    ("Gamma Trigger High", "GAH"),
    ("Jet Trigger Low", "JEL"),
    ("Jet Trigger High", "JEH"),
    ("L0", "EMCL0"),
    ("Background", "BKG"),
    ("FastOR", "FastOR"),
    ("Other EMC", "EMC"),
)
GROUPS = (
    *(HistGroup(n, p, grid=True) for n, p in _GRID_GROUPS),
    *(HistGroup(n, p) for n, p in _PLAIN_GROUPS),
)
CATCH_ALL = HistGroup("Non EMC", "")


def _tru_grid() -> tuple[Line, ...]:
    """TRU boundaries in FastOR column/row units: full EMCal SMs, 1/3 SMs, DCal around PHOS, 1/3 DCal SMs."""
    emcal_columns = [Line(x, 0, x, 60) for x in (8, 16, 24, 32, 40)]
    emcal_rows = [Line(0, y, 48, y) for y in (12, 24, 36, 48, 60)]
    emcal_thirds = [Line(0, 64, 48, 64), Line(24, 60, 24, 64)]
    dcal_columns = [Line(x, 64, x, 100) for x in (8, 16, 32, 40)]  # no x=24: the PHOS hole
    dcal_rows = [Line(x0, y, x1, y) for y in (76, 88) for x0, x1 in ((0, 16), (32, 48))]
    dcal_thirds = [Line(0, 100, 48, 100), Line(24, 100, 24, 104)]
    return (*emcal_columns, *emcal_rows, *emcal_thirds, *dcal_columns, *dcal_rows, *dcal_thirds)


TRU_GRID = _tru_grid()

# ROOT's kRed+1 and kBlue+1, which the original used for EMCal/DCal and the FastOR markers.
_RED = "#cc0000"
_BLUE = "#0000cc"
FASTOR_STYLE = LayerStyle(colour=_BLUE, marker="circle")
STACK_STYLES: Mapping[str, LayerStyle] = {
    "EMCal": LayerStyle(colour=_RED, marker="circle"),
    "DCal": LayerStyle(colour=_BLUE, marker="circle-open"),
}


@dataclass(frozen=True)
class _Look:
    """Pretty name and axis settings of one cluster histogram (the original had a function per name)."""

    pretty_name: str
    x_title: str | None = None
    y_title: str | None = None
    log_x: bool = False
    log_y: bool = False
    log_z: bool = False
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None


_ENERGY = "Cluster Energy (GeV)"
_CLUSTER_LOOKS: Mapping[str, _Look] = {
    "hClusterCells": _Look("Number of cells/cluster", "Number of cells/cluster", "Number", log_y=True),
    "hClusterEneCells": _Look(
        "Cluster E vs # of cells/cluster", _ENERGY, "dN_{cells/cluster}/dE", log_x=True, log_z=True
    ),
    "hClusterEneEMCAL": _Look("Cluster E", _ENERGY, "dN_{cluster}/dE", log_y=True),
    "hClusterEneVsTime": _Look("Cluster E vs Time", _ENERGY, "Cluster time (ns)"),
    "hClusterEtaVsPhi": _Look("Cluster Eta vs Phi"),
    "hClusterInvariantMass": _Look(
        "Cluster Invariant Mass", "M_{#gamma#gamma} (GeV/#it{c}^{2})", "Counts/1 MeV"
    ),
    "hClusterM02": _Look("Cluster M02", "M_{02}", "dN/dM_{02}", log_y=True),
    "hClusterM20": _Look("Cluster M20", "M_{20}", "dN/dM_{20}", log_y=True),
    "hClusterNumVsV0": _Look(
        "Number of Clusters vs V0 amplitude",
        "Number of clusters",
        "V0 amplitude",
        log_z=True,
        x_range=(0, 1000),
        y_range=(0, 500),
    ),
}


def pretty_name(name: str) -> str:
    """The name as shown: prefix dropped, cluster and cell histograms spelled out (REF §3.5)."""
    if name in _CLUSTER_LOOKS:
        return _CLUSTER_LOOKS[name].pretty_name
    if "hIDvsAmp" in name:
        return f"Cell ID vs Amplitude - {name[-2:]}"
    if "hIDvsTime" in name:
        return f"Cell ID vs Time - {name[-2:]}"
    return name.removeprefix(PREFIX).replace("hCluster", "")


# --- display rules ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Subject:
    """What the display rules look at: only the name, the dimension, and whether the data were scaled."""

    name: str
    ndim: int
    scaled: bool
    stacked: bool = False


def _general(d: DisplayOptions, s: _Subject) -> DisplayOptions:
    return replace(d, show_title=False, log_z=d.log_z or s.ndim == 2)


def _super_module(d: DisplayOptions, s: _Subject) -> DisplayOptions:
    """Per-SM maps are titled "SM <n>" so the grid is readable; FEE maps zoom on the useful range."""
    if "SM" not in s.name:
        return d
    if "_SM" in s.name[-5:]:
        d = replace(d, show_title=True, title=f"SM {s.name[s.name.find('_SM') + 3 :]}")
    if "FEE" in s.name:
        d = replace(d, log_z=True, x_range=(0, 250), y_range=(0, 20))
    return d


def _cluster(d: DisplayOptions, s: _Subject) -> DisplayOptions:
    look = _CLUSTER_LOOKS.get(s.name)
    if look is None:
        return d
    return replace(
        d,
        x_title=look.x_title or d.x_title,
        y_title=look.y_title or d.y_title,
        log_x=d.log_x or look.log_x,
        log_y=d.log_y or look.log_y,
        log_z=d.log_z or look.log_z,
        x_range=look.x_range or d.x_range,
        y_range=look.y_range or d.y_range,
    )


def _cell(d: DisplayOptions, s: _Subject) -> DisplayOptions:
    if "hIDvsAmp" in s.name:
        d = replace(d, x_title="Cell amplitude", y_title="Cell ID")
    if "hIDvsTime" in s.name:
        d = replace(d, x_title="Cell time (ns)", y_title="Cell ID")
    if s.name == "hIDvsAmpHG":
        d = replace(d, log_x=True, log_z=True)
    if s.name == "hIDvsTimeHG":
        d = replace(d, log_z=True)
    return d


def _value_title(d: DisplayOptions, s: _Subject) -> DisplayOptions:
    """Say whether the counts are per event: z axis of a map, y axis of a 1D histogram."""
    label = SCALED_LABEL if s.scaled else UNSCALED_LABEL
    return replace(d, z_title=label) if s.ndim >= 2 else replace(d, y_title=label)


def _edge_position(d: DisplayOptions, s: _Subject) -> DisplayOptions:
    if "EdgePos" not in s.name:
        return d
    d = _value_title(d, s)
    return replace(d, lines=TRU_GRID) if s.ndim == 2 else d


def _fastor_map(d: DisplayOptions, s: _Subject) -> DisplayOptions:
    if s.name not in FASTOR_SUMMARY_NAMES or s.ndim != 2:
        return d
    return replace(_value_title(d, s), lines=TRU_GRID)


def _patch_spectrum(d: DisplayOptions, s: _Subject) -> DisplayOptions:
    """Patch ADC spectra: log y and a grid; a stack also gets the per-event label and the energy axis."""
    if "PatchAmp" not in s.name or "Subtracted" in s.name or "EMCRE" in s.name:
        return d
    d = replace(d, log_y=True, grid=True)
    if s.stacked:
        d = replace(_value_title(d, s), secondary_x_axis=ENERGY_AXIS)
    return d


_LEGACY_PATCH_SPECTRA = (
    "EMCalPatchEnergy",
    "DCalPatchEnergy",
    "EMCalPatchAmp",
    "EMCalMaxPatchAmp",
    "DCalPatchAmp",
    "DCalMaxPatchAmp",
)
_LEGACY_ENERGY_AXIS = ("EMCalPatchAmp", "EMCalMaxPatchAmp", "DCalPatchAmp", "DCalMaxPatchAmp")


def _legacy_patch_spectrum(d: DisplayOptions, s: _Subject) -> DisplayOptions:
    """Older spectrum names, which the original kept handling separately (REF §3.5, legacy functions)."""
    if any(part in s.name for part in _LEGACY_PATCH_SPECTRA):
        d = replace(d, log_y=True, grid=True)
    if any(part in s.name for part in _LEGACY_ENERGY_AXIS):
        d = replace(d, secondary_x_axis=ENERGY_AXIS)
    return d


#: Applied in this order, as the original appended its processing functions; a later rule wins.
_RULES: tuple[Callable[[DisplayOptions, _Subject], DisplayOptions], ...] = (
    _general,
    _super_module,
    _cluster,
    _cell,
    _edge_position,
    _fastor_map,
    _patch_spectrum,
    _legacy_patch_spectrum,
)


def display_options(subject: _Subject) -> DisplayOptions:
    display = DisplayOptions()
    for rule in _RULES:
        display = rule(display, subject)
    return display


def _is_scaled_per_event(name: str) -> bool:
    """Per-SM maps, edge positions and FastOR summaries are shown per event; everything else as counted."""
    return "SM" in name or "EdgePos" in name or name in FASTOR_SUMMARY_NAMES


# --- hot channels -------------------------------------------------------------------------------------------


def hot_channel_threshold(hist_name: str, options: ProcessingOptions) -> float:
    """The user's slider value / 1000, or the per-histogram default the detector experts chose."""
    if options.hot_channel_threshold > 0:
        return options.hot_channel_threshold / 1000
    if "LargeAmp" in hist_name:
        return 1e-7
    if "Amp" in hist_name:
        return 1e4
    return 1e-2


def hot_channels(hist: Histogram, threshold: float) -> tuple[int, ...]:
    """FastOR IDs whose content is above ``threshold``; the ID is the 0-based bin index."""
    if hist.ndim != 1:
        raise ValueError(f"{hist.name}: hot channels are found in 1D FastOR histograms, not {hist.ndim}D")
    return tuple(int(i) for i in np.flatnonzero(hist.values > threshold))


def _hot_channel_information(hist: Histogram, options: ProcessingOptions) -> dict[str, str]:
    threshold = hot_channel_threshold(hist.name, options)
    ids = hot_channels(hist, threshold)
    return {
        "Threshold": f"{threshold:g}",
        "Fast OR Hot Channels ID": ", ".join(str(i) for i in ids) if ids else "none",
    }


# --- the subsystem ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EMCSubsystem:
    """The EMCal as the original's EMC plug-in described it (REF §3.5), with its bugs fixed."""

    name: str = "EMC"
    default_options: ProcessingOptions = DEFAULT_OPTIONS
    uses_hot_channel_threshold: bool = True  # the FastOR hot-channel finder

    def groups(self, own_files: bool) -> tuple[HistGroup, ...]:
        """The catch-all only with EMCal's own files: HLT's files hold much that is not EMCal's."""
        return (*GROUPS, CATCH_ALL) if own_files else GROUPS

    def derived(self, hists: Mapping[str, Histogram], own_files: bool) -> dict[str, SourceHistogram]:
        """EMCal/DCal stacks of the patch spectra, formed only when the DCal partner exists and both are 1D.

        The original checked for the selector with DCal in it rather than the partner's name, so it never
        formed a stack (REF §11.2 item 10); here the partner's full name is looked up.
        """
        stacks: dict[str, SourceHistogram] = {}
        for name, hist in hists.items():
            partner = hists.get(name.replace("EMCal", "DCal"))
            selected = any(s in name for s in STACK_SELECTORS)
            if selected and partner is not None and hist.ndim == partner.ndim == 1:
                stacks[name] = HistogramStack(name, ("EMCal", "DCal"), (hist, partner))
        return stacks

    def process(
        self, hist: SourceHistogram, options: ProcessingOptions, n_events: float | None
    ) -> ProcessedHistogram:
        if isinstance(hist, HistogramStack):
            return _process_stack(hist, options, n_events)
        scaled = scaling_applies(options, n_events) and _is_scaled_per_event(hist.name)
        shown = scale_by_events(hist, n_events) if scaled and n_events else hist
        display = display_options(_Subject(hist.name, hist.ndim, scaled))
        hot = hist.name in FASTOR_SUMMARY_NAMES and hist.ndim == 1
        information = _hot_channel_information(shown, options) if hot else {}
        layer = Layer(pretty_name(hist.name), shown, FASTOR_STYLE if hot else LayerStyle())
        return ProcessedHistogram(
            hist.name, pretty_name(hist.name), (layer,), display, information, hist.root_class
        )

    def trending_sources(self) -> tuple[TrendingSource, ...]:
        return TRENDING_SOURCES

    def default_checks(self) -> tuple[CheckSpec, ...]:
        return CHECKS


def _process_stack(
    stack: HistogramStack, options: ProcessingOptions, n_events: float | None
) -> ProcessedHistogram:
    """Every part scaled per event and styled EMCal red full circles, DCal blue open circles."""
    scaled = scaling_applies(options, n_events)
    layers = tuple(
        Layer(
            label,
            scale_by_events(h, n_events) if scaled and n_events else h,
            STACK_STYLES.get(label, LayerStyle()),
        )
        for label, h in zip(stack.labels, stack.hists, strict=True)
    )
    display = display_options(_Subject(stack.name, 1, scaled, stacked=True))
    return ProcessedHistogram(stack.name, pretty_name(stack.name), layers, display, {}, stack.root_class)


_EDGE_POSITION_PATCHES = (
    ("EMCGAHOffline", "EMCGAH patch Offline"),
    ("EMCGAHOnline", "EMCGAH patch Online"),
    ("EMCGAHRecalc", "EMCGAH patch Recalc"),
    ("EMCGALOnline", "EMCGAL patch Online"),
    ("EMCJEHOffline", "EMCJEH patch Offline"),
    ("EMCJEHOnline", "EMCJEH patch Online"),
    ("EMCJEHRecalc", "EMCJEH patch Recalc"),
    ("EMCJELOnline", "EMCJEL patch Online"),
    ("EMCL0Offline", "EMCL0 patch Offline"),
    ("EMCL0Online", "EMCL0 patch Online"),
    ("EMCL0Recalc", "EMCL0 patch Recalc"),
)
_FASTOR_TRENDS = (
    ("FastORL0", "L0 entries vs FastOR number"),
    ("FastORL0Amp", "L0 amplitudes vs position"),
    ("FastORL0LargeAmp", "L0 (amp>400) vs FastOR number"),
    ("FastORL0Time", "L0 trigger time vs FastOR number"),
    ("FastORL1", "L1 entries vs FastOR number"),
    ("FastORL1Amp", "L1 amplitudes"),
    ("FastORL1LargeAmp", "L1 (amp>400)"),
)
_TREND_TABLE = (
    *((f"AmpEdgePos{p}", f"Integrated amplitude {d}") for p, d in _EDGE_POSITION_PATCHES),
    ("Events", "Number of events"),
    *((f"MaxEdgePos{p}", f"Edge Position Max {d}") for p, d in _EDGE_POSITION_PATCHES),
    *_FASTOR_TRENDS,
)

#: 30 sources x {max, mean, stdDev} = 90 trends, named as the original named them (REF §5.1); the edge
#: positions and the six FastOR summaries per event, plus their maximum as counted (``…Unscaled``).
TRENDING_SOURCES = trending_sources_from(
    ((name, desc, f"{PREFIX}{name}") for name, desc in _TREND_TABLE),
    ("max", "mean", "stddev"),
    per_event=lambda hist_name: "EdgePos" in hist_name or hist_name in FASTOR_SUMMARY_NAMES,
)

#: The FastOR summaries: no hot channel (the original's per-event rule, 1e-2, 1e4 for Amp, 1e-7 for
#: LargeAmp); the L0/L1 hit maps' shape against the reference (KS); every histogram not empty.
CHECKS = (
    CheckSpec("not-empty", "empty"),
    CheckSpec("fastor-hot", "hot_channels_max", f"{PREFIX}FastORL[01]", {"max": 0, "threshold": 1e-2}),
    CheckSpec("fastor-amp-hot", "hot_channels_max", f"{PREFIX}FastORL[01]Amp", {"max": 0, "threshold": 1e4}),
    CheckSpec("fastor-large-hot", "hot_channels_max", f"{PREFIX}FastORL[01]LargeAmp", {"threshold": 1e-7}),
    CheckSpec("fastor-shape", "ks", f"{PREFIX}FastORL[01]", {"medium_below": 1e-3, "bad_below": 1e-6}),
    CheckSpec("fastor-dead", "dead_fraction_max", f"{PREFIX}FastORL[01]", {"max": 0.05}),
)

EMC = EMCSubsystem()
