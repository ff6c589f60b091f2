"""The time-slice panel of the run page: window and threshold sliders, scaling switch, Apply/Reset/Cancel."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import dcc, html

from overwatch_core.model import Subsystem
from overwatch_core.subsystems.base import MAX_HOT_CHANNEL_THRESHOLD, ProcessingOptions
from overwatch_core.time_slices import TimeSliceError, TimeSliceRequest, minutes_into_run

RANGE = "ts-range"
THRESHOLD = "ts-threshold"
SCALE = "ts-scale"
APPLY = "ts-apply"
RESET = "ts-reset"
CANCEL = "ts-cancel"
MESSAGE = "ts-message"
PROGRESS = "ts-progress"
PROGRESS_WRAP = "ts-progress-wrap"
WINDOW = "ts-window"
REQUEST = "ts-request"
PENDING = "ts-pending"
RESULT = "ts-result"
SHOW = "ts-show"
BANNER = "ts-banner"
THRESHOLD_COLUMN = "ts-threshold-column"

SHORT_RUN = "Time slices need files at two different minutes; this run has one so far."

#: URL query keys of the whole run-page state (SPEC §5: a link reproduces the view).
STATE_KEYS = ("from", "to", "threshold", "scale", "group", "hist")
SLICE_KEYS = ("from", "to", "threshold", "scale")


@dataclass(frozen=True)
class SliceQuery:
    """The time slice named in the URL (or None), and a notice when the URL's values were unusable."""

    request: TimeSliceRequest | None
    problem: str | None = None


def number_value(text: object, name: str) -> float:
    """A finite number from a query or input value, or TimeSliceError naming the field."""
    try:
        value = float(str(text))
    except ValueError as exc:
        raise TimeSliceError(f"{name} must be a number, got {text!r}") from exc
    if not math.isfinite(value):
        raise TimeSliceError(f"{name} must be a finite number, got {text!r}")
    return value


def parse_query(params: Mapping[str, object], run_length: int, defaults: ProcessingOptions) -> SliceQuery:
    """Turn ``from``/``to``/``threshold``/``scale`` query values into a request, or a notice if malformed."""
    try:
        return SliceQuery(slice_request(params, run_length, defaults))
    except TimeSliceError as exc:
        return SliceQuery(None, f"Ignored the time slice in the link: {exc}")


def slice_request(
    params: Mapping[str, object], run_length: int, defaults: ProcessingOptions
) -> TimeSliceRequest | None:
    """The time slice the query names (None: the full run), as the run page reads it; TimeSliceError for
    values it cannot use. A missing key takes the whole run's end or the subsystem's default."""
    if not any(k in params for k in SLICE_KEYS):
        return None
    threshold = number_value(params.get("threshold", defaults.hot_channel_threshold), "threshold")
    if threshold != int(threshold):
        raise TimeSliceError(f"threshold must be a whole number 0–1000, got {threshold:g}")
    scale = str(params.get("scale", "1" if defaults.scale_hists else "0"))
    request = TimeSliceRequest(
        min_time=round(number_value(params.get("from", 0), "from")),
        max_time=round(number_value(params.get("to", run_length), "to")),
        scale_hists=scale not in ("0", "false", "no"),
        hot_channel_threshold=int(threshold),
    )
    request.check_run_length(run_length)
    return request


def query_string(request: TimeSliceRequest | None, group: str | None, hist: str | None) -> str:
    """The URL query of a run-page state, in a stable order."""
    values: dict[str, object] = {}
    if request is not None:
        values = {
            "from": request.min_time,
            "to": request.max_time,
            "threshold": request.hot_channel_threshold,
            "scale": int(request.scale_hists),
        }
    values.update({k: v for k, v in (("group", group), ("hist", hist)) if v})
    return f"?{urlencode(values)}" if values else ""


