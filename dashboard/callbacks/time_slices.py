"""Time-slice callbacks: validate the panel, compute the slice in a background job, keep the URL the state."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import dash
from dash import Input, Output, State, html, no_update

from dashboard import time_slice_panel as ts
from dashboard.pages import run_page as page
from dashboard.services import services
from dashboard.shell import URL
from overwatch_core.errors import OverwatchError
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.views import SubsystemView

log = logging.getLogger(__name__)


def validate(
    window: Sequence[object] | None, threshold: object, scale: object, context: Mapping[str, Any]
) -> TimeSliceRequest:
    """The panel's values as a request, checked against the run (the core validates again)."""
    if not window or len(window) != 2:
        raise OverwatchError("choose a window with two ends")
    if isinstance(threshold, float) and threshold.is_integer():
        threshold = int(threshold)
    low, high = (ts.number_value(v, "window end") for v in window)
    request = TimeSliceRequest(low, high, bool(scale), threshold)  # type: ignore[arg-type]
    svc = services()
    sub = svc.catalog.run(int(context["run"])).subsystem(str(context["subsystem"]))
    request.check_run_length(sub.run_length_minutes)
    view = svc.views.full_run(sub.run_number, sub.name)
    if context.get("hist"):
        view.histogram(str(context["hist"]))
    elif context.get("group"):
        view.group(str(context["group"]))
    return request


def slice_href(context: Mapping[str, Any], request: TimeSliceRequest) -> str:
    group, hist = context.get("group"), context.get("hist")
    return f"/runs/{context['run']}/{context['subsystem']}" + ts.query_string(request, group, hist)


def compute(
    set_progress: Callable[[tuple[int, str]], None], request_data: dict[str, Any], context: Mapping[str, Any]
) -> tuple[object, object]:
    """The slice's page body and description (runs in the background job)."""
    view = compute_view(set_progress, request_data, context)
    return page_body(view, context), view.describe()


def compute_view(
    set_progress: Callable[[tuple[int, str]], None], request_data: dict[str, Any], context: Mapping[str, Any]
) -> SubsystemView:
    """The slice itself, which also fills the view cache; the login was checked when the job was enqueued."""
    request = TimeSliceRequest(**request_data)
    log.info("time slice %s for user %s", request, context.get("user"))

    def progress(done: int, total: int) -> None:
        set_progress((round(100 * done / max(total, 1)), f"{done}/{total} histograms"))

    return services().views.time_slice(int(context["run"]), str(context["subsystem"]), request, progress)


def page_body(view: SubsystemView, context: Mapping[str, Any]) -> object:
    return page.body(view.run_number, view.subsystem, context.get("group"), context.get("hist"), view)


def cached(request: TimeSliceRequest, context: Mapping[str, Any]) -> bool:
    """True when the view cache already holds this slice: no job, no progress bar, just show it."""
    found = services().views.cached_time_slice(int(context["run"]), str(context["subsystem"]), request)
    return found is not None


def follow(target: str | dict[str, str] | None, current: str | None) -> str | None:
    """Where to go: a plain address always; a job's {"to", "from"} only if the user is still at "from"."""
    if isinstance(target, dict):
        return target["to"] if current == target.get("from") else None
    return target or None


