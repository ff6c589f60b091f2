"""Subsystem definitions and the pure pipeline: groups, display options, stacks, hot channels, projections."""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterable, Sequence

import numpy as np
import pytest

from overwatch_core.errors import NotFoundError
from overwatch_core.model import FloatArray, Histogram, ProfileSums
from overwatch_core.subsystems import (
    REGISTRY,
    DisplayOptions,
    GenericSubsystem,
    HistogramStack,
    Line,
    ProcessedGroup,
    ProcessedHistogram,
    ProcessingOptionError,
    ProcessingOptions,
    SubsystemDefinition,
    classify,
    emc,
    get_subsystem,
    histograms_with_derived,
    hlt,
    process_subsystem,
    tpc,
    trend_value,
)
from overwatch_core.subsystems.emc import EMC, ENERGY_AXIS, TRU_GRID
from overwatch_core.subsystems.hlt import HLT
from overwatch_core.subsystems.tpc import TPC

P = "EMCTRQA_hist"

# --- histograms made in code --------------------------------------------------------------------------------


def make_hist(
    name: str,
    values: Sequence[float] | FloatArray,
    edges: Sequence[FloatArray] | None = None,
    variances: FloatArray | None = None,
    root_class: str | None = None,
    axis_titles: tuple[str, ...] = (),
) -> Histogram:
    """A histogram with unit-width bins from 0 unless edges are given; Poisson variances by default."""
    array = np.asarray(values, dtype=np.float64)
    axes = (
        tuple(edges) if edges is not None else tuple(np.arange(n + 1, dtype=np.float64) for n in array.shape)
    )
    return Histogram(
        name=name,
        root_class=root_class or f"TH{array.ndim}D",
        values=array,
        variances=array.copy() if variances is None else variances,
        edges=axes,
        axis_titles=axis_titles,
        entries=float(array.sum()),
    )


def zeros(name: str, *shape: int) -> Histogram:
    return make_hist(name, np.zeros(shape))


def hists_named(names: Iterable[str], ndim: int = 2) -> dict[str, Histogram]:
    return {n: zeros(n, *(4,) * ndim) for n in names}


def groups_of(result: Sequence[ProcessedGroup]) -> dict[str, list[str]]:
    return {g.name: [h.name for h in g.histograms] for g in result}


def find(result: Sequence[ProcessedGroup], name: str) -> ProcessedHistogram:
    return next(h for g in result for h in g.histograms if h.name == name)


def pretty(result: Sequence[ProcessedGroup], name: str) -> str:
    return find(result, name).pretty_name


# Names as the EMCal, HLT and TPC receivers wrote them (original detectors/README.md, demo data).
EMC_NAMES = [
    *(f"{P}FEEvsTRU_SM{sm}" for sm in range(20)),
    *(f"{P}FastORL0_SM{sm}" for sm in range(20)),
    *(f"{P}FastORL1LargeAmp_SM{sm}" for sm in range(3)),
    "hClusterCells",
    "hClusterEneCells",
    "hIDvsAmpHG",
    "hIDvsTimeLG",
    f"{P}EMCalMedianVsDCalMedianEMCGAH",
    f"{P}AmpEdgePosEMCGALOnline",
    f"{P}AmpEdgePosEMCGAHOffline",
    f"{P}MaxEdgePosEMCJELOnline",
    f"{P}MaxEdgePosEMCJEHRecalc",
    f"{P}MaxEdgePosEMCL0Offline",
    f"{P}BKGRhoEMCRE",
    f"{P}FastORL0",
    f"{P}FastORL0Time",
    f"{P}Events",
    f"{P}DCalMedianVsDCalMaxEMCREJEOffline",
]


# --- classification -----------------------------------------------------------------------------------------


def test_emc_groups_come_in_the_original_order_with_eight_grid_groups_first() -> None:
    groups = EMC.groups(own_files=True)
    assert [g.name for g in groups[:3]] == ["FEE vs TRU", "FEE vs STU", "FastOR L0 (hits with ADC > 0)"]
    assert [g.grid for g in groups] == [True] * 8 + [False] * 12
    assert all("_SM" in g.pattern for g in groups[:8])
    assert (groups[-2].name, groups[-2].pattern) == ("Other EMC", "EMC")
    assert (groups[-1].name, groups[-1].pattern) == ("Non EMC", "")
    assert EMC.groups(own_files=False) == groups[:-1]


