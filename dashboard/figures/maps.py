"""2D (and projected 3D) histograms as heat maps: log colour scales, cell hover, bin labels."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dashboard.figures.downsample import downsample
from dashboard.figures.drawing import (
    DEFAULT_COLOUR_SCALE,
    AnyArray,
    Axis,
    Drawing,
    View,
    coordinates,
    data,
    downsample_meta,
    downsample_note,
    drawn_axis,
    means,
    value_title,
)
from dashboard.figures.latex import root_text
from overwatch_core.model import FloatArray, Histogram
from overwatch_core.subsystems.base import ProcessedHistogram


def _project_xy(hist: Histogram) -> Histogram:
    """A TH3 summed over z: what can be drawn of it on a page of maps."""
    titles = (*hist.axis_titles, "", "", "")
    return hist.replace(
        values=hist.values.sum(axis=2),
        variances=hist.variances.sum(axis=2),
        edges=hist.edges[:2],
        axis_titles=(titles[0], titles[1], f"sum over {titles[2] or 'z'}"),
        root_class="TH2D",
        profile=None,
        labels=hist.labels[:2],
        stats=None,
    )


def draw_map(hist: ProcessedHistogram, view: View) -> Drawing:
    """A heat map of the first layer; maps cannot be overlaid, so a note says which layers are left out."""
    drawing = _heatmap(hist.layers[0].hist, view)
    if len(hist.layers) > 1:
        drawing.notes.append(f"only {hist.layers[0].label} of {len(hist.layers)} layers shown")
    return drawing


def draw_projected_map(hist: ProcessedHistogram, view: View) -> Drawing:
    """Subsystems project their TH3s; one that slips through is shown as its x–y projection, and says so."""
    drawing = _heatmap(_project_xy(hist.layers[0].hist), view)
    drawing.kind = "projection"
    drawing.notes.append("TH3 shown as its x–y projection (summed over z)")
    return drawing


def _heatmap(source: Histogram, view: View) -> Drawing:
    """One map: downsampled to the budget, log-safe axes, a note when rebinned or empty."""
    shown, factors = downsample(source, view.budget)
    x = drawn_axis(shown.edges[0], view.display.log_x, shown.axis_labels(0))
    y = drawn_axis(shown.edges[1], view.display.log_y, shown.axis_labels(1))
    content = means(shown)[x.keep, y.keep]
    drawing = Drawing(
        [],
        "heatmap",
        x,
        y,
        x_title=value_title(view.display.x_title, shown, 0),
        y_title=value_title(view.display.y_title, shown, 1),
    )
    drawing.traces.append(_heatmap_trace(shown, content, y, drawing, view))
    if any(f > 1 for f in factors):
        drawing.downsampled = downsample_meta(source, shown, factors)
        drawing.notes.append(downsample_note(drawing.downsampled))
    if not np.any(np.nan_to_num(content)):
        drawing.notes.append("no entries")
    return drawing


def _heatmap_trace(
    shown: Histogram, content: FloatArray, y: Axis, drawing: Drawing, view: View
) -> dict[str, Any]:
    """z is (ny, nx), hence ``content.T``; with log z it holds log10 and the hover the real contents."""
    x = drawing.x
    z_title = value_title(view.display.z_title, shown, 2)
    log_z = view.display.log_z
    z = _log10(content) if log_z else content
    labelled = {"text": _cell_labels(shown, drawing, x, y)} if x.labels or y.labels else {}
    return {
        **labelled,
        "type": "heatmap",
        "x": coordinates(x.edges, float(np.min(np.diff(x.edges)))),
        "y": coordinates(y.edges, float(np.min(np.diff(y.edges)))),
        "z": data(z.T),
        "customdata": _cell_ranges(shown, x, y, content if log_z else None),
        "colorscale": view.display.colour_scale or DEFAULT_COLOUR_SCALE,
        "colorbar": _colour_bar(z_title, z if log_z else None, view.compact),
        "hovertemplate": _hover_2d(drawing, z_title, log_z),
    }


def _log10(content: FloatArray) -> FloatArray:
    """log10 of positive contents; zero and negative cells become gaps rather than a made-up colour."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(content > 0, np.log10(np.where(content > 0, content, 1.0)), np.nan)


