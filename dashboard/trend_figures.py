"""Trend figures: one run's values over time and one value per run, with alarm bounds and alarmed points."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dashboard.figures import COLOURWAY, empty_figure
from overwatch_core.alarms import Alarm
from overwatch_core.model import FloatArray
from overwatch_core.subsystems.base import TrendingSource
from overwatch_core.trending import TrendPoint

__all__ = ["ALARM_COLOUR", "Bound", "across_runs_figure", "alarm_bounds", "minute_of", "within_run_figure"]

VALUE_COLOUR = COLOURWAY[0]
ALARM_COLOUR = COLOURWAY[1]
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


@dataclass(frozen=True)
class Bound:
    """A fixed alarm threshold drawn as a horizontal line, labelled with the alarm that owns it."""

    value: float
    label: str


def alarm_bounds(alarms: Sequence[Alarm]) -> list[Bound]:
    """Lower and upper bounds of every alarm that has them, And/Or children included, each value once."""
    found: dict[float, Bound] = {}
    for alarm in alarms:
        children: Sequence[Alarm] = getattr(alarm, "children", ())
        for bound in alarm_bounds(children):
            found.setdefault(bound.value, bound)
        limits = alarm.bounds()
        if limits is None:
            continue
        name = f"{alarm.label} " if alarm.label else ""
        for side, value in zip(("min", "max"), limits, strict=True):
            found.setdefault(float(value), Bound(float(value), f"{name}{side} {value:g}".strip()))
    return sorted(found.values(), key=lambda b: b.value)


def minute_of(moment: datetime, start: datetime) -> int:
    """Whole minutes since the subsystem's first file, rounded as the time-slice selection rounds."""
    return max(0, round((moment - start).total_seconds() / 60))


def _values(points: Sequence[TrendPoint]) -> tuple[FloatArray, FloatArray | None]:
    values = np.fromiter((p.value for p in points), dtype=np.float64, count=len(points))
    if all(p.error is None for p in points):
        return values, None
    errors = np.fromiter((p.error or 0.0 for p in points), dtype=np.float64, count=len(points))
    return values, errors


def _local_times(points: Sequence[TrendPoint]) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """Wall-clock times in the catalog's zone; plotly.js would otherwise shift zone-aware times."""
    return np.array([p.timestamp.replace(tzinfo=None) for p in points], dtype="datetime64[s]")


def _alarm_text(point: TrendPoint) -> str:
    return "<br>".join(html.escape(message, quote=False) for message in point.alarms)


def _traces(
    points: Sequence[TrendPoint], x: Any, customdata: FloatArray, hover: str, name: str
) -> list[dict[str, Any]]:
    """The values (with error bars when the kind has them) and, on top, the alarmed ones as red crosses."""
    values, errors = _values(points)
    main: dict[str, Any] = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": x,
        "y": values,
        # A list, not a typed array: dcc.Graph copies clickData's customdata from the figure prop by
        # index, which finds nothing in a base64 array (and a click could then not open the run).
        "customdata": customdata.tolist(),
        "hovertemplate": hover + "<extra></extra>",
        "marker": {"color": VALUE_COLOUR, "size": 7},
        "line": {"color": VALUE_COLOUR, "width": 1.5},
    }
    if errors is not None:
        main["error_y"] = {"type": "data", "array": errors, "visible": True, "color": VALUE_COLOUR}
    alarmed = np.array([bool(p.alarms) for p in points])
    if not alarmed.any():
        return [main]
    marks = {
        "type": "scatter",
        "mode": "markers",
        "name": "alarm raised",
        "x": x[alarmed],
        "y": values[alarmed],
        "customdata": customdata[alarmed].tolist(),
        "text": [_alarm_text(p) for p in points if p.alarms],
        "hovertemplate": hover + "<br><b>Alarm</b><br>%{text}<extra></extra>",
        "marker": {"color": ALARM_COLOUR, "size": 13, "symbol": "x-thin-open", "line": {"width": 3}},
    }
    return [main, marks]


