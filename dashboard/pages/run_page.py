"""Run page at ``/runs/<run>/<subsystem>``: header, group sidebar, chosen group or histogram, information."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html
from flask_login import current_user

from dashboard import figures, hot_channels, search
from dashboard.auth import has_role
from dashboard.errors import error_card, from_exception, notice
from dashboard.formatting import parse_int, when
from dashboard.metrics import count_slice_request
from dashboard.pages.quality import COLOURS
from dashboard.pages.run_list import find_run, newest_run_numbers
from dashboard.reference_overlay import KEYS as COMPARE_KEYS
from dashboard.reference_overlay import Compare, Comparison, comparison_for, reference_run_of, with_compare
from dashboard.services import services
from dashboard.shell import page_title
from dashboard.time_slice_panel import (
    PENDING,
    SLICE_KEYS,
    SliceQuery,
    banner,
    panel,
    parse_query,
    query_string,
)
from overwatch_core.checks import CheckResult, Quality, worst
from overwatch_core.errors import NotFoundError, OverwatchError
from overwatch_core.model import Run, Subsystem
from overwatch_core.quality import subsystem_quality
from overwatch_core.subsystems.base import ProcessedGroup, ProcessedHistogram
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.trending import raised_alarms
from overwatch_core.views import SubsystemView

log = logging.getLogger(__name__)

PATH = "/runs/<run>/<subsystem>"
LOGBOOK = "https://alice-logbook.cern.ch/logbook/date_online.php?p_cont=rund&p_run={run}"
RCT = "https://alimonitor.cern.ch/runview/?run={run}"

MAIN = "run-page-main"
#: The header (run, subsystem, ongoing badge, file count), redrawn by the live refresh.
HEADER = "run-page-header"
LIVE = "run-page-live"
LATEST = "run-page-latest-file"
QUERY = "run-page-query"
#: The header's reference line, the experts' "make this run the reference" button and its confirmation.
REFERENCE = "run-page-reference"
MAKE_REFERENCE = "run-page-make-reference"
REFERENCE_STATUS = "run-page-reference-status"
#: Wrappers a time slice updates in place (callbacks/time_slices.py): the view's description or banner and
#: the sidebar (its links keep the slice) as {"type": PART, "name": DESCRIPTION or SIDEBAR}, a pattern id
#: because a page still computing its slice has neither; and per histogram ({"type": …, "name": hist.name})
#: the graph, the information panel and each of its rows ({"type": INFO_ROW, "name": …, "label": …}).
PART = "run-page-part"
DESCRIPTION = "description"
SIDEBAR = "sidebar"
GRAPH = "hist-graph"
INFO = "hist-info"
INFO_ROW = "hist-info-row"


def title(run: str = "", subsystem: str = "", **_params: object) -> str:
    return page_title(f"Run {run} {subsystem}".strip())


def page_href(run_number: int, subsystem: str, group: str | None = None, hist: str | None = None) -> str:
    return f"/runs/{run_number}/{subsystem}" + query_string(None, group, hist)


def slice_of(view: SubsystemView) -> TimeSliceRequest | None:
    """The request a time-slice view answers (None for the full run), to keep it in links."""
    if view.selection is None:
        return None
    low, high = view.selection.requested
    return TimeSliceRequest(low, high, view.options.scale_hists, view.options.hot_channel_threshold)


def state_href(
    view: SubsystemView,
    group: str | None = None,
    hist: str | None = None,
    *,
    problems: bool = False,
    compare: Compare | None = None,
) -> str:
    """A link to another group or histogram of the same view (time slice, "problems only" and the
    reference switches kept)."""
    href = f"/runs/{view.run_number}/{view.subsystem}" + query_string(slice_of(view), group, hist)
    return with_compare(with_problems(href, problems), compare)


#: URL query key of the "problems only" switch (``problems=1``), beside the time-slice keys.
PROBLEMS_KEY = "problems"
PAGE_KEYS = (*SLICE_KEYS, PROBLEMS_KEY, *COMPARE_KEYS)
PROBLEMS = "run-page-problems"
#: The information row of a histogram's check results.
CHECKS = "Checks"


def with_problems(href: str, problems: bool) -> str:
    if not problems:
        return href
    return href + ("&" if "?" in href else "?") + f"{PROBLEMS_KEY}=1"


def flag(value: object) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


# --- verdicts ----------------------------------------------------------------------------------------


#: Histogram name → (worst quality, every check's result).
Verdicts = dict[str, tuple[Quality, tuple[CheckResult, ...]]]
_SLICE_VERDICTS: dict[tuple[object, ...], Verdicts] = {}
_SLICE_VERDICTS_KEPT = 16


def view_verdicts(view: SubsystemView) -> Verdicts:
    """The verdicts of what ``view`` shows: the stored ones of the newest file for the full run, for a time
    slice its own checks computed on demand (kept for a few slices in this process)."""
    svc = services()
    try:
        if view.selection is None:
            found = subsystem_quality(svc.catalog, view.run_number, view.subsystem)
            return {h.name: (h.quality, h.results) for h in found.histograms}
        request = slice_of(view)
        assert request is not None
        newest = svc.catalog.run(view.run_number).subsystem(view.subsystem).files[-1].path
        # The data folder is part of the key: one process can serve several (tests, or a reconfigured app).
        reference = svc.catalog.reference_for(view.subsystem, view.run_number)
        ref = None if reference is None else (reference.reference_run, reference.set_at)  # a new one: recheck
        key = (str(svc.settings.data_path), view.run_number, view.subsystem, request, newest, ref)
        if key not in _SLICE_VERDICTS:
            results = svc.views.slice_checks(view.run_number, view.subsystem, request)
            if len(_SLICE_VERDICTS) >= _SLICE_VERDICTS_KEPT:
                _SLICE_VERDICTS.pop(next(iter(_SLICE_VERDICTS)))
            _SLICE_VERDICTS[key] = {
                n: (worst(r.quality for r in found_results), tuple(found_results))
                for n, found_results in results.items()
                if found_results
            }
        return _SLICE_VERDICTS[key]
    except (OverwatchError, IndexError):
        log.exception("verdicts of run %s %s", view.run_number, view.subsystem)
        return {}


def is_problem(verdicts: Verdicts, name: str) -> bool:
    return name in verdicts and verdicts[name][0] in ("Bad", "Medium")


def group_badge(group: ProcessedGroup, verdicts: Verdicts) -> object:
    """The group's worst verdict with its number of Bad/Medium histograms (nothing without verdicts)."""
    judged = [verdicts[h.name][0] for h in group.histograms if h.name in verdicts]
    if not judged:
        return None
    quality = worst(judged)
    problems = sum(q in ("Bad", "Medium") for q in judged)
    return pill(
        quality + (f" {problems}" if problems else ""),
        quality,
        "ms-2 group-verdict",
        f"{quality}: {problems} of {len(judged)} checked histograms Bad or Medium",
    )


