"""Time-slice callbacks: validate the panel, compute the slice in a background job, put the new data in place.

A state the page is to show (a slice, the full run, or an address the browser went back to) reaches it as
one RESULT holding only what changes: per mounted graph a ``dash.Patch`` of its data and layout (the
layout's ``uirevision`` stays, so a zoom is kept), per histogram its information panel, the description or
banner, the sidebar (its links keep the slice), the page context, and the address. The clientside step in
``assets/time_slices.js`` puts it in place and sets the address with ``history.pushState``, so Dash's pages
router never runs and no graph is remounted. A cached slice is sent at once; any other is computed by the
background job (diskcache or Celery manager), whose result is the same RESULT.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qsl

import dash
from dash import ALL, ClientsideFunction, Input, Output, Patch, State, html, no_update

from dashboard import figures, hot_channels, metrics
from dashboard import time_slice_panel as ts
from dashboard.pages import run_page as page
from dashboard.reference_overlay import Compare, Comparison, comparison_for
from dashboard.services import services
from overwatch_core.errors import OverwatchError
from overwatch_core.subsystems.base import ProcessedHistogram
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.views import SubsystemView

log = logging.getLogger(__name__)

GRAPHS = {"type": page.GRAPH, "name": ALL}
INFOS = {"type": page.INFO, "name": ALL}
PARTS = {"type": page.PART, "name": ALL}
JS = "time_slices"  # the clientside namespace of assets/time_slices.js


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


def compute_view(
    set_progress: Callable[[tuple[int, str]], None], request_data: dict[str, Any], context: Mapping[str, Any]
) -> SubsystemView:
    """The slice itself, which also fills the view cache; the login was checked when the job was enqueued."""
    request = TimeSliceRequest(**request_data)
    log.info("time slice %s for user %s", request, context.get("user"))

    def progress(done: int, total: int) -> None:
        set_progress((round(100 * done / max(total, 1)), f"{done}/{total} histograms"))

    return services().views.time_slice(int(context["run"]), str(context["subsystem"]), request, progress)


def cached(request: TimeSliceRequest, context: Mapping[str, Any]) -> SubsystemView | None:
    """The slice if the view cache holds it (or the full run): then no job, no progress bar, just show it."""
    view = services().views.cached_time_slice(int(context["run"]), str(context["subsystem"]), request)
    metrics.count_slice_request(view is not None)
    return view


# --- the RESULT: what changes on the page --------------------------------------------------------------


def shown_histograms(
    view: SubsystemView, context: Mapping[str, Any]
) -> list[tuple[ProcessedHistogram, bool]]:
    """The histograms the page draws for this context (as ``run_page.main_content``), each with "compact"."""
    if context.get("hist"):
        return [(view.histogram(str(context["hist"])), False)]
    if not view.groups:
        return []
    group = view.group(str(context["group"])) if context.get("group") else view.groups[0]
    return [(hist, group.grid) for hist in group.histograms]


#: Layout lists a new figure may leave out (nothing to show) where the old one had items: emptied then.
OPTIONAL_LISTS = ("annotations", "shapes")


def figure_patch(
    hist: ProcessedHistogram, compact: bool, comparison: Comparison | None = None
) -> dict[str, Any]:
    """A Patch of a mounted graph: new data, and the layout but its axes, numpy arrays as typed arrays.

    Of the axes only the titles are replaced (a scaled axis says "per event"): Plotly writes a zoom into
    the axis objects the graph holds, and a fresh axis without that range would reset it even though the
    layout's ``uirevision`` stays the same. What else depends on the data (notes, the threshold line,
    ``meta``) is replaced whole.
    """
    try:
        fig = page.draw(hist, compact=compact, comparison=comparison)
    except page.DRAWING_ERRORS as exc:
        log.exception("drawing %s failed", hist.name)
        fig = figures.empty_figure(f"Drawing error: {hist.pretty_name}: {exc}")
    drawn = fig.to_dict()  # numpy arrays become {"dtype", "bdata"} here, not JSON lists
    patch = Patch()
    patch["data"] = drawn["data"]
    layout = drawn["layout"]
    if layout.get("meta", {}).get("kind") == "empty":  # a message instead of a plot: no zoom to keep
        patch["layout"] = layout
        return dict(patch.to_plotly_json())
    for key, value in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(value, dict):
            patch["layout"][key]["title"] = value.get("title")
            patch["layout"][key]["visible"] = value.get("visible", True)  # after a message, axes again
        else:
            patch["layout"][key] = value
    for key in OPTIONAL_LISTS:
        if key not in layout:
            patch["layout"][key] = []
    result: dict[str, Any] = patch.to_plotly_json()
    return result


def context_of(view: SubsystemView, context: Mapping[str, Any]) -> dict[str, Any]:
    """The page context once ``view`` is shown: slice flag, request and address."""
    request = page.slice_of(view)
    return {
        **context,
        "slice": request is not None,
        "request": asdict(request) if request is not None else None,
        "href": page.state_href(
            view,
            context.get("group"),
            context.get("hist"),
            problems=bool(context.get("problems", False)),
            compare=Compare.from_context(context),
        ),
    }


def controls_of(view: SubsystemView) -> dict[str, Any]:
    """Panel values that show ``view``: its window (the whole run for the full run) and options."""
    request = page.slice_of(view)
    if request is not None:
        window = [request.min_time, request.max_time]
    else:
        window = [0, max(services().views.subsystem(view.run_number, view.subsystem).run_length_minutes, 1)]
    return {
        "range": window,
        "threshold": view.options.hot_channel_threshold,
        "scale": view.options.scale_hists,
    }


def in_place(
    view: SubsystemView,
    context: Mapping[str, Any],
    names: Sequence[str] | None,
    *,
    source: str | None,
    push: bool,
    controls: bool = False,
) -> dict[str, Any]:
    """The RESULT showing ``view`` in the mounted page (only the graphs named, if names are given).

    ``source`` is the page's address when the request was made (the browser drops the result if the page
    moved on meanwhile), None for an address the browser is already at; ``push`` makes it a history entry;
    ``controls`` also sets the panel to the view (after Reset, back or forward).
    """
    group, hist = context.get("group"), context.get("hist")
    wanted = set(names) if names is not None else None
    drawn = [(h, c) for h, c in shown_histograms(view, context) if wanted is None or h.name in wanted]
    new_context = context_of(view, context)
    verdicts = page.view_verdicts(view)  # the slice's own checks, for the information panels
    problems, compare = bool(context.get("problems", False)), Compare.from_context(context)
    comparison = comparison_for(view, compare)
    return {
        "kind": "patch",
        "from": source,
        "push": push,
        "href": new_context["href"],
        "graphs": {h.name: figure_patch(h, compact, comparison) for h, compact in drawn},
        "info": {h.name: page.information_block(h, verdicts.get(h.name, (None, None))[1]) for h, _ in drawn},
        "parts": {
            page.DESCRIPTION: page.description(view, group, hist),
            page.SIDEBAR: page.sidebar(
                view.run_number,
                view.subsystem,
                view,
                page.chosen_group(view, group, hist),
                hist,
                verdicts,
                problems,
                compare,
            ),
        },
        "context": new_context,
        "controls": controls_of(view) if controls else None,
        "message": "",
    }


def rendered(view: SubsystemView, context: Mapping[str, Any], source: str | None) -> dict[str, Any]:
    """The RESULT for a page that shows no graphs yet ("Computing the time slice…"): the whole body."""
    body = page.body(view.run_number, view.subsystem, context.get("group"), context.get("hist"), view)
    return {
        "kind": "render",
        "from": source,
        "main": body,
        "context": context_of(view, context),
        "message": "",
    }


def failed(message: str, source: str | None) -> dict[str, Any]:
    return {
        "kind": "error",
        "from": source,
        "message": html.Span(message, className="text-danger", id="ts-error"),
    }


def job(
    request: TimeSliceRequest,
    context: Mapping[str, Any],
    names: Sequence[str],
    *,
    push: bool,
    render: bool = False,
    controls: bool = False,
) -> dict[str, Any]:
    """What the background job needs: the request and a snapshot of the page it is for."""
    return {
        "request": asdict(request),
        "context": dict(context),
        "names": list(names),
        "source": context.get("href"),
        "push": push,
        "render": render,
        "controls": controls,
    }


def job_result(set_progress: Callable[[tuple[int, str]], None], work: Mapping[str, Any]) -> dict[str, Any]:
    """The background job: compute the slice (filling the view cache), return only the new data.

    Counted where it runs (the Celery worker or the forked diskcache job), with its duration; a slice the
    core refuses and an unexpected error both count as failed.
    """
    context, source = work["context"], work["source"]
    outcome = "failed"
    with metrics.SLICE_JOB_SECONDS.time():
        try:
            view = compute_view(set_progress, work["request"], context)
            if work["render"]:
                result = rendered(view, context, source)
            else:
                names, push, controls = work["names"], work["push"], work["controls"]
                result = in_place(view, context, names, source=source, push=push, controls=controls)
            outcome = "done"
        except OverwatchError as exc:
            result = failed(str(exc), source)
        finally:
            metrics.SLICE_JOBS.labels(outcome).inc()
    return result


def graph_names(graph_ids: Sequence[Mapping[str, str]] | None) -> list[str]:
    return [str(i["name"]) for i in graph_ids or []]


def shown_address(
    address: Mapping[str, Any], context: Mapping[str, Any], names: Sequence[str]
) -> tuple[object, object]:
    """(RESULT, job) for an address the browser went to: the full run or a cached slice in place at once,
    another slice through the job, a link the page cannot show in place (bad values) by a reload; or, for
    a ``refresh``, the graphs ``address["names"]`` of the state the page shows."""
    svc = services()
    run_number, name = int(context["run"]), str(context["subsystem"])
    sub = svc.views.subsystem(run_number, name)
    defaults = get_subsystem(name, svc.settings.subsystems).default_options
    params = dict(parse_qsl(str(address.get("search", "")).lstrip("?")))
    query = ts.parse_query(params, sub.run_length_minutes, defaults)
    if query.problem:
        return {"kind": "reload", "from": None}, no_update
    view = svc.views.full_run(run_number, name) if query.request is None else cached(query.request, context)
    if address.get("refresh"):
        return (no_update if view is None else refreshed(view, context, address.get("names", []))), no_update
    if view is None and query.request is not None:
        return no_update, job(query.request, context, names, push=False, controls=True)
    return in_place(view, context, names, source=None, push=False, controls=True), no_update


def refreshed(view: SubsystemView, context: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The graphs mounted while a result was on its way (a lazy plot scrolled into view): the state the
    page now shows, for those graphs only; dropped if the page has moved on to another state."""
    result = in_place(view, context, names, source=None, push=False)
    return {**result, "from": result["href"], "refresh": True}