def test_emc_histograms_are_classified_by_the_first_matching_group() -> None:
    hists = hists_named([*EMC_NAMES, "fHistTPCTrackPt"])
    result = groups_of(process_subsystem(EMC, hists, 1000, None, own_files=True))
    assert list(result) == [
        "FEE vs TRU",
        "FastOR L0 (hits with ADC > 0)",
        "FastOR L1 Large Amp (hits above 400 ADC)",
        "EMCal cluster level",
        "EMCal cell level",
        "EMCal vs DCal Median",
        "Gamma Trigger Low",
        "Gamma Trigger High",
        "Jet Trigger Low",
        "Jet Trigger High",
        "L0",
        "Background",
        "FastOR",
        "Other EMC",
        "Non EMC",
    ]
    assert result["FastOR"] == [f"{P}FastORL0", f"{P}FastORL0Time"]
    assert result["Other EMC"] == [f"{P}DCalMedianVsDCalMaxEMCREJEOffline", f"{P}Events"]
    assert result["Non EMC"] == ["fHistTPCTrackPt"]
    assert sum(len(v) for v in result.values()) == len(hists)


def test_without_own_files_unclaimed_histograms_are_left_to_hlt() -> None:
    hists = hists_named([f"{P}FastORL0", "fHistTPCTrackPt", "fHistZNA_VZEROTrigChargeA"])
    result = groups_of(process_subsystem(EMC, hists, 10, None, own_files=False))
    assert result == {"FastOR": [f"{P}FastORL0"]}
    # ... and HLT, whose files they are, shows every one of them.
    assert groups_of(process_subsystem(HLT, hists, 10, None, own_files=True)) == {
        "HLT Histograms": sorted(hists)
    }


def test_grid_groups_keep_super_modules_in_numeric_order() -> None:
    names = [f"{P}FEEvsTRU_SM{sm}" for sm in (10, 2, 19, 0, 1, 11, 9)]
    result = process_subsystem(EMC, hists_named(names), 100, None, own_files=True)
    (group,) = result
    assert group.grid
    assert [h.display.title for h in group.histograms] == [f"SM {sm}" for sm in (0, 1, 2, 9, 10, 11, 19)]
    assert all(h.display.show_title for h in group.histograms)


def test_classify_takes_first_group_and_reports_empty_ones() -> None:
    groups = tpc.GROUPS
    assigned = dict(classify(groups, ["Eta_vs_Phi_postracks", "Eta_postracks", "TPCQA/h_tpc_clust_x"]))
    by_name = {g.name: names for g, names in assigned.items()}
    assert by_name["TPC Cluster Eta vs Phi"] == ("Eta_vs_Phi_postracks",)
    assert by_name["TPC Cluster Eta"] == ("Eta_postracks",)
    assert by_name["TPC Cluster"] == ("TPCQA/h_tpc_clust_x",)
    assert by_name["DCAr vs Phi"] == ()


@pytest.mark.parametrize("definition", list(REGISTRY.values()), ids=list(REGISTRY))
def test_with_own_files_every_subsystem_ends_with_a_catch_all(definition: SubsystemDefinition) -> None:
    assert definition.groups(own_files=True)[-1].pattern == ""
    hists = hists_named(["something_nobody_claims", "x"])
    result = process_subsystem(definition, hists, None, None, own_files=True)
    assert sorted(n for names in groups_of(result).values() for n in names) == sorted(hists)


def test_empty_groups_are_omitted_and_options_default_to_the_subsystems() -> None:
    hists = {f"{P}FastORL0_SM3": make_hist(f"{P}FastORL0_SM3", np.full((2, 2), 8.0))}
    (group,) = process_subsystem(EMC, hists, 4, None, own_files=True)
    assert group.name == "FastOR L0 (hits with ADC > 0)"
    np.testing.assert_allclose(group.histograms[0].layers[0].hist.values, 2.0)


def test_hlt_is_one_catch_all_group_with_titles_shown() -> None:
    (group,) = HLT.groups(own_files=True)
    assert (group.name, group.pattern) == ("HLT Histograms", "")
    processed = HLT.process(zeros("fHistTPCTrackPt", 3), HLT.default_options, 10)
    assert processed.pretty_name == "fHistTPCTrackPt"
    assert processed.display.show_title


# --- EMC display options ------------------------------------------------------------------------------------


def test_emc_pretty_names() -> None:
    assert emc.pretty_name(f"{P}FastORL0") == "FastORL0"
    assert emc.pretty_name(f"{P}AmpEdgePosEMCGAHOffline") == "AmpEdgePosEMCGAHOffline"
    assert emc.pretty_name("hClusterCells") == "Number of cells/cluster"
    assert emc.pretty_name("hClusterM20") == "Cluster M20"
    assert emc.pretty_name("hClusterNewOne") == "NewOne"
    assert emc.pretty_name("hIDvsAmpHG") == "Cell ID vs Amplitude - HG"
    assert emc.pretty_name("hIDvsTimeLG") == "Cell ID vs Time - LG"
    assert emc.pretty_name("fHistTPCTrackPt") == "fHistTPCTrackPt"