def register(app: dash.Dash) -> None:
    @app.callback(
        Output(ts.MESSAGE, "children"),
        Output(ts.REQUEST, "data"),
        Output(ts.NAVIGATE, "data", allow_duplicate=True),
        Input(ts.APPLY, "n_clicks"),
        State(ts.RANGE, "value"),
        State(ts.THRESHOLD, "value"),
        State(ts.SCALE, "value"),
        State(page.QUERY, "data"),
        prevent_initial_call=True,
    )
    def apply(_clicks: int, window: list[object], threshold: object, scale: object, context: dict[str, Any]):
        try:
            request = validate(window, threshold, scale, context)
            if cached(request, context):
                return "", no_update, slice_href(context, request)
        except OverwatchError as exc:
            return html.Span(str(exc), className="text-danger", id="ts-error"), no_update, no_update
        return "", asdict(request), no_update

    @app.callback(
        Output(ts.REQUEST, "data", allow_duplicate=True),
        Input(ts.PENDING, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def start_pending(pending: dict[str, Any] | None):
        """A permalink whose slice is not cached: compute it as if Apply had been pressed."""
        return pending if pending else no_update

    @app.callback(
        Output(page.MAIN, "children", allow_duplicate=True),
        Output(ts.NAVIGATE, "data"),
        Output(ts.MESSAGE, "children", allow_duplicate=True),
        Input(ts.REQUEST, "data"),
        State(page.QUERY, "data"),
        State(URL, "href"),
        background=True,
        interval=250,  # ms between polls for the result: the default 1 s would dominate a 0.1 s slice
        progress=[Output(ts.PROGRESS, "value"), Output(ts.PROGRESS, "label")],
        progress_default=[0, ""],
        running=[
            (Output(ts.APPLY, "disabled"), True, False),
            (Output(ts.CANCEL, "disabled"), False, True),
            (Output(ts.PROGRESS_WRAP, "style"), {"display": "block"}, {"display": "none"}),
        ],
        cancel=[Input(ts.CANCEL, "n_clicks")],
        prevent_initial_call=True,
    )
    def run_slice(set_progress, request_data, context, href):
        if not request_data:
            return no_update, no_update, no_update
        with app.server.app_context():
            try:
                view = compute_view(set_progress, request_data, context)
            except OverwatchError as exc:
                return no_update, no_update, html.Span(str(exc), className="text-danger")
            target = slice_href(context, TimeSliceRequest(**request_data))
            if href and href.endswith(target):  # a permalink whose slice was evicted: draw it here
                return page_body(view, context), no_update, ""
        # A new state: the address changes and the page redraws from the cache, unless the user went
        # elsewhere while the job ran (then the finished slice must not take the page over).
        return no_update, {"to": target, "from": href}, ""

    @app.callback(
        Output(URL, "href", allow_duplicate=True),
        Input(ts.NAVIGATE, "data"),
        State(URL, "href"),
        prevent_initial_call=True,
    )
    def navigate(target: str | dict[str, str] | None, current: str | None):
        """The slice's permalink becomes the address (a history entry: back/forward work).

        A separate step because the address bar lives outside the page: a background callback writing
        it directly would also be started, for nothing, by every page load. ``target`` is the address, or
        {"to", "from"} from a job: followed only if the user is still where the job was started.
        """
        return follow(target, current) or no_update

    @app.callback(
        Output(URL, "href", allow_duplicate=True),
        Output(ts.RANGE, "value"),
        Output(ts.THRESHOLD, "value"),
        Output(ts.SCALE, "value"),
        Output(ts.MESSAGE, "children", allow_duplicate=True),
        Input(ts.RESET, "n_clicks"),
        State(page.QUERY, "data"),
        prevent_initial_call=True,
    )
    def reset(clicks: int | None, context: dict[str, Any]):
        """Back to the full run with default options, controls included (the address may stay the same)."""
        if not clicks:  # fired because the page was drawn (its output, the URL, lies outside the page)
            return (no_update,) * 5
        run_number, name = int(context["run"]), str(context["subsystem"])
        svc = services()
        length = svc.catalog.run(run_number).subsystem(name).run_length_minutes
        defaults = get_subsystem(name, svc.settings.subsystems).default_options
        href = page.page_href(run_number, name, context.get("group"), context.get("hist"))
        return href, [0, max(length, 1)], defaults.hot_channel_threshold, defaults.scale_hists, ""

    @app.callback(Output(ts.WINDOW, "children"), Input(ts.RANGE, "value"), prevent_initial_call=True)
    def window_text(window: list[float] | None):
        if not window or len(window) != 2:
            return "Window: –"
        return f"Window: {window[0]:g}–{window[1]:g} min"
