"""The processing loop: trends keep growing pass after pass, alarms are stored, the CLI reports errors."""

from __future__ import annotations

import argparse
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from overwatch_core import cli
from overwatch_core.demo import generate_demo_data, replay_run
from overwatch_core.processing import (
    LEASE,
    LeaderError,
    Processor,
    kept_lease,
    leader_lock,
    open_services,
    stand_by,
)
from overwatch_core.settings import Settings

ALARMS = {"maxEvents": [{"kind": "between_values", "min_value": 0, "max_value": 1, "label": "ERROR"}]}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Received files of one short run, to replay into a drop folder pass by pass."""
    out = tmp_path_factory.mktemp("source")
    generate_demo_data(out, n_runs=1, files_per_run=4)
    return out


def test_trends_keep_growing_across_passes(make_settings: Callable[..., Settings], source: Path) -> None:
    settings = make_settings(alarms=ALARMS)
    processor = Processor(settings, *open_services(settings))
    counts: list[int] = []

    def process_pass(_seconds: float) -> None:
        """Replay calls this between minutes: process what has arrived so far."""
        report = processor.run_pass()
        assert report.ingest.stored
        last = processor.ingester.catalog.last_pass()  # for /metrics on every host
        assert last is not None
        assert (last.stored, last.decodes, last.passes_total) == (
            len(report.ingest.stored),
            report.decodes,
            len(counts) + 1,
        )
        counts.append(len(processor.trends.within_run("EMC", "meanFastORL0", 300000)))

    replay_run(source, settings.drop_path, 300000, cadence_seconds=0, sleep=process_pass)
    process_pass(0)
    assert counts == [1, 2, 3, 4]
    points = processor.trends.within_run("EMC", "maxEvents", 300000)
    assert [p.timestamp for p in points] == sorted(p.timestamp for p in points)
    assert all(p.alarms and "ERROR" in p.alarms[0] for p in points)  # event counts are far above 1
    assert processor.trends.alarm_counts([300000]) == {300000: 4}
    across = processor.trends.across_runs("EMC", "maxEvents", 0, 999999)
    assert [(p.run_number, p.value) for p in across] == [(300000, points[-1].value)]


def test_rebuild_trending_gives_the_same_values(demo_data: Path, tmp_path: Path) -> None:
    import shutil

    from overwatch_core.settings import load_settings

    copy = tmp_path / "copy"
    shutil.copytree(demo_data, copy)
    settings = load_settings(None, env={}, data_folder=str(copy))
    processor = Processor(settings, *open_services(settings))
    before = processor.ingester.catalog.snapshot()
    processor.recompute_trends()
    assert processor.ingester.catalog.snapshot() == before
    assert processor.trends.count() > 0


def test_watch_stops_when_asked(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(process_period_seconds=0.01)
    processor = Processor(settings, *open_services(settings))
    stop = threading.Event()
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    assert processor.watch(stop) >= 1


def test_only_one_leader(make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings()
    catalog, _ = open_services(settings)
    with leader_lock(catalog, 60) as renew:
        assert renew()
        monkeypatch.setattr("overwatch_core.processing._holder", lambda: "other-host:1")
        with pytest.raises(LeaderError, match="holds the processing lease"), leader_lock(catalog, 60):
            pass
    with leader_lock(catalog, 60):  # released on exit: the other host may lead now
        pass


def test_a_standby_takes_over_when_the_lease_runs_out(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog, _ = open_services(make_settings())
    assert catalog.acquire_lease(LEASE, "dead-host:1", time.time(), 0.3)  # a leader that never renews
    stop = threading.Event()
    assert stand_by(catalog, 60, stop, period=0.05)
    assert catalog.lease_holder(LEASE) != "dead-host:1"
    monkeypatch.setattr("overwatch_core.processing._holder", lambda: "other-host:1")
    stop.set()
    assert not stand_by(catalog, 60, stop, period=0.05)  # stopped while another holds it


def test_a_kept_lease_is_renewed_during_a_long_pass() -> None:
    lost, renewals = threading.Event(), threading.Semaphore(0)

    def renew() -> bool:
        renewals.release()
        return True

    with kept_lease(renew, 0.03, lost):
        for _ in range(3):  # three renewals while "the pass" runs
            assert renewals.acquire(timeout=30)
    assert not lost.is_set()
    with kept_lease(lambda: False, 0.03, lost):  # another host has taken it
        assert lost.wait(30)


def test_expired_lease_passes_to_another_holder(make_settings: Callable[..., Settings]) -> None:
    catalog, _ = open_services(make_settings())
    assert catalog.acquire_lease("x", "a", now=100.0, seconds=10)
    assert not catalog.acquire_lease("x", "b", now=105.0, seconds=10)
    assert catalog.acquire_lease("x", "a", now=105.0, seconds=10)  # renewal
    assert catalog.acquire_lease("x", "b", now=116.0, seconds=10)  # a's lease ran out
    assert not catalog.acquire_lease("x", "a", now=117.0, seconds=10)


def test_cli_slice_and_trend(demo_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--data-folder", str(demo_data)]
    assert cli.main([*base, "slice", "300003", "EMC", "--from", "5", "--to", "7"]) == 0
    out = capsys.readouterr().out
    assert "requested 5–7 min, shown 5–7 min" in out
    assert "Fast OR Hot Channels ID: 517, 2222, 3931" in out
    assert cli.main([*base, "trend", "EMC", "meanFastORL0", "--run", "300003"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 8
    assert cli.main([*base, "trend", "EMC", "maxEvents", "--runs", "300000-300004"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    assert cli.main([*base, "runs"]) == 0
    assert "Showing runs 1–3 of 3" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["slice", "1", "EMC", "--from", "0", "--to", "2"], "unknown run 1"),
        (["slice", "300003", "EMC", "--from", "3", "--to", "2"], "must be greater than min_time"),
        (["slice", "300003", "EMC", "--from", "0", "--to", "99"], "beyond the run"),
        (["slice", "300003", "EMC", "--from", "0", "--to", "2", "--threshold", "5000"], "between 0 and 1000"),
        (["slice", "300003", "V0", "--from", "0", "--to", "2"], "unknown subsystem"),
        (["trend", "EMC", "meanNothing"], "unknown trend of EMC 'meanNothing'; valid: maxAmpEdgePos"),
    ],
)
def test_cli_bad_input_exits_non_zero(
    demo_data: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert cli.main(["--data-folder", str(demo_data), *args]) == 2
    assert message in capsys.readouterr().err


def test_the_demo_configuration_raises_alarms_for_the_hot_runs_only(demo_data: Path, tmp_path: Path) -> None:
    """`make demo` uses config/demo.toml: its hot-FastOR alarm (per event) fires in run 300003 only."""
    import shutil

    from overwatch_core.settings import load_settings

    copy = tmp_path / "copy"
    shutil.copytree(demo_data, copy)
    config = Path(__file__).parents[2] / "config" / "demo.toml"
    settings = load_settings(config, env={}, data_folder=str(copy))
    processor = Processor(settings, *open_services(settings))
    processor.recompute_trends()
    counts = processor.trends.alarm_counts([300000, 300003, 300004])
    assert counts.get(300003, 0) >= 3  # from the sixth file (minute 5) on
    assert counts.get(300000, 0) == 0
    assert counts.get(300004, 0) == 0


def test_a_pass_decodes_each_new_file_exactly_once(
    make_settings: Callable[..., Settings], source: Path
) -> None:
    """Parallel warm-up, ingest and trends share one decode per file; the summary counts them."""
    settings = make_settings()
    settings.drop_path.mkdir(parents=True)
    files = sorted(source.glob("*.root"))
    for path in files:
        shutil.copy(path, settings.drop_path)
    processor = Processor(settings, *open_services(settings))
    report = processor.run_pass()
    stored = len(report.ingest.stored)
    assert stored == len(files) - len(report.ingest.replay) >= 12  # mode-E files are set aside, not read
    assert report.decodes == stored
    assert report.summary().endswith(f"; {stored} files decoded")
    # A new process (another host or worker) finds every file in the decoded store: no decode at all.
    again = Processor(settings, *open_services(settings))
    again.recompute_trends()
    assert again.ingester.cache.stats.decodes == 0


def test_every_command_has_an_example_in_its_help() -> None:
    parser = cli.build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(commands.choices) == set(cli.EXAMPLES)
    for name, command in commands.choices.items():
        assert command.epilog == f"example: {cli.EXAMPLES[name]}"
        assert cli.EXAMPLES[name].startswith("overwatch ")


def test_serve_flags_override_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr(cli.subprocess, "call", lambda command, env: seen.append((command, env)) or 0)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    argv = ["--data-folder", str(tmp_path), "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "3"]
    assert cli.main(argv) == 0
    ((command, env),) = seen
    assert Path(env["PROMETHEUS_MULTIPROC_DIR"]).is_dir()  # /metrics adds up the workers
    assert command[command.index("--bind") + 1] == "0.0.0.0:8080"
    assert command[command.index("--workers") + 1] == "3"


def test_json_output_of_runs_slice_and_trend(demo_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    base = ["--data-folder", str(demo_data)]
    capsys.readouterr()
    assert cli.main([*base, "runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["run"] for r in runs["runs"]] == [300004, 300003, 300000]
    assert runs["runs"][0]["subsystems"]["TPC"] == {"files": 8, "location": "HLT"}
    assert cli.main([*base, "slice", "300003", "EMC", "--from", "5", "--to", "7", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert (view["run"], view["subsystem"], view["checks"]) == (300003, "EMC", None)
    assert any(h["name"] == "EMCTRQA_histFastORL0" for g in view["groups"] for h in g["histograms"])
    assert cli.main([*base, "trend", "EMC", "meanFastORL0", "--run", "300003", "--json"]) == 0
    trend = json.loads(capsys.readouterr().out)
    assert len(trend["points"]) == 8
    assert trend["points"][0].keys() == {"run", "time", "value", "error", "alarms"}


def test_stored_trends_equal_numpy_on_the_files_read_by_uproot_directly(demo_data: Path) -> None:
    """Independent of the reader and the trend code: uproot's members and numpy on its arrays."""
    import numpy as np
    import uproot

    from overwatch_core.settings import load_settings

    settings = load_settings(None, env={}, data_folder=str(demo_data))
    processor = Processor(settings, *open_services(settings))
    files = processor.ingester.catalog.run(300003).subsystem("EMC").files
    means = processor.trends.within_run("EMC", "meanFastORL0", 300003)
    peaks = processor.trends.within_run("EMC", "maxFastORL0", 300003)
    counted = processor.trends.within_run("EMC", "maxFastORL0Unscaled", 300003)
    assert len(means) == len(peaks) == len(counted) == len(files) == 8
    for run_file, mean, peak, unscaled in zip(files, means, peaks, counted, strict=True):
        with uproot.open(demo_data / run_file.path) as f:
            fastor = f["EMCTRQA_histFastORL0"]
            events = float(f["EMCTRQA_histEvents"].values()[0])
            sums = (fastor.member("fTsumw"), fastor.member("fTsumwx"))
            contents = np.asarray(fastor.values(), dtype=np.float64)
        assert mean.value == pytest.approx(sums[1] / sums[0], rel=1e-12)
        assert unscaled.value == pytest.approx(contents.max(), rel=1e-12)
        assert peak.value == pytest.approx(contents.max() / events, rel=1e-6)  # float32, as ROOT's Scale