def test_emc_titles_are_off_and_2d_maps_use_log_z() -> None:
    processed = EMC.process(zeros(f"{P}EMCalMedianVsDCalMedianEMCGAH", 4, 4), EMC.default_options, 10)
    assert not processed.display.show_title
    assert processed.display.log_z
    assert not EMC.process(zeros(f"{P}Events", 4), EMC.default_options, 10).display.log_z


def test_emc_cluster_and_cell_axes() -> None:
    options = EMC.default_options
    v0 = EMC.process(zeros("hClusterNumVsV0", 4, 4), options, 10).display
    assert (v0.x_title, v0.y_title) == ("Number of clusters", "V0 amplitude")
    assert (v0.x_range, v0.y_range, v0.log_z) == ((0, 1000), (0, 500), True)
    mass = EMC.process(zeros("hClusterInvariantMass", 4), options, 10).display
    assert mass.x_title == "M_{#gamma#gamma} (GeV/#it{c}^{2})"
    assert EMC.process(zeros("hClusterM02", 4), options, 10).display.log_y
    high_gain = EMC.process(zeros("hIDvsAmpHG", 4, 4), options, 10).display
    assert (high_gain.x_title, high_gain.y_title, high_gain.log_x, high_gain.log_z) == (
        "Cell amplitude",
        "Cell ID",
        True,
        True,
    )


def test_fee_maps_are_zoomed_and_scaled() -> None:
    name = f"{P}FEEvsSTU_SM7"
    processed = EMC.process(make_hist(name, np.full((3, 3), 6.0)), EMC.default_options, 3)
    assert (processed.display.x_range, processed.display.y_range) == ((0, 250), (0, 20))
    np.testing.assert_allclose(processed.layers[0].hist.values, 2.0)


def test_tru_grid_has_the_documented_lines() -> None:
    assert len(TRU_GRID) == 22
    assert len(set(TRU_GRID)) == 22
    expected = {
        *(Line(x, 0, x, 60) for x in (8, 16, 24, 32, 40)),
        *(Line(0, y, 48, y) for y in (12, 24, 36, 48, 60)),
        Line(0, 64, 48, 64),
        Line(24, 60, 24, 64),
        *(Line(x, 64, x, 100) for x in (8, 16, 32, 40)),
        Line(0, 76, 16, 76),
        Line(32, 76, 48, 76),
        Line(0, 88, 16, 88),
        Line(32, 88, 48, 88),
        Line(0, 100, 48, 100),
        Line(24, 100, 24, 104),
    }
    assert set(TRU_GRID) == expected
    assert Line(24, 64, 24, 100) not in TRU_GRID  # the PHOS hole


def test_tru_grid_goes_on_edge_position_and_fastor_maps_only() -> None:
    options = EMC.default_options
    edge = EMC.process(zeros(f"{P}MaxEdgePosEMCGAHOnline", 48, 104), options, 10).display
    fastor_map = EMC.process(zeros(f"{P}FastORL0Amp", 48, 104), options, 10).display
    fastor_1d = EMC.process(zeros(f"{P}FastORL0", 4416), options, 10).display
    assert edge.lines == TRU_GRID
    assert fastor_map.lines == TRU_GRID
    assert fastor_1d.lines == ()
    assert edge.z_title == fastor_map.z_title == "entries / events"
    unscaled = ProcessingOptions(scale_hists=False)
    assert EMC.process(zeros(f"{P}MaxEdgePosEMCGAHOnline", 4, 4), unscaled, 10).display.z_title == "entries"


# --- stacks and the energy axis -----------------------------------------------------------------------------


def patch_spectra(trigger: str = "EMCGAH", kind: str = "Online") -> dict[str, Histogram]:
    names = [
        f"{P}{det}{what}{trigger}{kind}" for det in ("EMCal", "DCal") for what in ("PatchAmp", "MaxPatchAmp")
    ]
    return {n: make_hist(n, [10.0, 20.0, 30.0, 40.0]) for n in names}


def test_emcal_and_dcal_spectra_are_stacked_with_the_partners_full_name() -> None:
    hists = patch_spectra()
    stacks = EMC.derived(hists, own_files=True)
    assert sorted(stacks) == [f"{P}EMCalMaxPatchAmpEMCGAHOnline", f"{P}EMCalPatchAmpEMCGAHOnline"]
    stack = stacks[f"{P}EMCalPatchAmpEMCGAHOnline"]
    assert isinstance(stack, HistogramStack)
    assert stack.labels == ("EMCal", "DCal")
    assert [h.name for h in stack.hists] == [f"{P}EMCalPatchAmpEMCGAHOnline", f"{P}DCalPatchAmpEMCGAHOnline"]

    (group,) = process_subsystem(EMC, hists, 10, None, own_files=True)
    assert group.name == "Gamma Trigger High"
    assert [h.name for h in group.histograms] == sorted(stacks)  # the DCal parts are shown only in the stacks


