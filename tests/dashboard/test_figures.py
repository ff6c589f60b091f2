"""Figures from processed histograms: steps, maps, log scales, downsampling, stacks, overlays, TLatex."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard.figures import (
    COMPACT_CELL_BUDGET,
    DEFAULT_CELL_BUDGET,
    DEFAULT_COLOUR_SCALE,
    FULL_WIDTH_CELL_BUDGET,
    OVERLAY_COLOUR,
    downsample,
    empty_figure,
    figure,
    figure_json_bytes,
    root_text,
)
from overwatch_core.model import FloatArray, Histogram, ProfileSums
from overwatch_core.subsystems.base import (
    DisplayOptions,
    Layer,
    LayerStyle,
    Line,
    ProcessedHistogram,
    SecondaryAxis,
)
from overwatch_core.subsystems.emc import ENERGY_AXIS, TRU_GRID

# --- histograms made in code --------------------------------------------------------------------------------


def make_hist(
    values: Sequence[Any] | FloatArray,
    edges: Sequence[Sequence[float] | FloatArray] | None = None,
    *,
    variances: FloatArray | None = None,
    root_class: str | None = None,
    axis_titles: tuple[str, ...] = (),
    profile: ProfileSums | None = None,
    name: str = "h",
    labels: tuple[tuple[str, ...], ...] = (),
) -> Histogram:
    """Unit-width bins from 0 unless edges are given; Poisson variances by default."""
    array = np.asarray(values, dtype=np.float64)
    axes = tuple(np.asarray(e, dtype=np.float64) for e in edges) if edges is not None else None
    return Histogram(
        name=name,
        root_class=root_class or f"TH{array.ndim}D",
        values=array,
        variances=array.copy() if variances is None else variances,
        edges=axes or tuple(np.arange(n + 1, dtype=np.float64) for n in array.shape),
        title=f"{name} title",
        axis_titles=axis_titles,
        entries=float(array.sum()),
        profile=profile,
        labels=labels,
    )


def processed(
    *layers: Histogram | Layer, display: DisplayOptions | None = None, pretty_name: str = "Pretty name"
) -> ProcessedHistogram:
    as_layers = tuple(item if isinstance(item, Layer) else Layer(item.name, item) for item in layers)
    first = as_layers[0].hist
    root_class = "THStack" if len(as_layers) > 1 else first.root_class
    return ProcessedHistogram(first.name, pretty_name, as_layers, display or DisplayOptions(), {}, root_class)


def make_profile(sum_w: FloatArray, sum_wy: FloatArray, sum_wy2: FloatArray) -> Histogram:
    """A TProfile/TProfile2D with the means and errors ROOT computes from its sums."""
    sums = ProfileSums(sum_w, sum_wy, sum_wy2)
    filled = sum_w > 0
    mean = np.where(filled, sum_wy / np.where(filled, sum_w, 1), 0.0)
    spread = np.where(filled, sum_wy2 / np.where(filled, sum_w, 1) - mean**2, 0.0)
    variance = np.where(filled, np.clip(spread, 0, None) / np.where(filled, sum_w, 1), 0.0)
    root_class = "TProfile" if sum_w.ndim == 1 else "TProfile2D"
    return make_hist(mean, variances=variance, root_class=root_class, profile=sums, axis_titles=("x", "mean"))


def validated(fig: go.Figure) -> go.Figure:
    """``fig``, once it has passed plotly's checking constructor (figures are assembled unvalidated)."""
    go.Figure(fig.to_dict())
    return fig


def trace_arrays(fig: go.Figure) -> Iterator[Any]:
    for trace in fig.data:
        for key in ("x", "y", "z", "customdata"):
            value = getattr(trace, key, None)
            if value is not None:
                yield value
        error_y = getattr(trace, "error_y", None)
        if error_y is not None and error_y.array is not None:
            yield error_y.array


def by_name(fig: go.Figure, name: str) -> list[Any]:
    return [t for t in fig.data if t.name == name]


def colour_bar(fig: go.Figure) -> Any:
    """The colour bar shown: the map's own, or a log map's one-cell colour-bar trace's."""
    (shown,) = [t for t in fig.data if t.type == "heatmap" and t.showscale is not False]
    return shown.colorbar


def payload(fig: go.Figure) -> list[dict[str, Any]]:
    """The traces as sent: typed arrays as {"dtype", "bdata", "shape"}."""
    return list(json.loads(fig.to_json())["data"])


# --- TH1 ----------------------------------------------------------------------------------------------------


def test_th1_is_a_step_line_over_the_edges_with_errors_at_bin_centres() -> None:
    hist = make_hist([1.0, 4.0, 9.0], [[0, 1, 3, 6]], axis_titles=("p_{T} (GeV/#it{c})", "dN/dp_{T}"))
    fig = validated(figure(processed(hist)))
    step, points = fig.data
    assert step.line.shape == "hv"
    np.testing.assert_array_equal(step.x, [0, 1, 3, 6])
    np.testing.assert_array_equal(step.y, [1, 4, 9, 9])
    np.testing.assert_allclose(points.x, [0.5, 2, 4.5])
    np.testing.assert_array_equal(points.y, [1, 4, 9])
    np.testing.assert_allclose(points.error_y.array, [1, 2, 3])
    assert points.marker.opacity == 0
    assert step.hoverinfo == "skip"
    assert fig.layout.meta["kind"] == "steps"


