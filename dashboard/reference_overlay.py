"""The run page against the reference run: the switches (in the URL: ``ref=1``, ``refnorm=integral``,
``refmap=ratio|difference``) and the reference histogram of each plot, normalised.

1D histograms get the reference overlaid, normalised to the same number of events (default) or to the
same integral, with a ratio panel; 2D maps can show the ratio to the reference or the difference from
it. The reference is the newest file of the reference run valid for the shown run (the catalog's
``reference_for``), drawn with the subsystem's defaults; the normalisation undoes either view's
per-event scaling, so a time slice of 12,000 events and a reference of 900,000 compare as the same
number of events.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import plotly.graph_objects as go

from dashboard import figures
from dashboard.figures import reference as drawing
from dashboard.figures.downsample import is_profile
from dashboard.services import services
from overwatch_core.errors import OverwatchError
from overwatch_core.subsystems.base import ProcessedHistogram, scaling_applies
from overwatch_core.views import SubsystemView

log = logging.getLogger(__name__)

#: URL keys of the switches, beside the time-slice keys and ``problems``.
OVERLAY_KEY = "ref"
NORM_KEY = "refnorm"
MAPS_KEY = "refmap"
KEYS = (OVERLAY_KEY, NORM_KEY, MAPS_KEY)
NORMS = ("events", "integral")


@dataclass(frozen=True)
class Compare:
    """What the page compares with the reference: 1D overlay on or off, normalisation, 2D view."""

    overlay: bool = False
    norm: str = "events"
    maps: drawing.MapView = "data"

    @property
    def active(self) -> bool:
        return self.overlay or self.maps != "data"

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> tuple[Compare, list[str]]:
        """The switches in a page's query, and a message per value that was not understood (ignored)."""
        problems: list[str] = []
        overlay_text = str(params.get(OVERLAY_KEY, "0")).lower()
        if overlay_text not in ("0", "1", "true", "false", "on", "off", "yes", "no", ""):
            problems.append(f"Ignored {OVERLAY_KEY}={overlay_text!r}: use {OVERLAY_KEY}=1 or leave it out.")
        overlay = overlay_text in ("1", "true", "on", "yes")
        norm = str(params.get(NORM_KEY, "events"))
        if norm not in NORMS:
            problems.append(f"Ignored {NORM_KEY}={norm!r}: use one of {', '.join(NORMS)}.")
            norm = "events"
        maps = str(params.get(MAPS_KEY, "data"))
        if maps not in drawing.MAP_VIEWS:
            problems.append(f"Ignored {MAPS_KEY}={maps!r}: use one of {', '.join(drawing.MAP_VIEWS)}.")
            maps = "data"
        return cls(overlay, norm, cast(drawing.MapView, maps)), problems

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Compare:
        found = context.get("compare")
        if not isinstance(found, Mapping):
            return cls()
        return cls.from_params(
            {
                OVERLAY_KEY: "1" if found.get("overlay") else "0",
                NORM_KEY: found.get("norm", "events"),
                MAPS_KEY: found.get("maps", "data"),
            }
        )[0]

    def as_context(self) -> dict[str, object]:
        return {"overlay": self.overlay, "norm": self.norm, "maps": self.maps}

    def query(self) -> list[tuple[str, str]]:
        """The non-default switches as query items, in a fixed order (links stay comparable)."""
        items = [(OVERLAY_KEY, "1")] if self.overlay else []
        if self.norm != "events":
            items.append((NORM_KEY, self.norm))
        if self.maps != "data":
            items.append((MAPS_KEY, self.maps))
        return items

    def with_changes(self, **changes: object) -> Compare:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def with_compare(href: str, compare: Compare | None) -> str:
    """``href`` with the non-default switches of ``compare`` appended."""
    items = [] if compare is None else compare.query()
    if not items:
        return href
    return href + ("&" if "?" in href else "?") + "&".join(f"{k}={v}" for k, v in items)


# --- the reference of a view -------------------------------------------------------------------------------


_REFERENCE_VIEWS: dict[tuple[object, ...], SubsystemView] = {}
_KEPT = 4


