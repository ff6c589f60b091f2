"""What the drawing functions share: the look's constants, drawn axes, compact arrays, titles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from dashboard.figures.latex import root_text
from overwatch_core.model import FloatArray, Histogram
from overwatch_core.subsystems.base import DisplayOptions

#: Most bins (cells of a map, bins of a 1D histogram) a figure sends to the browser before it is rebinned,
#: by the size of the plot and how many share the page: a plot alone on its page gets the most; one of a
#: group's full-width plots (480 px high) a quarter of that, which still leaves a row of cells per pixel
#: of a 17,664-cell ID axis merged 57-fold; a grid cell (about 330 × 200 px) keeps 50 × 50 whole. Twenty
#: compact log maps at the limit are about 580 kB, a page of 39 compact maps about 620 kB.
DEFAULT_CELL_BUDGET = 40_000
FULL_WIDTH_CELL_BUDGET = 10_000
COMPACT_CELL_BUDGET = 2_500
#: Most 1D bins drawn with error bars; wider histograms show their errors in the hover on their own page.
MAX_ERROR_BARS = 500
#: The one colour scale of every 2D map unless a subsystem names another (SPEC §7.1).
DEFAULT_COLOUR_SCALE = "Viridis"
#: Overlay lines (TRU grid) in a red that stands out on Viridis and on the white of empty cells.
OVERLAY_COLOUR = "#ff2d55"
#: Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
COLOURWAY = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


AnyArray = npt.NDArray[Any]


@dataclass(frozen=True)
class View:
    """Per-figure settings every drawing function reads."""

    display: DisplayOptions
    compact: bool
    budget: int
    #: The plot is alone on its page (a histogram's own page): wide 1D histograms keep their errors in the
    #: hover there; on a group's page, where their bars are not drawn either, they are left out.
    alone: bool = False


@dataclass(frozen=True)
class Axis:
    """How one axis is drawn: bins it keeps, their drawn edges (log-safe), whether it is logarithmic, and
    the bin labels of the kept bins (empty for a numeric axis)."""

    keep: slice
    edges: FloatArray
    log: bool
    labels: tuple[str, ...] = ()


@dataclass
class Drawing:
    """Traces plus what the layout needs to know about them."""

    traces: list[Any]
    kind: str
    x: Axis
    y: Axis | None = None
    x_title: str = ""
    y_title: str = ""
    notes: list[str] = field(default_factory=list)
    downsampled: dict[str, list[int]] | None = None
    legend: bool = False


def drawn_axis(edges: FloatArray, log: bool, labels: tuple[str, ...] = ()) -> Axis:
    """Edges as drawn, so that a log axis shows every bin that has a positive part.

    Bins wholly ≤ 0 are left out; a first bin from ≤ 0 (cluster energies from 0) gets a low edge one bin
    ratio below its high edge, and the hover still names the real edge. A log axis without two positive
    edges falls back to linear rather than draw nothing. Bin labels follow the bins that are kept.
    """
    positive = np.flatnonzero(edges > 0)
    if not log or positive.size < 2:
        return Axis(slice(None), edges, False, labels)
    first = int(positive[0])
    if first == 0:
        return Axis(slice(None), edges, True, labels)
    low = edges[first] ** 2 / edges[first + 1]
    return Axis(slice(first - 1, None), np.concatenate(([low], edges[first:])), True, labels[first - 1 :])


def centres(drawn: Axis) -> FloatArray:
    """Bin centres where they look central: geometric on a log axis."""
    low, high = drawn.edges[:-1], drawn.edges[1:]
    return np.sqrt(low * high) if drawn.log else (low + high) / 2


def uniform_width(drawn: Axis) -> float | None:
    """The common width of the drawn bins on a linear axis, or None (log axis, variable bins, or a narrower
    last block after downsampling): then positions go out as arrays and the hover says "bin centre"."""
    widths = np.diff(drawn.edges)
    if drawn.log or widths.size == 0 or not np.allclose(widths, widths[0], rtol=1e-6, atol=0.0):
        return None
    return float(widths[0])


def position_hover(name: str, variable: str, width: float | None) -> str:
    """``name: centre ± half width`` of the bin under the mouse, exact for uniform bins and no array sent;
    plotly's heat map hover gives the cell's centre as %{x}, a hover template cannot do arithmetic."""
    if width is None:
        return f"{name}: %{{{variable}:.6~g}} (bin centre)"
    return f"{name}: %{{{variable}:.6~g}} ± {width / 2:.6g}"


def data(values: AnyArray) -> AnyArray:
    """Contents as float32 (half the JSON, 7 digits), non-finite values as gaps; float64 beyond float32."""
    finite = np.where(np.isfinite(values), values, np.nan)
    magnitude = np.abs(finite[np.isfinite(finite) & (finite != 0)])
    fits = magnitude.size == 0 or (magnitude.max() < 1e38 and magnitude.min() > 1e-37)
    return finite.astype(np.float32) if fits else finite.astype(np.float64)


def coordinates(values: AnyArray, resolution: float) -> AnyArray:
    """Bin edges as float32 when that keeps them well within a bin width, else float64 (time axes)."""
    narrow = values.astype(np.float32)
    error = np.nanmax(np.abs(narrow.astype(np.float64) - values), initial=0.0)
    return narrow if error <= 1e-3 * resolution else values.astype(np.float64)


def value_title(display_title: str | None, hist: Histogram, axis: int) -> str:
    if display_title is not None:
        return root_text(display_title)
    return root_text(hist.axis_titles[axis]) if axis < len(hist.axis_titles) else ""


def means(hist: Histogram) -> FloatArray:
    """Contents to draw: for profiles, empty bins are gaps, as ROOT leaves them out, not zero means."""
    if hist.profile is None:
        return hist.values
    return np.where(hist.profile.sum_w > 0, hist.values, np.nan)


def downsample_meta(source: Histogram, shown: Histogram, factors: tuple[int, ...]) -> dict[str, list[int]]:
    return {"factors": list(factors), "from": list(source.values.shape), "to": list(shown.values.shape)}


def downsample_note(meta: dict[str, list[int]]) -> str:
    return f"downsampled {'×'.join(map(str, meta['factors']))} from {'×'.join(map(str, meta['from']))} bins"
