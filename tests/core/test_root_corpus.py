"""Files written by real ROOT as the receivers write them, read by the product, checked against ROOT itself.

The corpus (tests/rootcorpus) and every expected number come from ROOT 6.40 in a subprocess: GetMean,
GetStdDev, their errors, GetEntries and GetMaximum on the stored histograms, and the same after
``Add(earlier, -1)`` for time slices.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from overwatch_core.catalog import trend_missing, trend_values
from overwatch_core.histograms import NOT_A_HISTOGRAM, read_file
from overwatch_core.model import Histogram
from overwatch_core.processing import Processor, open_services
from overwatch_core.settings import Settings
from overwatch_core.subsystems.base import trend_value, x_moments
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.time_slices import slice_histograms
from overwatch_core.views import ViewService
from tests.rootcorpus.corpus import number

Corpus = tuple[Path, dict[str, Any]]
REL = 1e-9


def expected_files(corpus: Corpus) -> dict[str, Any]:
    files: dict[str, Any] = corpus[1]["files"]
    return files


def contents_of(exp: dict[str, Any]) -> np.ndarray:
    """ROOT's bin contents without flow bins, shaped (nx, ny, nz) like Histogram.values."""
    shape = tuple(a["nbins"] + 2 for a in exp["axes"])
    flat = np.array([number(v) for v in exp["contents"]], dtype=np.float64)
    return flat.reshape(shape, order="F")[tuple(slice(1, -1) for _ in shape)]


def approx(value: float | str) -> Any:
    return pytest.approx(number(value), rel=REL, abs=1e-12, nan_ok=True)


def check_against_root(hist: Histogram, exp: dict[str, Any], *, stored: bool | None = True) -> None:
    """Class, binning, labels, titles, contents and ROOT's statistics of one histogram.

    ``stored`` says whether the statistics must come from the fill-time sums (None: either).
    """
    assert hist.root_class == exp["class"]
    assert hist.values.shape == tuple(a["nbins"] for a in exp["axes"])
    for axis, spec in enumerate(exp["axes"]):
        assert hist.axis_labels(axis) == tuple(spec["labels"] or ())
        assert hist.edges[axis][0] == pytest.approx(spec["min"])
        assert hist.edges[axis][-1] == pytest.approx(spec["max"])
    assert hist.title == exp["title"]
    if "contents" in exp and not hist.is_profile:
        np.testing.assert_allclose(hist.values, contents_of(exp), rtol=1e-6, equal_nan=True)
    assert hist.entries == approx(exp["entries"])
    moments = x_moments(hist)
    assert stored is None or moments.from_fill_sums is stored
    assert moments.mean == approx(exp["mean"][0])
    assert moments.std_dev == approx(exp["std_dev"][0])
    assert moments.mean_error == approx(exp["mean_error"][0])
    assert moments.std_dev_error == approx(exp["std_dev_error"][0])
    assert trend_value(hist, "max")[0] == approx(exp["maximum"])


def drop(corpus: Corpus, settings: Settings, names: list[str], rename: dict[str, str] | None = None) -> None:
    """Copy corpus files into the drop folder (optionally under a receiver's name)."""
    settings.drop_path.mkdir(parents=True, exist_ok=True)
    for name in names:
        target = (rename or {}).get(name, Path(name).name)
        shutil.copy(corpus[0] / name, settings.drop_path / target)


def ingest_files(corpus: Corpus, prefix: str) -> list[str]:
    return sorted(
        n for n, f in expected_files(corpus).items() if f["kind"] == "ingest" and n.startswith(prefix)
    )


# --- reading every file as ROOT lists it --------------------------------------------------------------------