def pill(label: str, quality: Quality, classes: str = "", hint: str | None = None) -> html.Span:
    """A verdict badge in the verdict's colour (a plain span: no ``color`` property that would pass for a
    warning notice)."""
    return html.Span(
        label, className=f"badge text-bg-{COLOURS[quality]} {classes}".strip(), title=hint or quality
    )


# --- header and sidebar --------------------------------------------------------------------------------


def header(run: Run, sub: Subsystem, ongoing: bool) -> html.Div:
    svc = services()
    mode = "" if run.hlt_mode == "U" else f" and received via HLT mode {run.hlt_mode}"
    via = " (stored in HLT files)" if sub.file_location != sub.name else ""
    badges = [dbc.Badge("ongoing", color="success", className="ms-2 fs-6")] if ongoing else []
    others = [
        dcc.Link(s.name, href=page_href(run.run_number, s.name), className="me-2")
        for s in run.subsystems
        if s.name != sub.name
    ]
    return html.Div(
        [
            html.H2([f"Run {run.run_number} · {sub.name}", *badges], className="mb-1", id="run-page-title"),
            html.P(
                [
                    f"Started at {when(sub.start, svc.tz_name)}{mode}; {len(sub.files)} files{via}, "
                    f"{sub.run_length_minutes} min. ",
                    dcc.Link("ROOT files", href=page_href(run.run_number, sub.name) + "/files"),
                    " · ",
                    html.A(
                        "Logbook", href=LOGBOOK.format(run=run.run_number), target="_blank", rel="noopener"
                    ),
                    " · ",
                    html.A("RCT", href=RCT.format(run=run.run_number), target="_blank", rel="noopener"),
                    html.Span([" · Other subsystems: ", *others] if others else []),
                ],
                className="text-muted mb-2",
            ),
            file_age(sub) if ongoing else html.Div(id=NEWEST_FILE),
            run_steps(run.run_number, sub.name),
            reference_line(run.run_number, sub.name),
        ]
    )


