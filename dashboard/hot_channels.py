"""Hot channels on the run page: the threshold line of the FastOR plots and the data of the live what-if.

The what-if (``assets/time_slices.js``) redraws the threshold line and the hot-channel list while the
threshold slider moves, without asking the server. It must list exactly what Apply would: the core's rule
(:func:`overwatch_core.subsystems.emc.hot_channels`, content > threshold, compared in the histogram's own
precision) is evaluated here once for every slider value, as the highest slider value at which each bin
is still hot. The browser then only compares integers.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from dash import dcc

from overwatch_core.model import FloatArray
from overwatch_core.subsystems.base import MAX_HOT_CHANNEL_THRESHOLD, ProcessedHistogram, ProcessingOptions
from overwatch_core.subsystems.emc import hot_channel_threshold, hot_channels

#: Labels of the information rows the core writes for a FastOR histogram (emc.py) and the what-if rewrites.
THRESHOLD_LABEL = "Threshold"
HOT_LABEL = "Fast OR Hot Channels ID"
#: Pattern-matching id type of the what-if data store of one histogram ({"type": STORE, "name": …}).
STORE = "hist-hot"
#: ``name`` of the threshold line (a shape) or, when it lies above every bin, of its note (an annotation).
MARK = "hot-channel-threshold"
LINE_COLOUR = "#d55e00"
_DEFAULTS = ProcessingOptions(hot_channel_threshold=0)
_SLIDER = np.arange(1, MAX_HOT_CHANNEL_THRESHOLD + 1)


def is_hot_channel_histogram(hist: ProcessedHistogram) -> bool:
    return HOT_LABEL in hist.information and hist.layers[0].hist.ndim == 1


def hot_until(values: FloatArray) -> np.ndarray:
    """Per bin, the highest slider value 1–1000 at which it is hot (0: not hot at any).

    Bin i is hot at slider value k when ``values[i] > k / 1000``, compared as numpy compares an array with
    a Python float: in the array's own precision (float32 data against float32(k / 1000)). The thresholds
    rise with k, so the values at which a bin is hot are exactly 1…hot_until[i].
    """
    thresholds = (_SLIDER / MAX_HOT_CHANNEL_THRESHOLD).astype(values.dtype)
    steps = np.searchsorted(thresholds, values, side="left")
    return np.where(np.isnan(values), 0, steps)


def _packed(ids: np.ndarray) -> dict[str, str]:
    """Unsigned integers as base64 (what JS decodes with one atob and a typed array)."""
    dtype = "u2" if ids.size == 0 or int(ids.max()) < 2**16 else "u4"
    return {"dtype": dtype, "bdata": base64.b64encode(ids.astype(f"<{dtype}").tobytes()).decode()}


def what_if_data(hist: ProcessedHistogram) -> dict[str, Any]:
    """What the browser needs to list the hot channels at any slider value, and to draw the line."""
    values = hist.layers[0].hist.values
    steps = hot_until(values)
    candidates = np.flatnonzero(steps > 0)
    default = hot_channel_threshold(hist.name, _DEFAULTS)
    finite = values[np.isfinite(values)]
    return {
        "name": hist.name,
        "ids": _packed(candidates),
        "steps": _packed(steps[candidates]),
        "default_threshold": default,
        "default_text": f"{default:g}",
        "default_ids": _packed(np.asarray(hot_channels(hist.layers[0].hist, default), dtype=np.int64)),
        "max": float(finite.max()) if finite.size else None,
        "shown_threshold": hist.information.get(THRESHOLD_LABEL),
    }


def what_if_store(hist: ProcessedHistogram) -> list[dcc.Store]:
    """The histogram's what-if data (none for histograms without hot channels)."""
    if not is_hot_channel_histogram(hist):
        return []
    return [dcc.Store(id={"type": STORE, "name": hist.name}, data=what_if_data(hist))]


def threshold_mark(threshold: float, highest: float | None) -> tuple[str, dict[str, Any]]:
    """The threshold as a dashed line across the plot, or, when no bin reaches it, as a note at the top.

    A line far above every bin would stretch the y axis and flatten the data, so it is drawn only where
    the data is. Returns the layout list it goes into ("shapes" or "annotations") and the item. The same
    rule is in ``assets/time_slices.js`` (``thresholdMark``).
    """
    if highest is not None and threshold <= highest:
        line = {
            "type": "line",
            "name": MARK,
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "yref": "y",
            "y0": threshold,
            "y1": threshold,
            "line": {"color": LINE_COLOUR, "width": 1, "dash": "dash"},
            "layer": "above",
        }
        return "shapes", line
    note = {
        "name": MARK,
        "text": f"threshold {threshold:g} ↑ (above every bin)",
        "xref": "paper",
        "yref": "paper",
        "x": 1,
        "y": 1,
        "xanchor": "right",
        "yanchor": "top",
        "showarrow": False,
        "font": {"size": 9, "color": LINE_COLOUR},
    }
    return "annotations", note


def with_threshold_mark(figure: Any, hist: ProcessedHistogram) -> Any:
    """A FastOR figure with its threshold drawn (other figures unchanged); ``figure`` is a go.Figure."""
    if not is_hot_channel_histogram(hist):
        return figure
    data = what_if_data(hist)
    threshold = float(hist.information[THRESHOLD_LABEL])
    where, item = threshold_mark(threshold, data["max"])
    items = [i for i in (getattr(figure.layout, where) or ()) if getattr(i, "name", None) != MARK]
    figure.layout[where] = [*items, item]
    return figure
