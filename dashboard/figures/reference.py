"""A histogram drawn against its reference: 1D with the reference overlaid and a ratio panel below, 2D as
the ratio to the reference or the difference from it.

The reference arrives already normalised (``factor`` times the reference's processed contents; see
``dashboard/reference_overlay.py``). Ratios and differences are taken after both histograms are merged to
the plot's cell budget in the same blocks, never by merging a ratio (a sum of ratios means nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import plotly.graph_objects as go

from dashboard.figures.downsample import downsample, is_profile
from dashboard.figures.drawing import (
    COLOURWAY,
    MAX_ERROR_BARS,
    centres,
    coordinates,
    data,
    downsample_meta,
    downsample_note,
    drawn_axis,
    position_hover,
    uniform_width,
)
from dashboard.figures.layout import assemble, cell_budget_for, figure, note
from overwatch_core.model import FloatArray, Histogram
from overwatch_core.subsystems.base import Layer, LayerStyle, ProcessedHistogram

#: The reference's line: the Okabe–Ito vermilion, apart from the data's blue.
REFERENCE_COLOUR = COLOURWAY[1]
#: 2D views of a map against its reference.
MapView = Literal["data", "ratio", "difference"]
MAP_VIEWS: tuple[MapView, ...] = ("data", "ratio", "difference")
#: Diverging scales centred on "no change" (1 for a ratio, 0 for a difference).
_DIVERGING = "RdBu_r"


@dataclass(frozen=True)
class Against:
    """What to draw ``hist`` against: its reference histogram times ``factor``, and how to say it."""

    reference: Histogram
    factor: float
    label: str  # e.g. "reference run 300000 (same events)"


class Incomparable(ValueError):
    """The histogram and its reference cannot be compared (binning, dimension); the message says why."""


def scaled(hist: Histogram, factor: float) -> Histogram:
    """Contents times ``factor``, variances times its square (profiles hold means: unchanged)."""
    if factor == 1.0 or is_profile(hist):
        return hist
    return hist.replace(values=hist.values * factor, variances=hist.variances * factor**2)


def check_comparable(hist: Histogram, reference: Histogram) -> None:
    if hist.ndim != reference.ndim:
        raise Incomparable(f"the reference is {reference.ndim}D, this histogram {hist.ndim}D")
    if hist.values.shape != reference.values.shape:
        raise Incomparable(
            f"different binning: {'×'.join(map(str, hist.values.shape))} bins here, "
            f"{'×'.join(map(str, reference.values.shape))} in the reference"
        )
    for axis, (mine, theirs) in enumerate(zip(hist.edges, reference.edges, strict=True)):
        if not np.allclose(mine, theirs, rtol=1e-6, atol=1e-9):
            raise Incomparable(f"different bin edges on axis {'xyz'[axis]} than the reference")


def ratio(
    values: FloatArray, variances: FloatArray, ref_values: FloatArray, ref_variances: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """values / reference and its error (uncorrelated errors); gaps where the reference is not positive."""
    positive = ref_values > 0
    safe = np.where(positive, ref_values, 1.0)
    result = np.where(positive, values / safe, np.nan)
    spread, ref_spread = np.clip(variances, 0.0, None), np.clip(ref_variances, 0.0, None)
    error_sq = spread / safe**2 + values**2 * ref_spread / safe**4
    return result, np.where(positive, np.sqrt(error_sq), np.nan)


def compared_figure(
    hist: ProcessedHistogram,
    against: Against,
    *,
    compact: bool = False,
    alone: bool = False,
    map_view: MapView = "data",
) -> go.Figure:
    """The figure of ``hist`` against its reference (1D: overlay and ratio; 2D: the chosen ``map_view``).

    Raises ``Incomparable`` when the binnings differ; the caller draws the plain figure with a note.
    """
    shown = hist.layers[0].hist
    reference = scaled(against.reference, against.factor)
    check_comparable(shown, reference)
    if shown.ndim == 1:
        return _overlay(hist, reference, against.label, compact, alone)
    if shown.ndim == 2 and map_view != "data":
        return _map_against(hist, reference, against.label, map_view, compact, alone)
    return figure(hist, compact=compact, alone=alone)


# --- 1D: overlay and ratio panel -----------------------------------------------------------------------


def _overlay(
    hist: ProcessedHistogram, reference: Histogram, label: str, compact: bool, alone: bool
) -> go.Figure:
    """Data and reference as two layers of one plot (legend, hover per layer), the ratio in a panel below
    that shares the x axis (zoom and pan move both)."""
    data_layer = hist.layers[0]
    layers = (
        Layer(data_layer.label if len(hist.layers) > 1 else "this run", data_layer.hist, data_layer.style),
        Layer(label, reference, LayerStyle(colour=REFERENCE_COLOUR)),
    )
    both = replace(hist, layers=layers)
    fig = figure(both, compact=compact, alone=alone)
    budget = cell_budget_for(compact, alone)
    shown, factors = downsample(data_layer.hist, budget)
    ref_shown, _ = downsample(reference, budget)
    x = drawn_axis(shown.edges[0], hist.display.log_x, shown.axis_labels(0))
    values, errors = ratio(shown.values, shown.variances, ref_shown.values, ref_shown.variances)
    values, errors = values[x.keep], errors[x.keep]
    # Plain dicts, assembled without plotly's validation (``layout.assemble``): update_layout would
    # validate the whole layout again, 20 ms a figure.
    traces, layout = _parts(fig)
    _add_ratio_panel(traces, layout, x, values, errors, compact)
    layout["meta"] = {
        **layout.get("meta", {}),
        "reference": {"label": label, "ratio_bins": int(values.size), "factors": list(factors)},
    }
    return assemble(traces, layout)


def _parts(fig: go.Figure) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Traces and layout as dicts, numpy arrays kept (``Figure.to_plotly_json`` would encode them)."""
    return [t.to_plotly_json() for t in fig.data], fig.layout.to_plotly_json()