#: The header's links to the previous and next run (``run_steps``) and the ongoing run's file age.
PREVIOUS_RUN = "run-page-previous-run"
NEXT_RUN = "run-page-next-run"
FILE_AGE = "run-page-file-age"
NEWEST_FILE = "run-page-newest-file"


def age_text(seconds: float) -> str:
    """``42 s``, ``3 min``, ``2 h 5 min``: how long ago, to the unit that matters."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def file_age(sub: Subsystem) -> html.Div:
    """An ongoing run: when its newest file came and how long ago (``assets/file_age.js`` keeps counting)."""
    if sub.end is None:
        return html.Div(id=NEWEST_FILE)
    svc = services()
    ago = (svc.now() - sub.end).total_seconds()
    return html.Div(
        [
            f"Newest file received at {sub.end:%H:%M:%S} ({svc.tz_name}), ",
            html.Span(age_text(ago), id=FILE_AGE, **{"data-file-time": str(int(sub.end.timestamp() * 1000))}),
            " ago.",
        ],
        className="small mb-1",
        id=NEWEST_FILE,
    )


def run_steps(run_number: int, subsystem: str) -> html.Div:
    """Links to the neighbouring runs of the catalog, on this subsystem's page if they have it (else their
    first subsystem's); a muted word where there is none."""
    catalog = services().catalog
    before, after = catalog.neighbour_runs(run_number)
    names = catalog.subsystem_names([n for n in (before, after) if n is not None])

    def step(number: int | None, label: str, link_id: str) -> object:
        if number is None:
            return html.Span(label.format("none"), className="text-muted", id=link_id)
        href = search.run_href(number, names.get(number, []), subsystem)
        return dcc.Link(label.format(f"run {number}"), href=href, id=link_id, title=f"Run {number}")

    return html.Div(
        [step(before, "← Previous: {}", PREVIOUS_RUN), " · ", step(after, "Next: {} →", NEXT_RUN)],
        className="small mb-1",
        id="run-page-steps",
    )


def reference_text(run_number: int, subsystem: str) -> str:
    """ "Reference: run N (set by X)" for the reference valid for this run, or "no reference run"."""
    ref = services().catalog.reference_for(subsystem, run_number)
    if ref is None:
        return "No reference run"
    return f"Reference: run {ref.reference_run} (set by {ref.set_by})"


def reference_line(run_number: int, subsystem: str) -> html.Div:
    """The reference run of this run's subsystem; for experts and admins the button that makes this run the
    reference from now on (the callback checks the role again on the server)."""
    items: list[object] = [html.Span(reference_text(run_number, subsystem), id=REFERENCE, className="me-2")]
    if has_role("expert"):
        items.append(
            dbc.Button(
                "Make this run the reference from now on",
                id=MAKE_REFERENCE,
                size="sm",
                color="outline-secondary",
                title=f"Reference of {subsystem} for runs from {run_number} on; verdicts are recomputed",
            )
        )
    items.append(html.Div(id=REFERENCE_STATUS))
    return html.Div(items, className="small mb-2")


def _item_class(extra: str, active: bool) -> str:
    return f"list-group-item list-group-item-action {extra}" + (" active" if active else "")


def _entry(link: dcc.Link, badge: object) -> object:
    """A sidebar link with its verdict badge drawn over its right end, outside the link (whose text stays
    the name) and letting clicks through to it."""
    if badge is None:
        return link
    over = html.Div(
        badge,
        className="position-absolute top-50 end-0 translate-middle-y me-2",
        style={"pointerEvents": "none"},
    )
    return html.Div([link, over], className="position-relative sidebar-entry")