def test_th1_hover_names_the_bin_by_its_centre_and_half_width_and_the_content_with_its_error() -> None:
    hist = make_hist([1.0, 4.0], [[0, 10, 20]], axis_titles=("p_{T}", "counts"))
    steps = figure(processed(hist)).data[0]
    np.testing.assert_array_equal(steps.customdata, [1, 2])  # the errors, one a bin: nothing else per bin
    template = steps.hovertemplate
    assert "p<sub>T</sub>: %{x:.6~g} ± 5<br>" in template  # [0, 10) is 5 ± 5
    assert "counts: %{y:.6~g} ± %{customdata:.2~g}" in template


def test_uniform_bins_are_one_trace_stepping_at_the_edges_with_positions_and_no_x_array() -> None:
    hist = make_hist([1.0, 4.0, 9.0], [[0, 2, 4, 6]])
    fig = validated(figure(processed(hist)))
    steps, ends = fig.data
    assert (steps.x0, steps.dx, steps.x) == (1, 2, None)  # centres 1, 3, 5 without an array
    assert steps.line.shape == "hvh"  # half-way between centres is the edge between bins
    np.testing.assert_array_equal(steps.y, [1, 4, 9])
    np.testing.assert_allclose(steps.error_y.array, [1, 2, 3])
    np.testing.assert_array_equal(ends.x, [0, 1, np.nan, 5, 6])  # the outer halves of the end bins
    np.testing.assert_array_equal(ends.y, [1, 1, np.nan, 9, 9])
    assert ends.hoverinfo == "skip"
    sent = payload(fig)[0]
    assert "x" not in sent
    assert sent["y"]["dtype"] == "f4"


def test_wide_histograms_send_their_errors_only_when_alone_on_their_page() -> None:
    hist = make_hist(np.arange(1000, dtype=np.float64))
    in_group = figure(processed(hist)).data[0]
    assert in_group.error_y.visible is False
    assert in_group.error_y.array is None
    assert in_group.customdata is None
    assert "±" not in in_group.hovertemplate.split("<br>")[1]
    alone = figure(processed(hist), alone=True).data[0]
    np.testing.assert_allclose(alone.customdata, np.sqrt(np.arange(1000)), rtol=1e-6)
    assert "content: %{y:.6~g} ± %{customdata:.2~g}" in alone.hovertemplate


def test_axis_titles_come_from_the_histogram_unless_the_display_overrides_them() -> None:
    hist = make_hist([1.0, 2.0], axis_titles=("#eta", "entries"))
    plain = figure(processed(hist))
    assert plain.layout.xaxis.title.text == "η"
    assert plain.layout.yaxis.title.text == "entries"
    overridden = figure(processed(hist, display=DisplayOptions(x_title="M_{02}", y_title="dN/dM_{02}")))
    assert overridden.layout.xaxis.title.text == "M<sub>02</sub>"
    assert overridden.layout.yaxis.title.text == "dN/dM<sub>02</sub>"


def test_log_y_leaves_empty_bins_as_gaps_and_log_x_starts_a_bin_from_zero_one_step_down() -> None:
    hist = make_hist([0.0, 5.0, 50.0], [[0, 1, 2, 4]])
    fig = figure(processed(hist, display=DisplayOptions(log_x=True, log_y=True)))
    step, points = fig.data
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_array_equal(step.x, [0.5, 1, 2, 4])  # [0, 1) drawn like [1, 2): one factor 2 wide
    assert np.isnan(points.y[0])
    assert points.hovertemplate.startswith("x: %{x:.6~g} (bin centre)<br>")  # log axis: no one width


def test_log_x_without_positive_edges_falls_back_to_linear() -> None:
    hist = make_hist([1.0, 2.0], [[-2, -1, 0]])
    assert figure(processed(hist, display=DisplayOptions(log_x=True))).layout.xaxis.type == "linear"


def test_axis_ranges_are_in_log10_units_on_log_axes() -> None:
    hist = make_hist(np.ones(10), [np.linspace(0, 1000, 11)])
    linear = figure(processed(hist, display=DisplayOptions(x_range=(0, 250), y_range=(0, 20))))
    assert list(linear.layout.xaxis.range) == [0, 250]
    assert list(linear.layout.yaxis.range) == [0, 20]
    logged = figure(processed(hist, display=DisplayOptions(log_x=True, x_range=(10, 1000))))
    assert list(logged.layout.xaxis.range) == pytest.approx([1, 3])
    from_zero = validated(figure(processed(hist, display=DisplayOptions(log_y=True, y_range=(0, 100)))))
    assert list(from_zero.layout.yaxis.range) == [None, 2]  # log10(0) does not exist: autorange that end


def test_profile_is_drawn_as_means_with_error_bars_and_gaps_for_empty_bins() -> None:
    profile = make_profile(np.array([2.0, 0.0, 4.0]), np.array([6.0, 0.0, 8.0]), np.array([20.0, 0.0, 20.0]))
    fig = validated(figure(processed(profile)))
    (points,) = fig.data
    assert points.mode == "markers"
    assert points.marker.opacity == 1
    np.testing.assert_array_equal(points.y[[0, 2]], [3, 2])
    assert np.isnan(points.y[1])
    np.testing.assert_allclose(points.error_y.array, np.sqrt(profile.variances))
    np.testing.assert_array_equal(points.customdata[:, 1], [2, 0, 4])
    assert "± %{customdata[0]:.2~g}<br>entries: %{customdata[1]:.6~g}" in points.hovertemplate
    assert fig.layout.meta["kind"] == "profile"