def _reference_view(reference_run: int, subsystem: str) -> SubsystemView:
    """The reference run's full view, kept for a few references in this process (a page's lazy plots
    each ask for it; the view cache would unpickle the whole subsystem every time)."""
    svc = services()
    sub = svc.catalog.run(reference_run).subsystem(subsystem)
    key = (str(svc.settings.data_path), reference_run, subsystem, sub.files[-1].path if sub.files else "")
    if key not in _REFERENCE_VIEWS:
        if len(_REFERENCE_VIEWS) >= _KEPT:
            _REFERENCE_VIEWS.pop(next(iter(_REFERENCE_VIEWS)))
        _REFERENCE_VIEWS[key] = svc.views.full_run(reference_run, subsystem)
    return _REFERENCE_VIEWS[key]


def reference_run_of(view: SubsystemView) -> int | None:
    found = services().catalog.reference_for(view.subsystem, view.run_number)
    return None if found is None else found.reference_run


def _divisor(view: SubsystemView) -> float:
    """What the view's contents were divided by: its event count when scaled per event, else 1."""
    n_events = view.n_events
    return float(n_events) if n_events is not None and scaling_applies(view.options, n_events) else 1.0


def _usable(n: float | None) -> float | None:
    """A usable event count (finite, positive) as a float, else None."""
    return float(n) if n is not None and math.isfinite(n) and n > 0 else None


@dataclass(frozen=True)
class Comparison:
    """A shown view, the reference view it is compared with, and the switches."""

    compare: Compare
    reference_run: int
    shown: SubsystemView
    reference: SubsystemView

    def against(self, hist: ProcessedHistogram) -> drawing.Against | str:
        """The normalised reference of ``hist``, or why there is none."""
        try:
            ref = self.reference.histogram(hist.name)
        except OverwatchError:
            return f"not in reference run {self.reference_run}"
        data, ref_hist = hist.layers[0].hist, ref.layers[0].hist
        if is_profile(data):
            return drawing.Against(ref_hist, 1.0, f"reference run {self.reference_run} (means)")
        norm = self.compare.norm
        if norm == "events":
            n_shown, n_ref = _usable(self.shown.n_events), _usable(self.reference.n_events)
            if n_shown is not None and n_ref is not None:
                factor = _divisor(self.reference) * n_shown / (n_ref * _divisor(self.shown))
                return drawing.Against(ref_hist, factor, f"reference run {self.reference_run} (same events)")
            norm = "integral (no event count)"
        total, ref_total = float(np.nansum(data.values)), float(np.nansum(ref_hist.values))
        if not (math.isfinite(total) and math.isfinite(ref_total)) or ref_total == 0:
            return f"reference run {self.reference_run} is empty here"
        return drawing.Against(
            ref_hist, total / ref_total, f"reference run {self.reference_run} (same {norm.split()[0]})"
        )

    def applies(self, hist: ProcessedHistogram) -> bool:
        ndim = hist.layers[0].hist.ndim
        return (ndim == 1 and self.compare.overlay) or (ndim == 2 and self.compare.maps != "data")

    def figure(self, hist: ProcessedHistogram, *, compact: bool, alone: bool) -> go.Figure | None:
        """The compared figure, a plain one with a note saying why it is not compared, or None when the
        switches do not concern this histogram (a map with the 1D overlay on)."""
        if not self.applies(hist):
            return None
        against = self.against(hist)
        if isinstance(against, str):
            return _noted(hist, f"no reference comparison: {against}", compact, alone)
        try:
            return drawing.compared_figure(
                hist, against, compact=compact, alone=alone, map_view=self.compare.maps
            )
        except drawing.Incomparable as exc:
            return _noted(hist, f"no reference comparison: {exc}", compact, alone)


def _noted(hist: ProcessedHistogram, text: str, compact: bool, alone: bool) -> go.Figure:
    fig = figures.figure(hist, compact=compact, alone=alone)
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=1,
        y=1,
        xanchor="right",
        yanchor="top",
        showarrow=False,
        font={"size": 8 if compact else 10, "color": "#a33"},
        bgcolor="rgba(255,255,255,0.75)",
    )
    return fig


def comparison_for(view: SubsystemView, compare: Compare) -> Comparison | None:
    """The comparison the switches ask for, or None (switches off, no reference, reference not readable)."""
    if not compare.active:
        return None
    reference_run = reference_run_of(view)
    if reference_run is None:
        return None
    try:
        reference = _reference_view(reference_run, view.subsystem)
    except (OverwatchError, OSError):
        log.exception("reference run %s of %s", reference_run, view.subsystem)
        return None
    return Comparison(compare, reference_run, view, reference)