def sidebar(
    run_number: int,
    subsystem: str,
    view: SubsystemView,
    chosen: str | None,
    hist: str | None,
    verdicts: Verdicts | None = None,
    problems: bool = False,
    compare: Compare | None = None,
) -> html.Nav:
    """Groups in order, each with its worst verdict; each group lists its histograms (Bad and Medium ones
    marked), but a grid group among others is one entry (the per-SM grids); a lone grid group (HLT's) keeps
    the links to each plot drawn full size."""
    if verdicts is None:
        verdicts = view_verdicts(view)
    items: list[object] = []
    for group in view.groups:
        active = group.name == chosen and hist is None
        link = dcc.Link(
            html.Span(group.name, className="sidebar-name"),
            href=state_href(view, group=group.name, problems=problems, compare=compare),
            className=_item_class("fw-semibold", active),
        )
        items.append(_entry(link, group_badge(group, verdicts)))
        if group.grid and len(view.groups) > 1:
            continue
        for item in group.histograms:
            mark = None
            if is_problem(verdicts, item.name):
                quality = verdicts[item.name][0]
                mark = pill(quality, quality)
            link = dcc.Link(
                html.Span(item.pretty_name, className="sidebar-name"),
                href=state_href(view, hist=item.name, problems=problems, compare=compare),
                className=_item_class("ps-4 small", item.name == hist),
            )
            items.append(_entry(link, mark))
    return html.Nav(
        html.Div(items, className="list-group list-group-flush"),
        className="run-sidebar border rounded",
        style={"maxHeight": "80vh", "overflowY": "auto"},
        **{"aria-label": "Histogram groups"},
    )


# --- main area -------------------------------------------------------------------------------------------


#: The information label of a histogram's statistics (mean, std dev, entries and where they come from).
STATISTICS = "Statistics"


def information(hist: ProcessedHistogram) -> dbc.Card | None:
    if not hist.information:
        return None
    rows = [_information_row(hist.name, label, text) for label, text in hist.information.items()]
    return dbc.Card(dbc.CardBody(rows, className="py-2 small"), className="mt-1 info-panel")


def checks_panel(name: str, checks: tuple[CheckResult, ...] | None) -> dbc.Card | None:
    """Below the information: "Checks:" and one line per check, its verdict, name and message."""
    if not checks:
        return None
    lines = [html.Li([pill(r.quality, r.quality, "me-1"), f"{r.check}: {r.message}"]) for r in checks]
    content = [html.Strong(f"{CHECKS}: "), html.Ul(lines, className="mb-0 ps-2 list-unstyled")]
    row = html.Div(content, id={"type": INFO_ROW, "name": name, "label": CHECKS})
    return dbc.Card(dbc.CardBody(row, className="py-2 small"), className="mt-1 checks-panel")


def information_block(
    hist: ProcessedHistogram, checks: tuple[CheckResult, ...] | None = None
) -> list[object]:
    """The information panel, the check results (if given) and, for FastOR histograms, the data of the
    live threshold what-if."""
    return [information(hist), checks_panel(hist.name, checks), *hot_channels.what_if_store(hist)]


def _information_row(name: str, label: str, text: str) -> html.Div:
    """One ``label: text`` line; the statistics stay one muted line (cut with … in a grid cell, whole on
    hover)."""
    text_id = {"type": INFO_ROW, "name": name, "label": label}
    content = [html.Strong(f"{label}: "), html.Span(text, id=text_id)]
    if label != STATISTICS:
        return html.Div(content)
    return html.Div(content, className="info-statistics text-muted text-truncate", title=f"{label}: {text}")


def draw(
    hist: ProcessedHistogram,
    *,
    compact: bool = False,
    alone: bool = False,
    comparison: Comparison | None = None,
) -> go.Figure:
    """The figure of one histogram (against its reference when the page compares), with the threshold
    line of a FastOR plot."""
    fig = None if comparison is None else comparison.figure(hist, compact=compact, alone=alone)
    if fig is None:
        fig = figures.figure(hist, compact=compact, alone=alone)
    return hot_channels.with_threshold_mark(fig, hist)


#: Errors a drawing can raise on odd data; the plot's place then shows them.
DRAWING_ERRORS = (ValueError, TypeError, KeyError, IndexError)


def graph(
    hist: ProcessedHistogram,
    *,
    compact: bool = False,
    alone: bool = False,
    comparison: Comparison | None = None,
) -> object:
    """The plot of one histogram, or an error card where the plot would be."""
    try:
        fig = draw(hist, compact=compact, alone=alone, comparison=comparison)
    except DRAWING_ERRORS as exc:
        log.exception("drawing %s failed", hist.name)
        return html.Div(error_card("Drawing error", [f"{hist.pretty_name}: {exc}"]))
    return dcc.Graph(
        figure=fig,
        id={"type": GRAPH, "name": hist.name},
        config={"displaylogo": False, "responsive": True, "displayModeBar": not compact},
        style={"height": _height(compact)},
    )


def _height(compact: bool) -> str:
    return "260px" if compact else "480px"