# --- TH2 ----------------------------------------------------------------------------------------------------


def test_a_single_filled_cell_lands_at_z_row_y_column_x() -> None:
    values = np.zeros((5, 3))
    values[3, 1] = 7.0
    fig = validated(figure(processed(make_hist(values))))
    (heatmap,) = fig.data
    z = np.asarray(heatmap.z)
    assert z.shape == (3, 5)
    assert z[1][3] == 7
    assert np.count_nonzero(z) == 1
    assert heatmap.customdata is None, "no per-cell hover arrays"
    assert (
        heatmap.hovertemplate
        == "x: %{x:.6~g} ± 0.5<br>y: %{y:.6~g} ± 0.5<br>content: %{z:.6~g}<extra></extra>"
    )


def test_variable_bins_are_drawn_from_their_edges() -> None:
    x_edges, y_edges = [0.0, 1.0, 2.0, 4.0, 8.0], [0.0, 0.5, 1.5]
    fig = figure(processed(make_hist(np.ones((4, 2)), [x_edges, y_edges])))
    (heatmap,) = fig.data
    np.testing.assert_array_equal(heatmap.x, x_edges)
    np.testing.assert_array_equal(heatmap.y, y_edges)
    assert heatmap.hovertemplate.startswith("x: %{x:.6~g} (bin centre)<br>y: %{y:.6~g} (bin centre)<br>")


def test_heatmap_has_one_colour_scale_and_a_colour_bar_titled_with_the_z_title() -> None:
    hist = make_hist(np.ones((3, 3)), axis_titles=("col", "row", "entries"))
    (heatmap,) = figure(processed(hist)).data
    assert heatmap.colorscale == DEFAULT_COLOUR_SCALE
    assert heatmap.showscale is not False
    assert heatmap.colorbar.title.text == "entries"
    display = DisplayOptions(z_title="entries / events", colour_scale="Cividis")
    override = figure(processed(hist, display=display)).data[0]
    assert override.colorbar.title.text == "entries / events"
    assert override.colorscale == "Cividis"


def test_log_z_places_the_colours_at_log_spaced_contents_and_the_hover_shows_the_contents() -> None:
    values = np.array([[0.0, 1.0], [10.0, 1000.0], [-3.0, 100.0]])
    fig = validated(figure(processed(make_hist(values), display=DisplayOptions(log_z=True))))
    heatmap, bar = fig.data
    z = np.asarray(heatmap.z, dtype=np.float64)
    assert np.isnan(z[0][0])  # zero
    assert np.isnan(z[0][2])  # negative
    np.testing.assert_array_equal(z[1], [1, 1000, 100])  # the contents themselves, as the hover shows them
    assert heatmap.customdata is None
    assert "content: %{z:.6~g}" in heatmap.hovertemplate
    assert (heatmap.zmin, heatmap.zmax, heatmap.showscale) == (1, 1000, False)
    positions = np.array([stop[0] for stop in heatmap.colorscale])
    contents = 1 + positions * 999
    np.testing.assert_allclose(np.log10(contents), np.linspace(0, 3, len(positions)), atol=1e-5)
    assert heatmap.colorscale[0][1] == "#440154"  # Viridis from its first colour
    assert heatmap.colorscale[-1][1] == "#fde725"  # to its last
    assert (bar.opacity, bar.hoverinfo, bar.colorscale) == (0, "skip", DEFAULT_COLOUR_SCALE)
    assert (bar.zmin, bar.zmax) == (0, 3)
    assert list(bar.colorbar.tickvals) == [0, 1, 2, 3]
    assert list(bar.colorbar.ticktext) == [f"10<sup>{k}</sup>" for k in range(4)]
    assert fig.layout.meta["log_z"] is True


def test_a_log_map_colours_like_log10_of_its_contents() -> None:
    """Plotly interpolates colours linearly in z between stops: a few stops a decade keep it to log10."""
    values = np.geomspace(1e-7, 1e-1, 50).reshape(50, 1)
    (heatmap, _) = figure(processed(make_hist(values), display=DisplayOptions(log_z=True))).data
    stops = np.array([stop[0] for stop in heatmap.colorscale])
    at = heatmap.zmin + stops * (heatmap.zmax - heatmap.zmin)
    fraction = np.interp(values[:, 0], at, np.linspace(0, 1, stops.size))
    np.testing.assert_allclose(fraction, np.linspace(0, 1, 50), atol=0.01)


def test_log_z_over_less_than_three_decades_adds_ticks_at_two_and_five() -> None:
    values = np.array([[2e-3, 3e-2]])
    bar = colour_bar(figure(processed(make_hist(values), display=DisplayOptions(log_z=True))))
    assert list(bar.ticktext) == [
        "2×10<sup>−3</sup>",
        "5×10<sup>−3</sup>",
        "10<sup>−2</sup>",
        "2×10<sup>−2</sup>",
    ]
    np.testing.assert_allclose(bar.tickvals, np.log10([2e-3, 5e-3, 1e-2, 2e-2]))


