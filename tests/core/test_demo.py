"""Demo data: names, cumulative contents, hot FastORs, the HLT fallback for TPC, and replay."""

from __future__ import annotations

import functools
import itertools
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import uproot

from overwatch_core import demo
from overwatch_core.errors import NotFoundError
from overwatch_core.filenames import DEFAULT_ZONE, parse_received_name, zone
from overwatch_core.histograms import read_file

TZ = zone(DEFAULT_ZONE)
FILES_PER_RUN = 6  # enough for the hot FastORs to appear (from index 5)
THRESHOLDS = {"": 1e-2, "Amp": 1e4, "LargeAmp": 1e-7}  # the original's defaults, applied to content / events


@pytest.fixture(scope="module")
def demo_set(tmp_path_factory: pytest.TempPathFactory) -> demo.DemoSummary:
    """Runs 300000, 300003 (hot), 300004 (no TPC files) and the mode-E run, six files each."""
    out = tmp_path_factory.mktemp("demo")
    return demo.generate_demo_data(out, n_runs=3, files_per_run=FILES_PER_RUN)


def files_of(directory: Path, run_number: int, subsystem: str) -> list[Path]:
    """One subsystem's files of a run, oldest first."""
    paths = directory.glob(f"{subsystem}histos_{run_number}_*.root")
    return sorted(paths, key=lambda p: parse_received_name(p.name, TZ).timestamp)


@functools.lru_cache(maxsize=8)
def read(path: Path) -> dict[str, tuple[str, np.ndarray]]:
    """ROOT class and bin contents of every histogram (``dir/name``) in a file, read once."""
    return {name: (h.root_class, np.asarray(h.values)) for name, h in read_file(path).histograms.items()}


def histograms(path: Path) -> dict[str, str]:
    return {name: cls for name, (cls, _values) in read(path).items()}


def values(path: Path, name: str) -> np.ndarray:
    return read(path)[name][1]


@functools.cache
def n_events(path: Path) -> float:
    """Bin 1 of the one histogram whose name contains "events", as the original reads it."""
    (counter,) = [name for name in read(path) if "events" in name.lower()]
    return float(values(path, counter)[0])


# ------------------------------------------------------------------------------------------ names


def test_every_file_has_a_zero_padded_received_name(demo_set: demo.DemoSummary) -> None:
    padded = re.compile(r"^[A-Z]{3}histos_\d+_[A-Z]_\d{4}(_\d{2}){5}\.root$")
    for path in demo_set.out_dir.iterdir():
        assert padded.match(path.name), path.name
        parsed = parse_received_name(path.name, TZ)
        run = demo_set.run(parsed.run_number)
        assert parsed.hlt_mode == run.hlt_mode
        assert parsed.subsystem in run.files


def test_summary_matches_the_folder(demo_set: demo.DemoSummary) -> None:
    assert [run.run_number for run in demo_set.runs] == [300000, 300003, 300004, 299887]
    assert demo_set.total_files == len(list(demo_set.out_dir.iterdir()))
    assert demo_set.run(299887).hlt_mode == "E"
    assert not demo_set.run(300004).own_tpc
    assert [run.hot_channels for run in demo_set.runs] == [False, True, False, False]
    for run in demo_set.runs:
        for subsystem, count in run.files.items():
            assert len(files_of(demo_set.out_dir, run.run_number, subsystem)) == count == FILES_PER_RUN


def test_files_are_a_minute_apart_with_a_few_seconds_of_jitter(demo_set: demo.DemoSummary) -> None:
    for subsystem in ("EMC", "HLT", "TPC"):
        times = [
            parse_received_name(p.name, TZ).timestamp for p in files_of(demo_set.out_dir, 300000, subsystem)
        ]
        assert times[0] >= demo.DEFAULT_START
        for earlier, later in itertools.pairwise(times):
            assert timedelta(seconds=55) <= later - earlier <= timedelta(seconds=65)