# Lazy plots: a group's first plots come with the page, the others are placeholders of the plot's size that
# ``assets/lazy_plots.js`` watches; when one comes near the viewport it sets the card's LAZY_SEEN store,
# and ``callbacks/run_page.py`` answers with the graph, its export menu and information (``lazy_card``) for
# the view the page shows.
LAZY = "lazy-plot"
LAZY_SEEN = "lazy-plot-seen"
#: Plots sent with the page, by grid (compact) or not. Fewer than a 1080-pixel screen shows: the browser
#: draws the plots sent with the page in one go before it paints any, so the first plot shows sooner with
#: few of them, and the rest of the screen follows from the placeholders (benchmarks/README.md, page loads).
EAGER_PLOTS = {False: 2, True: 3}


def histogram_card(
    hist: ProcessedHistogram,
    *,
    compact: bool = False,
    alone: bool = False,
    lazy: bool = False,
    checks: tuple[CheckResult, ...] | None = None,
    comparison: Comparison | None = None,
) -> html.Div:
    """One plot with its export menu and information, or (``lazy``) a placeholder of its size: the plot,
    menu and information then come together when it is seen (``lazy_card``). A page load renders every
    component it is sent, so a placeholder is kept to 4 of the ~25 a drawn card has."""
    name = hist.name
    seen: list[object] = []
    if lazy:  # drawn when it comes into view, not now
        watched = {f"data-{LAZY}": json.dumps({"type": LAZY_SEEN, "name": name})}
        slot: list[object] = [html.Div(className="lazy-placeholder bg-light rounded h-100", **watched)]
        seen = [dcc.Store(id={"type": LAZY_SEEN, "name": name})]
        details: list[object] = []
    else:
        slot = plot_and_menu(hist, compact=compact, alone=alone, comparison=comparison)
        details = information_block(hist, checks)
    heading = [] if compact else [html.H5(hist.pretty_name, className="mb-1")]
    plot = html.Div(slot, id={"type": LAZY, "name": name}, style={"minHeight": _height(compact)})
    info = html.Div(details, id={"type": INFO, "name": name})
    return html.Div([*heading, plot, *seen, info], className="hist-card mb-3")


def plot_and_menu(
    hist: ProcessedHistogram, *, compact: bool, alone: bool = False, comparison: Comparison | None = None
) -> list[object]:
    """What a card's plot place holds once drawn: the graph (or its error card) and the export menu."""
    return [graph(hist, compact=compact, alone=alone, comparison=comparison), export_menu(hist.name)]


#: Export links (``/api/v1/…/export/…``); ``assets/exports.js`` writes each href from the page's address
#: when the link appears and again when it is pointed at, focused or clicked, so it always carries the
#: time slice the page shows, also one applied in place. The PNG is Plotly's own image, named alike.
EXPORT = "export-link"


def export_link(text: str, kind: str, key: str, value: str, hint: str) -> html.A:
    data = {f"data-{EXPORT}": kind, "data-export-key": key, "data-export-value": value}
    return html.A(text, href="#", className=f"{EXPORT} me-2", title=hint, rel="nofollow", **data)


def export_menu(name: str) -> html.Details:
    """The "Export ▾" menu: the shown histogram (full run or slice) as JSON or as a ROOT file, and the plot
    as a PNG (Plotly's own image, also for grid cells, whose toolbar is hidden)."""
    links = [
        export_link("JSON", "histogram.json", "name", name, "The shown histogram as JSON"),
        export_link("ROOT", "histogram.root", "name", name, "The shown histogram as a ROOT file (TH1D/TH2D)"),
        html.A(
            "PNG",
            href="#",
            className="me-2",
            title="The plot as drawn, as a PNG image (as the camera in the plot's toolbar)",
            **{"data-export-png": name},
        ),
    ]
    return html.Details(
        [html.Summary("Export ▾", className="text-muted"), html.Div(links, className="ps-2")],
        className="export-menu small",
    )


def _checks_of(verdicts: Verdicts | None, name: str) -> tuple[CheckResult, ...] | None:
    return None if verdicts is None or name not in verdicts else verdicts[name][1]


