"""Ingest: good, growing, zero-size, garbage, truncated files (nothing lost); HLT fallback; rebuild."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from overwatch_core.catalog import Catalog
from overwatch_core.filenames import format_received_name, zone
from overwatch_core.histograms import HistogramCache
from overwatch_core.ingest import Ingester, rebuild
from overwatch_core.model import Histogram
from overwatch_core.rootwrite import write_histograms
from overwatch_core.settings import Settings

TZ = zone("Europe/Zurich")
T0 = datetime(2015, 11, 24, 18, 5, 10, tzinfo=TZ)


def make_ingester(settings: Settings) -> Ingester:
    settings.data_path.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.connect(settings.catalog_url, TZ)
    return Ingester(settings, catalog, HistogramCache(disk_directory=settings.cache_path / "histograms"))


def hist(name: str, value: float) -> Histogram:
    edges = np.linspace(0.0, 1.0, 3)
    values = np.array([value, 1.0])
    return Histogram(name, "TH1F", values, values, (edges,), name, ("x", "entries"), float(values.sum()))


def drop(
    settings: Settings, subsystem: str, run: int, minute: int, mode: str = "C", events: float = 100.0
) -> Path:
    """Write a received file into the drop folder, as a receiver would."""
    name = format_received_name(subsystem, run, mode, T0 + timedelta(minutes=minute), TZ)
    hists = {
        f"{subsystem}Events": hist(f"{subsystem}Events", events),
        f"{subsystem}_a": hist(f"{subsystem}_a", 1.0),
    }
    return write_histograms(settings.drop_path / name, hists)


@pytest.fixture
def ingester(settings: Settings) -> Ingester:
    settings.drop_path.mkdir(parents=True, exist_ok=True)
    return make_ingester(settings)


def all_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_good_file_is_stored_and_recorded(ingester: Ingester, settings: Settings) -> None:
    drop(settings, "EMC", 300005, 0, events=1234.0)
    report = ingester.run_pass()
    assert report.stored == ["Run300005/EMC/EMChists.2015_11_24_18_05_10.root"]
    assert (settings.data_path / report.stored[0]).is_file()
    run = ingester.catalog.run(300005)
    assert run.hlt_mode == "C"
    emc = run.subsystem("EMC")
    assert emc.files[0].timestamp == T0
    assert emc.files[0].n_events == 1234.0
    assert ingester.catalog.histogram_index(300005, "EMC") == {"EMCEvents": "TH1F", "EMC_a": "TH1F"}
    assert ingester.cache.stats.decodes == 1


def test_unpadded_name_is_stored_padded(ingester: Ingester, settings: Settings) -> None:
    source = drop(settings, "EMC", 1, 0)
    source.rename(source.with_name("EMChistos_1_B_2015_11_24_18_5_10.root"))
    assert ingester.run_pass().stored == ["Run1/EMC/EMChists.2015_11_24_18_05_10.root"]


def test_bad_files_are_quarantined_never_lost(ingester: Ingester, settings: Settings) -> None:
    drop_dir = settings.drop_path
    (drop_dir / "EMChistos_1_C_2015_11_24_18_05_10.root").write_bytes(b"")
    (drop_dir / "EMChistos_1_C_2015_11_24_18_06_10.root").write_bytes(b"this is not a ROOT file" * 50)
    good = drop(settings, "EMC", 1, 2)
    truncated = drop(settings, "EMC", 1, 3)
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    (drop_dir / "EMChistos_x_C_2015.root").write_bytes(good.read_bytes())
    (drop_dir / "V0Ahistos_1_C_2015_11_24_18_05_10.root").write_bytes(good.read_bytes())
    (drop_dir / "heartbeat.EMCReceiver").write_text("1448384710")
    (drop_dir / ".EMChistos_1_C_2015_11_24_18_09_10.root.x1").write_bytes(b"partial")

    report = ingester.run_pass()

    assert report.stored == ["Run1/EMC/EMChists.2015_11_24_18_07_10.root"]
    reasons = dict(report.quarantined)
    assert reasons["EMChistos_1_C_2015_11_24_18_05_10.root"] == "zero-size file"
    assert "unreadable ROOT file" in reasons["EMChistos_1_C_2015_11_24_18_06_10.root"]
    assert "truncated" in reasons["EMChistos_1_C_2015_11_24_18_08_10.root"]
    assert "expected '<SYS>histos_" in reasons["EMChistos_x_C_2015.root"]
    assert "'V0A' is not configured" in reasons["V0Ahistos_1_C_2015_11_24_18_05_10.root"]
    quarantine = settings.quarantine_path
    for name, reason in reasons.items():
        assert (quarantine / f"{name}.reason").read_text().strip() == reason
    # Unreadable files were moved out of the run folder again; the catalog only knows the good one.
    assert [f.path for f in ingester.catalog.run(1).subsystem("EMC").files] == report.stored
    # Nothing else was touched: heartbeat and the file being written stay in the drop folder.
    assert sorted(p.name for p in drop_dir.iterdir() if p.is_file() and "sqlite" not in p.name) == [
        ".EMChistos_1_C_2015_11_24_18_09_10.root.x1",
        "heartbeat.EMCReceiver",
    ]


def test_growing_file_is_left_for_the_next_pass(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(settle_seconds=30.0)
    settings.drop_path.mkdir(parents=True)
    ingester = make_ingester(settings)
    path = drop(settings, "EMC", 1, 0)
    report = ingester.run_pass()
    assert report.left == [path.name]
    assert path.exists()
    old = time.time() - 60
    os.utime(path, (old, old))
    assert ingester.run_pass().stored == ["Run1/EMC/EMChists.2015_11_24_18_05_10.root"]


def test_replay_mode_goes_to_replay_data_and_is_not_processed(ingester: Ingester, settings: Settings) -> None:
    drop(settings, "EMC", 5, 0, mode="E")
    report = ingester.run_pass()
    assert report.replay == ["ReplayData/Run5/EMC/EMChists.2015_11_24_18_05_10.root"]
    assert (settings.data_path / report.replay[0]).is_file()
    assert ingester.catalog.run_numbers() == []


def test_duplicate_time_is_quarantined_not_overwritten(ingester: Ingester, settings: Settings) -> None:
    drop(settings, "EMC", 1, 0)
    ingester.run_pass()
    drop(settings, "EMC", 1, 0, events=7.0)
    report = ingester.run_pass()
    assert "already exists" in report.quarantined[0][1]
    assert ingester.catalog.run(1).subsystem("EMC").files[0].n_events == 100.0


def test_ingest_twice_changes_nothing(ingester: Ingester, settings: Settings) -> None:
    for minute in range(3):
        drop(settings, "EMC", 1, minute)
        drop(settings, "HLT", 1, minute)
    ingester.run_pass()
    files_before, catalog_before = all_files(settings.data_path), ingester.catalog.snapshot()
    report = ingester.run_pass()
    assert report.stored == report.quarantined == []
    assert ingester.catalog.snapshot() == catalog_before
    assert all_files(settings.data_path) - files_before <= {"overwatch.sqlite-wal", "overwatch.sqlite-shm"}


@pytest.mark.parametrize("hlt_first", [True, False])
def test_hlt_backed_subsystem_appears_in_either_order(
    ingester: Ingester, settings: Settings, hlt_first: bool
) -> None:
    order = ["HLT", "EMC"] if hlt_first else ["EMC", "HLT"]
    drop(settings, order[0], 7, 0)
    ingester.run_pass()
    drop(settings, order[1], 7, 1)
    ingester.run_pass()
    run = ingester.catalog.run(7)
    assert [s.name for s in run.subsystems] == ["EMC", "HLT", "TPC"]
    assert run.subsystem("TPC").file_location == "HLT"
    assert len(run.subsystem("TPC").files) == 1
    drop(settings, "TPC", 7, 2)
    ingester.run_pass()
    assert ingester.catalog.run(7).subsystem("TPC").file_location == "TPC"


def test_rebuild_equals_incremental(ingester: Ingester, settings: Settings) -> None:
    for run in (99999, 100000):
        for minute in range(3):
            drop(settings, "EMC", run, minute, mode="B" if run == 99999 else "C")
            drop(settings, "HLT", run, minute)
            ingester.run_pass()  # one pass per file pair, as a live run would arrive
    incremental = ingester.catalog.snapshot()
    assert rebuild(ingester) == 12
    assert ingester.catalog.snapshot() == incremental
    assert ingester.catalog.run(99999).hlt_mode == "B"


def test_rebuild_skips_unreadable_stored_files(ingester: Ingester, settings: Settings) -> None:
    drop(settings, "EMC", 1, 0)
    ingester.run_pass()
    bad = settings.data_path / "Run1" / "EMC" / "EMChists.2015_11_24_18_06_10.root"
    bad.write_bytes(b"garbage")
    assert rebuild(ingester) == 1
    assert bad.exists()


def test_missing_drop_folder_is_not_fatal(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings(drop_folder=str(tmp_path / "nowhere"))
    assert make_ingester(settings).run_pass().stored == []


def test_a_pass_cut_short_is_finished_by_the_next(
    ingester: Ingester, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(settings, "EMC", 1, 0)
    drop(settings, "HLT", 1, 0)

    def crash(_paths: object) -> None:
        raise KeyboardInterrupt  # killed after the files were moved, before they were recorded

    monkeypatch.setattr(ingester.cache, "warm", crash)
    with pytest.raises(KeyboardInterrupt):
        ingester.run_pass()
    assert not list(settings.drop_path.glob("*.root"))  # moved into the run folders ...
    assert ingester.catalog.run_numbers() == []  # ... but not recorded
    monkeypatch.undo()
    report = ingester.run_pass()
    assert sorted(report.stored) == ["Run1/EMC/EMChists.2015_11_24_18_05_10.root",
                                     "Run1/HLT/HLThists.2015_11_24_18_05_10.root"]  # fmt: skip
    assert [s.name for s in ingester.catalog.run(1).subsystems] == ["EMC", "HLT", "TPC"]
    assert not (settings.data_path / ".ingest-journal.json").exists()
    assert ingester.run_pass().stored == []


def test_a_kill_while_moving_loses_no_file(
    ingester: Ingester, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal is written ahead of each move: the file moved before the kill is finished next pass."""
    drop(settings, "EMC", 1, 0)
    drop(settings, "HLT", 1, 0)
    move = shutil.move
    moved: list[object] = []

    def move_then_die(source: object, target: object) -> object:
        if moved:
            raise KeyboardInterrupt  # killed between the first move and the second
        moved.append(source)
        return move(source, target)

    monkeypatch.setattr("overwatch_core.ingest.shutil.move", move_then_die)
    with pytest.raises(KeyboardInterrupt):
        ingester.run_pass()
    monkeypatch.undo()
    assert len(list(settings.drop_path.glob("*.root"))) == 1  # one moved, one still in the drop folder
    report = ingester.run_pass()
    assert sorted(report.stored) == ["Run1/EMC/EMChists.2015_11_24_18_05_10.root",
                                     "Run1/HLT/HLThists.2015_11_24_18_05_10.root"]  # fmt: skip
    assert not (settings.data_path / ".ingest-journal.json").exists()