def test_an_empty_map_says_so() -> None:
    fig = figure(processed(make_hist(np.zeros((4, 4))), display=DisplayOptions(log_z=True)))
    assert "no entries" in [a.text for a in fig.layout.annotations]


def test_profile_2d_is_a_map_of_means() -> None:
    sum_w = np.array([[1.0, 0.0], [2.0, 4.0]])
    profile = make_profile(sum_w, sum_w * 3, sum_w * 10)
    (heatmap,) = figure(processed(profile)).data
    z = np.asarray(heatmap.z, dtype=np.float64)
    assert np.isnan(z[1][0])  # the empty bin is no mean of 0
    np.testing.assert_array_equal(z[0], [3, 3])


def test_th3_is_shown_as_its_xy_projection_with_a_note() -> None:
    values = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    fig = validated(figure(processed(make_hist(values, axis_titles=("x", "y", "z")))))
    np.testing.assert_array_equal(fig.data[0].z, values.sum(axis=2).T)
    assert fig.layout.meta["kind"] == "projection"
    assert any("projection" in a.text for a in fig.layout.annotations)


# --- bin labels ---------------------------------------------------------------------------------------------


def test_th1_bin_labels_are_the_x_ticks_at_the_bin_centres() -> None:
    hist = make_hist([1.0, 4.0, 9.0], [[0, 1, 3, 6]], labels=(("EMC", "DCal", "PHOS"),))
    fig = validated(figure(processed(hist)))
    xaxis = fig.layout.xaxis
    assert xaxis.tickmode == "array"
    assert list(xaxis.ticktext) == ["EMC", "DCal", "PHOS"]
    np.testing.assert_allclose(xaxis.tickvals, [0.5, 2, 4.5])
    points = fig.data[1]
    np.testing.assert_allclose(points.x, xaxis.tickvals)  # each label under its own bin's content
    np.testing.assert_array_equal(points.y, [1, 4, 9])
    assert list(points.text) == ["EMC", "DCal", "PHOS"]
    assert points.hovertemplate.startswith("x: %{text}<br>")
    assert fig.layout.yaxis.tickmode is None, "the value axis stays numeric"


def test_numeric_axes_have_no_label_ticks() -> None:
    fig = figure(processed(make_hist([1.0, 2.0])))
    assert fig.layout.xaxis.tickmode is None
    assert fig.data[0].text is None
    assert "%{text}" not in fig.data[0].hovertemplate


def test_unlabelled_bins_of_a_labelled_axis_get_no_tick() -> None:
    hist = make_hist([1.0, 2.0, 3.0, 4.0], labels=(("first", "", "third", ""),))
    xaxis = figure(processed(hist)).layout.xaxis
    assert list(xaxis.ticktext) == ["first", "third"]
    np.testing.assert_allclose(xaxis.tickvals, [0.5, 2.5])


def test_bin_labels_are_escaped_and_read_as_tlatex() -> None:
    hist = make_hist([1.0, 2.0], labels=(("<b>x</b> & y", "p_{T} #gamma"),))
    fig = validated(figure(processed(hist)))
    assert list(fig.layout.xaxis.ticktext) == ["&lt;b&gt;x&lt;/b&gt; &amp; y", "p<sub>T</sub> γ"]


def test_th2_bin_labels_on_both_axes_sit_on_their_rows_and_columns() -> None:
    values = np.zeros((3, 2))
    values[2, 1] = 7.0  # x bin "c", y bin "v"
    hist = make_hist(values, labels=(("a", "b", "c"), ("u", "v")), axis_titles=("cut", "stage"))
    fig = validated(figure(processed(hist)))
    (heatmap,) = fig.data
    assert list(fig.layout.xaxis.ticktext) == ["a", "b", "c"]
    np.testing.assert_allclose(fig.layout.xaxis.tickvals, [0.5, 1.5, 2.5])
    assert list(fig.layout.yaxis.ticktext) == ["u", "v"]
    np.testing.assert_allclose(fig.layout.yaxis.tickvals, [0.5, 1.5])
    z = np.asarray(heatmap.z)
    assert z[1][2] == 7, "z is values transposed: row = y bin, column = x bin"
    assert heatmap.text[1][2] == "cut: c [2, 3)<br>stage: v [1, 2)<br>"
    assert heatmap.hovertemplate == "%{text}content: %{z:.6~g}<extra></extra>"


def test_th2_with_one_labelled_axis_keeps_the_numeric_hover_of_the_other() -> None:
    hist = make_hist(np.ones((2, 3)), labels=((), ("u", "v", "w")))
    fig = validated(figure(processed(hist)))
    assert fig.layout.xaxis.tickmode is None
    assert list(fig.layout.yaxis.ticktext) == ["u", "v", "w"]
    heatmap = fig.data[0]
    assert heatmap.text[2][0] == "y: w [2, 3)<br>"
    assert heatmap.hovertemplate.startswith("x: %{x:.6~g} ± 0.5<br>%{text}")


def test_labels_follow_the_bins_a_log_axis_keeps() -> None:
    hist = make_hist([1.0, 2.0, 3.0, 4.0], [[-2, -1, 0, 1, 2]], labels=(("n2", "n1", "z", "p1"),))
    fig = figure(processed(hist, display=DisplayOptions(log_x=True)))
    xaxis = fig.layout.xaxis
    assert xaxis.type == "log"
    assert list(xaxis.ticktext) == ["z", "p1"]
    np.testing.assert_allclose(xaxis.tickvals, fig.data[1].x)