def test_stack_layers_are_styled_scaled_and_get_the_energy_axis() -> None:
    hists = patch_spectra()
    processed = find(process_subsystem(EMC, hists, 10, None, own_files=True), f"{P}EMCalPatchAmpEMCGAHOnline")
    assert processed.root_class == "THStack"
    emcal, dcal = processed.layers
    assert (emcal.label, emcal.style.colour, emcal.style.marker) == ("EMCal", "#cc0000", "circle")
    assert (dcal.label, dcal.style.colour, dcal.style.marker) == ("DCal", "#0000cc", "circle-open")
    np.testing.assert_allclose(emcal.hist.values, [1, 2, 3, 4])
    np.testing.assert_allclose(emcal.hist.variances, [0.1, 0.2, 0.3, 0.4])
    display = processed.display
    assert (display.log_y, display.grid, display.y_title) == (True, True, "entries / events")
    assert display.secondary_x_axis == ENERGY_AXIS
    assert ENERGY_AXIS.scale == 0.07874
    assert ENERGY_AXIS.title == "Energy (GeV)"
    assert ENERGY_AXIS.convert(1023) == pytest.approx(80.551, abs=1e-3)


def test_no_stack_without_the_dcal_partner() -> None:
    name = f"{P}EMCalPatchAmpEMCGAHOnline"
    hists = {name: make_hist(name, [1.0, 2.0])}
    assert EMC.derived(hists, own_files=True) == {}
    processed = find(process_subsystem(EMC, hists, 10, None, own_files=True), name)
    assert processed.root_class == "TH1D"
    assert len(processed.layers) == 1
    assert processed.display.log_y
    assert processed.display.secondary_x_axis == ENERGY_AXIS  # the legacy rule gives single spectra the axis
    np.testing.assert_allclose(processed.layers[0].hist.values, [1.0, 2.0])  # single spectra are not scaled


def displays(result: Sequence[ProcessedGroup]) -> list[DisplayOptions]:
    return [h.display for g in result for h in g.histograms]


def test_processing_is_pure_and_repeatable() -> None:
    hists = patch_spectra()
    before = {n: h.values.copy() for n, h in hists.items()}
    first = process_subsystem(EMC, hists, 10, None, own_files=True)
    second = process_subsystem(EMC, hists, 10, None, own_files=True)
    assert displays(first) == displays(second)
    for name, values in before.items():
        np.testing.assert_array_equal(hists[name].values, values)


def test_processed_histograms_survive_pickling() -> None:
    processed = EMC.process(fastor(hot=HOT), EMC.default_options, 100)
    copy = pickle.loads(pickle.dumps(processed))
    assert (copy.name, copy.pretty_name, copy.display) == (
        processed.name,
        processed.pretty_name,
        processed.display,
    )
    assert dict(copy.information) == dict(processed.information)
    np.testing.assert_array_equal(copy.layers[0].hist.values, processed.layers[0].hist.values)


# --- hot channels -------------------------------------------------------------------------------------------


def fastor(name: str = f"{P}FastORL0", hot: dict[int, float] | None = None, n: int = 40) -> Histogram:
    values = np.zeros(n)
    for fastor_id, content in (hot or {}).items():
        values[fastor_id] = content
    return make_hist(name, values)


HOT = {3: 5.0, 17: 7.0, 8: 0.5}  # with 100 events: 0.05, 0.07 and 0.005 per event


def test_hot_channels_with_the_default_threshold_on_the_scaled_histogram() -> None:
    processed = EMC.process(fastor(hot=HOT), EMC.default_options, 100)
    assert dict(processed.information) == {"Threshold": "0.01", "Fast OR Hot Channels ID": "3, 17"}
    np.testing.assert_allclose(processed.layers[0].hist.values[[3, 8, 17]], [0.05, 0.005, 0.07])
    assert (processed.layers[0].style.colour, processed.layers[0].style.marker) == ("#0000cc", "circle")


def test_hot_channels_with_the_users_threshold() -> None:
    processed = EMC.process(fastor(hot=HOT), ProcessingOptions(hot_channel_threshold=4), 100)
    assert processed.information["Threshold"] == "0.004"
    assert processed.information["Fast OR Hot Channels ID"] == "3, 8, 17"
    strict = EMC.process(fastor(hot=HOT), ProcessingOptions(hot_channel_threshold=1000), 100)
    assert strict.information["Fast OR Hot Channels ID"] == "none"


def test_hot_channels_on_unscaled_contents_when_scaling_is_off() -> None:
    processed = EMC.process(fastor(hot=HOT), ProcessingOptions(scale_hists=False), 100)
    assert processed.information["Fast OR Hot Channels ID"] == "3, 8, 17"
    np.testing.assert_allclose(processed.layers[0].hist.values[[3, 8, 17]], [5.0, 0.5, 7.0])