def test_generation_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    first = demo.generate_demo_data(tmp_path / "a", n_runs=1, files_per_run=1, workers=1)
    second = demo.generate_demo_data(tmp_path / "b", n_runs=1, files_per_run=1, workers=2)
    names = sorted(p.name for p in first.out_dir.iterdir())
    assert names == sorted(p.name for p in second.out_dir.iterdir())
    for name in names:
        a, b = first.out_dir / name, second.out_dir / name
        assert histograms(a) == histograms(b)
        for hist in histograms(a):
            np.testing.assert_array_equal(values(a, hist), values(b, hist), err_msg=f"{name}: {hist}")


def test_another_seed_gives_other_contents(tmp_path: Path) -> None:
    one = demo.generate_demo_data(tmp_path / "a", n_runs=1, files_per_run=1, workers=1)
    other = demo.generate_demo_data(tmp_path / "b", n_runs=1, files_per_run=1, workers=1, seed=7)
    path_one, path_other = (files_of(s.out_dir, 300000, "EMC")[0] for s in (one, other))
    assert not np.array_equal(
        values(path_one, "EMCTRQA_histFastORL0"), values(path_other, "EMCTRQA_histFastORL0")
    )


def test_plan_repeats_with_higher_run_numbers_and_keeps_the_e_run_last() -> None:
    plans = demo.plan_runs(12)
    numbers = [plan.run_number for plan in plans]
    assert numbers[10:] == [300040, 300043, 299887]
    assert numbers[:-1] == sorted(set(numbers[:-1]))
    with pytest.raises(ValueError, match="n_runs"):
        demo.plan_runs(0)


# --------------------------------------------------------------------------------------- contents


def test_histogram_sets_have_the_real_names_and_sizes(demo_set: demo.DemoSummary) -> None:
    emc = histograms(files_of(demo_set.out_dir, 300000, "EMC")[0])
    hlt = histograms(files_of(demo_set.out_dir, 300000, "HLT")[0])
    tpc = histograms(files_of(demo_set.out_dir, 300000, "TPC")[0])
    assert 200 <= len(emc) <= 300
    assert {f"EMCTRQA_histFastORL0_SM{sm}" for sm in range(20)} <= emc.keys()
    assert emc["EMCTRQA_histFastORL0"] == "TH1F"
    assert emc["EMCTRQA_histFastORL0Mean"] == "TProfile"
    assert {
        "EMCTRQA_histEMCalMaxPatchAmpEMCGAHOnline",
        "EMCTRQA_histDCalMaxPatchAmpEMCGAHOnline",
    } <= emc.keys()
    assert hlt["fHistTPCTrackPt"] == "TH1D"
    assert hlt["fHistTPCdEdxMaxIROC"] == "TH2F"
    assert tpc["TPCQA/h_tpc_track_pos_recvertex_0_5_7"] == "TH3F"
    assert {f"TPCQA/h_tpc_event_recvertex_{i}" for i in (0, 1, 2, 4, 5)} <= tpc.keys()


def test_trending_sources_exist(demo_set: demo.DemoSummary) -> None:
    """Every histogram the original's trending list names is written (the TPC "restricted" ones aside)."""
    emc = histograms(files_of(demo_set.out_dir, 300000, "EMC")[0])
    hlt = histograms(files_of(demo_set.out_dir, 300000, "HLT")[0])
    for prefix, triggers in (("AmpEdgePos", 11), ("MaxEdgePos", 11)):
        assert len([name for name in emc if name.startswith(f"EMCTRQA_hist{prefix}EMC")]) == triggers
    for level in ("L0", "L0Amp", "L0LargeAmp", "L0Time", "L1", "L1Amp", "L1LargeAmp"):
        assert f"EMCTRQA_histFastOR{level}" in emc
    assert len([name for name in hlt if name.startswith("fHist") and name != "fHistEvents"]) == 38


def test_every_file_has_one_event_counter_shared_by_the_subsystems(demo_set: demo.DemoSummary) -> None:
    for run in demo_set.runs:
        per_subsystem = [
            [n_events(p) for p in files_of(demo_set.out_dir, run.run_number, subsystem)]
            for subsystem in run.files
        ]
        assert all(counts == per_subsystem[0] for counts in per_subsystem)
        per_minute = np.diff([0.0, *per_subsystem[0]])
        assert np.all((per_minute > 1000) & (per_minute < 10000))