def _cell_ranges(shown: Histogram, x: Axis, y: Axis, content: FloatArray | None) -> AnyArray:
    """Per cell [x low, x high, y low, y high(, real content)], (ny, nx, k) like z, for the hover text."""
    x_real = shown.edges[0][x.keep.start or 0 :]
    y_real = shown.edges[1][y.keep.start or 0 :]
    shape = (y_real.size - 1, x_real.size - 1)
    columns = [
        np.broadcast_to(x_real[:-1], shape),
        np.broadcast_to(x_real[1:], shape),
        np.broadcast_to(y_real[:-1, None], shape),
        np.broadcast_to(y_real[1:, None], shape),
    ]
    resolution = float(min(np.min(np.diff(x_real)), np.min(np.diff(y_real))))
    cells = coordinates(np.stack(columns, axis=-1), resolution)
    if content is None:
        return cells
    real = data(content.T)[..., None]
    dtype = np.result_type(cells, real)
    return np.concatenate([cells.astype(dtype), real.astype(dtype)], axis=-1)


def _colour_bar(title: str, log_values: FloatArray | None, compact: bool) -> dict[str, Any]:
    """Titled colour bar; on a log map its ticks name the real values (10^k), not their logarithms."""
    bar: dict[str, Any] = {
        "title": {"text": title, "side": "right", "font": {"size": 9 if compact else 12}},
        "thickness": 8 if compact else 14,
        "tickfont": {"size": 8 if compact else 11},
        "outlinewidth": 0,
    }
    if log_values is not None and np.any(np.isfinite(log_values)):
        values, labels = _log_ticks(float(np.nanmin(log_values)), float(np.nanmax(log_values)))
        bar.update(tickmode="array", tickvals=values, ticktext=labels)
    return bar


def _log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Ticks at 10^k in [low, high] (log10 units); with fewer than 3 decades inside, also 2·10^k, 5·10^k."""

    def inside(value: float) -> bool:
        return low - 1e-9 <= value <= high + 1e-9

    decades = range(math.floor(low), math.ceil(high) + 1)
    mantissas = (1,) if sum(inside(k) for k in decades) >= 3 else (1, 2, 5)
    ticks = [(m, k) for k in decades for m in mantissas if inside(k + math.log10(m))]
    if not ticks:  # every filled cell holds about the same value
        return [low], [f"{10**low:.3g}"]
    return [k + math.log10(m) for m, k in ticks], [_power_label(m, k) for m, k in ticks]


def _power_label(mantissa: int, exponent: int) -> str:
    power = f"10<sup>{exponent}</sup>".replace("-", "−")
    return power if mantissa == 1 else f"{mantissa}×{power}"


def _cell_labels(shown: Histogram, drawing: Drawing, x: Axis, y: Axis) -> list[list[str]]:
    """Per cell (ny × nx, like z) the hover lines of the labelled axes: ``title: label [low, high)<br>``."""

    def lines(axis: Axis, real: FloatArray, title: str) -> list[str]:
        if not axis.labels:
            return [""] * (real.size - 1)
        return [
            f"{title}: {root_text(label) + ' ' if label else ''}[{low:.6g}, {high:.6g})<br>"
            for label, low, high in zip(axis.labels, real[:-1], real[1:], strict=True)
        ]

    columns = lines(x, shown.edges[0][x.keep.start or 0 :], drawing.x_title or "x")
    rows = lines(y, shown.edges[1][y.keep.start or 0 :], drawing.y_title or "y")
    return [[column + row for column in columns] for row in rows]


def _hover_2d(drawing: Drawing, z_title: str, log_z: bool) -> str:
    """The cell's x and y ranges; a labelled axis' line comes from ``%{text}`` (label and range)."""
    value = "%{customdata[4]:.6~g}" if log_z else "%{z:.6~g}"
    x_line = f"{drawing.x_title or 'x'}: [%{{customdata[0]:.6~g}}, %{{customdata[1]:.6~g}})<br>"
    y_line = f"{drawing.y_title or 'y'}: [%{{customdata[2]:.6~g}}, %{{customdata[3]:.6~g}})<br>"
    y_labelled = drawing.y is not None and bool(drawing.y.labels)
    if drawing.x.labels:  # the text holds the x line, and the y line when y is labelled too
        x_line, y_line = "%{text}", ("" if y_labelled else y_line)
    elif y_labelled:
        y_line = "%{text}"
    return f"{x_line}{y_line}{z_title or 'content'}: {value}<extra></extra>"