def minute_marks(sub: Subsystem) -> dict[int, str]:
    """A mark at every received file's minute; labels on every fifth and the last, to stay readable."""
    if not sub.files:
        return {}
    minutes = sorted({minutes_into_run(f, sub.files[0]) for f in sub.files})
    return {m: (str(m) if m % 5 == 0 or m == minutes[-1] else "") for m in minutes}


def panel(
    sub: Subsystem,
    request: TimeSliceRequest | None,
    defaults: ProcessingOptions,
    *,
    threshold_applies: bool = True,
) -> dbc.Card:
    """The panel with its controls set to the shown state (the request, or the full run with defaults).

    Without ``threshold_applies`` (a subsystem without hot channels, HLT) the threshold slider is hidden;
    it stays in the page, at its default, because the slice callbacks read it."""
    length = sub.run_length_minutes
    window = [request.min_time, request.max_time] if request else [0, length]
    threshold = request.hot_channel_threshold if request else defaults.hot_channel_threshold
    scale = request.scale_hists if request else defaults.scale_hists
    short = length < 1  # one minute of data: nothing to slice yet (the controls stay for live updates)
    controls = dbc.Row(
        [
            dbc.Col(
                [
                    html.Label(
                        "Window (minutes since the first file)", htmlFor=RANGE, className="form-label small"
                    ),
                    dcc.RangeSlider(
                        id=RANGE,
                        min=0,
                        max=max(length, 1),
                        disabled=short,
                        step=1,
                        value=window,
                        marks=minute_marks(sub),
                        allow_direct_input=True,
                        tooltip={"placement": "bottom"},
                    ),
                    html.Div(f"Window: {window[0]}–{window[1]} min", id=WINDOW, className="small text-muted"),
                ],
                lg=6,
            ),
            dbc.Col(
                [
                    html.Label(
                        "Hot-channel threshold (×1000; 0 = defaults)",
                        htmlFor=THRESHOLD,
                        className="form-label small",
                    ),
                    dcc.Slider(
                        id=THRESHOLD,
                        min=0,
                        max=MAX_HOT_CHANNEL_THRESHOLD,
                        step=1,
                        value=threshold,
                        marks={0: "0", 250: "250", 500: "500", 750: "750", 1000: "1000"},
                        allow_direct_input=True,
                    ),
                ],
                lg=4,
                id=THRESHOLD_COLUMN,
                style=None if threshold_applies else {"display": "none"},
            ),
            dbc.Col(
                [
                    dbc.Switch(id=SCALE, label="Scale by number of events", value=scale, className="small"),
                    dbc.ButtonGroup(
                        [
                            dbc.Button("Apply", id=APPLY, color="primary", size="sm", disabled=short),
                            dbc.Button("Reset", id=RESET, color="secondary", outline=True, size="sm"),
                            dbc.Button(
                                "Cancel", id=CANCEL, color="danger", outline=True, size="sm", disabled=True
                            ),
                        ],
                        className="mt-1",
                    ),
                ],
                lg=2,
            ),
        ],
        className="g-3 align-items-start",
    )
    progress = html.Div(
        dbc.Progress(id=PROGRESS, value=0, label="", striped=True, animated=True, style={"height": "1.2rem"}),
        id=PROGRESS_WRAP,
        style={"display": "none"},
        className="mt-2",
    )
    return dbc.Card(
        dbc.CardBody(
            [
                controls,
                progress,
                html.Div(SHORT_RUN if short else "", id=MESSAGE, className="small mt-1", role="status"),
                # A slice to compute; the new data to put in place (callbacks/time_slices.py); the state of
                # an address the browser went back or forward to (assets/time_slices.js).
                dcc.Store(id=REQUEST),
                dcc.Store(id=RESULT),
                dcc.Store(id=SHOW),
            ]
        ),
        className="mb-3 time-slice-panel",
    )


def banner(description: str, full_run_href: str) -> dbc.Alert:
    return dbc.Alert(
        [html.Span(description, id=BANNER), " ", dcc.Link("Back to the full run", href=full_run_href)],
        color="info",
        className="py-2",
    )
