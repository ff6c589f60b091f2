"""The figure of a processed histogram: drawing by dimension, then layout, overlays and axes."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dashboard.figures.drawing import (
    COMPACT_CELL_BUDGET,
    DEFAULT_CELL_BUDGET,
    FULL_WIDTH_CELL_BUDGET,
    OVERLAY_COLOUR,
    Axis,
    Drawing,
    View,
    centres,
)
from dashboard.figures.latex import root_text
from dashboard.figures.lines import draw_lines
from dashboard.figures.maps import draw_map, draw_projected_map
from overwatch_core.subsystems.base import DisplayOptions, Line, ProcessedHistogram, SecondaryAxis

_DRAWERS: dict[int, Callable[[ProcessedHistogram, View], Drawing]] = {
    1: draw_lines,
    2: draw_map,
    3: draw_projected_map,
}


def figure(
    hist: ProcessedHistogram, *, compact: bool = False, alone: bool = False, cell_budget: int | None = None
) -> go.Figure:
    """The figure of one processed histogram, as its display options ask; ``compact`` for grid cells,
    ``alone`` for a plot that is alone on its page (more cells, errors of wide histograms in the hover).

    ``cell_budget`` defaults by plot size: ``COMPACT_CELL_BUDGET`` for a grid cell, ``FULL_WIDTH_CELL_BUDGET``
    for one of a group's plots, ``DEFAULT_CELL_BUDGET`` for a plot alone.

    What was drawn is in ``layout.meta``: ``name``, ``kind`` ("steps", "profile", "stack", "heatmap",
    "projection"), ``downsampled`` (``{"factors", "from", "to"}`` or ``None``) and ``log_z``.
    """
    first = hist.layers[0].hist
    drawer = _DRAWERS.get(first.ndim)
    if drawer is None or first.values.size == 0:
        return empty_figure(f"{hist.pretty_name}: nothing to draw ({first.ndim}D, {first.values.size} bins)")
    view = View(hist.display, compact, cell_budget or cell_budget_for(compact, alone), alone)
    drawing = drawer(hist, view)
    layout = _layout(hist, drawing, view)
    secondary = _secondary(hist.display, drawing)
    if secondary is not None:
        _add_secondary_axis(layout, drawing, secondary, view)
    return assemble(drawing.traces, layout)


def cell_budget_for(compact: bool, alone: bool) -> int:
    """The cell budget of a plot of this size (see ``drawing.DEFAULT_CELL_BUDGET``)."""
    return DEFAULT_CELL_BUDGET if alone else COMPACT_CELL_BUDGET if compact else FULL_WIDTH_CELL_BUDGET


def assemble(traces: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """The figure without plotly's per-property validation, which costs ~7 ms a figure (0.5 ms without).

    A page of 20 maps must be built in well under 150 ms (SPEC §11); the tests validate every kind of
    figure this module makes through plotly's checking constructor instead.
    """
    return go.Figure(data=traces, layout=layout, _validate=False)


def _secondary(display: DisplayOptions, drawing: Drawing) -> SecondaryAxis | None:
    """The energy axis of a spectrum; a map has no room for one on top (the colour bar owns the scale)."""
    axis = display.secondary_x_axis
    return axis if axis is not None and axis.scale > 0 and drawing.y is None else None


def _layout(hist: ProcessedHistogram, drawing: Drawing, view: View) -> dict[str, Any]:
    display, compact = view.display, view.compact
    title = root_text(display.title or hist.pretty_name) if display.show_title else ""
    top = (22 if compact else 48) if title else (6 if compact else 20)
    if _secondary(display, drawing) is not None:
        top += 40 if compact else 56
    y_axis = drawing.y or Axis(slice(None), np.array([np.nan]), display.log_y)
    secondary = _secondary(display, drawing)
    layout: dict[str, Any] = {
        "template": {},
        "font": {
            "family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            "size": 9 if compact else 12,
        },
        "margin": {"l": 6, "r": 6, "t": top, "b": 6} if compact else {"l": 10, "r": 10, "t": top, "b": 10},
        "xaxis": _axis_layout(drawing.x_title, drawing.x, display.x_range, display.grid, compact),
        "yaxis": _axis_layout(drawing.y_title, y_axis, display.y_range, display.grid, compact),
        "showlegend": drawing.legend and not compact,
        # 1D: the bin under the mouse, however far from its centre marker; maps hover per cell anyway.
        "hovermode": "closest" if drawing.y is not None else "x",
        "hoverdistance": -1,
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "uirevision": hist.name,
        "meta": {
            "name": hist.name,
            "kind": drawing.kind,
            "downsampled": drawing.downsampled,
            "log_z": display.log_z and drawing.y is not None,
            "secondary_x_scale": secondary.scale if secondary is not None else None,
        },
    }
    # What a plot does not show is left out: twenty plots a page each carried ~0.5 kB of empty settings.
    if title:
        font = {"size": 11 if compact else 15}
        layout["title"] = {"text": title, "x": 0.5, "xanchor": "center", "font": font}
    if display.lines:
        layout["shapes"] = [_line_shape(line, compact) for line in display.lines]
    if drawing.notes:
        layout["annotations"] = [note(text, i, compact) for i, text in enumerate(drawing.notes)]
    if layout["showlegend"]:
        layout["legend"] = _LEGEND
    return layout


_LEGEND = {"x": 0.99, "xanchor": "right", "y": 0.99, "yanchor": "top", "bgcolor": "rgba(255,255,255,0.7)"}


def _axis_layout(
    title: str, drawn: Axis, value_range: tuple[float, float] | None, grid: bool, compact: bool
) -> dict[str, Any]:
    axis: dict[str, Any] = {
        "title": {"text": title, "standoff": 2 if compact else 6},
        "type": "log" if drawn.log else "linear",
        "showgrid": grid,
        **({"gridcolor": "#e5e5e5"} if grid else {}),
        "zeroline": False,
        "showline": True,
        "mirror": True,
        "linecolor": "#444",
        "ticks": "outside",
        "ticklen": 3 if compact else 5,
        "exponentformat": "power",
        "automargin": True,
    }
    if value_range is not None:
        axis["range"] = _range(value_range, drawn)
    if drawn.labels:
        axis.update(_label_ticks(drawn))
    return axis


def _label_ticks(drawn: Axis) -> dict[str, Any]:
    """Bin labels as the axis' ticks, at the centres of the labelled bins (as ROOT draws them)."""
    at = centres(drawn)
    named = [i for i, label in enumerate(drawn.labels) if label]
    return {
        "tickmode": "array",
        "tickvals": [float(at[i]) for i in named],
        "ticktext": [root_text(drawn.labels[i]) for i in named],
    }


