"""1D histograms: steps or markers with error bars, stacks of layers, hover per bin."""

from __future__ import annotations

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
    step = {
        "type": "scatter",
        "x": coordinates(x.edges, float(np.min(np.diff(x.edges)))),
        "y": data(np.append(values, values[-1:])),
        "mode": "lines",
        "line": {"shape": "hv", "color": colour, "width": 1 if view.compact else 1.5},
        "name": layer.label,
        "legendgroup": layer.label,
        "showlegend": drawing.legend,
        "hoverinfo": "skip",
    }
    return [step, points]


def _points(
    layer: Layer, shown: Histogram, x: Axis, values: FloatArray, colour: str, drawing: Drawing, view: View
) -> Any:
    """Bin centres with error bars and the hover text ([low, high), content ± error)."""
    real = shown.edges[0][x.keep.start or 0 :]
    errors = np.sqrt(np.clip(shown.variances[x.keep], 0.0, None))
    columns = [real[:-1], real[1:], errors]
    if shown.profile is not None:
        columns.append(shown.profile.sum_w[x.keep])
    customdata = coordinates(np.stack(columns, axis=-1), float(np.min(np.diff(real))))
    styled = layer.style.marker is not None or is_profile(shown)
    size = (3 if view.compact else 5) if values.size <= 200 else (2 if view.compact else 3)
    labelled = {"text": [root_text(label) for label in x.labels]} if x.labels else {}
    return {
        **labelled,
        "type": "scatter",
        "x": coordinates(centres(x), float(np.min(np.diff(x.edges)))),
        "y": data(values),
        # Markers are one SVG path per bin: for wide histograms (5000 FastORs) that costs the browser
        # seconds, so they become one line through the bin contents (invisible when it only carries hover).
        "mode": "markers" if values.size <= MAX_ERROR_BARS else "lines",
        "line": {"width": 1 if styled else 0, "color": colour},
        "marker": {
            "symbol": layer.style.marker or "circle",
            "color": colour,
            "size": size,
            "opacity": 1.0 if styled else 0.0,
        },
        "error_y": {
            "type": "data",
            "array": data(errors),
            # One SVG path per bar: beyond a few hundred bins the browser spends seconds drawing bars too
            # small to see, so they are left out and the error stays in the hover text.
            "visible": values.size <= MAX_ERROR_BARS,
            "color": colour,
            "thickness": 1,
            "width": 0,
        },
        "customdata": customdata,
        "hovertemplate": _hover_1d(
            drawing, shown.profile is not None, layer.label if drawing.legend else "", bool(x.labels)
        ),
        "name": layer.label,
        "legendgroup": layer.label,
        "showlegend": drawing.legend and styled,
    }


def _hover_1d(drawing: Drawing, profile: bool, label: str, labelled: bool = False) -> str:
    """The bin ([low, high), and its label on a labelled axis), its content ± error (and entries)."""
    x_name = drawing.x_title or "x"
    y_name = drawing.y_title or ("mean" if profile else "content")
    entries = "<br>entries: %{customdata[3]:.6~g}" if profile else ""
    bin_label = "%{text} " if labelled else ""
    return (
        f"{x_name}: {bin_label}[%{{customdata[0]:.6~g}}, %{{customdata[1]:.6~g}})<br>"
        f"{y_name}: %{{y:.6~g}} ± %{{customdata[2]:.2~g}}{entries}<extra>{label}</extra>"
    )
