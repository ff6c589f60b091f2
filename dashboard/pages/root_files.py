"""ROOT files page at ``/runs/<run>/<subsystem>/files``: every received file with its download link and
processing problems, and every key the files hold."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.errors import from_exception
from dashboard.formatting import parse_int, short_time
from dashboard.pages.run_list import find_run, newest_run_numbers
from dashboard.pages.run_page import page_href
from dashboard.services import services
from dashboard.shell import page_title
from overwatch_core.catalog import FAILED, PENDING, FileReport
from overwatch_core.errors import NotFoundError, OverwatchError
from overwatch_core.model import RunFile, Subsystem

log = logging.getLogger(__name__)

PATH = "/runs/<run>/<subsystem>/files"

FILE_LIST = "root-file-list"
PROBLEMS = "root-file-problems"
KEYS = "root-file-keys"

#: How the catalog's reason of a skipped object starts when a histogram could not be decoded.
UNDECODABLE = "cannot decode"


def title(run: str = "", subsystem: str = "", **_params: object) -> str:
    return page_title(f"Run {run} {subsystem} ROOT files".strip())


def download_href(relative: str) -> str:
    return f"/files/{relative}"


def files_href(run_number: int, subsystem: str) -> str:
    return f"/runs/{run_number}/{subsystem}/files"


def _links(exc: OverwatchError, number: int | None) -> dict[str, str]:
    """The files pages of what exists instead: the other subsystems, or the listed runs."""
    if not isinstance(exc, NotFoundError):
        return {}
    if exc.kind == "run":
        runs = [services().catalog.run(int(str(v))) for v in exc.valid]
        return {
            str(r.run_number): files_href(r.run_number, r.subsystems[0].name) for r in runs if r.subsystems
        }
    if number is None:
        return {}
    return {str(v): files_href(number, str(v)) for v in exc.valid}


def _not_found(exc: OverwatchError, number: int | None) -> html.Div:
    return html.Div([from_exception(exc, _links(exc, number)), dcc.Link("Back to the run list", href="/")])


# --- the files and their processing ------------------------------------------------------------------------


def is_problem(reason: str) -> bool:
    """A skipped object is a problem when it is a histogram that could not be decoded."""
    return reason.startswith(UNDECODABLE)


def _undecodable(report: FileReport) -> list[str]:
    return sorted(name for name, (_cls, reason) in report.skipped.items() if is_problem(reason))


def _mark(badge: str, colour: str, message: str, kind: str) -> html.Div:
    """A badge and its text on a line of its own below the file: ``kind`` is file-problem or file-note."""
    text_class = "text-danger" if kind == "file-problem" else "text-body"
    return html.Div(
        [dbc.Badge(badge, color=colour, className="me-1"), html.Span(message, className=text_class)],
        className=f"small {kind}",
    )


def file_marks(report: FileReport | None) -> list[Component]:
    """What went wrong with a file (failed processing, undecodable objects) and how it was read (a note)."""
    if report is None:
        return []
    marks: list[Component] = []
    if report.state == FAILED:
        marks.append(_mark("failed", "danger", report.problem or "processing failed", "file-problem"))
    elif report.state == PENDING:
        marks.append(dbc.Badge("pending", color="secondary", className="ms-1", title="not processed yet"))
    broken = _undecodable(report)
    if broken:
        marks.append(_mark(f"{len(broken)} undecodable", "danger", ", ".join(broken), "file-problem"))
    if report.note:
        marks.append(_mark("note", "warning", report.note, "file-note"))
    return marks


def _file_item(run_file: RunFile, report: FileReport | None) -> html.Li:
    size = f" {run_file.size / 1e6:.2f} MB"
    details = f"{size}, {run_file.n_events:g} events" if run_file.n_events else size
    return html.Li(
        [
            html.A(
                short_time(run_file.timestamp),
                href=download_href(run_file.path),
                download=run_file.path.rsplit("/", 1)[-1],
            ),
            html.Small(details, className="text-muted"),
            *file_marks(report),
        ],
        style={"breakInside": "avoid"},
    )


def problem_summary(reports: Mapping[str, FileReport]) -> html.P | None:
    """One line above the list when files failed, hold undecodable objects or were read unusually."""
    failed = sum(r.state == FAILED for r in reports.values())
    broken = sum(len(_undecodable(r)) for r in reports.values())
    noted = sum(r.note is not None for r in reports.values())
    parts = [
        f"{failed} file{'s' if failed != 1 else ''} failed processing" if failed else "",
        f"{broken} undecodable object{'s' if broken != 1 else ''}" if broken else "",
        f"{noted} file{'s' if noted != 1 else ''} read with a note" if noted else "",
    ]
    shown = [p for p in parts if p]
    if not shown:
        return None
    colour = "text-danger" if failed or broken else "text-warning-emphasis"
    return html.P("; ".join(shown) + " (marked below).", className=f"{colour} mb-2", id=PROBLEMS)


# --- every key of the files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyRow:
    """One key name of the files: its class, why it is not drawn, and the run-page histogram showing it."""

    name: str
    root_class: str
    reason: str | None
    problem: bool
    target: str | None


def key_rows(
    index: Mapping[str, str], reports: Mapping[str, FileReport], shown: Mapping[str, str]
) -> list[KeyRow]:
    """Histograms of the index and the objects the files skipped, one row per name, in name order.

    ``shown`` maps a histogram name to the run-page histogram that draws it (itself, or the stack it is in).
    """
    skipped: dict[str, list[tuple[str, str]]] = {}
    for report in reports.values():
        for name, entry in report.skipped.items():
            skipped.setdefault(name, []).append(entry)
    return [
        _key_row_of(name, index.get(name), skipped.get(name, []), len(reports), shown.get(name))
        for name in sorted(set(index) | set(skipped))
    ]


def _key_row_of(
    name: str, indexed: str | None, entries: list[tuple[str, str]], n_files: int, target: str | None
) -> KeyRow:
    """An undecodable entry wins over other reasons; a reason of only some files says in how many."""
    target = target if indexed is not None else None
    if not entries:
        return KeyRow(name, indexed or "", None, False, target)
    root_class, reason = min(entries, key=lambda entry: not is_problem(entry[1]))
    count = sum(r == reason for _cls, r in entries)
    where = "" if count == n_files else f" (in {count} of {n_files} files)"
    return KeyRow(name, indexed or root_class, reason + where, is_problem(reason), target)


def shown_histograms(run_number: int, subsystem: str) -> dict[str, str]:
    """Histogram name → the run-page histogram drawing it, from the full-run view (the run page's own).

    A histogram inside a stack links to the stack. When the view cannot be built, nothing is linked: the
    files page still lists the files and keys, which is what one comes here for when processing fails.
    """
    try:
        view = services().views.full_run(run_number, subsystem)
    except OverwatchError as exc:
        log.warning("files page of run %s %s: no run-page view: %s", run_number, subsystem, exc)
        return {}
    targets: dict[str, str] = {}
    for group in view.groups:
        for hist in group.histograms:
            targets[hist.name] = hist.name
            for layer in hist.layers:
                targets.setdefault(layer.hist.name, hist.name)
    return targets


def _key_name(row: KeyRow, run_number: int, subsystem: str) -> Component | str:
    if row.target is None:
        return row.name
    return dcc.Link(row.name, href=page_href(run_number, subsystem, hist=row.target))


def _key_note(row: KeyRow, subsystem: str) -> Component | str:
    if row.reason is not None:
        return html.Span(row.reason, className="text-danger" if row.problem else "text-muted")
    if row.target is None:
        return html.Span(f"not drawn on the {subsystem} run page", className="text-muted")
    return html.Span(f"drawn in {row.target}", className="text-muted") if row.target != row.name else ""


def _key_row(row: KeyRow, run_number: int, subsystem: str) -> html.Tr:
    return html.Tr(
        [
            html.Td(_key_name(row, run_number, subsystem), style={"wordBreak": "break-all"}),
            html.Td(row.root_class),
            html.Td(_key_note(row, subsystem)),
        ],
        className="table-danger key-problem" if row.problem else None,
    )


def keys_section(rows: list[KeyRow], run_number: int, sub: Subsystem) -> html.Details:
    """Every key in one collapsed table; open from the start when a histogram could not be decoded."""
    histograms = sum(r.reason is None or r.problem for r in rows)
    problems = sum(r.problem for r in rows)
    others = len(rows) - histograms
    summary: list[Component | str] = [f"Keys in the files: {histograms} histograms, {others} other objects"]
    if problems:
        summary += [" ", dbc.Badge(f"{problems} undecodable", color="danger")]
    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th("Name"), html.Th("Class"), html.Th("Note")])),
            html.Tbody([_key_row(r, run_number, sub.name) for r in rows]),
        ],
        size="sm",
        className="small mb-0",
    )
    return html.Details(
        [html.Summary(summary), html.Div(table, style={"maxHeight": "60vh", "overflowY": "auto"})],
        open=bool(problems),
        id=KEYS,
        className="mt-3",
    )


def layout(run: str = "", subsystem: str = "", **_ignored: object) -> html.Div:
    svc = services()
    number, _ = parse_int(run, "run")
    try:
        if number is None:
            raise NotFoundError("run", run, newest_run_numbers())
        sub = find_run(number).subsystem(subsystem)
    except OverwatchError as exc:
        return _not_found(exc, number)
    via = " (stored in HLT files)" if sub.file_location != sub.name else ""
    reports = svc.catalog.file_reports(number, sub.file_location)
    index = svc.catalog.histogram_index(number, sub.file_location)
    rows = key_rows(index, reports, shown_histograms(number, sub.name) if sub.files else {})
    items = [_file_item(f, reports.get(f.path)) for f in sub.files]
    return html.Div(
        [
            html.H2(f"Run {number} {sub.name} ROOT files{via}"),
            html.P(
                [
                    f"All times in {svc.tz_name}. Each file holds everything since the start of the run. ",
                    dcc.Link("Back to the histograms", href=f"/runs/{number}/{sub.name}"),
                ],
                className="text-muted",
            ),
            problem_summary(reports),
            dbc.Card(
                dbc.CardBody(html.Ul(items, style={"columns": "18rem"}, className="mb-0", id=FILE_LIST))
            ),
            keys_section(rows, number, sub),
        ]
    )