def test_a_labelled_axis_is_never_downsampled() -> None:
    labels = tuple(f"bin {i}" for i in range(100))
    hist = make_hist(np.ones(100), labels=(labels,))
    same, factors = downsample(hist, 10)
    assert (same, factors) == (hist, (1,))
    assert list(figure(processed(hist), cell_budget=10).layout.xaxis.ticktext) == list(labels)


def test_a_map_is_downsampled_along_its_numeric_axis_only() -> None:
    labels = tuple(f"cut {i}" for i in range(50))
    values = np.zeros((50, 2000))
    values[37, 1234] = 5.0
    hist = make_hist(values, labels=(labels, ()))
    small, factors = downsample(hist, 10_000)
    assert factors == (1, 10)
    assert small.labels == hist.labels
    fig = validated(figure(processed(hist), cell_budget=10_000))
    assert fig.layout.meta["downsampled"] == {"factors": [1, 10], "from": [50, 2000], "to": [50, 200]}
    assert list(fig.layout.xaxis.ticktext) == list(labels)
    np.testing.assert_allclose(fig.layout.xaxis.tickvals, np.arange(50) + 0.5)
    z = np.asarray(fig.data[0].z)
    assert z[123][37] == 5, "the filled cell stays in the column of its label"
    assert fig.data[0].text[123][37].startswith("x: cut 37 [37, 38)<br>")


def test_labelled_axes_beyond_the_budget_are_drawn_whole() -> None:
    hist = make_hist(np.ones((30, 40)), labels=(tuple("abcdefghijklmnopqrstuvwxyz0123"), ()))
    small, factors = downsample(hist, 10)
    assert factors == (1, 40), "the numeric axis merges down to one bin, the labelled one stays"
    assert small.values.shape == (30, 1)


def test_a_labelled_th3_projection_keeps_its_x_and_y_labels() -> None:
    hist = make_hist(np.ones((2, 3, 4)), labels=(("a", "b"), ("u", "v", "w"), ("1", "2", "3", "4")))
    fig = validated(figure(processed(hist)))
    assert list(fig.layout.xaxis.ticktext) == ["a", "b"]
    assert list(fig.layout.yaxis.ticktext) == ["u", "v", "w"]


# --- downsampling -------------------------------------------------------------------------------------------


def test_downsampling_sums_blocks_and_reports_the_factors() -> None:
    rng = np.random.default_rng(1)
    hist = make_hist(rng.poisson(3.0, size=(200, 200)).astype(np.float64))
    small, factors = downsample(hist, 10_000)
    assert factors == (2, 2)
    assert small.values.shape == (100, 100)
    assert small.values[7, 11] == hist.values[14:16, 22:24].sum()
    assert small.values.sum() == hist.values.sum()
    assert small.variances.sum() == hist.variances.sum()
    np.testing.assert_array_equal(small.edges[0], hist.edges[0][::2])


def test_downsampling_is_a_no_op_within_the_budget() -> None:
    hist = make_hist(np.ones((200, 200)))
    same, factors = downsample(hist, 40_000)
    assert same is hist
    assert factors == (1, 1)


def test_downsampling_prefers_factors_that_divide_the_axis() -> None:
    hist = make_hist(np.ones((5000, 20)))
    small, factors = downsample(hist, DEFAULT_CELL_BUDGET)
    assert factors == (4, 1)  # 3 would do, but 4 divides 5000: every merged bin alike
    assert small.values.shape == (1250, 20)


def test_downsampling_an_uneven_axis_ends_with_a_narrower_block() -> None:
    hist = make_hist(np.arange(7, dtype=np.float64))
    small, factors = downsample(hist, 3)
    assert factors == (3,)
    np.testing.assert_array_equal(small.values, [0 + 1 + 2, 3 + 4 + 5, 6])
    np.testing.assert_array_equal(small.edges[0], [0, 3, 6, 7])


def test_downsampling_averages_profiles_weighted_by_their_entries() -> None:
    sum_w = np.array([[1.0, 0.0], [3.0, 0.0]])
    sum_wy = np.array([[2.0, 0.0], [12.0, 0.0]])  # means 2 and 4 in column 0, column 1 empty
    profile = make_profile(sum_w, sum_wy, sum_wy * 5)
    small, factors = downsample(profile, 2)
    assert factors == (2, 1)
    np.testing.assert_allclose(small.values[0], [14 / 4, 0])  # not 2 + 4, and not (2 + 4) / 2
    assert small.profile is not None
    np.testing.assert_array_equal(small.profile.sum_w[0], [4, 0])


def test_downsampling_a_profile_without_sums_takes_the_plain_mean() -> None:
    hist = make_hist([2.0, 4.0, 6.0, 8.0], root_class="TProfile")
    small, _ = downsample(hist, 2)
    np.testing.assert_array_equal(small.values, [3, 7])


def test_downsampling_rejects_a_budget_below_one() -> None:
    with pytest.raises(ValueError, match="budget"):
        downsample(make_hist([1.0]), 0)