def test_hot_channel_default_thresholds_per_histogram() -> None:
    defaults = EMC.default_options
    assert emc.hot_channel_threshold(f"{P}FastORL1", defaults) == 1e-2
    assert emc.hot_channel_threshold(f"{P}FastORL1Amp", defaults) == 1e4
    assert emc.hot_channel_threshold(f"{P}FastORL1LargeAmp", defaults) == 1e-7
    large = EMC.process(fastor(f"{P}FastORL0LargeAmp", {5: 1e-3}), defaults, 1000)
    assert dict(large.information) == {"Threshold": "1e-07", "Fast OR Hot Channels ID": "5"}
    amp = EMC.process(fastor(f"{P}FastORL0Amp", {6: 2e7, 7: 5e6}), defaults, 1000)
    assert dict(amp.information) == {"Threshold": "10000", "Fast OR Hot Channels ID": "6"}


def test_other_histograms_have_no_hot_channel_information() -> None:
    assert EMC.process(fastor(f"{P}FastORL0Time"), EMC.default_options, 10).information == {}
    assert EMC.process(zeros(f"{P}FastORL0", 4, 4), EMC.default_options, 10).information == {}


def test_scaling_uses_the_event_count_given_and_never_divides_by_nothing() -> None:
    hist = fastor(hot={3: 5.0})
    assert EMC.process(hist, EMC.default_options, 10).layers[0].hist.values[3] == 0.5
    assert EMC.process(hist, EMC.default_options, 50).layers[0].hist.values[3] == 0.1
    for missing in (None, 0, float("nan")):
        assert EMC.process(hist, EMC.default_options, missing).layers[0].hist.values[3] == 5.0


def test_only_per_event_kinds_are_scaled_in_emc() -> None:
    cells = make_hist("hClusterCells", [4.0, 8.0])
    np.testing.assert_allclose(EMC.process(cells, EMC.default_options, 4).layers[0].hist.values, [4.0, 8.0])


def test_profiles_are_never_scaled() -> None:
    sums = ProfileSums(np.array([2.0, 2.0]), np.array([4.0, 6.0]), np.array([8.0, 18.0]))
    profile = make_hist(f"{P}FastORL0Mean_SM1", [2.0, 3.0], root_class="TProfile").replace(profile=sums)
    processed = EMC.process(profile, EMC.default_options, 10)
    np.testing.assert_allclose(processed.layers[0].hist.values, [2.0, 3.0])


@pytest.mark.parametrize("threshold", [-1, 1001, 2.5, True, "5"])
def test_hot_channel_threshold_is_an_integer_from_0_to_1000(threshold: object) -> None:
    with pytest.raises(ProcessingOptionError, match=str(threshold)):
        ProcessingOptions(hot_channel_threshold=threshold)  # type: ignore[arg-type]


def test_threshold_bounds_are_accepted() -> None:
    assert ProcessingOptions(hot_channel_threshold=0).hot_channel_threshold == 0
    assert ProcessingOptions(hot_channel_threshold=1000).hot_channel_threshold == 1000
    with pytest.raises(ProcessingOptionError, match="scale_hists"):
        ProcessingOptions(scale_hists="yes")  # type: ignore[arg-type]


def test_default_options_per_subsystem() -> None:
    assert EMC.default_options == ProcessingOptions(scale_hists=True, hot_channel_threshold=0)
    assert HLT.default_options.scale_hists is False
    assert TPC.default_options.scale_hists is False


# --- TPC projections ----------------------------------------------------------------------------------------


def axis(n: int, low: float, high: float) -> FloatArray:
    return np.linspace(low, high, n + 1)


ETA = np.arange(-15, 16) / 10  # 30 bins over -1.5..1.5 with exact edges
PHI = axis(6, 0, 2 * math.pi)
PT = np.array([0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0])
RNG_SEED = 7


def track_hist(name: str, first_axis: FloatArray, third_axis: FloatArray, title: str) -> Histogram:
    rng = np.random.default_rng(RNG_SEED + len(name))
    shape = (len(first_axis) - 1, len(ETA) - 1, len(third_axis) - 1)
    values = rng.integers(0, 50, size=shape).astype(np.float64)
    variances = values + rng.random(shape)  # distinct from values, so that sums of variances are checked
    return make_hist(name, values, (first_axis, ETA, third_axis), variances, "TH3D", (title, "#eta", "third"))


