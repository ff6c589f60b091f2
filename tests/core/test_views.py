"""Processed views and time slices on demo data: groups, hot channels, hand-computed differences, caching."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import diskcache
import numpy as np
import pytest

from overwatch_core.demo import HOT_FASTOR_IDS, HOT_FROM_MINUTE
from overwatch_core.errors import NotFoundError
from overwatch_core.histograms import HistogramCache, read_file
from overwatch_core.processing import open_services
from overwatch_core.settings import Settings, load_settings
from overwatch_core.subsystems.base import ProcessingOptionError
from overwatch_core.time_slices import TimeSliceError, TimeSliceRequest
from overwatch_core.views import MissingFileError, ViewService

HOT_RUN, PLAIN_RUN, HLT_BACKED_RUN = 300003, 300000, 300004


def files_by_minute(data: Path, run: int, subsystem: str) -> dict[int, str]:
    """Stored files keyed by the whole minute since the run's first file, read from their names."""
    from overwatch_core.filenames import parse_stored_name, zone

    paths = sorted((data / f"Run{run}" / subsystem).glob("*.root"))
    stamps = {p: parse_stored_name(p.name, zone("Europe/Zurich")).timestamp for p in paths}
    start = min(stamps.values())
    minutes = {p: round((t - start).total_seconds() / 60) for p, t in stamps.items()}
    return {m: p.relative_to(data).as_posix() for p, m in minutes.items()}


FASTOR = "EMCTRQA_histFastORL0"


def demo_settings(data: Path) -> Settings:
    return load_settings(None, env={}, data_folder=str(data), settle_seconds=0.0)


@pytest.fixture
def make_service(demo_data: Path, tmp_path: Path) -> Callable[..., ViewService]:
    """A view service on the shared demo data, with its own view cache below tmp_path."""

    def make(data: Path = demo_data, hist_cache: HistogramCache | None = None) -> ViewService:
        settings = demo_settings(data)
        catalog, shared_cache = open_services(settings)
        return ViewService(settings, catalog, hist_cache or shared_cache, diskcache.Cache(tmp_path / "views"))

    return make


@pytest.fixture
def service(make_service: Callable[..., ViewService]) -> ViewService:
    return make_service()


def hot_ids(view_hist_info: dict[str, str]) -> set[int]:
    text = view_hist_info["Fast OR Hot Channels ID"]
    return set() if text == "none" else {int(x) for x in text.split(",")}


def test_emc_groups_in_reference_order(service: ViewService) -> None:
    names = service.full_run(HOT_RUN, "EMC").group_names
    expected_prefix = ["FEE vs TRU", "FEE vs STU", "FastOR L0 (hits with ADC > 0)"]
    assert names[:3] == expected_prefix
    assert names.index("EMCal cluster level") < names.index("FastOR") < names.index("Other EMC")
    assert service.full_run(HOT_RUN, "EMC").group("FEE vs TRU").grid


def test_hlt_and_tpc_groups(service: ViewService) -> None:
    assert service.full_run(PLAIN_RUN, "HLT").group_names == ["HLT Histograms"]
    tpc = service.full_run(PLAIN_RUN, "TPC")
    assert tpc.group_names[0] == "DCAr vs Phi"
    # Run 300004 has no TPC files of its own: TPC reads the HLT files and still shows its groups.
    sub = service.subsystem(HLT_BACKED_RUN, "TPC")
    assert sub.file_location == "HLT"
    assert service.full_run(HLT_BACKED_RUN, "TPC").groups


def test_hot_channels_appear_only_after_their_minute(service: ViewService) -> None:
    before = service.time_slice(HOT_RUN, "EMC", TimeSliceRequest(0, HOT_FROM_MINUTE - 1))
    after = service.time_slice(HOT_RUN, "EMC", TimeSliceRequest(HOT_FROM_MINUTE, 7))
    assert hot_ids(dict(before.histogram(FASTOR).information)) == set()
    assert hot_ids(dict(after.histogram(FASTOR).information)) == set(HOT_FASTOR_IDS)
    quiet_run = service.time_slice(PLAIN_RUN, "EMC", TimeSliceRequest(HOT_FROM_MINUTE, 7))
    assert hot_ids(dict(quiet_run.histogram(FASTOR).information)) == set()


def test_user_threshold(service: ViewService) -> None:
    low = service.time_slice(HOT_RUN, "EMC", TimeSliceRequest(HOT_FROM_MINUTE, 7, hot_channel_threshold=5))
    assert dict(low.histogram(FASTOR).information)["Threshold"] == "0.005"
    assert hot_ids(dict(low.histogram(FASTOR).information)) == set(HOT_FASTOR_IDS)
    high = service.time_slice(
        HOT_RUN, "EMC", TimeSliceRequest(HOT_FROM_MINUTE, 7, hot_channel_threshold=1000)
    )
    assert hot_ids(dict(high.histogram(FASTOR).information)) == set()