def test_a_downsampled_figure_says_so_and_keeps_to_the_budget() -> None:
    hist = make_hist(np.ones((200, 200)))
    fig = validated(figure(processed(hist), cell_budget=10_000))
    assert fig.layout.meta["downsampled"] == {"factors": [2, 2], "from": [200, 200], "to": [100, 100]}
    assert "downsampled 2×2 from 200×200 bins" in [a.text for a in fig.layout.annotations]
    assert np.asarray(fig.data[0].z).size <= 10_000
    assert figure(processed(hist), alone=True).layout.meta["downsampled"] is None


def test_large_heatmap_json_is_typed_arrays_within_the_cell_budget() -> None:
    hist = make_hist(np.random.default_rng(2).random((1000, 1000)))
    fig = figure(processed(hist), cell_budget=DEFAULT_CELL_BUDGET)
    text = fig.to_json()
    data = json.loads(text)["data"][0]
    assert data["z"]["dtype"] == "f4"
    assert "customdata" not in data
    shape = [int(n) for n in data["z"]["shape"].split(",")]
    assert math.prod(shape) <= DEFAULT_CELL_BUDGET
    assert figure_json_bytes(fig) == len(text.encode())
    assert figure_json_bytes(fig) < 6 * DEFAULT_CELL_BUDGET  # ~5.5 bytes a cell (was ~34 with hover arrays)
    assert all(isinstance(array, np.ndarray) for array in trace_arrays(fig))


def test_cell_budgets_by_plot_size() -> None:
    hist = make_hist(np.ones((400, 400)))

    def cells(**kwargs: Any) -> int:
        return int(np.asarray(figure(processed(hist), **kwargs).data[0].z).size)

    assert COMPACT_CELL_BUDGET < FULL_WIDTH_CELL_BUDGET < DEFAULT_CELL_BUDGET
    assert COMPACT_CELL_BUDGET * 0.5 < cells(compact=True) <= COMPACT_CELL_BUDGET
    assert FULL_WIDTH_CELL_BUDGET * 0.5 < cells() <= FULL_WIDTH_CELL_BUDGET
    assert DEFAULT_CELL_BUDGET * 0.5 < cells(alone=True) <= DEFAULT_CELL_BUDGET
    assert cells(compact=True, cell_budget=100) <= 100
    small = make_hist(np.ones((50, 50)))  # an HLT map: whole even in a grid cell
    assert figure(processed(small), compact=True).layout.meta["downsampled"] is None


@pytest.mark.parametrize("values", [np.float64(1e-9) * np.arange(1, 7), np.array([3e5, 1.5, 2e-6, 0, 7, 9])])
def test_float32_keeps_seven_digits_of_tiny_per_event_and_large_values(values: FloatArray) -> None:
    maps = values.reshape(3, 2)
    for fig in (figure(processed(make_hist(values))), figure(processed(make_hist(maps)))):
        for trace in payload(fig):
            for key in ("y", "z"):
                if isinstance(trace.get(key), dict):
                    assert trace[key]["dtype"] == "f4"
    steps = figure(processed(make_hist(values))).data[0]
    np.testing.assert_allclose(steps.y, values, rtol=1e-7)
    logged = figure(processed(make_hist(maps), display=DisplayOptions(log_z=True))).data[0]
    positive = np.where(maps > 0, maps, np.nan).T
    np.testing.assert_allclose(np.asarray(logged.z, dtype=np.float64), positive, rtol=1e-7)


def test_values_beyond_float32_go_out_as_float64() -> None:
    values = np.array([1e-40, 1.0, 1e39])
    (trace, _) = payload(figure(processed(make_hist(values))))
    assert trace["y"]["dtype"] == "f8"


def test_1d_histograms_are_downsampled_to_the_same_budget() -> None:
    fig = figure(processed(make_hist(np.ones(100_000))), cell_budget=1000)
    assert fig.layout.meta["downsampled"]["to"] == [1000]
    assert len(fig.data[0].y) == 1000


# --- stacks, overlays, secondary axis -----------------------------------------------------------------------


def test_stack_layers_have_legend_labels_colours_and_marker_symbols() -> None:
    emcal = Layer("EMCal", make_hist([1.0, 2.0], name="emcal"), LayerStyle("#cc0000", "circle"))
    dcal = Layer("DCal", make_hist([3.0, 4.0], name="dcal"), LayerStyle("#0000cc", "circle-open"))
    fig = validated(figure(processed(emcal, dcal)))
    assert fig.layout.showlegend is True
    assert fig.layout.meta["kind"] == "stack"
    (red,) = by_name(fig, "EMCal")
    (blue,) = by_name(fig, "DCal")
    assert (red.marker.color, red.marker.symbol, red.showlegend) == ("#cc0000", "circle", True)
    assert (blue.marker.color, blue.marker.symbol, blue.showlegend) == ("#0000cc", "circle-open", True)
    assert red.error_y.color == "#cc0000"
    assert "<extra>DCal</extra>" in blue.hovertemplate
    np.testing.assert_array_equal(blue.y, [3, 4])


def test_stack_layers_without_a_style_are_steps_in_distinct_colours_with_one_legend_entry_each() -> None:
    fig = figure(processed(make_hist([1.0, 2.0], name="a"), make_hist([2.0, 1.0], name="b")))
    legend = [(t.name, t.line.color) for t in fig.data if t.showlegend]
    assert [name for name, _ in legend] == ["a", "b"]
    assert legend[0][1] != legend[1][1]