def tpc_sources() -> dict[str, Histogram]:
    """Track TH3s with the real names: x is the variable, y eta, z phi (``_5_6``) or pT (``_5_7``)."""
    dca = axis(4, -3, 3)
    tracks = "TPCQA/h_tpc_track_{}_recvertex_{}"
    shapes = [
        *((tracks.format(s, "3_5_6"), dca, PHI, "DCA_{r} (cm)") for s in ("pos", "neg")),
        *((tracks.format(s, "4_5_6"), dca, PHI, "DCA_{z} (cm)") for s in ("pos", "neg")),
        *((tracks.format(s, "2_5_6"), axis(5, 0, 1.2), PHI, "ratio") for s in ("pos", "neg")),
        *((tracks.format(s, "0_5_7"), axis(170, 0, 170), PT, "ncl") for s in ("pos", "neg")),
        *((tracks.format("all", f"{v}_5_7"), axis(8, 0, 8), PT, "v") for v in (0, 2, 3, 4)),
    ]
    sources = [track_hist(*shape) for shape in shapes]
    return {h.name: h for h in sources}


def test_dca_vs_phi_projects_one_side_to_phi_horizontal_dca_vertical() -> None:
    sources = tpc_sources()
    derived = TPC.derived(sources, own_files=True)
    for sign in ("pos", "neg"):
        source = sources[f"TPCQA/h_tpc_track_{sign}_recvertex_4_5_6"]
        for side, eta_bins in (("aSide", slice(15, 30)), ("cSide", slice(0, 15))):
            result = derived[f"DCAz_vs_Phi_{sign}tracks_{side}"]
            assert isinstance(result, Histogram)
            # Project3D("XZ"): X (DCA) versus Z (phi), i.e. values[phi, dca] summed over the side's eta bins.
            np.testing.assert_array_equal(result.values, source.values[:, eta_bins, :].sum(axis=1).T)
            np.testing.assert_allclose(result.variances, source.variances[:, eta_bins, :].sum(axis=1).T)
            assert result.values.shape == (6, 4)
            np.testing.assert_array_equal(result.edges[0], PHI)
            np.testing.assert_array_equal(result.edges[1], source.edges[0])
            assert result.axis_titles == ("third", "DCAz (cm)")
            assert (result.root_class, result.title) == ("TH2D", f"DCAz_vs_Phi_{sign}tracks_{side}")
    assert derived["DCAr_vs_Phi_postracks_aSide"].axis_titles[1] == "DCAr (cm)"  # type: ignore[union-attr]
    a_side, c_side = derived["DCAr_vs_Phi_negtracks_aSide"], derived["DCAr_vs_Phi_negtracks_cSide"]
    total = sources["TPCQA/h_tpc_track_neg_recvertex_3_5_6"].values.sum(axis=1).T
    np.testing.assert_array_equal(a_side.values + c_side.values, total)  # type: ignore[union-attr]


def test_eta_vs_phi_projection() -> None:
    sources = tpc_sources()
    result = TPC.derived(sources, own_files=True)["Eta_vs_Phi_negtracks"]
    assert isinstance(result, Histogram)
    source = sources["TPCQA/h_tpc_track_neg_recvertex_2_5_6"]
    np.testing.assert_array_equal(result.values, source.values.sum(axis=0).T)  # YZ: eta versus phi
    np.testing.assert_array_equal(result.edges[0], PHI)
    np.testing.assert_array_equal(result.edges[1], ETA)
    assert result.axis_titles == ("third", "#eta")


def test_pt_and_eta_projections_take_tracks_above_70_clusters() -> None:
    sources = tpc_sources()
    derived = TPC.derived(sources, own_files=True)
    source = sources["TPCQA/h_tpc_track_pos_recvertex_0_5_7"]
    pt = derived["pT_postracks"]
    eta = derived["Eta_postracks"]
    assert isinstance(pt, Histogram)
    assert isinstance(eta, Histogram)
    # ROOT bins 71-160 of ncl (0-based 70..159), all 30 eta bins; pT bins 1-25 for eta (all 12 here).
    np.testing.assert_array_equal(pt.values, source.values[70:160, 0:30, :].sum(axis=(0, 1)))
    np.testing.assert_array_equal(eta.values, source.values[70:160, :, 0:25].sum(axis=(0, 2)))
    np.testing.assert_array_equal(pt.edges[0], PT)
    np.testing.assert_array_equal(eta.edges[0], ETA)
    assert pt.values.sum() < source.values.sum()  # bins 161-170 and 1-70 are left out
    assert (pt.title, eta.title, pt.root_class) == ("pT_postracks (ncl>70)", "Eta_postracks (ncl>70)", "TH1D")


def test_eta_projection_keeps_only_the_first_25_pt_bins() -> None:
    pt_edges = np.arange(31, dtype=np.float64)
    source = track_hist("TPCQA/h_tpc_track_neg_recvertex_0_5_7", axis(170, 0, 170), pt_edges, "ncl")
    eta = TPC.derived({source.name: source}, own_files=True)["Eta_negtracks"]
    np.testing.assert_array_equal(eta.values, source.values[70:160, :, :25].sum(axis=(0, 2)))  # type: ignore[union-attr]