def group_content(
    group: ProcessedGroup,
    verdicts: Verdicts | None = None,
    problems: bool = False,
    comparison: Comparison | None = None,
) -> html.Div:
    """A group's plots; ``problems``: only its Bad and Medium histograms (a note when it has none)."""
    eager = EAGER_PLOTS[group.grid]
    shown = [h for h in group.histograms if not problems or is_problem(verdicts or {}, h.name)]
    cards = [
        histogram_card(
            h,
            compact=group.grid,
            lazy=i >= eager,
            checks=_checks_of(verdicts, h.name),
            comparison=comparison,
        )
        for i, h in enumerate(shown)
    ]
    download = export_link(
        "Download group (zip)", "group.zip", "group", group.name, "Every plot of the group: JSON and ROOT"
    )
    heading = html.Div(
        [
            html.H4(group.name, className="d-inline-block me-2"),
            group_badge(group, verdicts or {}),
            html.Span(download, className="small ms-2"),
        ],
        className="mb-2",
    )
    if problems and not shown:
        none = html.P("No Bad or Medium histograms in this group.", className="text-muted")
        return html.Div([heading, none])
    if group.grid:
        cells = [dbc.Col(card, xs=12, md=6, xl=4, xxl=3) for card in cards]
        return html.Div([heading, dbc.Row(cells, className="g-2")])
    return html.Div([heading, *cards])


def lazy_card(context: dict[str, object], name: str) -> tuple[object, object]:
    """The plot place and the information of a lazy card: histogram ``name`` of the view the page's context
    names (full run or the time slice in ``context["request"]``, which a slice shown in place rewrites),
    drawn as its group draws it, with that view's check results."""
    try:
        view = _context_view(context)
        hist = view.histogram(name)
    except OverwatchError as exc:
        return error_card(exc.category, [str(exc)]), []
    compact = any(g.grid and any(h.name == name for h in g.histograms) for g in view.groups)
    comparison = comparison_for(view, Compare.from_context(context))
    checks = _checks_of(view_verdicts(view), name)
    return plot_and_menu(hist, compact=compact, comparison=comparison), information_block(hist, checks)


def _context_view(context: dict[str, object]) -> SubsystemView:
    run_number, subsystem = int(str(context["run"])), str(context["subsystem"])
    request = context.get("request")
    if not isinstance(request, dict):
        return services().views.full_run(run_number, subsystem)
    return services().views.time_slice(run_number, subsystem, TimeSliceRequest(**request))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def alarms_panel(run_number: int, subsystem: str) -> object:
    found = raised_alarms(services().trends, run_number, subsystem)
    if not found:
        return None
    latest: dict[str, str] = {}
    for alarm in found:
        latest[alarm.trend] = f"{alarm.timestamp:%H:%M:%S} {alarm.message}"
    items = [
        html.Li(
            [
                dcc.Link(trend, href=f"/trending?subsystem={subsystem}&trend={trend}&run={run_number}"),
                f": {text}",
            ]
        )
        for trend, text in sorted(latest.items())
    ]
    summary = (
        f"{_count(len(found), 'alarm')} in {_count(len(latest), 'trend')} "
        f"(latest per trend; times in {services().tz_name})"
    )
    return dbc.Alert(
        [html.Strong(summary), html.Ul(items, className="mb-0 small")], color="warning", className="py-2"
    )


def main_content(
    view: SubsystemView,
    group: str | None,
    hist: str | None,
    verdicts: Verdicts | None = None,
    problems: bool = False,
    comparison: Comparison | None = None,
) -> html.Div:
    """The chosen histogram, or the chosen group, or the first non-empty group; ``problems`` without a
    group or histogram: the Bad and Medium histograms of every group."""
    if not view.groups:
        return html.Div(dbc.Alert("No data available for this subsystem during this run."))
    if hist is not None:
        card = histogram_card(
            view.histogram(hist), alone=True, checks=_checks_of(verdicts, hist), comparison=comparison
        )
        return html.Div(card)
    if problems and group is None:
        found = verdicts or {}
        with_problems_ = [g for g in view.groups if any(is_problem(found, h.name) for h in g.histograms)]
        if not with_problems_:
            return html.Div(dbc.Alert("No Bad or Medium histograms.", color="success", id="no-problems"))
        return html.Div([group_content(g, verdicts, True, comparison) for g in with_problems_])
    chosen = view.group(group) if group is not None else view.groups[0]
    return group_content(chosen, verdicts, problems, comparison)


def _view_links(view: SubsystemView, kind: str) -> dict[str, str]:
    if kind == "group":
        return {g.name: state_href(view, group=g.name) for g in view.groups}
    return {h.name: state_href(view, hist=h.name) for g in view.groups for h in g.histograms}


def description(view: SubsystemView, group: str | None, hist: str | None) -> object:
    """What the view shows: a muted line for the full run, a banner with a way back for a time slice."""
    if view.is_time_slice:
        return banner(view.describe(), page_href(view.run_number, view.subsystem, group=group, hist=hist))
    return html.P(view.describe(), className="small text-muted mb-2", id="view-description")


