"""Automatic checks: ROOT's KS and χ² numbers, every check kind's verdict, configuration, processing with a
reference run, and the quality CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from overwatch_core import cli
from overwatch_core.checks import CheckSpec, chi2_test, evaluate, ks_test, merged_specs, run_check, worst
from overwatch_core.errors import ConfigError
from overwatch_core.model import Histogram
from overwatch_core.processing import configured_checks, open_services
from overwatch_core.quality import overview, subsystem_quality
from overwatch_core.settings import load_settings
from overwatch_core.users import UserStore

SCRIPT = Path(__file__).parents[1] / "rootcorpus" / "ks_chi2.py"


def hist(values: list[float] | np.ndarray, name: str = "h", edges: np.ndarray | None = None) -> Histogram:
    array = np.asarray(values, dtype=np.float64)
    return Histogram(
        name, "TH1D", array, array.copy(), (np.linspace(0, 10, array.size + 1) if edges is None else edges,)
    )


@pytest.fixture(scope="module")
def root_numbers() -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=True, timeout=300
    )
    cases: list[dict[str, object]] = json.loads(done.stdout.strip().splitlines()[-1])
    return cases


def test_ks_and_chi2_equal_roots(root_numbers: list[dict[str, object]]) -> None:
    assert len(root_numbers) == 8
    for case in root_numbers:
        a, b = hist(case["a"]), hist(case["b"])  # type: ignore[arg-type]
        assert ks_test(a, b) == pytest.approx(case["ks"], rel=1e-9, abs=1e-300)
        chi2, ndf, p = chi2_test(a, b)
        assert chi2 == pytest.approx(case["chi2"], rel=1e-9)
        assert ndf == round(float(case["chi2"]) / float(case["chi2_ndf"]))  # type: ignore[arg-type]
        assert p == pytest.approx(case["chi2_p"], rel=1e-9, abs=1e-300)


def spec(kind: str, **params: float) -> CheckSpec:
    return CheckSpec(f"test-{kind}", kind, params=params)


def test_comparisons_need_a_reference_and_the_same_binning() -> None:
    a = hist([1, 2, 3, 4])
    assert run_check(spec("ks"), a, None, 10).quality == "Null"
    other = hist([1, 2, 3])
    result = run_check(spec("chi2"), a, other, 10, ref_run=7)
    assert (result.quality, result.message) == (
        "Null",
        "binning differs from the reference ((4,) vs (3,) bins)",
    )
    shifted = hist([1, 2, 3, 4], edges=np.linspace(1, 11, 5))
    assert "edges of axis 0 differ" in run_check(spec("ks"), a, shifted, 10).message
    empty = run_check(spec("ks"), hist([0, 0, 0, 0]), a, 10, ref_run=7)
    assert (empty.quality, empty.message) == (
        "Null",
        "cannot compare vs reference run 7: an integral is zero",
    )
    two_d = Histogram("m", "TH2D", np.ones((2, 2)), np.ones((2, 2)), (np.arange(3.0), np.arange(3.0)))
    assert run_check(spec("ks"), two_d, two_d, 10).message == "KS is for 1D histograms, this one is 2D"
    assert run_check(spec("chi2"), two_d, two_d, 10).quality == "Good"


def test_p_values_give_good_medium_bad() -> None:
    reference = hist([100, 200, 300, 200, 100])
    same = run_check(spec("ks"), reference, reference, 10, ref_run=3)
    assert same.quality == "Good"
    assert same.message.startswith("KS vs reference run 3, p = 1 (Medium below 0.05, Bad below 0.001)")
    assert run_check(spec("ks"), hist([300, 200, 100, 200, 100]), reference, 10).quality == "Bad"
    slightly = hist([150, 200, 300, 200, 100])
    p = ks_test(slightly, reference)
    assert 0 < p < 1
    mild = run_check(spec("ks", medium_below=2 * p, bad_below=p / 2), slightly, reference, 1)
    assert mild.quality == "Medium"


def test_the_other_kinds() -> None:
    empty, filled = hist([0, 0]), hist([3, 4])
    assert run_check(spec("empty"), empty, filled, 1).quality == "Bad"
    assert run_check(spec("empty"), empty, empty, 1).message == "empty, as in the reference run"
    assert run_check(spec("empty"), empty, None, 1).quality == "Medium"
    assert run_check(spec("min_entries", min=10), filled, None, 1).message == "7 entries (at least 10)"
    assert run_check(spec("mean_range", low=0, high=6), filled, None, 1).quality == "Good"  # mean 5.357
    outside = run_check(spec("mean_range", low=6, high=9), filled, None, 1)
    assert (outside.quality, outside.message) == ("Bad", "mean 5.35714 (allowed 6 to 9)")
    fastor = hist([0.0] * 10)
    fastor = fastor.replace(values=np.array([1.0, 0, 0, 50, 0, 0, 0, 0, 0, 80]))
    hot = run_check(spec("hot_channels_max", max=0, threshold=1e-2), fastor, None, 1000)
    assert (hot.quality, hot.message) == ("Bad", "2 channels above 0.01 per event (at most 0): 3, 9")
    assert run_check(spec("hot_channels_max"), fastor, None, 0).quality == "Null"
    dead = run_check(spec("dead_fraction_max", max=0.5), fastor, hist([1.0] * 10), 1)
    assert (dead.quality, dead.message) == ("Bad", "7 of 10 channels dead (70.0%, at most 50.0%)")
    assert worst(["Good", "Null", "Medium"]) == "Medium"
    assert worst([]) == "Null"


def test_patterns_and_a_missing_reference_histogram() -> None:
    checks = (
        CheckSpec("fast", "ks", "*FastOR*"),
        CheckSpec("all", "empty"),
        CheckSpec("off", "empty", enabled=False),
    )
    hists = {"xFastORy": hist([1, 2]), "other": hist([1, 2])}
    results = evaluate(checks, hists, {"other": hist([1, 2])}, 1, ref_run=9)
    assert [r.check for r in results["xFastORy"]] == ["fast", "all"]
    assert results["xFastORy"][0].message == "the reference run 9 has no xFastORy"
    assert [r.check for r in results["other"]] == ["all"]


def test_configuration_changes_adds_and_switches_off() -> None:
    defaults = (CheckSpec("a", "ks", "*x*", {"bad_below": 1e-3}), CheckSpec("b", "empty"))
    merged = merged_specs(
        defaults,
        [
            {"name": "a", "bad_below": 1e-5},
            {"name": "b", "enabled": False},
            {"name": "c", "kind": "min_entries", "min": 5},
        ],
        "EMC",
    )
    by_name = {s.name: s for s in merged}
    assert (by_name["a"].pattern, dict(by_name["a"].params)) == ("*x*", {"bad_below": 1e-5})
    assert not by_name["b"].enabled
    assert by_name["c"].kind == "min_entries"
    with pytest.raises(ConfigError, match="a new check needs a kind"):
        merged_specs(defaults, [{"name": "z"}], "EMC")
    with pytest.raises(ConfigError, match="unknown kind 'nope'"):
        merged_specs(defaults, [{"name": "z", "kind": "nope"}], "EMC")
    with pytest.raises(ConfigError, match="checks: no such subsystem"):
        configured_checks(load_settings(None, env={}, checks={"XYZ": []}))


# --- with the demo data -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def referenced(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo data (300000 clean, 300003 hot FastORs, 300004 clean) with 300000 as reference."""
    data = tmp_path_factory.mktemp("checks") / "data"
    shutil.copytree(demo_data, data)
    catalog, _ = open_services(load_settings(None, env={}, data_folder=str(data)))
    users = UserStore(catalog, rounds=4)
    users.add("erin", "pw", "expert")
    users.add("sam", "pw", "shifter")
    base = ["--data-folder", str(data), "reference", "set"]
    for subsystem in ("EMC", "HLT", "TPC"):
        assert cli.main([*base, subsystem, "--run", "300000", "--user", "erin"]) == 0
    return data