def test_every_histogram_of_every_file_matches_root(root_corpus: Corpus) -> None:
    """Class, contents, labels, titles and GetMean/GetStdDev/errors/GetEntries/GetMaximum, to 1e-9."""
    checked = 0
    for name, exp in expected_files(root_corpus).items():
        if name.startswith("objects/dir_and_slash") or name.startswith("objects/cycles"):
            continue  # their key names are checked below
        contents = read_file(root_corpus[0] / name)
        assert set(contents.histograms) == set(exp["histograms"]), name
        for key, hist_exp in exp["histograms"].items():
            # ROOT recomputes from bins where SetBinContent reset fTsumw (the damaged file); so do we.
            check_against_root(contents.histograms[key], hist_exp, stored=None)
            checked += 1
    assert checked > 120


def test_hlt_receiver_files_have_top_level_keys_with_a_slash(root_corpus: Corpus) -> None:
    (first, *_) = ingest_files(root_corpus, "HLT")
    contents = read_file(root_corpus[0] / first)
    tpc = sorted(k for k in contents.histograms if k.startswith("TPCQA/"))
    assert len(tpc) == 11
    assert contents.histograms["TPCQA/h_tpc_track_all_recvertex_0_5_7"].root_class == "TH3D"
    assert not contents.skipped


def test_directory_and_slash_variants_of_one_name_are_both_read_and_distinct(root_corpus: Corpus) -> None:
    case = root_corpus[1]["cases"]["dir_and_slash"]
    hists = read_file(root_corpus[0] / case["file"]).histograms
    directory, slash, nested = (
        hists["TPCQA/h_tpc_event_recvertex_0"],
        hists["TPCQA%2Fh_tpc_event_recvertex_0"],
        hists["TPCQA/sub/name"],
    )
    for hist, exp in (
        (directory, case["directory_variant"]),
        (slash, case["slash_key_variant"]),
        (nested, case["nested"]),
    ):
        assert hist.title == exp["title"]
        assert hist.entries == exp["entries"]
        assert x_moments(hist).mean == approx(exp["mean"][0])
        assert x_moments(hist).std_dev == approx(exp["std_dev"][0])
    assert len(hists) == 3


def test_the_highest_cycle_wins_and_is_listed_once(root_corpus: Corpus) -> None:
    exp = expected_files(root_corpus)["objects/cycles.root"]["histograms"]
    hists = read_file(root_corpus[0] / "objects/cycles.root").histograms
    assert sorted(hists) == ["h_cycles", "h_overwrite", "h_single"]
    check_against_root(hists["h_cycles"], exp["h_cycles;3"])
    assert hists["h_cycles"].entries != exp["h_cycles;2"]["entries"]


def test_objects_that_are_not_histograms_are_listed_with_their_class(root_corpus: Corpus) -> None:
    contents = read_file(root_corpus[0] / "objects/classes.root")
    exp = expected_files(root_corpus)["objects/classes.root"]["objects"]
    assert contents.unsupported == {k: o["class"] for k, o in exp.items()}
    assert all(s.reason == NOT_A_HISTOGRAM for s in contents.skipped.values())
    assert {"TH1L", "TH2L", "TH3L", "TProfile", "TProfile2D"} <= {
        h.root_class for h in contents.histograms.values()
    }


def test_unclosed_file_is_recovered_as_root_recovers_it(root_corpus: Corpus) -> None:
    case = root_corpus[1]["cases"]["unclosed"]
    assert case["root_recovered"]
    assert case["header_on_disk"]["top_directory"]["fSeekKeys"] == 0
    contents = read_file(root_corpus[0] / case["file"])
    assert contents.recovered is not None
    assert "never closed" in contents.recovered
    assert sorted(f"{k};1" for k in contents.histograms) == case["root_keys"]
    for key, exp in case["root_histograms"].items():
        assert contents.histograms[key].entries == exp["entries"]
        assert x_moments(contents.histograms[key]).mean == approx(exp["mean"][0])


def test_file_closed_once_then_written_on_reads_what_root_reads(root_corpus: Corpus) -> None:
    case = root_corpus[1]["cases"]["unclosed_after_write"]
    contents = read_file(root_corpus[0] / case["file"])
    assert contents.recovered is None  # ROOT does not recover it either: its key list is valid
    assert sorted(f"{k};1" for k in contents.histograms) == case["root_keys"]