def test_maps_in_a_stack_show_the_first_layer_and_say_so() -> None:
    fig = figure(processed(make_hist(np.ones((2, 2)), name="a"), make_hist(np.ones((2, 2)), name="b")))
    assert len(fig.data) == 1
    assert "only a of 2 layers shown" in [a.text for a in fig.layout.annotations]


def test_tru_grid_lines_are_thin_contrasting_shapes_one_per_line() -> None:
    hist = make_hist(np.ones((48, 104)), axis_titles=("col", "row", "entries"))
    fig = validated(figure(processed(hist, display=DisplayOptions(lines=TRU_GRID, log_z=True))))
    shapes = fig.layout.shapes
    assert len(shapes) == len(TRU_GRID)
    assert {s.type for s in shapes} == {"line"}
    assert {s.line.color for s in shapes} == {OVERLAY_COLOUR}
    assert all(s.line.width <= 1.5 for s in shapes)
    first = TRU_GRID[0]
    assert [shapes[0][k] for k in ("x0", "y0", "x1", "y1")] == [first.x0, first.y0, first.x1, first.y1]
    assert (shapes[0].xref, shapes[0].yref) == ("x", "y")


def test_overlay_lines_work_on_1d_figures_too() -> None:
    display = DisplayOptions(lines=(Line(1, 0, 1, 5),))
    assert len(figure(processed(make_hist([1.0, 2.0]), display=display)).layout.shapes) == 1


def test_secondary_axis_is_on_top_tied_to_x_and_labelled_in_converted_units() -> None:
    hist = make_hist(np.ones(128), [np.linspace(0, 1024, 129)], axis_titles=("amplitude", "entries"))
    fig = validated(figure(processed(hist, display=DisplayOptions(secondary_x_axis=ENERGY_AXIS))))
    top = fig.layout.xaxis2
    assert (top.overlaying, top.matches, top.side) == ("x", "x", "top")
    assert top.title.text == "Energy (GeV)"
    labels = [float(text) for text in top.ticktext]
    np.testing.assert_allclose(np.asarray(top.tickvals) * ENERGY_AXIS.scale, labels)
    assert labels[0] == 0
    assert labels[-1] <= 1024 * ENERGY_AXIS.scale
    assert any(t.xaxis == "x2" for t in fig.data)
    assert fig.layout.meta["secondary_x_scale"] == ENERGY_AXIS.scale


def test_secondary_axis_follows_a_display_range() -> None:
    hist = make_hist(np.ones(100), [np.linspace(0, 1000, 101)])
    display = DisplayOptions(secondary_x_axis=SecondaryAxis(0.1, "E"), x_range=(0, 500))
    top = figure(processed(hist, display=display)).layout.xaxis2
    assert max(float(t) for t in top.ticktext) <= 50


# --- titles, compact mode, empty figures --------------------------------------------------------------------


def test_title_is_the_display_title_or_the_pretty_name_when_shown() -> None:
    hist = make_hist([1.0])
    assert figure(processed(hist)).layout.title.text == "Pretty name"
    assert figure(processed(hist, display=DisplayOptions(title="SM 3"))).layout.title.text == "SM 3"
    assert not figure(processed(hist, display=DisplayOptions(show_title=False))).layout.title.text
    assert figure(processed(hist, pretty_name="Cluster #eta")).layout.title.text == "Cluster η"


def test_compact_mode_has_tiny_margins_small_fonts_no_legend_and_the_sm_title() -> None:
    layers = (Layer("EMCal", make_hist([1.0, 2.0])), Layer("DCal", make_hist([2.0, 1.0])))
    display = DisplayOptions(title="SM 3")
    big = figure(processed(*layers, display=display))
    small = validated(figure(processed(*layers, display=display), compact=True))
    assert small.layout.title.text == "SM 3"
    assert small.layout.showlegend is False
    assert small.layout.font.size < big.layout.font.size
    assert small.layout.title.font.size < big.layout.title.font.size
    assert max(small.layout.margin.l, small.layout.margin.r, small.layout.margin.b) <= 6
    assert small.layout.margin.t < big.layout.margin.t


def test_compact_maps_have_a_slim_colour_bar() -> None:
    hist = make_hist(np.ones((24, 12)))
    slim = figure(processed(hist), compact=True).data[0].colorbar
    assert slim.thickness < figure(processed(hist)).data[0].colorbar.thickness


def test_empty_figure_is_a_message_without_axes() -> None:
    fig = validated(empty_figure("No data for <run 5> & EMC"))
    assert len(fig.data) == 0
    assert fig.layout.xaxis.visible is False
    assert fig.layout.yaxis.visible is False
    (note,) = fig.layout.annotations
    assert note.text == "No data for &lt;run 5&gt; &amp; EMC"
    assert fig.layout.meta["kind"] == "empty"


def test_a_histogram_without_bins_gets_the_empty_figure() -> None:
    fig = figure(processed(make_hist(np.zeros(0))))
    assert fig.layout.meta["kind"] == "empty"
    assert "nothing to draw" in fig.layout.annotations[0].text


def test_figures_carry_no_default_plotly_template() -> None:
    """The default template adds 6.5 kB to every figure of a page of twenty."""
    assert figure_json_bytes(figure(processed(make_hist([1.0])))) < 3000