def test_files_are_cumulative(demo_set: demo.DemoSummary) -> None:
    for subsystem in ("EMC", "HLT", "TPC"):
        paths = files_of(demo_set.out_dir, 300003, subsystem)
        counts = [name for name, cls in histograms(paths[0]).items() if cls != "TProfile"]
        for earlier, later in itertools.pairwise(paths):
            for name in counts:
                assert np.all(values(later, name) >= values(earlier, name)), f"{later.name}: {name}"
        assert n_events(paths[-1]) > n_events(paths[0])


def test_tpc_sources_have_the_bins_the_projections_use(demo_set: demo.DemoSummary) -> None:
    """REF 3.7: pT/eta projections use x bins 71-160, y bins 1-30, z bins 1-25; DCA ones eta bins 0-29."""
    path = files_of(demo_set.out_dir, 300000, "TPC")[-1]
    hists = read_file(path).histograms
    for sign in ("pos", "neg"):
        clusters = hists[f"TPCQA/h_tpc_track_{sign}_recvertex_0_5_7"]
        x_bins, y_bins, z_bins = clusters.values.shape
        assert (x_bins, y_bins, z_bins) >= (160, 30, 25)
        assert clusters.edges[0][70] == 70  # bins 71-160 are "ncl > 70"
        assert clusters.values[70:160, 0:30, 0:25].sum() > 0.9 * clusters.values.sum()
        for variables in ("2_5_6", "3_5_6", "4_5_6"):
            eta = hists[f"TPCQA/h_tpc_track_{sign}_recvertex_{variables}"].edges[1]
            assert len(eta) - 1 == 30
            assert eta[15] == pytest.approx(0.0)  # bins 0-14 are the C side, 15-29 the A side


@pytest.mark.parametrize(("run_number", "subsystem"), [(300000, "TPC"), (300004, "HLT")])
def test_tpc_objects_are_top_level_keys_with_a_slash_as_the_receivers_wrote_them(
    demo_set: demo.DemoSummary, run_number: int, subsystem: str
) -> None:
    """No TPCQA TDirectory: top-level keys named "TPCQA/…" (uproot's path lookup cannot reach them)."""
    path = files_of(demo_set.out_dir, run_number, subsystem)[0]
    with uproot.open(path) as f:
        classes = f.classnames(recursive=False, cycle=False)
    tpc = {name: cls for name, cls in classes.items() if name.startswith("TPCQA/")}
    assert len(tpc) >= 10
    assert "TPCQA" not in classes
    assert "TDirectory" not in classes.values()
    assert set(tpc) <= set(read_file(path).histograms)


def test_hlt_files_carry_tpc_only_in_runs_without_tpc_files(demo_set: demo.DemoSummary) -> None:
    with_tpc = histograms(files_of(demo_set.out_dir, 300000, "HLT")[0])
    without_tpc = histograms(files_of(demo_set.out_dir, 300004, "HLT")[0])
    assert not files_of(demo_set.out_dir, 300004, "TPC")
    assert not any(name.startswith("TPCQA/") for name in with_tpc)
    assert "TPCQA/h_tpc_track_pos_recvertex_0_5_7" in without_tpc
    assert demo.EVENT_COUNTERS["TPC"] not in without_tpc


# ----------------------------------------------------------------------------------- hot FastORs


def scaled(path: Path, name: str) -> np.ndarray:
    return values(path, name) / n_events(path)


def test_hot_fastors_appear_from_the_documented_minute(demo_set: demo.DemoSummary) -> None:
    hot = list(demo.HOT_FASTOR_IDS)
    normal = np.setdiff1d(np.arange(demo.N_FASTOR_BINS), hot)
    for index, path in enumerate(files_of(demo_set.out_dir, 300003, "EMC")):
        for level in ("L0", "L1"):
            for suffix, threshold in THRESHOLDS.items():
                per_event = scaled(path, f"EMCTRQA_histFastOR{level}{suffix}")
                assert per_event[normal].max() < threshold / 2, (index, level, suffix)
                if index >= demo.HOT_FROM_MINUTE:
                    assert per_event[hot].min() > 2 * threshold, (index, level, suffix)
                else:
                    assert per_event[hot].max() < threshold, (index, level, suffix)