def chosen_group(view: SubsystemView, group: str | None, hist: str | None) -> str | None:
    """The group the sidebar marks: the one asked for, or the first when no group or histogram is."""
    return group if group is not None or hist is not None or not view.groups else view.groups[0].name


def problems_switch(
    view: SubsystemView, group: str | None, hist: str | None, problems: bool, compare: Compare | None = None
) -> html.Div:
    """The "problems only" switch: a link to the same view with ``problems=1`` toggled."""
    label = "Problems only: on (show all)" if problems else "Problems only: off (show Bad and Medium only)"
    return html.Div(
        dcc.Link(
            label,
            href=state_href(view, group, hist, problems=not problems, compare=compare),
            id=PROBLEMS,
            className="btn btn-sm " + ("btn-warning" if problems else "btn-outline-secondary"),
            title="Show every histogram" if problems else "Show only the Bad and Medium histograms",
        ),
        className="mb-2",
    )


#: The reference switches: the 1D overlay (``o`` on the keyboard clicks it), normalisation, 2D view.
OVERLAY = "run-page-overlay"
COMPARE = "run-page-compare"
_NORM_LABELS = {"events": "same events", "integral": "same integral"}
_MAP_LABELS = {"data": "data", "ratio": "ratio", "difference": "difference"}


def compare_switches(
    view: SubsystemView, group: str | None, hist: str | None, problems: bool, compare: Compare
) -> object:
    """Links that switch the comparison with the reference run (nothing without a reference)."""
    reference_run = reference_run_of(view)
    if reference_run is None:
        return None

    def link(label: str, changed: Compare, link_id: str, active: bool, hint: str) -> dcc.Link:
        return dcc.Link(
            label,
            href=state_href(view, group, hist, problems=problems, compare=changed),
            id=link_id,
            className="btn btn-sm " + ("btn-primary" if active else "btn-outline-secondary"),
            title=hint,
        )

    overlay = link(
        f"Reference overlay: {'on' if compare.overlay else 'off'}",
        compare.with_changes(overlay=not compare.overlay),
        OVERLAY,
        compare.overlay,
        f"Draw reference run {reference_run} on each 1D histogram, with the ratio below (key o)",
    )
    norms = [
        link(
            text,
            compare.with_changes(norm=norm),
            f"{COMPARE}-norm-{norm}",
            compare.norm == norm,
            f"Normalise the reference to the {text} as this view",
        )
        for norm, text in _NORM_LABELS.items()
    ]
    maps = [
        link(
            text,
            compare.with_changes(maps=kind),
            f"{COMPARE}-maps-{kind}",
            compare.maps == kind,
            "2D maps: " + ("the data" if kind == "data" else f"the {text} to reference run {reference_run}"),
        )
        for kind, text in _MAP_LABELS.items()
    ]
    return html.Div(
        [
            overlay,
            html.Span("Normalise:", className="small text-muted ms-3 me-1"),
            html.Div(norms, className="btn-group", role="group", **{"aria-label": "Normalisation"}),
            html.Span("2D maps:", className="small text-muted ms-3 me-1"),
            html.Div(maps, className="btn-group", role="group", **{"aria-label": "2D maps"}),
        ],
        id=COMPARE,
        className="mb-2 d-flex flex-wrap align-items-center",
    )


def body(
    run_number: int,
    subsystem: str,
    group: str | None,
    hist: str | None,
    view: SubsystemView,
    problems: bool = False,
    compare: Compare | None = None,
) -> html.Div:
    verdicts = view_verdicts(view)
    compare = compare or Compare()
    comparison = comparison_for(view, compare)
    try:
        main = main_content(view, group, hist, verdicts, problems, comparison)
    except NotFoundError as exc:
        kind = "group" if hist is None else "histogram"
        main = from_exception(exc, _view_links(view, kind))
    chosen = chosen_group(view, group, hist)
    return dbc.Row(
        [
            dbc.Col(
                sidebar(run_number, subsystem, view, chosen, hist, verdicts, problems, compare),
                lg=3,
                xxl=2,
                id={"type": PART, "name": SIDEBAR},
            ),
            dbc.Col(
                [
                    html.Div(description(view, group, hist), id={"type": PART, "name": DESCRIPTION}),
                    problems_switch(view, group, hist, problems, compare),
                    compare_switches(view, group, hist, problems, compare),
                    main,
                ],
                lg=9,
                xxl=10,
            ),
        ]
    )


