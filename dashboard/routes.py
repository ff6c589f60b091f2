"""Plain Flask routes: liveness, file downloads, the contact page and the original's old URLs."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import flask
import sqlalchemy as sa
import sqlalchemy.exc
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.routing import BaseConverter

from dashboard.api import api
from dashboard.auth import has_role
from dashboard.auth.templates import STYLESHEET_KEY
from dashboard.metrics import register_metrics
from dashboard.services import services
from overwatch_core.archive import ARCHIVE_NAME, EmptyArchiveError, plan_archive, stream_archive
from overwatch_core.filenames import parse_run_dir

log = logging.getLogger(__name__)

_STORED_FILE = re.compile(r"^Run\d+/[A-Za-z0-9]+/[A-Za-z0-9]+hists\.[0-9_]+\.root$")


def status() -> ResponseReturnValue:
    """Liveness for load balancers and the other sites: the database answers a query."""
    try:
        with services().catalog.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        log.error("status check: database failed: %s", exc)
        return flask.Response("DB failed", status=500, mimetype="text/plain")
    return flask.Response("Alive", status=200, mimetype="text/plain")


def resolve_download(data_folder: Path, relative: str) -> Path | None:
    """The stored ROOT file ``relative`` names, or None for anything else (never outside the run folders).

    Only ``Run<N>/<SYS>/<SYS>hists.<time>.root`` names qualify, so the catalog, configuration, caches,
    quarantine and ``..`` are refused by shape. The resolved path must have that shape too, inside the data
    folder: a symlink may not lead out of it, nor to the catalog or anything else within it.
    """
    if not _is_stored_file(relative):
        return None
    root = data_folder.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not _is_stored_file(target.relative_to(root).as_posix()):
        return None
    return target if target.is_file() else None


def _is_stored_file(relative: str) -> bool:
    return bool(_STORED_FILE.match(relative)) and parse_run_dir(relative.split("/", 1)[0]) is not None


class AnyPathConverter(BaseConverter):
    """Everything after ``/files/``, also empty or starting with ``/``.

    Werkzeug's ``path`` converter (``[^/].*?``) matches neither, and then Dash's catch-all
    ``/<path:path>`` takes ``files//etc/passwd`` whole and answers with the app shell and 200
    (``%2F`` is decoded to ``/`` before routing, so ``/files/%2Fetc`` is the same URL).
    """

    part_isolating = False
    regex = ".*"
    weight = 300


NOT_A_DOWNLOAD = "No stored ROOT file at this address. The run's ROOT files page lists the files.\n"


def download(relative: str = "") -> ResponseReturnValue:
    """A stored run file as an attachment; anything else under ``/files`` is a plain-text 404."""
    target = resolve_download(services().settings.data_path, relative)
    if target is None:
        response = flask.Response(NOT_A_DOWNLOAD, status=404, mimetype="text/plain")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    return flask.send_file(
        target, as_attachment=True, download_name=target.name, mimetype="application/octet-stream"
    )


def register_downloads(server: flask.Flask) -> None:
    """Every path below ``/files`` reaches ``download``, never Dash."""
    server.url_map.converters["anypath"] = AnyPathConverter
    server.add_url_rule("/files", "download_root", download)
    server.add_url_rule("/files/<anypath:relative>", "download", download)


_CONTACT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Overwatch — Contact</title><link rel="stylesheet" href="{{ stylesheet }}"></head>
<body class="bg-light"><main class="container py-4" style="max-width: 52rem">
<h1 class="h3">Overwatch data-quality monitoring</h1>
<p>Overwatch shows the histograms detector subsystems send during a run, by run and subsystem, with time
slices, trends and alarms. Times are shown in {{ zone }}.</p>
<h2 class="h5">Contact</h2>
<p>For problems with the monitoring itself, contact the Overwatch operators of this site. For detector
questions, contact the subsystem's on-call expert.</p>
<h2 class="h5">Documentation</h2>
<ul><li>Run list, run pages and ROOT files: <a href="/">the run list</a></li>
<li>Trends and alarms: <a href="/trending">the trending page</a></li></ul>
{% if user %}
<h2 class="h5">For logged-in users</h2>
<ul><li><a href="/testing-data-archive">Test-data archive</a> (zip of recent complete runs)</li></ul>
{% if admin %}<h2 class="h5">For admins</h2>
<ul><li><a href="/site-status">Site status</a> and admin actions</li></ul>{% endif %}
<p><a href="/logout">Log out</a> ({{ user }})</p>
{% else %}<p><a href="/login">Log in</a> to see the data.</p>{% endif %}
</main></body></html>"""


def contact() -> ResponseReturnValue:
    """General information for anyone; more links for logged-in users and admins."""
    user = current_user.username if current_user.is_authenticated else None
    return flask.render_template_string(
        _CONTACT,
        stylesheet=flask.current_app.config.get(STYLESHEET_KEY, "/assets/bootstrap.min.css"),
        zone=services().tz_name,
        user=user,
        admin=has_role("admin"),
    )


def testing_data_archive() -> ResponseReturnValue:
    """The test-data zip, streamed as it is written (no temp file); login is checked by the gate."""
    svc = services()
    try:
        plan = plan_archive(svc.catalog, svc.settings.subsystems)
    except EmptyArchiveError as exc:
        return flask.Response(f"{exc.category}: {exc}", status=404, mimetype="text/plain")
    log.info("test-data archive of runs %s for %s", plan.run_numbers, current_user.get_id())
    chunks = stream_archive(svc.settings.data_path, plan.paths)
    response = flask.Response(chunks, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{ARCHIVE_NAME}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _legacy(target: str) -> ResponseReturnValue:
    return flask.redirect(target, code=301)


def register_routes(server: flask.Flask) -> None:
    server.register_blueprint(api)
    register_metrics(server)
    server.add_url_rule("/status", "status", status)
    register_downloads(server)
    server.add_url_rule("/contact", "contact", contact)
    server.add_url_rule("/testing-data-archive", "testing_data_archive", testing_data_archive)
    server.add_url_rule("/monitoring", "legacy_monitoring", lambda: _legacy("/"))
    server.add_url_rule("/monitoring/", "legacy_monitoring_slash", lambda: _legacy("/"))
    server.add_url_rule("/overwatchStatus", "legacy_status", lambda: _legacy("/site-status"))
    server.add_url_rule(
        "/Run<int:run>/<subsystem>/runPage",
        "legacy_run_page",
        lambda run, subsystem: _legacy(f"/runs/{run}/{subsystem}"),
    )
    server.add_url_rule(
        "/Run<int:run>/<subsystem>/rootFiles",
        "legacy_root_files",
        lambda run, subsystem: _legacy(f"/runs/{run}/{subsystem}/files"),
    )