# --- registration -----------------------------------------------------------------------------------------


def register(app: dash.Dash) -> None:
    register_server_side(app)
    register_clientside(app)


def register_server_side(app: dash.Dash) -> None:
    @app.callback(
        Output(ts.MESSAGE, "children"),
        Output(ts.REQUEST, "data"),
        Output(ts.RESULT, "data", allow_duplicate=True),
        Input(ts.APPLY, "n_clicks"),
        State(ts.RANGE, "value"),
        State(ts.THRESHOLD, "value"),
        State(ts.SCALE, "value"),
        State(page.QUERY, "data"),
        State(GRAPHS, "id"),
        prevent_initial_call=True,
    )
    def apply(
        _clicks: int, window: list[object], threshold: object, scale: object, context: dict[str, Any], graphs
    ):
        """A cached slice (or the full run) is sent in place at once; any other goes to the job."""
        names = graph_names(graphs)
        try:
            request = validate(window, threshold, scale, context)
            view = cached(request, context)
            if view is not None:
                return "", no_update, in_place(view, context, names, source=context.get("href"), push=True)
        except OverwatchError as exc:
            return html.Span(str(exc), className="text-danger", id="ts-error"), no_update, no_update
        return "", job(request, context, names, push=True), no_update

    @app.callback(
        Output(ts.REQUEST, "data", allow_duplicate=True),
        Input(ts.PENDING, "data"),
        State(page.QUERY, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def start_pending(pending: dict[str, Any] | None, context: dict[str, Any]):
        """A permalink whose slice is not cached: compute it, then draw the whole body."""
        if not pending:
            return no_update
        return job(TimeSliceRequest(**pending), context, [], push=False, render=True)

    @app.callback(
        Output(ts.RESULT, "data"),
        Input(ts.REQUEST, "data"),
        background=True,
        interval=60,  # ms between polls for the result: a slice from decoded arrays takes ~50 ms
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
    def run_slice(set_progress, work):
        if not work:
            return no_update
        with app.server.app_context():
            return job_result(set_progress, work)

    @app.callback(
        Output(ts.RESULT, "data", allow_duplicate=True),
        Output(ts.REQUEST, "data", allow_duplicate=True),
        Input(ts.SHOW, "data"),
        State(page.QUERY, "data"),
        State(GRAPHS, "id"),
        prevent_initial_call=True,
    )
    def show(address: dict[str, Any] | None, context: dict[str, Any], graphs):
        """Back or forward to another state of this page (assets/time_slices.js): show it in place."""
        if not address:
            return no_update, no_update
        try:
            return shown_address(address, context, graph_names(graphs))
        except OverwatchError as exc:
            return failed(str(exc), None), no_update

    @app.callback(
        Output(ts.RESULT, "data", allow_duplicate=True),
        Input(ts.RESET, "n_clicks"),
        State(page.QUERY, "data"),
        State(GRAPHS, "id"),
        prevent_initial_call=True,
    )
    def reset(clicks: int | None, context: dict[str, Any], graphs):
        """Back to the full run with default options, controls included, in place."""
        if not clicks:
            return no_update
        try:
            view = services().views.full_run(int(context["run"]), str(context["subsystem"]))
        except OverwatchError as exc:
            return failed(str(exc), context.get("href"))
        names = graph_names(graphs)
        return in_place(view, context, names, source=context.get("href"), push=True, controls=True)

    @app.callback(Output(ts.WINDOW, "children"), Input(ts.RANGE, "value"), prevent_initial_call=True)
    def window_text(window: list[float] | None):
        if not window or len(window) != 2:
            return "Window: –"
        return f"Window: {window[0]:g}–{window[1]:g} min"


def register_clientside(app: dash.Dash) -> None:
    app.clientside_callback(
        ClientsideFunction(JS, "apply"),
        Output(GRAPHS, "figure", allow_duplicate=True),
        Output(INFOS, "children", allow_duplicate=True),
        Output(PARTS, "children", allow_duplicate=True),
        Output(page.QUERY, "data", allow_duplicate=True),
        Output(ts.RANGE, "value", allow_duplicate=True),
        Output(ts.THRESHOLD, "value", allow_duplicate=True),
        Output(ts.SCALE, "value", allow_duplicate=True),
        Output(ts.MESSAGE, "children", allow_duplicate=True),
        Input(ts.RESULT, "data"),
        State(page.QUERY, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(JS, "render"),
        Output(page.MAIN, "children", allow_duplicate=True),
        Output(page.QUERY, "data", allow_duplicate=True),
        Output(ts.MESSAGE, "children", allow_duplicate=True),
        Input(ts.RESULT, "data"),
        State(page.QUERY, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(JS, "whatIf"),
        Output(GRAPHS, "figure", allow_duplicate=True),
        Output({"type": page.INFO_ROW, "name": ALL, "label": hot_channels.THRESHOLD_LABEL}, "children"),
        Output({"type": page.INFO_ROW, "name": ALL, "label": hot_channels.HOT_LABEL}, "children"),
        Input(ts.THRESHOLD, "value"),
        Input(ts.THRESHOLD, "drag_value"),
        State({"type": hot_channels.STORE, "name": ALL}, "data"),
        State(GRAPHS, "figure"),
        prevent_initial_call=True,
    )