def _add_ratio_panel(
    traces: list[Any], layout: dict[str, Any], x: Any, values: FloatArray, errors: FloatArray, compact: bool
) -> None:
    """The ratio below the plot: y in [0, 0.24] of the height, x matching the main axis; a line at 1."""
    main_x = dict(layout["xaxis"])
    x_title = (main_x.get("title") or {}).get("text", "")
    split = 0.34 if compact else 0.3
    layout["yaxis"] = {**layout["yaxis"], "domain": [split, 1.0]}
    layout["xaxis"] = {**main_x, "showticklabels": False, "title": {"text": ""}}
    layout.update(
        xaxis3={
            **{k: v for k, v in main_x.items() if k not in ("range", "title", "showticklabels")},
            "matches": "x",
            "anchor": "y3",
            "title": {"text": x_title, "standoff": 2 if compact else 6},
        },
        yaxis3={
            "domain": [0.0, split - 0.08],
            "anchor": "x3",
            "title": {"text": "ratio", "standoff": 2 if compact else 6},
            "type": "linear",
            "showline": True,
            "mirror": True,
            "linecolor": "#444",
            "ticks": "outside",
            "ticklen": 3 if compact else 5,
            "zeroline": False,
            "automargin": True,
            "nticks": 4,
        },
    )
    one = {
        "type": "line",
        "xref": "x3 domain",
        "yref": "y3",
        "x0": 0,
        "x1": 1,
        "y0": 1,
        "y1": 1,
        "line": {"color": "#888", "width": 1, "dash": "dot"},
    }
    layout["shapes"] = [*layout.get("shapes", ()), one]
    bars = values.size <= MAX_ERROR_BARS
    width = uniform_width(x)
    positions: dict[str, Any]
    if width is not None:
        positions = {"x0": float(centres(x)[0]), "dx": width}
    else:
        positions = {"x": coordinates(centres(x), float(np.min(np.diff(x.edges))))}
    x_name = x_title or "x"
    traces.append(
        {
            **positions,
            "type": "scatter",
            "xaxis": "x3",
            "yaxis": "y3",
            "y": data(values),
            "customdata": data(errors),
            "mode": "markers" if bars else "lines",
            "marker": {"color": "#000", "size": 3 if compact else 4},
            "line": {"color": "#000", "width": 1},
            "error_y": {"type": "data", "array": data(errors), "color": "#000", "thickness": 1, "width": 0}
            if bars
            else {"visible": False},
            "hovertemplate": position_hover(x_name, "x", width)
            + "<br>ratio: %{y:.4~g} ± %{customdata:.2~g}<extra></extra>",
            "showlegend": False,
            "name": "ratio",
        }
    )


# --- 2D: ratio or difference map -----------------------------------------------------------------------


def _map_against(
    hist: ProcessedHistogram,
    reference: Histogram,
    label: str,
    map_view: MapView,
    compact: bool,
    alone: bool,
) -> go.Figure:
    """The map of data / reference or data − reference, on a diverging scale centred on no change."""
    budget = cell_budget_for(compact, alone)
    source = hist.layers[0].hist
    shown, factors = downsample(source, budget)
    ref_shown, _ = downsample(reference, budget)
    if map_view == "ratio":
        values, errors = ratio(shown.values, shown.variances, ref_shown.values, ref_shown.variances)
        variances, middle, what = errors**2, 1.0, "ratio to"
    else:
        values = shown.values - ref_shown.values
        variances, middle, what = shown.variances + ref_shown.variances, 0.0, "difference from"
    compared = shown.replace(values=values, variances=np.nan_to_num(variances), profile=None, stats=None)
    display = replace(
        hist.display,
        log_z=False,
        colour_scale=_DIVERGING,
        z_title=f"{what} reference",
    )
    drawn = replace(hist, layers=(Layer(label, compared),), display=display)
    fig = figure(drawn, compact=compact, alone=alone, cell_budget=max(budget, compared.values.size))
    plain, layout = _parts(fig)
    traces = [{**t, "zmid": middle} if t.get("type") == "heatmap" else t for t in plain]
    merged = downsample_meta(source, shown, factors) if any(f > 1 for f in factors) else None
    notes = [f"{what} {label}", *([downsample_note(merged)] if merged is not None else [])]
    layout["annotations"] = [
        *layout.get("annotations", ()),
        *(note(text, index, compact) for index, text in enumerate(notes)),
    ]
    layout["meta"] = {
        **layout.get("meta", {}),
        "reference": {"label": label, "map_view": map_view},
        "downsampled": merged,
    }
    return assemble(traces, layout)