# --- layout ----------------------------------------------------------------------------------------------


def _run_and_subsystem(run: str, subsystem: str) -> tuple[Run, Subsystem]:
    number, _ = parse_int(run, "run")
    if number is None:
        raise NotFoundError("run", run, newest_run_numbers())
    catalog_run = find_run(number)
    return catalog_run, catalog_run.subsystem(subsystem)


def _not_found(run: str, exc: OverwatchError) -> html.Div:
    links: dict[str, str] = {}
    if isinstance(exc, NotFoundError) and exc.kind.startswith("subsystem"):
        links = {str(v): page_href(int(run), str(v)) for v in exc.valid}  # the run exists, so run is a number
    elif isinstance(exc, NotFoundError) and exc.kind == "run":
        catalog_run_numbers = [int(str(v)) for v in exc.valid]
        for number in catalog_run_numbers:
            subs = services().catalog.run(number).subsystems
            if subs:
                links[str(number)] = page_href(number, subs[0].name)
    return html.Div([from_exception(exc, links), dcc.Link("Back to the run list", href="/")])


def _view_for(run_number: int, sub: Subsystem, query: SliceQuery) -> tuple[SubsystemView | None, bool]:
    """The view to draw now, and whether a time slice still has to be computed in the background."""
    views = services().views
    if query.request is None:
        return views.full_run(run_number, sub.name), False
    cached = views.cached_time_slice(run_number, sub.name, query.request)
    count_slice_request(cached is not None)
    return cached, cached is None


def _content(
    run_number: int,
    sub: Subsystem,
    group: str | None,
    hist: str | None,
    query: SliceQuery,
    problems: bool = False,
    compare: Compare | None = None,
) -> object:
    try:
        view, pending = _view_for(run_number, sub, query)
    except OverwatchError as exc:
        return error_card(
            exc.category, [str(exc), "The other subsystems and the ROOT files page still work."]
        )
    if view is None or pending:
        return dbc.Alert("Computing the time slice…", color="light", className="py-2")
    return body(run_number, sub.name, group, hist, view, problems, compare)


def layout(
    run: str = "", subsystem: str = "", group: str | None = None, hist: str | None = None, **params: object
) -> html.Div:
    svc = services()
    try:
        catalog_run, sub = _run_and_subsystem(run, subsystem)
    except OverwatchError as exc:
        return _not_found(run, exc)
    definition = get_subsystem(sub.name, svc.settings.subsystems)
    defaults = definition.default_options
    query = parse_query(params, sub.run_length_minutes, defaults)
    notices = [notice(f"Ignored unknown parameter {k!r}.") for k in params if k not in PAGE_KEYS]
    notices += [notice(query.problem)] if query.problem else []
    ongoing = svc.ongoing_run() == catalog_run.run_number
    problems = flag(params.get(PROBLEMS_KEY, ""))
    compare, compare_problems = Compare.from_params(params)
    notices += [notice(text) for text in compare_problems]
    content = _content(catalog_run.run_number, sub, group, hist, query, problems, compare)
    pending = None if query.request is None or not isinstance(content, dbc.Alert) else asdict(query.request)
    context = {
        "run": catalog_run.run_number,
        "subsystem": sub.name,
        "group": group,
        "hist": hist,
        "problems": problems,
        "compare": compare.as_context(),
        "slice": query.request is not None,
        # The state the page is at: rewritten in place when a time slice is shown without a page load.
        "request": asdict(query.request) if query.request is not None else None,
        "href": with_compare(
            with_problems(
                f"/runs/{catalog_run.run_number}/{sub.name}" + query_string(query.request, group, hist),
                problems,
            ),
            compare,
        ),
        "user": current_user.get_id() if current_user.is_authenticated else None,
    }
    return html.Div(
        [
            html.Div(header(catalog_run, sub, ongoing), id=HEADER),
            *notices,
            alarms_panel(catalog_run.run_number, sub.name),
            panel(sub, query.request, defaults, threshold_applies=definition.uses_hot_channel_threshold),
            dcc.Store(id=QUERY, data=context),
            dcc.Store(id=LATEST, data=sub.files[-1].path if sub.files else ""),
            dcc.Store(id=PENDING, data=pending),
            dcc.Interval(
                id=LIVE, interval=round(svc.settings.live_refresh_seconds * 1000), disabled=not ongoing
            ),
            html.Div(content, id=MAIN),
        ]
    )