def test_restricted_pt_eta_projection_for_the_tpc_trends() -> None:
    sources = tpc_sources()
    name = "TPCQA/h_tpc_track_all_recvertex_3_5_7_restrictedPtEta"
    result = TPC.derived(sources, own_files=True)[name]
    source = sources["TPCQA/h_tpc_track_all_recvertex_3_5_7"]
    # |eta| < 1: edges -1.0 .. 1.0 are bins 5..24; 0.25 < pT < 10: bins [0.25,0.5) .. [5,10), i.e. 2..6.
    np.testing.assert_array_equal(result.values, source.values[:, 5:25, 2:7].sum(axis=(1, 2)))  # type: ignore[union-attr]
    assert tpc.bins_within(ETA, -1, 1) == slice(5, 25)
    assert tpc.bins_within(PT, 0.25, 10) == slice(2, 7)
    assert tpc.bins_within(PT, 0.3, 0.4) == slice(2, 3)
    assert tpc.bins_within(PT, 100, 200) == slice(0, 0)
    assert {s.hist_name for s in TPC.trending_sources()} >= {name}


def test_trends_can_read_derived_histograms() -> None:
    sources = tpc_sources()
    available = histograms_with_derived(TPC, sources, own_files=True)
    assert set(sources) < set(available)
    readable = {s.hist_name for s in TPC.trending_sources()} & set(available)
    assert len(readable) == 4  # the restricted ones; the vertex histograms are not in this file
    spectra = patch_spectra()
    assert histograms_with_derived(EMC, spectra, own_files=True) == spectra  # stacks are not trend sources


def test_projections_need_their_source_and_are_made_from_hlt_files_too() -> None:
    """The receivers' HLT files carry the TPC TH3s: a run without TPC files gets the projections as well."""
    sources = tpc_sources()
    from_hlt = TPC.derived(sources, own_files=False)
    assert set(from_hlt) == set(TPC.derived(sources, own_files=True))
    assert len(from_hlt) >= 10
    only_one = {k: v for k, v in sources.items() if k.endswith("pos_recvertex_2_5_6")}
    assert list(TPC.derived(only_one, own_files=True)) == ["Eta_vs_Phi_postracks"]
    assert TPC.derived({}, own_files=False) == {}


def test_tpc_pretty_names_groups_and_pt_display() -> None:
    result = process_subsystem(TPC, tpc_sources(), None, None, own_files=True)
    assert pretty(result, "DCAz_vs_Phi_postracks_aSide") == "DCAz vs Phi for positive tracks on A side"
    assert pretty(result, "DCAr_vs_Phi_negtracks_cSide") == "DCAr vs Phi for negative tracks on C side"
    assert find(result, "Eta_vs_Phi_postracks").pretty_name == "Eta vs Phi of positive tracks"
    assert find(result, "Eta_vs_Phi_negtracks").pretty_name == "Eta vs Phi of negative tracks"
    assert find(result, "pT_negtracks").pretty_name == "pT of negative tracks"
    pt_display = find(result, "pT_negtracks").display
    assert (pt_display.y_title, pt_display.log_y, pt_display.show_title) == ("dN/dp_{T}", True, True)
    groups = groups_of(result)
    first_five = ["DCAr vs Phi", "DCAz vs Phi", "TPC Cluster Eta vs Phi", "TPC Cluster Eta", "Pt spectra"]
    assert list(groups)[:5] == first_five
    assert groups["TPC Cluster Eta"] == ["Eta_negtracks", "Eta_postracks"]
    assert "TPCQA/h_tpc_track_pos_recvertex_3_5_6" in groups["Positive RecVertex"]  # sources stay listed


# --- trend values -------------------------------------------------------------------------------------------


def test_trend_value_matches_root_for_a_1d_histogram() -> None:
    hist = make_hist("h", [1.0, 2.0, 3.0, 4.0])  # centres 0.5 .. 3.5
    assert trend_value(hist, "max") == (4.0, None)
    mean, mean_error = trend_value(hist, "mean")
    std_dev, std_dev_error = trend_value(hist, "stddev")
    # mean = (0.5 + 3 + 7.5 + 14) / 10; <x^2> = (0.25 + 4.5 + 18.75 + 49) / 10 = 7.25; n_eff = 10^2 / 10
    assert mean == pytest.approx(2.5)
    assert std_dev == pytest.approx(math.sqrt(7.25 - 2.5**2))
    assert mean_error == pytest.approx(1.0 / math.sqrt(10))
    assert std_dev_error == pytest.approx(1.0 / math.sqrt(20))