def test_hot_runs_are_bad_on_the_fastor_checks_and_clean_runs_good(referenced: Path) -> None:
    catalog, _ = open_services(load_settings(None, env={}, data_folder=str(referenced)))
    hot = subsystem_quality(catalog, 300003, "EMC")
    assert hot.quality == "Bad"
    assert hot.reference_run == 300000
    assert {h.name for h in hot.problems} >= {"EMCTRQA_histFastORL0", "EMCTRQA_histFastORL1"}
    (fastor,) = [h for h in hot.problems if h.name == "EMCTRQA_histFastORL0"]
    messages = {r.check: r.message for r in fastor.results}
    assert messages["fastor-hot"].endswith(": 517, 2222, 3931")
    cells = overview(catalog, [300000, 300003, 300004])
    assert {k: c.quality for k, c in cells.items() if k[1] == "EMC"} == {
        (300000, "EMC"): "Good",
        (300003, "EMC"): "Bad",
        (300004, "EMC"): "Good",
    }
    assert cells[(300003, "EMC")].bad == len(hot.problems)
    assert {c.quality for k, c in cells.items() if k[1] != "EMC"} == {"Good"}


def test_quality_cli_text_and_json(referenced: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--data-folder", str(referenced)]
    capsys.readouterr()
    assert cli.main([*base, "quality", "300003", "EMC"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Run 300003 EMC (reference run 300000): Bad")
    assert "fastor-hot: 3 channels above 0.01 per event (at most 0): 517, 2222, 3931" in text
    assert cli.main([*base, "quality", "300004", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(d["subsystem"], d["quality"]) for d in data] == [
        ("EMC", "Good"),
        ("HLT", "Good"),
        ("TPC", "Good"),
    ]
    assert data[0]["histograms"][0]["checks"][0].keys() == {"check", "quality", "message"}


def test_only_experts_set_references_and_clearing(
    referenced: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--data-folder", str(referenced), "reference"]
    assert cli.main([*base, "set", "EMC", "--run", "300004", "--from", "300004", "--user", "sam"]) == 2
    assert "only an expert or admin" in capsys.readouterr().err
    assert cli.main([*base, "set", "EMC", "--run", "300004", "--from", "300004", "--user", "erin"]) == 0
    assert "verdicts of 1 runs recomputed" in capsys.readouterr().out
    assert cli.main([*base, "show", "EMC"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert len(shown) == 2
    assert "reference run 300000 for runs from 300000 on (set by erin" in shown[0]
    assert "reference run 300004 for runs from 300004 on (set by erin" in shown[1]
    assert cli.main([*base, "clear", "EMC", "--from", "300004"]) == 0
    assert cli.main([*base, "clear", "EMC", "--from", "300004"]) == 2
    assert cli.main([*base, "set", "EMC", "--run", "123", "--user", "erin"]) == 2  # no such run


def test_a_time_slice_computes_its_own_verdicts(referenced: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before the hot FastORs start (minute 5) the hot run's slice is clean; from minute 5 on it is not."""
    from overwatch_core.time_slices import TimeSliceRequest
    from overwatch_core.views import ViewService

    settings = load_settings(None, env={}, data_folder=str(referenced))
    views = ViewService(settings, *open_services(settings))
    before = views.slice_checks(300003, "EMC", TimeSliceRequest(0, 4))
    after = views.slice_checks(300003, "EMC", TimeSliceRequest(5, 7))
    assert worst(r.quality for found in before.values() for r in found) == "Good"
    hot = {r.check: r.message for r in after["EMCTRQA_histFastORL0"]}
    assert hot["fastor-hot"].endswith(": 517, 2222, 3931")
    capsys.readouterr()
    base = [
        "--data-folder",
        str(referenced),
        "slice",
        "300003",
        "EMC",
        "--from",
        "5",
        "--to",
        "7",
        "--checks",
    ]
    assert cli.main(base) == 0
    assert "Bad     EMCTRQA_histFastORL0  fastor-hot: 3 channels" in capsys.readouterr().out