def test_every_codec_reads(root_corpus: Corpus) -> None:
    codecs = root_corpus[1]["cases"]["codecs"]
    assert len(codecs) == 5
    for name in (f"objects/codec_{c}.root" for c in ("zlib", "lz4", "zstd", "lzma", "none")):
        exp = expected_files(root_corpus)[name]
        hists = read_file(root_corpus[0] / name).histograms
        for key, hist_exp in exp["histograms"].items():
            check_against_root(hists[key], hist_exp)


# --- statistics of time slices ------------------------------------------------------------------------------


@pytest.mark.parametrize("system", ["EMC/400001", "HLT/400001"])
@pytest.mark.parametrize("pair", ["2-0", "2-1", "1-0"])
def test_time_slice_statistics_equal_root_after_add_minus_one(
    root_corpus: Corpus, system: str, pair: str
) -> None:
    """Bin-centre statistics and ROOT's reset entries after a subtraction (FastOR: not the fill means)."""
    case = root_corpus[1]["slices"][system][pair]
    later = read_file(root_corpus[0] / case["later"]).histograms
    earlier = read_file(root_corpus[0] / case["earlier"]).histograms
    sliced = slice_histograms(later, earlier)
    for key, exp in case["histograms"].items():
        check_against_root(sliced[key], exp, stored=False)
    fastor = case["histograms"].get("EMCTRQA_histFastORL0")
    if fastor is not None:  # the integer-filled FastORs: slice mean is half a bin above the fill mean
        stored_mean = x_moments(later["EMCTRQA_histFastORL0"]).mean
        assert abs(x_moments(sliced["EMCTRQA_histFastORL0"]).mean - stored_mean) > 0.1


# --- ingest and processing ----------------------------------------------------------------------------------


