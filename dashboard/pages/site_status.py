"""Site status at ``/site-status`` (admins only): newest run, receiver heartbeats, other sites, restart."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_login import current_user

from dashboard.auth import RoleRequiredError, ensure_role
from dashboard.errors import error_card
from dashboard.formatting import when
from dashboard.services import services
from dashboard.shell import page_title
from overwatch_core.admin import ActionResult, restart_disabled_reason
from overwatch_core.site_status import Heartbeat, RunActivity, SiteReport, SiteStatus, site_report

PATH = "/site-status"

REFRESH = "site-status-refresh"
REPORT = "site-status-report"
RESTART = "site-status-restart"
MODAL = "site-status-confirm"
CONFIRM = "site-status-confirm-yes"
CANCEL = "site-status-confirm-no"
RESULT = "site-status-restart-result"

_HEARTBEAT_COLOURS = {"alive": "success", "dead": "danger", "missing": "secondary", "unreadable": "warning"}
_SITE_COLOURS = {"up": "success", "timeout": "warning"}
_SITE_WORDS = {
    "up": "up",
    "http_error": "HTTP error",
    "timeout": "timeout",
    "connection_error": "connection error",
    "bad_answer": "garbage answer",
}


def title(**_params: object) -> str:
    return page_title("Site status")


def refusal(error: RoleRequiredError) -> html.Div:
    """What a non-admin sees instead of the page: the same words as the HTTP 403 of admin routes."""
    who = f"{current_user.username} ({current_user.role})" if current_user.is_authenticated else "nobody"
    return html.Div(
        [
            error_card(
                "403 Forbidden", [f"{error}: the site status is for admins.", f"You are logged in as {who}."]
            ),
            dcc.Link("Back to the run list", href="/"),
        ],
        id="site-status-refused",
    )


def current_report() -> SiteReport:
    svc = services()
    settings = svc.settings
    return site_report(
        svc.catalog,
        settings.drop_path,
        settings.subsystems,
        {str(k): str(v) for k, v in settings.status_sites.items()},
        svc.now(),
        settings.ongoing_minutes,
    )


# --- report --------------------------------------------------------------------------------------------


def _line(label: str, value: object, value_id: str | None = None) -> html.Div:
    shown = html.Span(value, id=value_id) if value_id else html.Span(value)
    return html.Div([html.Strong(f"{label}: "), shown], className="mb-1")


def activity_card(activity: RunActivity, zone_name: str) -> dbc.Card:
    if activity.run_number is None:
        body: list[object] = [html.P("No runs yet.", className="mb-0")]
    else:
        ongoing = f"yes — run {activity.run_number}" if activity.ongoing else "no"
        last = when(activity.last_file, zone_name)
        minutes = activity.minutes_since_last_file or 0
        days = f", about {round(minutes / 1440)} days" if minutes >= 2880 else ""
        since = f"{minutes} minutes{days} (run {activity.run_number}, last file {last})"
        body = [
            _line("Ongoing run", ongoing, "site-status-ongoing"),
            _line("Time since the last file", since),
        ]
    return dbc.Card([dbc.CardHeader("Runs"), dbc.CardBody(body, className="py-2")], className="mb-3")


def _age(seconds: float | None) -> str:
    """Seconds, minutes, hours or days ago: a receiver silent since last month reads as such."""
    if seconds is None:
        return "–"
    for unit, size, below in (("s", 1, 120), ("min", 60, 7200), ("h", 3600, 172800)):
        if seconds < below:
            return f"{max(0, round(seconds / size))} {unit} ago"
    return f"{round(seconds / 86400)} days ago"


def _heartbeat_row(beat: Heartbeat, zone_name: str) -> html.Tr:
    badge = dbc.Badge(beat.state, color=_HEARTBEAT_COLOURS[beat.state])
    detail = beat.problem or when(beat.last_beat, zone_name)
    return html.Tr(
        [html.Td(beat.subsystem), html.Td(badge), html.Td(detail), html.Td(_age(beat.age_seconds))],
        id=f"heartbeat-{beat.subsystem}",
    )


def heartbeats_card(beats: tuple[Heartbeat, ...], zone_name: str) -> dbc.Card:
    """Receivers write ``heartbeat.<SYS>Receiver`` into the drop folder; five quiet minutes mean dead."""
    head = html.Thead(
        html.Tr([html.Th("Receiver"), html.Th("State"), html.Th("Last heartbeat"), html.Th("Age")])
    )
    table = dbc.Table([head, html.Tbody([_heartbeat_row(b, zone_name) for b in beats])], size="sm",
                      className="mb-0 align-middle")  # fmt: skip
    return dbc.Card([dbc.CardHeader("Receivers"), dbc.CardBody(table, className="py-2")], className="mb-3")


def _site_row(site: SiteStatus) -> html.Tr:
    badge = dbc.Badge(_SITE_WORDS[site.state], color=_SITE_COLOURS.get(site.state, "danger"))
    return html.Tr(
        [
            html.Td(site.name),
            html.Td(html.A(site.url, href=site.url, target="_blank", rel="noopener"), className="small"),
            html.Td(badge),
            html.Td(site.message, className="small"),
            html.Td(f"{site.seconds * 1000:.0f} ms", className="text-end small"),
        ],
        id=f"site-{site.name}",
    )


def sites_card(sites: tuple[SiteStatus, ...]) -> dbc.Card:
    if not sites:
        body: object = html.P("No other sites are configured (setting status_sites).", className="mb-0")
    else:
        head = html.Thead(
            html.Tr(
                [html.Th("Site"), html.Th("Status URL"), html.Th("State"), html.Th("Answer"), html.Th("Took")]
            )
        )
        body = dbc.Table(
            [head, html.Tbody([_site_row(s) for s in sites])], size="sm", className="mb-0 align-middle"
        )
    header = dbc.CardHeader("Other Overwatch sites (/status, 0.5 s each, asked at once)")
    return dbc.Card([header, dbc.CardBody(body, className="py-2")], className="mb-3")


def report_view(report: SiteReport) -> html.Div:
    zone_name = services().tz_name
    checked = f"Checked at {report.checked_at:%H:%M:%S} ({zone_name}) in {report.seconds:.2f} s."
    local = [activity_card(report.activity, zone_name), heartbeats_card(report.heartbeats, zone_name)]
    return html.Div(
        [
            html.P(checked, className="small text-muted mb-2", id="site-status-checked"),
            dbc.Row([dbc.Col(local, lg=5), dbc.Col(sites_card(report.sites), lg=7)]),
        ]
    )


# --- admin action ------------------------------------------------------------------------------------------


def admin_card() -> dbc.Card:
    """The restart / upgrade button, disabled with the reason when no command is configured."""
    reason = restart_disabled_reason(services().settings)
    command = services().settings.restart_command.strip()
    explain = reason or f"Runs the configured command: {command}"
    modal = dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Restart / upgrade Overwatch?")),
            dbc.ModalBody([html.P("This runs, on the server:"), html.Code(command), html.P(
                "The dashboard may be unavailable while it restarts. The action is logged with your name.",
                className="mt-2 mb-0")]),
            dbc.ModalFooter([dbc.Button("Cancel", id=CANCEL, color="secondary", className="me-2"),
                             dbc.Button("Confirm restart", id=CONFIRM, color="danger")]),
        ],
        id=MODAL,
        is_open=False,
    )  # fmt: skip
    body = [
        dbc.Button(
            "Restart / upgrade", id=RESTART, color="danger", outline=True, disabled=reason is not None
        ),
        html.Span(explain, className="ms-2 small text-muted", id="site-status-restart-reason"),
        dcc.Loading(html.Div(id=RESULT, className="mt-2"), type="dot"),
        modal,
    ]
    return dbc.Card([dbc.CardHeader("Admin actions"), dbc.CardBody(body, className="py-2")], className="mb-3")


def action_view(result: ActionResult) -> dbc.Alert:
    """The command's end: exit code and the tail of its output."""
    if result.timed_out:
        summary = f"The command was stopped after {result.seconds:.0f} s."
    elif result.exit_code is None:
        summary = "The command could not start."
    else:
        summary = f"The command ended with exit code {result.exit_code} after {result.seconds:.1f} s."
    return dbc.Alert(
        [html.Strong(summary), html.Pre(result.output_tail or "(no output)", className="mb-0 mt-2 small")],
        color="success" if result.ok else "danger",
        id="site-status-action-result",
    )


# --- layout ------------------------------------------------------------------------------------------------


def layout(**_params: object) -> html.Div:
    """Checked on the server: a non-admin gets the refusal and none of the page's callback components."""
    try:
        ensure_role("admin")
    except RoleRequiredError as exc:
        return refusal(exc)
    refresh = dbc.Button("Refresh", id=REFRESH, color="primary", size="sm")
    return html.Div(
        [
            html.Div([html.H2("Site status", className="mb-0"), refresh],
                     className="d-flex justify-content-between align-items-center mb-2"),
            dcc.Loading(html.Div(report_view(current_report()), id=REPORT), type="default"),
            admin_card(),
        ]
    )  # fmt: skip
