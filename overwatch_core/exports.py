"""JSON shapes of runs, views, trends, verdicts and histograms, shared by `overwatch … --json` and /api/v1."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from overwatch_core.catalog import RunPage
from overwatch_core.checks import CheckResult
from overwatch_core.model import Histogram
from overwatch_core.quality import SubsystemQuality
from overwatch_core.trending import TrendPoint
from overwatch_core.views import SubsystemView


def view_json(view: SubsystemView, checks: Mapping[str, Sequence[CheckResult]] | None) -> dict[str, object]:
    return {
        "run": view.run_number,
        "subsystem": view.subsystem,
        "description": view.describe(),
        "files": list(view.files),
        "n_events": view.n_events,
        "groups": [
            {
                "name": group.name,
                "histograms": [
                    {
                        "name": hist.name,
                        "pretty_name": hist.pretty_name,
                        "class": hist.root_class,
                        "sum": float(hist.layers[0].hist.values.sum()),
                        "max": float(hist.layers[0].hist.values.max(initial=0.0)),
                        "information": dict(hist.information),
                    }
                    for hist in group.histograms
                ],
            }
            for group in view.groups
        ],
        "checks": None
        if checks is None
        else {name: [dataclasses.asdict(r) for r in found] for name, found in checks.items()},
    }


def trend_json(
    subsystem: str, trend: str, points: Sequence[TrendPoint], missing: Sequence[tuple[int, datetime, str]]
) -> dict[str, object]:
    return {
        "subsystem": subsystem,
        "trend": trend,
        "points": [
            {
                "run": p.run_number,
                "time": p.timestamp.isoformat(),
                "value": p.value,
                "error": p.error,
                "alarms": list(p.alarms),
            }
            for p in points
        ],
        "missing": [{"run": run, "time": t.isoformat(), "reason": reason} for run, t, reason in missing],
    }


def runs_json(page: RunPage, problems: Mapping[int, int], ongoing: int | None) -> dict[str, object]:
    return {
        "page": page.page,
        "pages": page.pages,
        "total": page.total,
        "ongoing": ongoing,
        "runs": [
            {
                "run": r.run_number,
                "hlt_mode": r.hlt_mode,
                "start": r.start.isoformat() if r.start else None,
                "end": r.end.isoformat() if r.end else None,
                "subsystems": {
                    n: {"files": c, "location": r.file_locations[n]} for n, c in r.file_counts.items()
                },
                "files_with_problems": problems.get(r.run_number, 0),
            }
            for r in page.runs
        ],
    }


def quality_json(v: SubsystemQuality) -> dict[str, object]:
    return {
        "run": v.run_number,
        "subsystem": v.subsystem,
        "quality": v.quality,
        "reference_run": v.reference_run,
        "file": v.path,
        "counts": v.counts,
        "histograms": [
            {"name": h.name, "quality": h.quality, "checks": [dataclasses.asdict(r) for r in h.results]}
            for h in v.histograms
        ],
    }


def histogram_json(hist: Histogram) -> dict[str, object]:
    """A histogram's contents: values and errors (square roots of the variances) without flow bins, in ROOT's
    (x, y, z) axis order as nested lists, with its edges, labels, titles and entries."""
    return {
        "name": hist.name,
        "class": hist.root_class,
        "title": hist.title,
        "axis_titles": list(hist.axis_titles),
        "entries": hist.entries,
        "edges": [e.tolist() for e in hist.edges],
        "labels": [list(hist.axis_labels(axis)) for axis in range(hist.ndim)],
        "values": np.asarray(hist.values, dtype=np.float64).tolist(),
        "errors": np.sqrt(np.abs(np.asarray(hist.variances, dtype=np.float64))).tolist(),
    }