def test_trend_value_uses_the_sum_of_squared_weights() -> None:
    hist = make_hist("h", [1.0, 2.0, 3.0, 4.0], variances=np.full(4, 2.0))
    n_eff = 10.0**2 / 8.0
    assert trend_value(hist, "mean")[1] == pytest.approx(1.0 / math.sqrt(n_eff))
    assert trend_value(hist, "stddev")[1] == pytest.approx(1.0 / math.sqrt(2 * n_eff))


def test_trend_value_of_a_2d_histogram_is_along_x() -> None:
    values = np.array([[1.0, 0.0], [0.0, 3.0]])  # x centres 0.5, 1.5
    hist = make_hist("h2", values)
    assert trend_value(hist, "mean")[0] == pytest.approx((0.5 * 1 + 1.5 * 3) / 4)
    assert trend_value(hist, "max") == (3.0, None)


def test_trend_value_of_an_empty_histogram_is_zero() -> None:
    empty = zeros("h", 5)
    assert trend_value(empty, "mean") == (0.0, 0.0)
    assert trend_value(empty, "stddev") == (0.0, 0.0)


# --- trending sources ---------------------------------------------------------------------------------------


def test_trending_sources_are_named_as_the_original() -> None:
    emc_trends = {s.trend_name: s for s in EMC.trending_sources()}
    # The original's 30 sources x 3 kinds, plus the maximum as counted of the 22 edge-position and 6
    # FastOR summary sources, which are trended per event.
    assert len(emc_trends) == 90 + 22 + 6
    mean_amp = emc_trends["meanAmpEdgePosEMCGAHOffline"]
    assert (mean_amp.hist_name, mean_amp.kind) == (f"{P}AmpEdgePosEMCGAHOffline", "mean")
    assert mean_amp.description == "mean: Integrated amplitude EMCGAH patch Offline (per event)"
    assert emc_trends["stdDevFastORL0Time"].kind == "stddev"
    assert emc_trends["maxEvents"].hist_name == f"{P}Events"
    per_event = {s.hist_name.removeprefix(P) for s in emc_trends.values() if s.per_event}
    assert per_event == {n for n in per_event if "EdgePos" in n} | {
        f"FastOR{level}{kind}" for level in ("L0", "L1") for kind in ("", "Amp", "LargeAmp")
    }
    assert not emc_trends["maxFastORL0Time"].per_event
    assert not emc_trends["maxEvents"].per_event
    unscaled = emc_trends["maxFastORL0Unscaled"]
    assert (unscaled.hist_name, unscaled.kind, unscaled.per_event) == (f"{P}FastORL0", "max", False)

    hlt_trends = {s.trend_name: s for s in HLT.trending_sources()}
    assert len(hlt_trends) == 114
    assert hlt_trends["maxClusterChargeMax"].hist_name == "fHistClusterChargeMax"
    assert hlt_trends["stdDevZNT_VZEROTrigChargeT"].hist_name == "fHistZNT_VZEROTrigChargeT"

    tpc_trends = {s.trend_name: s for s in TPC.trending_sources()}
    assert len(tpc_trends) == 9
    assert {s.kind for s in tpc_trends.values()} == {"mean"}
    assert tpc_trends["meanhistvz"].hist_name == "TPCQA/h_tpc_event_recvertex_2"
    assert HLT.trending_sources() == hlt.TRENDING_SOURCES


# --- registry -----------------------------------------------------------------------------------------------


def test_registry_lists_the_subsystems_with_rules() -> None:
    assert dict(REGISTRY) == {"EMC": EMC, "HLT": HLT, "TPC": TPC}
    assert get_subsystem("TPC") is TPC
    assert all(isinstance(d, SubsystemDefinition) for d in REGISTRY.values())


def test_unknown_subsystem_is_not_found_with_the_valid_names() -> None:
    with pytest.raises(NotFoundError, match=r"'V0'.*EMC, HLT, TPC") as caught:
        get_subsystem("V0")
    assert caught.value.valid == ["EMC", "HLT", "TPC"]


def test_configured_subsystem_without_rules_is_generic() -> None:
    v0 = get_subsystem("V0", configured=["EMC", "HLT", "TPC", "V0"])
    assert v0 == GenericSubsystem("V0")
    assert [(g.name, g.pattern) for g in v0.groups(own_files=True)] == [("V0 Histograms", "")]
    assert [(g.name, g.pattern) for g in v0.groups(own_files=False)] == [("V0 Histograms", "V0")]
    hists = hists_named(["fHistV0Multiplicity", "fHistTPCTrackPt"])
    assert groups_of(process_subsystem(v0, hists, 10, None, own_files=False)) == {
        "V0 Histograms": ["fHistV0Multiplicity"]
    }
    assert v0.trending_sources() == ()
    with pytest.raises(NotFoundError, match="EMC, HLT, TPC, V0"):
        get_subsystem("ZDC", configured=["V0"])
