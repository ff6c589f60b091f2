"""1D histograms: steps or markers with error bars, stacks of layers, hover per bin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dashboard.figures.downsample import downsample, is_profile
from dashboard.figures.drawing import (
    COLOURWAY,
    MAX_ERROR_BARS,
    Axis,
    Drawing,
    View,
    centres,
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
from overwatch_core.subsystems.base import Layer, ProcessedHistogram


def draw_lines(hist: ProcessedHistogram, view: View) -> Drawing:
    """Every layer as steps or markers with error bars; several layers get a legend."""
    first = hist.layers[0].hist
    x = drawn_axis(first.edges[0], view.display.log_x, first.axis_labels(0))
    drawing = Drawing(
        [],
        "stack" if len(hist.layers) > 1 else "profile" if is_profile(first) else "steps",
        x,
        x_title=value_title(view.display.x_title, first, 0),
        y_title=value_title(view.display.y_title, first, 1),
        legend=len(hist.layers) > 1,
    )
    for index, layer in enumerate(hist.layers):
        shown, factors = downsample(layer.hist, view.budget)
        if factors[0] > 1 and drawing.downsampled is None:
            drawing.downsampled = downsample_meta(layer.hist, shown, factors)
        drawing.traces.extend(_layer_traces(layer, shown, index, drawing, view))
    if drawing.downsampled is not None:
        drawing.notes.append(downsample_note(drawing.downsampled))
    return drawing


def _layer_traces(layer: Layer, shown: Histogram, index: int, drawing: Drawing, view: View) -> list[Any]:
    """A marker trace (profiles, styled layers) or a step line plus an invisible hover/error trace."""
    x = drawn_axis(shown.edges[0], drawing.x.log, shown.axis_labels(0))
    values = means(shown)[x.keep]
    if view.display.log_y:
        values = np.where(values > 0, values, np.nan)
    colour = layer.style.colour or COLOURWAY[index % len(COLOURWAY)]
    points = _points(layer, shown, x, values, colour, drawing, view)
    if layer.style.marker is not None or is_profile(shown):
        return [points]
    line = {"shape": "hv", "color": colour, "width": 1 if view.compact else 1.5}
    if uniform_width(x) is not None:
        return [_stepped(points, line, drawing), _step_ends(x, values, line, layer.label)]
    step = {
        **_positions(x, x.edges),
        "type": "scatter",
        "y": data(np.append(values, values[-1:])),
        "mode": "lines",
        "line": line,
        "name": layer.label,
        "legendgroup": layer.label,
        "showlegend": drawing.legend,
        "hoverinfo": "skip",
    }
    return [step, points]


def _stepped(points: dict[str, Any], line: dict[str, Any], drawing: Drawing) -> dict[str, Any]:
    """The hover trace drawn as the steps, so the contents go out once: with bins of one width, a line
    through the centres that steps half-way between them (``hvh``) steps exactly at the bin edges."""
    bars = points["mode"] == "markers"
    return {
        **points,
        "mode": "lines+markers" if bars else "lines",
        "line": {**line, "shape": "hvh"},
        "showlegend": drawing.legend,
    }


def _step_ends(x: Axis, values: FloatArray, line: dict[str, Any], label: str) -> dict[str, Any]:
    """The outer halves of the first and last bins, which a line through the centres leaves out."""
    at = centres(x)
    ends_x = np.array([x.edges[0], at[0], np.nan, at[-1], x.edges[-1]])
    return {
        "type": "scatter",
        "x": coordinates(ends_x, float(np.min(np.diff(x.edges)))),
        "y": data(np.array([values[0], values[0], np.nan, values[-1], values[-1]])),
        "mode": "lines",
        "line": line,
        "legendgroup": label,
        "showlegend": False,
        "hoverinfo": "skip",
    }


def _positions(x: Axis, at: FloatArray) -> dict[str, Any]:
    """Where points go: ``x0`` and ``dx`` for bins of one width on a linear axis (no array), else ``x``."""
    width = uniform_width(x)
    if width is not None:
        return {"x0": float(at[0]), "dx": width}
    return {"x": coordinates(at, float(np.min(np.diff(x.edges))))}


def _points(
    layer: Layer, shown: Histogram, x: Axis, values: FloatArray, colour: str, drawing: Drawing, view: View
) -> Any:
    """Bin centres with error bars and the hover text (centre ± half width, content ± error).

    The hover reads the errors (and a profile's entries) from ``customdata``, one row per bin: plotly's hover
    template cannot reach ``error_y.array``. Markers and error bars are one SVG path per bin: for wide
    histograms (5000 FastORs) that costs the browser seconds, so they become one line through the bin
    contents (invisible when it only carries hover), and their errors, drawn nowhere, are only sent for a
    plot alone on its page: a group of twenty such spectra would otherwise carry 150 kB of them.
    """
    errors = np.sqrt(np.clip(shown.variances[x.keep], 0.0, None))
    bars = values.size <= MAX_ERROR_BARS
    hover_errors = bars or view.alone
    columns = [errors] if hover_errors else []
    if shown.profile is not None:
        columns.append(shown.profile.sum_w[x.keep])
    styled = layer.style.marker is not None or is_profile(shown)
    size = (3 if view.compact else 5) if values.size <= 200 else (2 if view.compact else 3)
    per_bin: dict[str, Any] = {"text": [root_text(label) for label in x.labels]} if x.labels else {}
    if columns:
        per_bin["customdata"] = data(np.stack(columns, axis=-1) if len(columns) > 1 else columns[0])
    error_y = {"type": "data", "array": data(errors), "color": colour, "thickness": 1, "width": 0}
    hover = _Hover1D(
        shown.profile is not None, hover_errors, bool(x.labels), layer.label if drawing.legend else ""
    )
    return {
        **per_bin,
        **_positions(x, centres(x)),
        "type": "scatter",
        "y": data(values),
        "mode": "markers" if bars else "lines",
        "line": {"width": 1 if styled else 0, "color": colour},
        "marker": {
            "symbol": layer.style.marker or "circle",
            "color": colour,
            "size": size,
            "opacity": 1.0 if styled else 0.0,
        },
        "error_y": error_y if bars else {"visible": False},
        "hovertemplate": hover.template(drawing, x),
        "name": layer.label,
        "legendgroup": layer.label,
        "showlegend": drawing.legend and styled,
    }


@dataclass(frozen=True)
class _Hover1D:
    """What a 1D hover shows besides the content: its error and a profile's entries (both from
    ``customdata``), the bin's label, and the layer's name in a stack."""

    profile: bool
    errors: bool
    labelled: bool
    label: str

    def template(self, drawing: Drawing, x: Axis) -> str:
        """The bin (its label, else centre ± half width), its content ± error (and entries)."""
        x_name = drawing.x_title or "x"
        y_name = drawing.y_title or ("mean" if self.profile else "content")
        both = self.errors and self.profile
        error = f" ± %{{customdata{'[0]' if both else ''}:.2~g}}" if self.errors else ""
        entries = f"<br>entries: %{{customdata{'[1]' if both else ''}:.6~g}}" if self.profile else ""
        position = f"{x_name}: %{{text}}" if self.labelled else position_hover(x_name, "x", uniform_width(x))
        return f"{position}<br>{y_name}: %{{y:.6~g}}{error}{entries}<extra>{self.label}</extra>"