# --- ROOT TLatex --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        ("M_{#gamma#gamma} (GeV/#it{c}^{2})", "M<sub>γγ</sub> (GeV/c<sup>2</sup>)"),
        ("dN/dp_{T}", "dN/dp<sub>T</sub>"),
        ("#Delta#phi", "Δφ"),
        ("#eta", "η"),
        ("#mu, #pi, #sigma, #chi^{2}", "μ, π, σ, χ<sup>2</sup>"),
        ("#Gamma #Omega #lambda #omega", "Γ Ω λ ω"),
        ("#bf{ALICE} Preliminary", "<b>ALICE</b> Preliminary"),
        ("#sqrt{s} = 13 TeV", "√s = 13 TeV"),
        ("#sqrt{s_{NN}}", "√s<sub>NN</sub>"),
        ("#sqrt{a+b}", "√(a+b)"),
        ("E #pm 1", "E ± 1"),
        ("2 #times 3", "2 × 3"),
        ("1 #leq n #geq 0", "1 ≤ n ≥ 0"),
        ("#pi^{0} #rightarrow #gamma#gamma", "π<sup>0</sup> → γγ"),
        ("90#circ", "90°"),
        ("x^2", "x<sup>2</sup>"),
        ("p_{T,#it{jet}}^{ch}", "p<sub>T,jet</sub><sup>ch</sup>"),
        ("#frac{1}{N_{ev}} dN/d#eta", "1/N<sub>ev</sub> dN/dη"),
        ("#splitline{top}{bottom}", "top<br>bottom"),
        ("#color[2]{red} #font[42]{plain}", "red plain"),
        ("#bar{p}", "p\u0304"),
        ("#left(a#right)", "(a)"),
        ("#unknownword here", "unknownword here"),
        ("Cluster E vs # of cells/cluster", "Cluster E vs # of cells/cluster"),
        ("h_tpc_events", "h_tpc_events"),
        ("{braced} text", "braced text"),
        ("unbalanced {open", "unbalanced open"),
        ("stray } brace", "stray  brace"),
        ("", ""),
    ],
)
def test_root_text(latex: str, text: str) -> None:
    assert root_text(latex) == text


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("amp>400 & p_{T}<5", "amp&gt;400 &amp; p<sub>T</sub>&lt;5"),
        ("x^<", "x<sup>&lt;</sup>"),
        ("#bf{<b>}", "<b>&lt;b&gt;</b>"),
    ],
)
def test_root_text_escapes_markup_of_the_input(latex: str, text: str) -> None:
    assert root_text(latex) == text


# --- a real EMC file ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emc_groups(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    """Every processed EMC histogram of a demo file, as the run page would get them."""
    from overwatch_core.demo import generate_demo_data
    from overwatch_core.histograms import event_count, read_file
    from overwatch_core.subsystems.base import process_subsystem
    from overwatch_core.subsystems.registry import get_subsystem

    data: Path = tmp_path_factory.mktemp("figures-demo")
    generate_demo_data(data, n_runs=1, files_per_run=3, workers=1)
    newest = sorted(p for p in data.rglob("EMChistos_*.root") if "_E_" not in p.name)[-1]
    contents = read_file(newest)
    return process_subsystem(
        get_subsystem("EMC"), contents.histograms, event_count(contents), None, own_files=True
    )


def test_every_processed_emc_histogram_is_drawn_with_sane_json(emc_groups: tuple[Any, ...]) -> None:
    kinds: set[str] = set()
    total = 0
    for group in emc_groups:
        for hist in group.histograms:
            fig = validated(figure(hist, compact=group.grid))
            size = figure_json_bytes(fig)
            total += size
            kinds.add(fig.layout.meta["kind"])
            assert fig.layout.meta["kind"] != "empty", hist.name
            assert size < 1_500_000, (hist.name, size)
            assert all(isinstance(a, np.ndarray) for a in trace_arrays(fig)), hist.name
            budget = COMPACT_CELL_BUDGET if group.grid else FULL_WIDTH_CELL_BUDGET
            for trace in fig.data:
                if trace.type == "heatmap":
                    assert np.asarray(trace.z).size <= budget, hist.name
                    assert trace.customdata is None, hist.name
    assert {"heatmap", "steps", "stack", "profile"} <= kinds
    assert total < 25_000_000


def test_emc_figures_keep_the_subsystem_look(emc_groups: tuple[Any, ...]) -> None:
    hists = {h.name: (h, g.grid) for g in emc_groups for h in g.histograms}
    sm, _ = hists["EMCTRQA_histFastORL0_SM3"]
    assert figure(sm, compact=True).layout.title.text == "SM 3"
    edge, _ = hists["EMCTRQA_histMaxEdgePosEMCGAHOnline"]
    edge_fig = figure(edge)
    assert len(edge_fig.layout.shapes) == len(TRU_GRID)
    assert colour_bar(edge_fig).title.text == "entries / events"
    stack = next(h for h, _ in hists.values() if h.root_class == "THStack")
    stack_fig = figure(stack)
    assert stack_fig.layout.xaxis2.title.text == "Energy (GeV)"
    assert {t.name for t in stack_fig.data if t.showlegend} == {"EMCal", "DCal"}
    mass, _ = hists["hClusterInvariantMass"]
    assert figure(mass).layout.xaxis.title.text == "M<sub>γγ</sub> (GeV/c<sup>2</sup>)"
