"""2D (and projected 3D) histograms as heat maps: log colour scales, cell hover, bin labels."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.colors

from dashboard.figures.downsample import downsample
from dashboard.figures.drawing import (
    DEFAULT_COLOUR_SCALE,
    Axis,
    Drawing,
    View,
    coordinates,
    data,
    downsample_meta,
    downsample_note,
    drawn_axis,
    means,
    position_hover,
    uniform_width,
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
    drawing.traces.extend(_heatmap_traces(shown, content, y, drawing, view))
    if any(f > 1 for f in factors):
        drawing.downsampled = downsample_meta(source, shown, factors)
        drawing.notes.append(downsample_note(drawing.downsampled))
    if not np.any(np.nan_to_num(content)):
        drawing.notes.append("no entries")
    return drawing


def _heatmap_traces(
    shown: Histogram, content: FloatArray, y: Axis, drawing: Drawing, view: View
) -> list[dict[str, Any]]:
    """z is (ny, nx), hence ``content.T``: the contents themselves, also on a log map (``_log_colours``).

    No per-cell hover arrays: the hover names the cell by its centre and the axis' bin width, and z.
    """
    x = drawing.x
    z_title = value_title(view.display.z_title, shown, 2)
    scale = view.display.colour_scale or DEFAULT_COLOUR_SCALE
    labelled = {"text": _cell_labels(shown, drawing, x, y)} if x.labels or y.labels else {}
    trace: dict[str, Any] = {
        **labelled,
        "type": "heatmap",
        "x": coordinates(x.edges, float(np.min(np.diff(x.edges)))),
        "y": coordinates(y.edges, float(np.min(np.diff(y.edges)))),
        "z": data(content.T),
        "colorscale": scale,
        "colorbar": _colour_bar(z_title, view.compact),
        "hovertemplate": _hover_2d(drawing, y, z_title),
    }
    if not view.display.log_z:
        return [trace]
    colours, bar, ticks = _log_colours(content, scale)
    colour_bar = {**trace.pop("colorbar"), **ticks}
    positive = data(np.where(content > 0, content, np.nan).T)
    main = {**trace, **colours, "z": positive, "hoverongaps": False}
    bar_trace = {**bar, "type": "heatmap", "x": x.edges[:2], "y": y.edges[:2], "opacity": 0}
    return [main, {**bar_trace, "colorbar": colour_bar, "hoverinfo": "skip"}]


def _log_colours(content: FloatArray, scale: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A log colour scale, which plotly does not have: the colour stops sit at log-spaced contents.

    Returns the map's colour settings, the colour-bar trace's and the colour bar's ticks.

    z stays the contents (the hover shows them as they are, one number a cell); the named scale is
    sampled a few times a decade at 10^k and placed at those contents, so colours change with log10 of
    the content, and cells ≤ 0 are gaps as before. The colour bar comes from a second, transparent
    one-cell trace in log10 units, ticked at 10^k with the real values.
    """
    logs = _log10(content)
    finite = logs[np.isfinite(logs)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if high - low < 1e-9:  # one value: in the middle of one decade
        low, high = low - 0.5, high + 0.5
    steps = min(max(math.ceil(4 * (high - low)), 8), 40)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    contents = 10.0 ** (low + fractions * (high - low))
    at = (contents - contents[0]) / (contents[-1] - contents[0])
    colours = plotly.colors.sample_colorscale(plotly.colors.get_colorscale(scale), list(fractions))
    stops = [[float(f"{a:.7g}"), _hex(c)] for a, c in zip(at, colours, strict=True)]
    stops[-1][0] = 1.0
    main = {"colorscale": stops, "zmin": float(contents[0]), "zmax": float(contents[-1]), "showscale": False}
    bar = {"z": np.array([[low]]), "zmin": low, "zmax": high, "colorscale": scale}
    if not finite.size:
        return main, bar, {}
    values, labels = _log_ticks(low, high)
    return main, bar, {"tickmode": "array", "tickvals": values, "ticktext": labels}


def _hex(rgb: str) -> str:
    red, green, blue = plotly.colors.unlabel_rgb(rgb)
    return f"#{round(red):02x}{round(green):02x}{round(blue):02x}"


def _log10(content: FloatArray) -> FloatArray:
    """log10 of positive contents; zero and negative cells become gaps rather than a made-up colour."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(content > 0, np.log10(np.where(content > 0, content, 1.0)), np.nan)


def _colour_bar(title: str, compact: bool) -> dict[str, Any]:
    """Titled colour bar, slim in a grid cell."""
    return {
        "title": {"text": title, "side": "right", "font": {"size": 9 if compact else 12}},
        "thickness": 8 if compact else 14,
        "tickfont": {"size": 8 if compact else 11},
        "outlinewidth": 0,
    }


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


def _hover_2d(drawing: Drawing, y: Axis, z_title: str) -> str:
    """The cell's centre ± half the axis' bin width; a labelled axis' line comes from ``%{text}``."""
    value = "%{z:.6~g}"
    x_line = position_hover(drawing.x_title or "x", "x", uniform_width(drawing.x)) + "<br>"
    y_line = position_hover(drawing.y_title or "y", "y", uniform_width(y)) + "<br>"
    y_labelled = bool(y.labels)
    if drawing.x.labels:  # the text holds the x line, and the y line when y is labelled too
        x_line, y_line = "%{text}", ("" if y_labelled else y_line)
    elif y_labelled:
        y_line = "%{text}"
    return f"{x_line}{y_line}{z_title or 'content'}: {value}<extra></extra>"