def _range(value_range: tuple[float, float], drawn: Axis) -> list[float | None]:
    """Plotly takes log-axis ranges in log10 units; a limit ≤ 0 there is left to autorange (``None``)."""
    low, high = value_range
    if not drawn.log:
        return [low, high]
    return [math.log10(low) if low > 0 else None, math.log10(high) if high > 0 else None]


def _line_shape(line: Line, compact: bool) -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "x",
        "yref": "y",
        "x0": line.x0,
        "y0": line.y0,
        "x1": line.x1,
        "y1": line.y1,
        "line": {"color": OVERLAY_COLOUR, "width": 0.8 if compact else 1.2},
        "layer": "above",
    }


def note(text: str, index: int, compact: bool) -> dict[str, Any]:
    """A small grey remark in the top-left corner (downsampling, projection); no entries goes centre stage."""
    if text == "no entries":
        return {
            "text": text,
            "xref": "paper",
            "yref": "paper",
            "x": 0.5,
            "y": 0.5,
            "showarrow": False,
            "font": {"size": 10 if compact else 14, "color": "#666"},
        }
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": 1 - 0.07 * index,
        "xanchor": "left",
        "yanchor": "top",
        "showarrow": False,
        "font": {"size": 8 if compact else 10, "color": "#555"},
        "bgcolor": "rgba(255,255,255,0.75)",
    }


def _add_secondary_axis(
    layout: dict[str, Any], drawing: Drawing, secondary: SecondaryAxis, view: View
) -> None:
    """A top axis labelled in the converted unit (ADC → GeV), tied to the bottom one with ``matches``.

    Plotly cannot scale one axis from another; giving xaxis2 the same range and tick labels of the
    converted values at their original positions keeps the two right through every zoom.
    """
    low, high = _span(view.display.x_range, drawing.x)
    values, labels = _nice_ticks(low * secondary.scale, high * secondary.scale, drawing.x.log)
    layout["xaxis2"] = {
        "title": {"text": root_text(secondary.title), "standoff": 2 if view.compact else 6},
        "overlaying": "x",
        "matches": "x",
        "side": "top",
        "type": "log" if drawing.x.log else "linear",
        "tickmode": "array",
        "tickvals": np.asarray(values) / secondary.scale,
        "ticktext": labels,
        "showgrid": False,
        "showline": True,
        "linecolor": "#444",
        "ticks": "outside",
        "automargin": True,
    }
    # Plotly draws an axis only when a trace uses it: an empty one, which moves no autorange.
    drawing.traces.append(
        {
            "type": "scatter",
            "x": np.array([low, high]),
            "y": np.array([np.nan, np.nan]),
            "xaxis": "x2",
            "mode": "markers",
            "hoverinfo": "skip",
            "showlegend": False,
        }
    )


def _span(value_range: tuple[float, float] | None, drawn: Axis) -> tuple[float, float]:
    low, high = float(drawn.edges[0]), float(drawn.edges[-1])
    if value_range is None:
        return low, high
    return (value_range[0] if value_range[0] > 0 or not drawn.log else low), value_range[1]


def _nice_ticks(low: float, high: float, log: bool) -> tuple[list[float], list[str]]:
    """About six round values in [low, high] (1, 2 or 5 × 10^k apart; decades on a log axis)."""
    if log:
        exponents = range(math.ceil(math.log10(low)), math.floor(math.log10(high)) + 1)
        return [10.0**k for k in exponents], [f"{10.0**k:g}" for k in exponents]
    raw = (high - low) / 6 or 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step)
    values = [k * step for k in range(first, math.floor(high / step) + 1)]
    return values, [f"{v:.6g}" for v in values]


def empty_figure(message: str) -> go.Figure:
    """A figure that is only a message (error, no data), placed where the plot would be (SPEC §7.1)."""
    return assemble(
        [],
        {
            "template": {},
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "plot_bgcolor": "white",
            "paper_bgcolor": "white",
            "annotations": [
                {
                    "text": html.escape(message, quote=False),
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                    "showarrow": False,
                    "font": {"size": 14, "color": "#666"},
                }
            ],
            "meta": {"kind": "empty", "downsampled": None},
        },
    )


def figure_json_bytes(fig: go.Figure) -> int:
    """Size of the figure as sent to the browser, for benchmarks and the size tests."""
    return len(fig.to_json().encode("utf-8"))