def test_runs_without_hot_channels_stay_below_every_threshold(demo_set: demo.DemoSummary) -> None:
    for path in files_of(demo_set.out_dir, 300000, "EMC"):
        for suffix, threshold in THRESHOLDS.items():
            assert scaled(path, f"EMCTRQA_histFastORL0{suffix}").max() < threshold / 2


def test_hot_fastors_show_in_their_super_module_maps(demo_set: demo.DemoSummary) -> None:
    last = files_of(demo_set.out_dir, 300003, "EMC")[-1]
    assert [demo.fastor_in_sm(fastor)[0] for fastor in demo.HOT_FASTOR_IDS] == [1, 6, 15]
    for fastor in demo.HOT_FASTOR_IDS:
        sm, eta, phi = demo.fastor_in_sm(fastor)
        sm_map = scaled(last, f"EMCTRQA_histFastORL0_SM{sm}")
        assert sm_map[eta, phi] == pytest.approx(scaled(last, "EMCTRQA_histFastORL0")[fastor])
        assert sm_map[eta, phi] > THRESHOLDS[""]


def test_fastor_grid_has_the_real_number_of_fastors() -> None:
    assert sum(cols * rows for _c, _r, cols, rows in demo.SM_BLOCKS) == 4416
    with pytest.raises(ValueError, match="PHOS hole"):
        demo.fastor_in_sm(70 * 48 + 20)


# ------------------------------------------------------------------------------------ source run


def test_source_run_is_named_from_its_start(tmp_path: Path) -> None:
    start = datetime.now(TZ).replace(microsecond=0)
    summary = demo.generate_source_run(tmp_path, 300032, n_files=2, start=start, own_tpc=False, workers=1)
    assert summary.newest_run_number == 300032
    assert summary.run(300032).files == {"EMC": 2, "HLT": 2}
    for path in tmp_path.iterdir():
        parsed = parse_received_name(path.name, TZ)
        assert (parsed.run_number, parsed.hlt_mode) == (300032, "C")
        assert start <= parsed.timestamp < start + timedelta(minutes=2)


# ---------------------------------------------------------------------------------------- replay


def test_replay_copies_a_run_minute_by_minute(demo_set: demo.DemoSummary, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    landed: list[Path] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        assert not [p for p in drop.iterdir() if p.name.startswith(".")]
        sleeps.append(seconds)

    def on_file(path: Path) -> None:
        assert path.stat().st_size == (demo_set.out_dir / path.name).stat().st_size
        landed.append(path)

    copied = demo.replay_run(
        demo_set.out_dir, drop, 300000, cadence_seconds=5.0, sleep=sleep, on_file=on_file
    )

    expected = {p.name for p in demo_set.out_dir.glob("*histos_300000_*")}
    assert copied == len(expected) == 3 * FILES_PER_RUN
    assert {p.name for p in drop.iterdir()} == expected
    assert sleeps == [5.0] * (FILES_PER_RUN - 1)
    times = [parse_received_name(p.name, TZ).timestamp for p in landed]
    assert times == sorted(times)


def test_replay_of_an_unknown_run_lists_the_known_ones(demo_set: demo.DemoSummary, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        demo.replay_run(demo_set.out_dir, tmp_path, 123, sleep=lambda _s: None)
    assert caught.value.valid == [299887, 300000, 300003, 300004]
    assert not list(tmp_path.iterdir())


def test_replay_from_a_missing_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="replay source folder"):
        demo.replay_run(tmp_path / "nowhere", tmp_path / "drop", 300000, sleep=lambda _s: None)


def test_the_demo_reference_run_is_a_clean_run_of_the_plan() -> None:
    """`overwatch demo` makes it the reference: the hot runs then come out Bad on the FastOR checks."""
    (plan,) = [p for p in demo.plan_runs(10) if p.run_number == demo.REFERENCE_RUN]
    assert not plan.hot_channels