def test_hlt_files_with_tpc_keys_give_the_tpc_subsystem_its_projections_and_trends(
    root_corpus: Corpus, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    hlt = ingest_files(root_corpus, "HLT")
    drop(root_corpus, settings, hlt)
    processor = Processor(settings, *open_services(settings))
    report = processor.run_pass()
    assert len(report.ingest.stored) == 3
    assert not report.ingest.quarantined
    assert not report.failed
    catalog = processor.ingester.catalog
    run = catalog.run(400001)
    # A run with only HLT files: TPC and EMC read them (REF §1.6).
    assert {s.name: s.file_location for s in run.subsystems} == {"EMC": "HLT", "HLT": "HLT", "TPC": "HLT"}
    index = catalog.histogram_index(400001, "HLT")
    assert set(index) == set(expected_files(root_corpus)[hlt[-1]]["histograms"])

    view = ViewService(settings, catalog, processor.ingester.cache).full_run(400001, "TPC")
    shown = {h.name for g in view.groups for h in g.histograms}
    tpc = get_subsystem("TPC", settings.subsystems)
    derived = set(tpc.derived(read_file(root_corpus[0] / hlt[-1]).histograms, own_files=False))
    assert derived
    assert derived <= shown | {s.hist_name for s in tpc.trending_sources()}

    exp = expected_files(root_corpus)[hlt[-1]]["histograms"]["TPCQA/h_tpc_event_recvertex_2"]
    points = processor.trends.within_run("TPC", "meanhistvz", 400001)
    assert len(points) == 3
    assert points[-1].value == approx(exp["mean"][0])  # from the fill-time sums, as ROOT's GetMean
    assert points[-1].error == approx(exp["mean_error"][0])


def test_fastor_trends_equal_root_and_are_per_event(
    root_corpus: Corpus, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    emc = ingest_files(root_corpus, "EMChistos_400001")
    drop(root_corpus, settings, emc)
    processor = Processor(settings, *open_services(settings))
    processor.run_pass()
    files = expected_files(root_corpus)
    fastor = [files[name]["histograms"]["EMCTRQA_histFastORL0"] for name in emc]
    events = [files[name]["events"] for name in emc]
    mean = processor.trends.within_run("EMC", "meanFastORL0", 400001)
    std_dev = processor.trends.within_run("EMC", "stdDevFastORL0", 400001)
    peak = processor.trends.within_run("EMC", "maxFastORL0", 400001)
    counted = processor.trends.within_run("EMC", "maxFastORL0Unscaled", 400001)
    for i, exp in enumerate(fastor):
        assert mean[i].value == approx(exp["mean"][0])
        assert mean[i].error == approx(exp["mean_error"][0])
        assert std_dev[i].value == approx(exp["std_dev"][0])
        assert std_dev[i].error == approx(exp["std_dev_error"][0])
        assert counted[i].value == approx(exp["maximum"])
        # divided in the TH1F's own float32, as ROOT's Scale would store it
        assert peak[i].value == pytest.approx(exp["maximum"] / events[i], rel=1e-6)


def test_nan_file_between_good_files_is_recorded_and_processing_goes_on(
    root_corpus: Corpus,
    make_settings: Callable[..., Settings],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from overwatch_core import cli

    settings = make_settings()
    files = ingest_files(root_corpus, "EMChistos_400002")
    drop(root_corpus, settings, files)
    monkeypatch.setenv("OVERWATCH_SETTLE_SECONDS", "0")
    assert cli.main(["--data-folder", str(settings.data_folder), "process"]) == 0
    catalog, _cache = open_services(settings)
    case = root_corpus[1]["cases"]["non_finite"]
    trends = get_subsystem("EMC", settings.subsystems).trending_sources()
    present = set(expected_files(root_corpus)[files[0]]["histograms"])
    expected_count = sum(1 for s in trends if s.hist_name in present)
    with catalog.engine.connect() as conn:
        stamps = sorted(conn.execute(sa.select(trend_values.c.timestamp).distinct()).scalars())
        per_stamp = {
            t: conn.execute(sa.select(sa.func.count()).where(trend_values.c.timestamp == t)).scalar_one()
            for t in stamps
        }
        missing = conn.execute(sa.select(trend_missing.c.trend, trend_missing.c.reason)).all()
    good = [per_stamp[stamps[0]], per_stamp[stamps[-1]]]
    assert good == [expected_count, expected_count]  # every trend of both good files is recorded
    assert {"meanFastORL0", "stdDevFastORL0", "meanFastORL0Amp"} <= {m.trend for m in missing}
    # ROOT's GetMaximum skips NaN and infinite bins, and so do the maxima here.
    assert not {"maxFastORL0", "maxFastORL0Amp", "maxFastORL0AmpUnscaled"} & {m.trend for m in missing}
    assert all("NaN or infinite" in m.reason for m in missing)
    reports = catalog.file_reports(400002, "EMC")
    bad = next(r for r in reports.values() if "13_01_00" in r.path or r.problem)
    assert bad.state == "done"
    assert bad.problem is not None
    assert "missing" in bad.problem
    assert case["file"].startswith("EMChistos_400002")
    capsys.readouterr()
    assert cli.main(["--data-folder", str(settings.data_folder), "runs"]) == 0
    assert "PROBLEMS in 1 file(s)" in capsys.readouterr().out
    assert (
        cli.main(
            ["--data-folder", str(settings.data_folder), "trend", "EMC", "meanFastORL0", "--run", "400002"]
        )
        == 0
    )
    assert "no value: mean of EMCTRQA_histFastORL0 is nan" in capsys.readouterr().out


def test_zero_events_leave_per_event_trends_without_a_value(
    root_corpus: Corpus, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    drop(root_corpus, settings, [root_corpus[1]["cases"]["zero_events"]["file"]])
    processor = Processor(settings, *open_services(settings))
    processor.run_pass()
    run_file = processor.ingester.catalog.run(400003).subsystem("EMC").files[0]
    assert run_file.n_events == 0
    assert processor.trends.within_run("EMC", "maxFastORL0", 400003) == []
    assert processor.trends.within_run("EMC", "maxFastORL0Unscaled", 400003)[0].value > 0
    assert processor.trends.within_run("EMC", "meanFastORL0Time", 400003)  # not per event: recorded
    missing = processor.trends.missing_within_run("EMC", "maxFastORL0", 400003)
    assert [reason for _, reason in missing] == ["per-event trend, but the file has 0 events"]
    view = ViewService(settings, processor.ingester.catalog, processor.ingester.cache).full_run(400003, "EMC")
    assert view.groups  # drawn unscaled rather than divided by 0


def test_unclosed_and_hostile_name_files_are_ingested_not_quarantined(
    root_corpus: Corpus, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    names = {
        "objects/unclosed.root": "EMChistos_400010_C_2018_10_21_12_00_00.root",
        "objects/names.root": "EMChistos_400010_C_2018_10_21_12_01_00.root",
        "objects/classes.root": "EMChistos_400010_C_2018_10_21_12_02_00.root",
    }
    drop(root_corpus, settings, list(names), names)
    processor = Processor(settings, *open_services(settings))
    report = processor.run_pass()
    assert len(report.ingest.stored) == 3
    assert not report.ingest.quarantined
    assert not report.failed
    reports = processor.ingester.catalog.file_reports(400010, "EMC")
    notes = [r.note for r in reports.values() if r.note]
    assert len(notes) == 1
    assert "recovered" in notes[0]
    index = processor.ingester.catalog.histogram_index(400010, "EMC")
    assert {"../../etc/passwd", "a?b&c", "hist#1", "x/../y", "h_TH1L", "hA"} <= set(index)
    skipped = {name: cls for r in reports.values() for name, (cls, _) in r.skipped.items()}
    assert skipped == {
        "tree": "TTree",
        "graph": "TGraph",
        "list": "TList",
        "objstring": "TObjString",
        "named": "TNamed",
    }
    assert not (settings.data_path / "etc").exists()


def test_a_file_whose_content_breaks_processing_is_marked_failed_and_not_retried(
    root_corpus: Corpus, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A derived-histogram step raising on one file's content: that file fails, the next is processed."""
    from overwatch_core.subsystems.emc import EMCSubsystem

    settings = make_settings()
    files = ingest_files(root_corpus, "EMChistos_400001")
    drop(root_corpus, settings, files)
    processor = Processor(settings, *open_services(settings))
    processor.ingester.run_pass()
    original = EMCSubsystem.derived
    bad_file = {"n": 0}

    def derived_breaking_once(self: EMCSubsystem, hists: Any, own_files: bool) -> Any:
        bad_file["n"] += 1
        if bad_file["n"] == 1:
            raise IndexError("index 4992 is out of bounds for axis 0 with size 4992")
        return original(self, hists, own_files)

    monkeypatch.setattr(EMCSubsystem, "derived", derived_breaking_once)
    report = processor.run_pass()
    ((path, problem),) = report.failed
    assert "deriving histograms failed: IndexError" in problem
    states = {r.path: r.state for r in processor.ingester.catalog.file_reports(400001, "EMC").values()}
    assert sorted(states.values()) == ["done", "done", "failed"]
    assert states[path] == "failed"
    again = processor.run_pass()
    assert again.failed == ()
    assert again.trend_values == 0
    assert math.isfinite(processor.trends.within_run("EMC", "meanFastORL0", 400001)[-1].value)


def corrupt_one_object(corpus: Corpus, name: str, key: str, target: Path) -> Path:
    """Copy ``name`` with the compressed payload of one key overwritten: that object alone is broken."""
    (spec,) = [k for k in expected_files(corpus)[name]["keys"] if k["name"] == key]
    data = bytearray((corpus[0] / name).read_bytes())
    start = spec["seek"] + spec["keylen"] + 9  # past the key header and the 9-byte compression header
    data[start : start + 40] = b"\xff" * 40
    target.write_bytes(bytes(data))
    return target


def test_one_undecodable_object_is_listed_and_the_rest_of_the_file_used(
    root_corpus: Corpus, make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    from overwatch_core import cli

    settings = make_settings()
    settings.drop_path.mkdir(parents=True)
    received = settings.drop_path / "EMChistos_400020_C_2018_10_22_12_00_00.root"
    corrupt_one_object(root_corpus, "objects/codec_zlib.root", "h2f", received)
    contents = read_file(received)
    assert sorted(contents.histograms) == ["h1d", "h1f"]
    assert contents.failed["h2f"].class_name == "TH2F"
    assert contents.failed["h2f"].reason.startswith("cannot decode: ")
    exp = expected_files(root_corpus)["objects/codec_zlib.root"]["histograms"]
    check_against_root(contents.histograms["h1f"], exp["h1f"])

    processor = Processor(settings, *open_services(settings))
    report = processor.run_pass()
    assert report.ingest.stored
    assert not report.ingest.quarantined
    (file_report,) = processor.ingester.catalog.file_reports(400020, "EMC").values()
    assert file_report.skipped["h2f"][0] == "TH2F"
    assert processor.ingester.catalog.problem_counts([400020]) == {400020: 1}
    capsys.readouterr()
    assert cli.main(["--data-folder", str(settings.data_folder), "files", "400020"]) == 0
    assert "UNDECODABLE: h2f (TH2F): cannot decode: " in capsys.readouterr().out


def test_process_watch_keeps_running_through_bad_content(root_corpus: Corpus, tmp_path: Path) -> None:
    """`overwatch process --watch` as a process: a NaN file, an undecodable object and a garbage file pass by;
    the loop records the good files' trends after each, and stops cleanly on SIGTERM."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from overwatch_core.settings import load_settings

    data = tmp_path / "data"
    data.mkdir()
    env = {
        **os.environ,
        "OVERWATCH_DATA_FOLDER": str(data),
        "OVERWATCH_SETTLE_SECONDS": "0",
        "OVERWATCH_PROCESS_PERIOD_SECONDS": "0.2",
    }
    watch = subprocess.Popen(
        [sys.executable, "-m", "overwatch_core.cli", "process", "--watch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    settings = load_settings(None, env={}, data_folder=str(data))
    catalog, _cache = open_services(settings)

    def wait_for_done(paths: int) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert watch.poll() is None, watch.communicate()[0]
            with catalog.engine.connect() as conn:
                done = conn.execute(sa.text("SELECT count(*) FROM file_status WHERE state != 'pending'"))
                if done.scalar_one() >= paths:
                    return
            time.sleep(0.1)
        pytest.fail(f"fewer than {paths} files processed in 120 s")

    try:
        for name in ingest_files(root_corpus, "EMChistos_400002"):
            shutil.copy(root_corpus[0] / name, data / name)
        wait_for_done(3)
        corrupt_one_object(
            root_corpus,
            "objects/codec_zlib.root",
            "h2f",
            data / "EMChistos_400021_C_2018_10_22_13_00_00.root",
        )
        (data / "EMChistos_400021_C_2018_10_22_13_01_00.root").write_bytes(b"not a ROOT file at all" * 50)
        wait_for_done(4)
        shutil.copy(root_corpus[0] / ingest_files(root_corpus, "EMChistos_400001")[0], data)
        wait_for_done(5)
        assert watch.poll() is None
    finally:
        watch.send_signal(signal.SIGTERM)
        output = watch.communicate(timeout=60)[0]
    assert watch.returncode == 0, output
    assert (data / "quarantine" / "EMChistos_400021_C_2018_10_22_13_01_00.root.reason").exists()
    assert "Traceback" not in output
    with catalog.engine.connect() as conn:
        runs = set(conn.execute(sa.text("SELECT DISTINCT run_number FROM trend_values")).scalars())
    assert runs == {400001, 400002}
