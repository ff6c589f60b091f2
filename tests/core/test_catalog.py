"""Catalog: numeric order, pagination with 10,000 runs, run details, HLT fallback and ongoing runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from overwatch_core.catalog import Catalog
from overwatch_core.errors import NotFoundError
from overwatch_core.filenames import zone
from overwatch_core.model import RunFile

TZ = zone("Europe/Zurich")
T0 = datetime(2015, 11, 24, 18, 0, 0, tzinfo=TZ)


@pytest.fixture
def catalog(catalog_url: str) -> Catalog:
    return Catalog.connect(catalog_url, TZ)


def add(catalog: Catalog, run: int, location: str, minute: int, hists: dict[str, str] | None = None) -> None:
    when = T0 + timedelta(minutes=minute)
    run_file = RunFile(run, location, f"Run{run}/{location}/{location}hists.{minute}.root", when, 100, 1000.0)
    with catalog.engine.begin() as conn:
        catalog.add_run(conn, run, "C")
        catalog.add_file(conn, run_file, hists or {"h": "TH1F"})
        catalog.update_subsystems(conn, run, ["EMC", "TPC", "HLT"])


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    catalog = Catalog.connect(f"sqlite:///{tmp_path / 'wal.sqlite'}", TZ)
    with catalog.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_numeric_order_and_pagination_with_10000_runs(catalog: Catalog) -> None:
    from overwatch_core.catalog import files, runs

    numbers = list(range(95001, 105001))  # crosses 99999 → 100000, where string order breaks
    with catalog.engine.begin() as conn:
        conn.execute(runs.insert(), [{"run_number": n, "hlt_mode": "C"} for n in numbers])
        conn.execute(
            files.insert(),
            [
                {"run_number": n, "location": "HLT", "path": f"Run{n}/HLT/x.root", "timestamp": n, "size": 1}
                for n in numbers
            ],
        )
    first = catalog.runs_page(1, 50)
    assert first.total == 10000
    assert first.pages == 200
    assert [r.run_number for r in first.runs] == list(range(105000, 104950, -1))
    assert (first.first_index, first.last_index) == (1, 50)
    crossing = catalog.runs_page(101, 50)  # runs 100000 .. 99951
    assert [r.run_number for r in crossing.runs][:2] == [100000, 99999]
    last = catalog.runs_page(200, 50)
    assert last.runs[-1].run_number == 95001
    assert (last.first_index, last.last_index) == (9951, 10000)
    assert catalog.runs_page(201, 50).runs == ()
    assert catalog.run_numbers()[:2] == [95001, 95002]


def test_bad_page_arguments(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="page"):
        catalog.runs_page(0)


def test_run_with_subsystems_and_files(catalog: Catalog) -> None:
    for minute in (2, 0, 1):
        add(catalog, 300005, "EMC", minute)
    add(catalog, 300005, "HLT", 0, {"fHistTPCTrackPt": "TH1F"})
    run = catalog.run(300005)
    assert [s.name for s in run.subsystems] == ["EMC", "HLT", "TPC"]
    emc = run.subsystem("EMC")
    assert [f.timestamp.minute for f in emc.files] == [0, 1, 2]
    assert emc.run_length_minutes == 2
    assert emc.files[0].n_events == 1000.0
    assert run.subsystem("TPC").file_location == "HLT"
    assert run.start == T0
    assert catalog.histogram_index(300005, "HLT") == {"fHistTPCTrackPt": "TH1F"}
    summary = catalog.runs_page().runs[0]
    assert dict(summary.file_counts) == {"EMC": 3, "HLT": 1, "TPC": 1}
    assert summary.file_locations["TPC"] == "HLT"
    assert summary.start == T0


def test_own_files_replace_the_hlt_fallback(catalog: Catalog) -> None:
    add(catalog, 7, "HLT", 0)
    assert catalog.run(7).subsystem("TPC").file_location == "HLT"
    add(catalog, 7, "TPC", 1)
    assert catalog.run(7).subsystem("TPC").file_location == "TPC"


def test_no_hlt_means_no_fallback(catalog: Catalog) -> None:
    add(catalog, 8, "EMC", 0)
    assert [s.name for s in catalog.run(8).subsystems] == ["EMC"]


def test_unknown_run_lists_nearby_runs(catalog: Catalog) -> None:
    add(catalog, 10, "EMC", 0)
    add(catalog, 12, "EMC", 0)
    with pytest.raises(NotFoundError, match=r"unknown run 11; valid: 10, 12"):
        catalog.run(11)
    with pytest.raises(NotFoundError, match="subsystem"):
        catalog.run(10).subsystem("XYZ")


def test_adding_a_file_twice_is_a_no_op(catalog: Catalog) -> None:
    add(catalog, 10, "EMC", 0)
    before = catalog.snapshot()
    add(catalog, 10, "EMC", 0)
    assert catalog.snapshot() == before


def test_ongoing(catalog: Catalog) -> None:
    assert catalog.ongoing_run(T0, 5) is None
    add(catalog, 10, "EMC", 0)
    add(catalog, 11, "EMC", 3)
    assert catalog.ongoing_run(T0 + timedelta(minutes=7), 5) == 11
    assert catalog.ongoing_run(T0 + timedelta(minutes=8, seconds=1), 5) is None
