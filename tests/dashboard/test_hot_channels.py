"""The live threshold what-if's data: for every slider value the same hot channels as the core's rule."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dash
import numpy as np
import pytest

from dashboard import figures, hot_channels
from dashboard.services import services
from overwatch_core.model import Histogram
from overwatch_core.subsystems.base import (
    MAX_HOT_CHANNEL_THRESHOLD,
    Layer,
    LayerStyle,
    ProcessedHistogram,
    ProcessingOptions,
)
from overwatch_core.subsystems.emc import EMC, hot_channel_threshold
from overwatch_core.subsystems.emc import hot_channels as core_hot_channels
from overwatch_core.time_slices import TimeSliceRequest

HOT_RUN = 300003


def unpacked(packed: dict[str, str]) -> list[int]:
    """What assets/time_slices.js decodes: little-endian unsigned integers in base64."""
    dtype = {"u2": "<u2", "u4": "<u4"}[packed["dtype"]]
    return np.frombuffer(base64.b64decode(packed["bdata"]), dtype=dtype).tolist()


def what_if_list(data: dict[str, Any], k: int) -> list[int]:
    """The hot channels at slider value k as the browser computes them from the what-if data."""
    if k == 0:
        return unpacked(data["default_ids"])
    return [i for i, step in zip(unpacked(data["ids"]), unpacked(data["steps"]), strict=True) if step >= k]


def applied_list(hist: Histogram, k: int) -> list[int]:
    """The hot channels Apply lists: the core's rule at the threshold of slider value k."""
    return list(
        core_hot_channels(hist, hot_channel_threshold(hist.name, ProcessingOptions(hot_channel_threshold=k)))
    )


def fastor(values: np.ndarray, name: str = "EMCTRQA_histFastORL0") -> ProcessedHistogram:
    """A FastOR summary processed by the EMC subsystem (values as given, not scaled)."""
    edges = np.arange(values.size + 1, dtype=np.float64) - 0.5
    hist = Histogram(name, "TH1F", values, np.abs(values), (edges,))
    return EMC.process(hist, ProcessingOptions(scale_hists=False), None)


@pytest.fixture
def in_app(make_app: Callable[..., dash.Dash], make_app_data: Callable[[], Path]) -> Iterator[None]:
    app = make_app(make_app_data())
    with app.server.app_context():
        yield


@pytest.mark.usefixtures("in_app")
@pytest.mark.parametrize(
    "request_", [None, TimeSliceRequest(5, 7, True, 0), TimeSliceRequest(2, 6, False, 0)]
)
def test_every_slider_value_lists_what_apply_lists_on_the_demo_data(
    request_: TimeSliceRequest | None,
) -> None:
    views = services().views
    view = views.full_run(HOT_RUN, "EMC") if request_ is None else views.time_slice(HOT_RUN, "EMC", request_)
    hot = [h for g in view.groups for h in g.histograms if hot_channels.is_hot_channel_histogram(h)]
    assert len(hot) == 6, "FastOR L0/L1, plain, Amp and LargeAmp"
    for processed in hot:
        data = hot_channels.what_if_data(processed)
        shown = processed.layers[0].hist
        for k in range(MAX_HOT_CHANNEL_THRESHOLD + 1):
            assert what_if_list(data, k) == applied_list(shown, k), (processed.name, k)


def test_ties_at_the_threshold_are_compared_in_the_histograms_precision() -> None:
    """float32(0.1) is not above 0.1 for numpy (the threshold is cast to float32), though it is in float64."""
    ties = np.array([np.float32(k / 1000) for k in (1, 10, 100, 999, 1000)], dtype=np.float32)
    just_above = np.nextafter(ties, np.float32(np.inf))
    odd = np.array([np.nan, np.inf, -np.inf, -1.0, 0.0, 2.0, 5e-4], dtype=np.float32)
    for values in (ties, just_above, odd, ties.astype(np.float64), odd.astype(np.float64)):
        processed = fastor(values)
        data = hot_channels.what_if_data(processed)
        for k in range(MAX_HOT_CHANNEL_THRESHOLD + 1):
            assert what_if_list(data, k) == applied_list(processed.layers[0].hist, k), (values.dtype, k)
    assert hot_channels.hot_until(ties).tolist() == [0, 9, 99, 998, 999], "hot below its own value only"


def test_wide_histograms_pack_their_ids_in_32_bits() -> None:
    values = np.zeros(70_000, dtype=np.float32)
    values[[3, 69_999]] = 0.5
    data = hot_channels.what_if_data(fastor(values))
    assert data["ids"]["dtype"] == "u4"
    assert what_if_list(data, 400) == [3, 69_999]


def test_the_what_if_data_names_the_defaults_and_the_highest_bin() -> None:
    values = np.array([0.0, 0.02, 0.5, 0.005], dtype=np.float32)
    data = hot_channels.what_if_data(fastor(values))
    assert data["default_threshold"] == 0.01
    assert data["default_text"] == "0.01"
    assert unpacked(data["default_ids"]) == [1, 2]
    assert data["max"] == pytest.approx(0.5)
    assert data["shown_threshold"] == "0.01", "the threshold the panel shows"
    large = hot_channels.what_if_data(fastor(values, "EMCTRQA_histFastORL0LargeAmp"))
    assert large["default_text"] == "1e-07", "as the core formats it (the browser shows this text)"


def test_slider_thresholds_print_as_javascript_prints_them() -> None:
    """The what-if writes String(k / 1000): JavaScript's shortest round-trip form, which is Python's repr."""
    for k in range(1, MAX_HOT_CHANNEL_THRESHOLD + 1):
        assert repr(k / 1000).removesuffix(".0") == f"{k / 1000:g}"


def test_the_threshold_is_a_line_where_the_data_is_and_a_note_above_it() -> None:
    where, line = hot_channels.threshold_mark(0.1, 0.5)
    assert where == "shapes"
    assert (line["name"], line["y0"], line["y1"], line["xref"]) == (hot_channels.MARK, 0.1, 0.1, "paper")
    where, note = hot_channels.threshold_mark(0.9, 0.5)
    assert where == "annotations"
    assert note["text"] == "threshold 0.9 ↑ (above every bin)"
    assert hot_channels.threshold_mark(0.01, None)[0] == "annotations", "an empty histogram"


def test_fastor_figures_get_their_threshold_and_others_nothing() -> None:
    processed = fastor(np.array([0.0, 0.02, 0.5], dtype=np.float32))
    figure = hot_channels.with_threshold_mark(figures.figure(processed), processed)
    shapes = [s for s in figure.to_dict()["layout"]["shapes"] if s.get("name") == hot_channels.MARK]
    assert [s["y0"] for s in shapes] == [0.01]
    again = hot_channels.with_threshold_mark(figure, processed)
    assert len([s for s in again.layout.shapes if s.name == hot_channels.MARK]) == 1, "not drawn twice"

    plain = ProcessedHistogram(
        "h", "h", (Layer("h", processed.layers[0].hist, LayerStyle()),), processed.display, {}, "TH1F"
    )
    before = figures.figure(plain).to_dict()
    assert hot_channels.with_threshold_mark(figures.figure(plain), plain).to_dict() == before
    assert hot_channels.what_if_store(plain) == []
