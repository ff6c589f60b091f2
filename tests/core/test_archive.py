"""Test-data archive: which runs and files, their names in the zip, streaming, and `overwatch archive`."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from overwatch_core import cli
from overwatch_core.archive import (
    CHUNK_BYTES,
    EmptyArchiveError,
    chosen_files,
    plan_archive,
    stream_archive,
    write_archive,
)
from overwatch_core.catalog import Catalog
from overwatch_core.model import RunFile
from overwatch_core.processing import open_services
from overwatch_core.settings import load_settings

TZ = ZoneInfo("Europe/Zurich")


def demo_catalog(data: Path) -> Catalog:
    catalog, cache = open_services(load_settings(None, env={}, data_folder=str(data)))
    cache.close()
    return catalog


def run_files(count: int) -> list[RunFile]:
    return [
        RunFile(1, "EMC", f"Run1/EMC/EMChists.2015_11_24_18_{i:02d}_00.root",
                datetime(2015, 11, 24, 18, i, tzinfo=TZ), 1)
        for i in range(count)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("count", "indexes"),
    [(0, []), (1, [0]), (2, [0, 1]), (4, [0, 3]), (5, [0, 4]), (6, [0, 1, 5]), (8, [0, 3, 7])],
)
def test_first_fifth_from_newest_and_newest_without_duplicates(count: int, indexes: list[int]) -> None:
    files = run_files(count)
    assert chosen_files(files) == [files[i] for i in indexes]


def test_plan_takes_complete_runs_newest_first_and_each_path_once(demo_data: Path) -> None:
    plan = plan_archive(demo_catalog(demo_data), ["EMC", "TPC", "HLT"])
    assert plan.run_numbers == (300004, 300003, 300000)
    assert len(plan.paths) == len(set(plan.paths))
    # 300004 has no TPC files: its TPC reads HLT's, which are archived once, under HLT.
    assert {p.split("/")[1] for p in plan.paths if p.startswith("Run300004/")} == {"EMC", "HLT"}
    assert len(plan.paths) == 2 * 3 + 3 * 3 + 3 * 3  # 8 files each: the 1st, 4th and 8th
    assert all(p.startswith(("Run300004/", "Run300003/", "Run300000/")) for p in plan.paths)


def test_plan_limits_runs_and_refuses_when_no_run_is_complete(demo_data: Path) -> None:
    catalog = demo_catalog(demo_data)
    assert plan_archive(catalog, ["EMC", "HLT"], max_runs=2).run_numbers == (300004, 300003)
    with pytest.raises(EmptyArchiveError, match=r"every configured subsystem \(EMC, HLT, V0\)"):
        plan_archive(catalog, ["EMC", "HLT", "V0"])


def test_zip_holds_the_files_under_their_run_paths(demo_data: Path) -> None:
    plan = plan_archive(demo_catalog(demo_data), ["EMC", "TPC", "HLT"])
    chunks = list(stream_archive(demo_data, plan.paths))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    assert archive.namelist() == list(plan.paths)
    for name in plan.paths[:4]:
        assert archive.read(name) == (demo_data / name).read_bytes()
    # Streamed: many small chunks, never the whole archive at once.
    assert len(chunks) > len(plan.paths)
    assert max(len(c) for c in chunks) <= CHUNK_BYTES + 4096


def test_a_vanished_file_is_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "Run1" / "EMC").mkdir(parents=True)
    (tmp_path / "Run1/EMC/a.root").write_bytes(b"root data")
    out = io.BytesIO()
    write_archive(out, tmp_path, ["Run1/EMC/a.root", "Run1/EMC/gone.root"])
    assert zipfile.ZipFile(out).namelist() == ["Run1/EMC/a.root"]
    assert "skipped Run1/EMC/gone.root" in caplog.text


def test_cli_archive_writes_the_same_zip(
    demo_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "test-data.zip"
    assert cli.main(["--data-folder", str(demo_data), "archive", "--out", str(out)]) == 0
    assert "24 files of runs 300004, 300003, 300000" in capsys.readouterr().out
    expected = plan_archive(demo_catalog(demo_data), ["EMC", "TPC", "HLT"]).paths
    assert zipfile.ZipFile(out).namelist() == list(expected)


def test_cli_archive_without_complete_runs_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--data-folder", str(tmp_path / "empty"), "archive", "--out", str(tmp_path / "x")]) == 2
    assert "no run has files of every configured subsystem" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