def _bound_shapes(bounds: Sequence[Bound]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    line = {"color": ALARM_COLOUR, "width": 1.5, "dash": "dash"}
    shapes = [
        {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": b.value, "y1": b.value,
         "line": line}
        for b in bounds
    ]  # fmt: skip
    notes = [
        {"xref": "paper", "x": 1, "xanchor": "right", "yref": "y", "y": b.value, "yanchor": "bottom",
         "text": html.escape(b.label, quote=False), "showarrow": False,
         "font": {"color": ALARM_COLOUR, "size": 11}}
        for b in bounds
    ]  # fmt: skip
    return shapes, notes


def _layout(x_title: str, y_title: str, bounds: Sequence[Bound], meta: dict[str, Any]) -> dict[str, Any]:
    shapes, notes = _bound_shapes(bounds)
    axis = {"showline": True, "mirror": True, "linecolor": "#444", "ticks": "outside", "gridcolor": "#e5e5e5",
            "zeroline": False, "automargin": True}  # fmt: skip
    return {
        "template": {},
        "font": {"family": _FONT, "size": 12},
        "margin": {"l": 10, "r": 10, "t": 28, "b": 10},
        "xaxis": {**axis, "title": {"text": x_title}},
        "yaxis": {**axis, "title": {"text": html.escape(y_title, quote=False)}, "exponentformat": "power"},
        "shapes": shapes,
        "annotations": notes,
        "showlegend": False,
        "hovermode": "closest",
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "clickmode": "event",
        "meta": meta,
    }


def within_run_figure(
    points: Sequence[TrendPoint],
    source: TrendingSource,
    run_number: int,
    start: datetime | None,
    bounds: Sequence[Bound],
    zone_name: str,
) -> go.Figure:
    """Value against file time for one run; each point carries [run, minute since start, error]."""
    if not points:
        return empty_figure(f"No values of {source.trend_name} in run {run_number}.")
    first = start or points[0].timestamp
    _, errors = _values(points)
    minutes = np.array([minute_of(p.timestamp, first) for p in points], dtype=np.float64)
    runs = np.full(len(points), float(run_number))
    customdata = np.column_stack([runs, minutes, errors if errors is not None else np.zeros(len(points))])
    spread = " ± %{customdata[2]:.3g}" if errors is not None else ""
    hover = (
        "Run %{customdata[0]:d}, minute %{customdata[1]:d}<br>%{x|%Y-%m-%d %H:%M:%S}"
        f"<br>{source.trend_name} = %{{y:.6g}}{spread}"
    )
    meta = {"kind": "trend-within", "run": run_number, "trend": source.trend_name,
            "alarmed": sum(1 for p in points if p.alarms), "bounds": [b.value for b in bounds]}  # fmt: skip
    layout = _layout(f"Time ({zone_name})", source.description, bounds, meta)
    traces = _traces(points, _local_times(points), customdata, hover, source.trend_name)
    return go.Figure(data=traces, layout=layout, _validate=False)


def across_runs_figure(
    points: Sequence[TrendPoint],
    source: TrendingSource,
    first_run: int,
    last_run: int,
    bounds: Sequence[Bound],
) -> go.Figure:
    """The value at the end of each run in the range; each point carries [run, -1, error]."""
    if not points:
        return empty_figure(f"No values of {source.trend_name} in runs {first_run}–{last_run}.")
    runs = np.fromiter((p.run_number for p in points), dtype=np.float64, count=len(points))
    _, errors = _values(points)
    customdata = np.column_stack(
        [runs, np.full(len(points), -1.0), errors if errors is not None else np.zeros(len(points))]
    )
    spread = " ± %{customdata[2]:.3g}" if errors is not None else ""
    hover = f"Run %{{customdata[0]:d}} (end of run)<br>{source.trend_name} = %{{y:.6g}}{spread}"
    meta = {"kind": "trend-across", "runs": [first_run, last_run], "trend": source.trend_name,
            "alarmed": sum(1 for p in points if p.alarms), "bounds": [b.value for b in bounds]}  # fmt: skip
    layout = _layout("Run (value at the end of each run)", source.description, bounds, meta)
    layout["xaxis"]["type"] = "category"  # runs are labels: no 300000.5 ticks, no gaps drawn as distance
    traces = _traces(points, runs, customdata, hover, source.trend_name)
    return go.Figure(data=traces, layout=layout, _validate=False)