def test_slice_is_the_hand_computed_difference_scaled_by_its_events(
    service: ViewService, demo_data: Path
) -> None:
    view = service.time_slice(HOT_RUN, "EMC", TimeSliceRequest(2, 6))
    written = files_by_minute(demo_data, HOT_RUN, "EMC")  # from the names on disk, not from the view
    assert view.files == (written[2], written[6])
    first, last = (read_file(demo_data / path).histograms for path in (written[2], written[6]))
    assert view.selection is not None
    assert view.selection.shown == (2, 6)
    files = service.subsystem(HOT_RUN, "EMC").files
    assert view.n_events == files[6].n_events - files[2].n_events
    expected = (last[FASTOR].values - first[FASTOR].values) / view.n_events
    # TH1F contents stay float32, as in ROOT (7 significant digits)
    np.testing.assert_allclose(view.histogram(FASTOR).layers[0].hist.values, expected, rtol=1e-6)
    unscaled = service.time_slice(HOT_RUN, "EMC", TimeSliceRequest(2, 6, scale_hists=False))
    np.testing.assert_allclose(unscaled.histogram(FASTOR).layers[0].hist.values, expected * view.n_events)
    assert "requested 2–6 min, shown 2–6 min" in view.describe()


def test_slice_from_run_start_is_the_latest_file(service: ViewService, demo_data: Path) -> None:
    view = service.time_slice(HOT_RUN, "EMC", TimeSliceRequest(0, 3, scale_hists=False))
    written = files_by_minute(demo_data, HOT_RUN, "EMC")
    assert view.files == (written[3],)
    latest = read_file(demo_data / written[3]).histograms[FASTOR]
    np.testing.assert_array_equal(view.histogram(FASTOR).layers[0].hist.values, latest.values)


def test_full_range_with_default_options_is_the_full_run_view(service: ViewService) -> None:
    length = service.subsystem(HOT_RUN, "EMC").run_length_minutes
    view = service.time_slice(HOT_RUN, "EMC", TimeSliceRequest(0, length))
    assert not view.is_time_slice
    assert view.describe().startswith("Full run")


def test_slice_never_changes_the_full_run_view(service: ViewService) -> None:
    before = dict(service.full_run(HOT_RUN, "EMC").histogram(FASTOR).information)
    service.time_slice(HOT_RUN, "EMC", TimeSliceRequest(HOT_FROM_MINUTE, 7, hot_channel_threshold=1))
    assert dict(service.full_run(HOT_RUN, "EMC").histogram(FASTOR).information) == before


def test_every_subsystem_can_be_sliced(service: ViewService) -> None:
    for subsystem in ("EMC", "HLT", "TPC"):
        assert service.time_slice(PLAIN_RUN, subsystem, TimeSliceRequest(1, 4)).groups


def test_cache_hit_without_decoding(make_service: Callable[..., ViewService]) -> None:
    first = make_service().time_slice(HOT_RUN, "EMC", TimeSliceRequest(3, 6))
    assert not first.from_cache
    fresh_cache = HistogramCache()  # nothing decoded in this process yet
    again = make_service(hist_cache=fresh_cache).time_slice(HOT_RUN, "EMC", TimeSliceRequest(3, 6))
    assert again.from_cache
    assert fresh_cache.stats.decodes == 0
    np.testing.assert_array_equal(
        again.histogram(FASTOR).layers[0].hist.values, first.histogram(FASTOR).layers[0].hist.values
    )
    assert dict(again.histogram(FASTOR).information) == dict(first.histogram(FASTOR).information)


@pytest.mark.parametrize(
    ("run", "subsystem", "match"),
    [(1, "EMC", "unknown run 1"), (HOT_RUN, "XYZ", "unknown subsystem .* 'XYZ'; valid: EMC, HLT, TPC")],
)
def test_unknown_run_or_subsystem(service: ViewService, run: int, subsystem: str, match: str) -> None:
    with pytest.raises(NotFoundError, match=match):
        service.time_slice(run, subsystem, TimeSliceRequest(0, 2))


def test_unknown_group_and_histogram(service: ViewService) -> None:
    view = service.full_run(HOT_RUN, "EMC")
    with pytest.raises(NotFoundError, match=r"unknown group .*'Nope'; valid: FEE vs TRU"):
        view.group("Nope")
    with pytest.raises(NotFoundError, match="unknown histogram"):
        view.histogram("Nope")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_time": 3, "max_time": 3}, "must be greater than min_time"),
        ({"min_time": -1, "max_time": 3}, "at least 0"),
        ({"min_time": 0, "max_time": 3, "hot_channel_threshold": 1001}, "between 0 and 1000"),
        ({"min_time": 0, "max_time": 3, "hot_channel_threshold": 2.5}, "integer"),
        ({"min_time": "a", "max_time": 3}, "number of minutes"),
    ],
)
def test_bad_requests(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(TimeSliceError, match=match):
        TimeSliceRequest(**kwargs)  # type: ignore[arg-type]


def test_window_beyond_the_run(service: ViewService) -> None:
    with pytest.raises(TimeSliceError, match=r"beyond the run, which is 7 min long \(valid: 0–7\)"):
        service.time_slice(HOT_RUN, "EMC", TimeSliceRequest(0, 30))


def test_processing_options_are_validated() -> None:
    with pytest.raises(ProcessingOptionError):
        TimeSliceRequest(0, 3, hot_channel_threshold=5).options.__class__(True, 2000)


def test_missing_file(make_service: Callable[..., ViewService], demo_data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(demo_data, copy)
    service = make_service(data=copy)
    gone = copy / service.subsystem(HOT_RUN, "EMC").files[-1].path
    gone.unlink()
    with pytest.raises(MissingFileError, match=gone.name):
        service.full_run(HOT_RUN, "EMC")
