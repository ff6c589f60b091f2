"""Plotly figures drawn straight from processed histograms: steps, markers, heat maps, stacks and overlays."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from overwatch_core.model import FloatArray, Histogram, ProfileSums
from overwatch_core.subsystems.base import DisplayOptions, Layer, Line, ProcessedHistogram, SecondaryAxis

__all__ = [
    "DEFAULT_CELL_BUDGET",
    "DEFAULT_COLOUR_SCALE",
    "OVERLAY_COLOUR",
    "downsample",
    "empty_figure",
    "figure",
    "figure_json_bytes",
    "root_text",
]

#: Most bins (cells of a map, bins of a 1D histogram) a figure sends to the browser before it is rebinned.
DEFAULT_CELL_BUDGET = 40_000
#: Most 1D bins drawn with error bars; wider histograms keep their errors in the hover text only.
MAX_ERROR_BARS = 500
#: The one colour scale of every 2D map unless a subsystem names another (SPEC §7.1).
DEFAULT_COLOUR_SCALE = "Viridis"
#: Overlay lines (TRU grid) in a red that stands out on Viridis and on the white of empty cells.
OVERLAY_COLOUR = "#ff2d55"
#: Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
COLOURWAY = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")

AnyArray = npt.NDArray[Any]


# --- ROOT TLatex → Plotly text ------------------------------------------------------------------------------

_GREEK_NAMES = (
    *("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"),
    *("nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"),
)
_GREEK = {
    **dict(zip(_GREEK_NAMES, "αβγδεζηθικλμνξοπρστυφχψω", strict=True)),
    **dict(zip((n.capitalize() for n in _GREEK_NAMES), "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ", strict=True)),
    "varepsilon": "ε",
    "vartheta": "ϑ",
    "varphi": "ϕ",
    "varsigma": "ς",
}
_SYMBOLS = {
    **_GREEK,
    "pm": "±",
    "mp": "∓",
    "times": "×",
    "cdot": "·",
    "bullet": "•",
    "div": "÷",
    "leq": "≤",
    "geq": "≥",
    "neq": "≠",
    "approx": "≈",
    "sim": "∼",
    "equiv": "≡",
    "propto": "∝",
    "infty": "∞",
    "partial": "∂",
    "nabla": "∇",
    "rightarrow": "→",
    "leftarrow": "←",
    "leftrightarrow": "↔",
    "Rightarrow": "⇒",
    "Leftarrow": "⇐",
    "Leftrightarrow": "⇔",
    "uparrow": "↑",
    "downarrow": "↓",
    "circ": "°",
    "degree": "°",
    "prime": "′",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "perp": "⊥",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "cap": "∩",
    "cup": "∪",
    "forall": "∀",
    "exists": "∃",
    "oplus": "⊕",
    "otimes": "⊗",
    "hbar": "ħ",
    "ell": "ℓ",
    "AA": "Å",
    "aa": "å",
    "dots": "…",
    "ldots": "…",
    "LT": "&lt;",
    "GT": "&gt;",
    "left": "",
    "right": "",
}
#: Accents are combining characters after a single letter; longer arguments are left plain.
_ACCENTS = {
    "bar": "\u0304",
    "hat": "\u0302",
    "tilde": "\u0303",
    "vec": "\u20d7",
    "dot": "\u0307",
    "slash": "\u0338",
}
_WORD = re.compile(r"[A-Za-z]+")
_TAG = re.compile(r"<[^>]*>")
_COMPOSITE = re.compile(r"[\s+\-/*×·−]")


def root_text(text: str) -> str:
    """ROOT TLatex (``p_{T}``, ``#gamma``, ``#it{c}``) as the text-with-tags Plotly renders.

    Detector groups wrote their titles for ROOT; shown raw they read ``M_{#gamma#gamma}``. ``<``, ``>``
    and ``&`` of the input are escaped before any tag is added, so a title can never inject markup. A
    bare ``_`` stays literal (histogram names are full of them); ``_{…}`` and ``^{…}`` or ``^2`` are
    scripts. Unknown ``#word`` commands lose only their ``#``.
    """
    return _TLatex(text).parse(closing=False)


class _TLatex:
    """A small recursive-descent reader of TLatex: groups, scripts and ``#`` commands."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self, closing: bool) -> str:
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "}":
                self.pos += 1
                if closing:
                    return "".join(out)
            elif char == "{":
                self.pos += 1
                out.append(self.parse(closing=True))
            elif char == "#":
                out.append(self._command())
            elif char in "_^":
                out.append(self._script(char))
            else:
                out.append(html.escape(char, quote=False))
                self.pos += 1
        return "".join(out)

    def _command(self) -> str:
        match = _WORD.match(self.text, self.pos + 1)
        if match is None:  # "# of cells", "##"
            self.pos += 2 if self.text.startswith("##", self.pos) else 1
            return "#"
        name = match.group()
        self.pos = match.end()
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        if name in _ONE_ARGUMENT:
            return _ONE_ARGUMENT[name](self._argument())
        if name in _TWO_ARGUMENTS:
            first = self._argument()
            return _TWO_ARGUMENTS[name](first, self._argument())
        return name

    def _argument(self) -> str:
        """The ``{…}`` after a command, skipping a ``[…]`` option (``#font[42]{…}``); empty if absent."""
        if self.text.startswith("[", self.pos):
            end = self.text.find("]", self.pos)
            self.pos = len(self.text) if end < 0 else end + 1
        if not self.text.startswith("{", self.pos):
            return ""
        self.pos += 1
        return self.parse(closing=True)

    def _script(self, kind: str) -> str:
        tag = "sub" if kind == "_" else "sup"
        self.pos += 1
        nxt = self.text[self.pos : self.pos + 1]
        if nxt == "{":
            self.pos += 1
            content = self.parse(closing=True)
        elif kind == "^" and nxt == "#":
            content = self._command()
        elif kind == "^" and nxt and not nxt.isspace():
            content = html.escape(nxt, quote=False)
            self.pos += 1
        else:
            return kind
        return f"<{tag}>{content}</{tag}>"


def _visible(markup: str) -> str:
    return html.unescape(_TAG.sub("", markup))


def _grouped(markup: str) -> str:
    """Parenthesise a composite argument (``#sqrt{a+b}`` → √(a+b)) so dropping ROOT's bar stays correct."""
    return f"({markup})" if _COMPOSITE.search(_visible(markup)) else markup


def _accent(mark: str) -> Callable[[str], str]:
    return lambda arg: arg + mark if len(_visible(arg)) == 1 else arg


_ONE_ARGUMENT: dict[str, Callable[[str], str]] = {
    "it": lambda arg: arg,
    "bf": lambda arg: f"<b>{arg}</b>" if arg else "",
    "sqrt": lambda arg: f"√{_grouped(arg)}",
    "mathrm": lambda arg: arg,
    "font": lambda arg: arg,
    "color": lambda arg: arg,
    "scale": lambda arg: arg,
    "kern": lambda arg: arg,
    "lower": lambda arg: arg,
    "mbox": lambda arg: arg,
    **{name: _accent(mark) for name, mark in _ACCENTS.items()},
}
_TWO_ARGUMENTS: dict[str, Callable[[str, str], str]] = {
    "frac": lambda num, den: f"{_grouped(num)}/{_grouped(den)}",
    "splitline": lambda top, bottom: f"{top}<br>{bottom}",
}


# --- downsampling -------------------------------------------------------------------------------------------


def downsample(hist: Histogram, budget: int) -> tuple[Histogram, tuple[int, ...]]:
    """``hist`` with blocks of bins merged until it has at most ``budget`` bins, and the factor per axis.

    A 2000×2000 map costs the browser 26 MB of JSON (stack notes §5); merged blocks keep the picture and
    the totals. Counts and variances are summed; profiles are averaged, weighted by their entries when the
    raw sums are known. Factors are whole numbers, preferably dividing the bin count; otherwise the last
    block of an axis is narrower, and its edges say so. Factors of 1 mean nothing was merged. An axis with
    bin labels is never merged (a block has no one label); such axes are short, and the others make room.
    """
    if budget < 1:
        raise ValueError(f"the cell budget must be at least 1, got {budget}")
    labelled = tuple(bool(hist.axis_labels(axis)) for axis in range(hist.ndim))
    factors = _factors(hist.values.shape, budget, labelled)
    if all(f == 1 for f in factors):
        return hist, factors
    merged = hist
    for axis, factor in enumerate(factors):
        if factor > 1:
            merged = _merge_axis(merged, axis, factor)
    return merged, factors


def _factors(shape: tuple[int, ...], budget: int, fixed: tuple[bool, ...]) -> tuple[int, ...]:
    """Grow the factor of the free axis with the most remaining bins until the product fits the budget.

    ``fixed`` axes keep factor 1; when they alone exceed the budget, the free axes merge down to one bin.
    """
    factors = [1] * len(shape)
    free = [a for a in range(len(shape)) if not fixed[a]]

    def remaining(axis: int) -> int:
        return -(-shape[axis] // factors[axis])

    while math.prod(remaining(a) for a in range(len(shape))) > budget:
        growing = [a for a in free if remaining(a) > 1]
        if not growing:
            break
        widest = max(growing, key=remaining)
        factors[widest] += 1
    return tuple(_divisor_near(n, f) for n, f in zip(shape, factors, strict=True))


def _divisor_near(n: int, factor: int) -> int:
    """A factor up to half again as large that divides ``n`` evenly, so all merged bins are alike."""
    return next((d for d in range(factor, factor + factor // 2 + 1) if n % d == 0), factor)


def _merge_axis(hist: Histogram, axis: int, factor: int) -> Histogram:
    n = hist.values.shape[axis]
    starts = np.arange(0, n, factor)
    edges = list(hist.edges)
    edges[axis] = np.append(hist.edges[axis][starts], hist.edges[axis][-1])

    def block_sum(array: FloatArray) -> FloatArray:
        return np.add.reduceat(array, starts, axis=axis)

    if hist.profile is not None:
        sums = ProfileSums(
            *(block_sum(a) for a in (hist.profile.sum_w, hist.profile.sum_wy, hist.profile.sum_wy2))
        )
        values, variances = _profile_means(sums)
        return hist.replace(values=values, variances=variances, edges=tuple(edges), profile=sums)
    if _is_profile(hist):
        sizes = block_sum(np.ones_like(hist.values))
        return hist.replace(
            values=block_sum(hist.values) / sizes,
            variances=block_sum(hist.variances) / sizes**2,
            edges=tuple(edges),
        )
    return hist.replace(
        values=block_sum(hist.values), variances=block_sum(hist.variances), edges=tuple(edges)
    )


def _profile_means(sums: ProfileSums) -> tuple[FloatArray, FloatArray]:
    """Bin means and squared errors from the raw sums, ROOT's default error option (as time slices do)."""
    filled = sums.sum_w > 0
    weights = np.where(filled, sums.sum_w, 1.0)
    mean = np.where(filled, sums.sum_wy / weights, 0.0)
    spread = np.clip(sums.sum_wy2 / weights - mean**2, 0.0, None)
    return mean, np.where(filled, spread / weights, 0.0)


def _is_profile(hist: Histogram) -> bool:
    return hist.profile is not None or hist.root_class.startswith("TProfile")


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


# --- what the drawing functions share -----------------------------------------------------------------------


@dataclass(frozen=True)
class _View:
    """Per-figure settings every drawing function reads."""

    display: DisplayOptions
    compact: bool
    budget: int


@dataclass(frozen=True)
class _Axis:
    """How one axis is drawn: bins it keeps, their drawn edges (log-safe), whether it is logarithmic, and
    the bin labels of the kept bins (empty for a numeric axis)."""

    keep: slice
    edges: FloatArray
    log: bool
    labels: tuple[str, ...] = ()


@dataclass
class _Drawing:
    """Traces plus what the layout needs to know about them."""

    traces: list[Any]
    kind: str
    x: _Axis
    y: _Axis | None = None
    x_title: str = ""
    y_title: str = ""
    notes: list[str] = field(default_factory=list)
    downsampled: dict[str, list[int]] | None = None
    legend: bool = False


def _axis(edges: FloatArray, log: bool, labels: tuple[str, ...] = ()) -> _Axis:
    """Edges as drawn, so that a log axis shows every bin that has a positive part.

    Bins wholly ≤ 0 are left out; a first bin from ≤ 0 (cluster energies from 0) gets a low edge one bin
    ratio below its high edge, and the hover still names the real edge. A log axis without two positive
    edges falls back to linear rather than draw nothing. Bin labels follow the bins that are kept.
    """
    positive = np.flatnonzero(edges > 0)
    if not log or positive.size < 2:
        return _Axis(slice(None), edges, False, labels)
    first = int(positive[0])
    if first == 0:
        return _Axis(slice(None), edges, True, labels)
    low = edges[first] ** 2 / edges[first + 1]
    return _Axis(slice(first - 1, None), np.concatenate(([low], edges[first:])), True, labels[first - 1 :])


def _centres(drawn: _Axis) -> FloatArray:
    """Bin centres where they look central: geometric on a log axis."""
    low, high = drawn.edges[:-1], drawn.edges[1:]
    return np.sqrt(low * high) if drawn.log else (low + high) / 2


def _data(values: AnyArray) -> AnyArray:
    """Contents as float32 (half the JSON, 7 digits), non-finite values as gaps; float64 beyond float32."""
    finite = np.where(np.isfinite(values), values, np.nan)
    magnitude = np.abs(finite[np.isfinite(finite) & (finite != 0)])
    fits = magnitude.size == 0 or (magnitude.max() < 1e38 and magnitude.min() > 1e-37)
    return finite.astype(np.float32) if fits else finite.astype(np.float64)


def _coordinates(values: AnyArray, resolution: float) -> AnyArray:
    """Bin edges as float32 when that keeps them well within a bin width, else float64 (time axes)."""
    narrow = values.astype(np.float32)
    error = np.nanmax(np.abs(narrow.astype(np.float64) - values), initial=0.0)
    return narrow if error <= 1e-3 * resolution else values.astype(np.float64)


def _value_title(display_title: str | None, hist: Histogram, axis: int) -> str:
    if display_title is not None:
        return root_text(display_title)
    return root_text(hist.axis_titles[axis]) if axis < len(hist.axis_titles) else ""


# --- 1D: steps, markers, stacks -----------------------------------------------------------------------------


def _lines(hist: ProcessedHistogram, view: _View) -> _Drawing:
    """Every layer as steps or markers with error bars; several layers get a legend."""
    first = hist.layers[0].hist
    x = _axis(first.edges[0], view.display.log_x, first.axis_labels(0))
    drawing = _Drawing(
        [],
        "stack" if len(hist.layers) > 1 else "profile" if _is_profile(first) else "steps",
        x,
        x_title=_value_title(view.display.x_title, first, 0),
        y_title=_value_title(view.display.y_title, first, 1),
        legend=len(hist.layers) > 1,
    )
    for index, layer in enumerate(hist.layers):
        shown, factors = downsample(layer.hist, view.budget)
        if factors[0] > 1 and drawing.downsampled is None:
            drawing.downsampled = _downsample_meta(layer.hist, shown, factors)
        drawing.traces.extend(_layer_traces(layer, shown, index, drawing, view))
    if drawing.downsampled is not None:
        drawing.notes.append(_downsample_note(drawing.downsampled))
    return drawing


def _layer_traces(layer: Layer, shown: Histogram, index: int, drawing: _Drawing, view: _View) -> list[Any]:
    """A marker trace (profiles, styled layers) or a step line plus an invisible hover/error trace."""
    x = _axis(shown.edges[0], drawing.x.log, shown.axis_labels(0))
    values = _means(shown)[x.keep]
    if view.display.log_y:
        values = np.where(values > 0, values, np.nan)
    colour = layer.style.colour or COLOURWAY[index % len(COLOURWAY)]
    points = _points(layer, shown, x, values, colour, drawing, view)
    if layer.style.marker is not None or _is_profile(shown):
        return [points]
    step = {
        "type": "scatter",
        "x": _coordinates(x.edges, float(np.min(np.diff(x.edges)))),
        "y": _data(np.append(values, values[-1:])),
        "mode": "lines",
        "line": {"shape": "hv", "color": colour, "width": 1 if view.compact else 1.5},
        "name": layer.label,
        "legendgroup": layer.label,
        "showlegend": drawing.legend,
        "hoverinfo": "skip",
    }
    return [step, points]


def _points(
    layer: Layer, shown: Histogram, x: _Axis, values: FloatArray, colour: str, drawing: _Drawing, view: _View
) -> Any:
    """Bin centres with error bars and the hover text ([low, high), content ± error)."""
    real = shown.edges[0][x.keep.start or 0 :]
    errors = np.sqrt(np.clip(shown.variances[x.keep], 0.0, None))
    columns = [real[:-1], real[1:], errors]
    if shown.profile is not None:
        columns.append(shown.profile.sum_w[x.keep])
    customdata = _coordinates(np.stack(columns, axis=-1), float(np.min(np.diff(real))))
    styled = layer.style.marker is not None or _is_profile(shown)
    size = (3 if view.compact else 5) if values.size <= 200 else (2 if view.compact else 3)
    labelled = {"text": [root_text(label) for label in x.labels]} if x.labels else {}
    return {
        **labelled,
        "type": "scatter",
        "x": _coordinates(_centres(x), float(np.min(np.diff(x.edges)))),
        "y": _data(values),
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
            "array": _data(errors),
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


def _means(hist: Histogram) -> FloatArray:
    """Contents to draw: for profiles, empty bins are gaps, as ROOT leaves them out, not zero means."""
    if hist.profile is None:
        return hist.values
    return np.where(hist.profile.sum_w > 0, hist.values, np.nan)


def _hover_1d(drawing: _Drawing, profile: bool, label: str, labelled: bool = False) -> str:
    """The bin ([low, high), and its label on a labelled axis), its content ± error (and entries)."""
    x_name = drawing.x_title or "x"
    y_name = drawing.y_title or ("mean" if profile else "content")
    entries = "<br>entries: %{customdata[3]:.6~g}" if profile else ""
    bin_label = "%{text} " if labelled else ""
    return (
        f"{x_name}: {bin_label}[%{{customdata[0]:.6~g}}, %{{customdata[1]:.6~g}})<br>"
        f"{y_name}: %{{y:.6~g}} ± %{{customdata[2]:.2~g}}{entries}<extra>{label}</extra>"
    )


# --- 2D and 3D: heat maps -----------------------------------------------------------------------------------


def _map(hist: ProcessedHistogram, view: _View) -> _Drawing:
    """A heat map of the first layer; maps cannot be overlaid, so a note says which layers are left out."""
    drawing = _heatmap(hist.layers[0].hist, view)
    if len(hist.layers) > 1:
        drawing.notes.append(f"only {hist.layers[0].label} of {len(hist.layers)} layers shown")
    return drawing


def _projected_map(hist: ProcessedHistogram, view: _View) -> _Drawing:
    """Subsystems project their TH3s; one that slips through is shown as its x–y projection, and says so."""
    drawing = _heatmap(_project_xy(hist.layers[0].hist), view)
    drawing.kind = "projection"
    drawing.notes.append("TH3 shown as its x–y projection (summed over z)")
    return drawing


def _heatmap(source: Histogram, view: _View) -> _Drawing:
    """One map: downsampled to the budget, log-safe axes, a note when rebinned or empty."""
    shown, factors = downsample(source, view.budget)
    x = _axis(shown.edges[0], view.display.log_x, shown.axis_labels(0))
    y = _axis(shown.edges[1], view.display.log_y, shown.axis_labels(1))
    content = _means(shown)[x.keep, y.keep]
    drawing = _Drawing(
        [],
        "heatmap",
        x,
        y,
        x_title=_value_title(view.display.x_title, shown, 0),
        y_title=_value_title(view.display.y_title, shown, 1),
    )
    drawing.traces.append(_heatmap_trace(shown, content, y, drawing, view))
    if any(f > 1 for f in factors):
        drawing.downsampled = _downsample_meta(source, shown, factors)
        drawing.notes.append(_downsample_note(drawing.downsampled))
    if not np.any(np.nan_to_num(content)):
        drawing.notes.append("no entries")
    return drawing


def _heatmap_trace(
    shown: Histogram, content: FloatArray, y: _Axis, drawing: _Drawing, view: _View
) -> dict[str, Any]:
    """z is (ny, nx), hence ``content.T``; with log z it holds log10 and the hover the real contents."""
    x = drawing.x
    z_title = _value_title(view.display.z_title, shown, 2)
    log_z = view.display.log_z
    z = _log10(content) if log_z else content
    labelled = {"text": _cell_labels(shown, drawing, x, y)} if x.labels or y.labels else {}
    return {
        **labelled,
        "type": "heatmap",
        "x": _coordinates(x.edges, float(np.min(np.diff(x.edges)))),
        "y": _coordinates(y.edges, float(np.min(np.diff(y.edges)))),
        "z": _data(z.T),
        "customdata": _cell_ranges(shown, x, y, content if log_z else None),
        "colorscale": view.display.colour_scale or DEFAULT_COLOUR_SCALE,
        "colorbar": _colour_bar(z_title, z if log_z else None, view.compact),
        "hovertemplate": _hover_2d(drawing, z_title, log_z),
    }


def _log10(content: FloatArray) -> FloatArray:
    """log10 of positive contents; zero and negative cells become gaps rather than a made-up colour."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(content > 0, np.log10(np.where(content > 0, content, 1.0)), np.nan)


def _cell_ranges(shown: Histogram, x: _Axis, y: _Axis, content: FloatArray | None) -> AnyArray:
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
    cells = _coordinates(np.stack(columns, axis=-1), resolution)
    if content is None:
        return cells
    real = _data(content.T)[..., None]
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


def _cell_labels(shown: Histogram, drawing: _Drawing, x: _Axis, y: _Axis) -> list[list[str]]:
    """Per cell (ny × nx, like z) the hover lines of the labelled axes: ``title: label [low, high)<br>``."""

    def lines(axis: _Axis, real: FloatArray, title: str) -> list[str]:
        if not axis.labels:
            return [""] * (real.size - 1)
        return [
            f"{title}: {root_text(label) + ' ' if label else ''}[{low:.6g}, {high:.6g})<br>"
            for label, low, high in zip(axis.labels, real[:-1], real[1:], strict=True)
        ]

    columns = lines(x, shown.edges[0][x.keep.start or 0 :], drawing.x_title or "x")
    rows = lines(y, shown.edges[1][y.keep.start or 0 :], drawing.y_title or "y")
    return [[column + row for column in columns] for row in rows]


def _hover_2d(drawing: _Drawing, z_title: str, log_z: bool) -> str:
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


def _downsample_meta(source: Histogram, shown: Histogram, factors: tuple[int, ...]) -> dict[str, list[int]]:
    return {"factors": list(factors), "from": list(source.values.shape), "to": list(shown.values.shape)}


def _downsample_note(meta: dict[str, list[int]]) -> str:
    return f"downsampled {'×'.join(map(str, meta['factors']))} from {'×'.join(map(str, meta['from']))} bins"


# --- layout -------------------------------------------------------------------------------------------------

_DRAWERS: dict[int, Callable[[ProcessedHistogram, _View], _Drawing]] = {1: _lines, 2: _map, 3: _projected_map}


def figure(
    hist: ProcessedHistogram, *, compact: bool = False, cell_budget: int = DEFAULT_CELL_BUDGET
) -> go.Figure:
    """The figure of one processed histogram, as its display options ask; ``compact`` for grid cells.

    What was drawn is in ``layout.meta``: ``name``, ``kind`` ("steps", "profile", "stack", "heatmap",
    "projection"), ``downsampled`` (``{"factors", "from", "to"}`` or ``None``) and ``log_z``.
    """
    first = hist.layers[0].hist
    drawer = _DRAWERS.get(first.ndim)
    if drawer is None or first.values.size == 0:
        return empty_figure(f"{hist.pretty_name}: nothing to draw ({first.ndim}D, {first.values.size} bins)")
    view = _View(hist.display, compact, cell_budget)
    drawing = drawer(hist, view)
    layout = _layout(hist, drawing, view)
    secondary = _secondary(hist.display, drawing)
    if secondary is not None:
        _add_secondary_axis(layout, drawing, secondary, view)
    return _assemble(drawing.traces, layout)


def _assemble(traces: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """The figure without plotly's per-property validation, which costs ~7 ms a figure (0.5 ms without).

    A page of 20 maps must be built in well under 150 ms (SPEC §11); the tests validate every kind of
    figure this module makes through plotly's checking constructor instead.
    """
    return go.Figure(data=traces, layout=layout, _validate=False)


def _secondary(display: DisplayOptions, drawing: _Drawing) -> SecondaryAxis | None:
    """The energy axis of a spectrum; a map has no room for one on top (the colour bar owns the scale)."""
    axis = display.secondary_x_axis
    return axis if axis is not None and axis.scale > 0 and drawing.y is None else None


def _layout(hist: ProcessedHistogram, drawing: _Drawing, view: _View) -> dict[str, Any]:
    display, compact = view.display, view.compact
    title = root_text(display.title or hist.pretty_name) if display.show_title else ""
    top = (22 if compact else 48) if title else (6 if compact else 20)
    if _secondary(display, drawing) is not None:
        top += 40 if compact else 56
    y_axis = drawing.y or _Axis(slice(None), np.array([np.nan]), display.log_y)
    secondary = _secondary(display, drawing)
    return {
        "template": {},
        "title": {"text": title, "x": 0.5, "xanchor": "center", "font": {"size": 11 if compact else 15}},
        "font": {
            "family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            "size": 9 if compact else 12,
        },
        "colorway": list(COLOURWAY),
        "margin": {"l": 6, "r": 6, "t": top, "b": 6} if compact else {"l": 10, "r": 10, "t": top, "b": 10},
        "xaxis": _axis_layout(drawing.x_title, drawing.x, display.x_range, display.grid, compact),
        "yaxis": _axis_layout(drawing.y_title, y_axis, display.y_range, display.grid, compact),
        "shapes": [_line_shape(line, compact) for line in display.lines],
        "annotations": [_note(text, i, compact) for i, text in enumerate(drawing.notes)],
        "showlegend": drawing.legend and not compact,
        "legend": {
            "x": 0.99,
            "xanchor": "right",
            "y": 0.99,
            "yanchor": "top",
            "bgcolor": "rgba(255,255,255,0.7)",
        },
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


def _axis_layout(
    title: str, drawn: _Axis, value_range: tuple[float, float] | None, grid: bool, compact: bool
) -> dict[str, Any]:
    axis: dict[str, Any] = {
        "title": {"text": title, "standoff": 2 if compact else 6},
        "type": "log" if drawn.log else "linear",
        "showgrid": grid,
        "gridcolor": "#e5e5e5",
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


def _label_ticks(drawn: _Axis) -> dict[str, Any]:
    """Bin labels as the axis' ticks, at the centres of the labelled bins (as ROOT draws them)."""
    centres = _centres(drawn)
    named = [i for i, label in enumerate(drawn.labels) if label]
    return {
        "tickmode": "array",
        "tickvals": [float(centres[i]) for i in named],
        "ticktext": [root_text(drawn.labels[i]) for i in named],
    }


def _range(value_range: tuple[float, float], drawn: _Axis) -> list[float | None]:
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


def _note(text: str, index: int, compact: bool) -> dict[str, Any]:
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
    layout: dict[str, Any], drawing: _Drawing, secondary: SecondaryAxis, view: _View
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


def _span(value_range: tuple[float, float] | None, drawn: _Axis) -> tuple[float, float]:
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


# --- other figures ------------------------------------------------------------------------------------------


def empty_figure(message: str) -> go.Figure:
    """A figure that is only a message (error, no data), placed where the plot would be (SPEC §7.1)."""
    return _assemble(
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
