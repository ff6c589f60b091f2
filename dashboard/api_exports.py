"""The export routes of /api/v1: the shown histogram as JSON or ROOT, a group as a zip (full run or slice).

The run page's own query keys choose the time slice (``from``, ``to``, ``threshold``, ``scale``, read as the
page reads them), so an export link is the page's query on another path. The slice comes from the
ViewService: from its cache when the page (or anyone) computed it, else computed here in the request.
Errors go through the API blueprint's handlers: 404 for an unknown run, subsystem, group or histogram, 400
for a window the run cannot give. Names never touch the file system; the download names are sanitized.
"""

from __future__ import annotations

import io

import flask
from flask.typing import ResponseReturnValue

from dashboard import time_slice_panel as ts
from dashboard.services import services
from overwatch_core import histogram_export as export
from overwatch_core.errors import OverwatchError
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.views import SubsystemView

JSON_MEDIA = "application/json"
ROOT_MEDIA = "application/octet-stream"
ZIP_MEDIA = "application/zip"


class MissingParameterError(OverwatchError):
    category = "Missing parameter"


def page_slice(run_number: int, subsystem: str) -> TimeSliceRequest | None:
    """The time slice the query's keys name, read as the run page reads them (None: the full run)."""
    svc = services()
    sub = svc.views.subsystem(run_number, subsystem)
    defaults = get_subsystem(subsystem, svc.settings.subsystems).default_options
    return ts.slice_request(flask.request.args, sub.run_length_minutes, defaults)


def shown_view(run_number: int, subsystem: str) -> SubsystemView:
    """The view the run page shows for this query: the full run, or the slice its keys name."""
    request = page_slice(run_number, subsystem)
    views = services().views
    if request is None:
        return views.full_run(run_number, subsystem)
    return views.time_slice(run_number, subsystem, request)  # answered from the view cache if there


def _required(name: str) -> str:
    value = flask.request.args.get(name)
    if not value:
        raise MissingParameterError(f"give the {name}: ?{name}=…")
    return value


def _attachment(data: bytes, media: str, name: str) -> ResponseReturnValue:
    response = flask.send_file(io.BytesIO(data), mimetype=media, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


def histogram_json(run_number: int, subsystem: str) -> ResponseReturnValue:
    name = _required("name")
    view = shown_view(run_number, subsystem)
    processed = view.histogram(name)
    data = export.histogram_json_bytes(view, processed)
    return _attachment(data, JSON_MEDIA, export.export_filename(view, name, "json"))


def histogram_root(run_number: int, subsystem: str) -> ResponseReturnValue:
    name = _required("name")
    view = shown_view(run_number, subsystem)
    processed = view.histogram(name)
    data = export.histogram_root_bytes(processed)
    return _attachment(data, ROOT_MEDIA, export.export_filename(view, name, "root"))


def group_zip(run_number: int, subsystem: str) -> ResponseReturnValue:
    name = _required("group")
    view = shown_view(run_number, subsystem)
    group = view.group(name)
    data = export.group_zip_bytes(view, group)
    return _attachment(data, ZIP_MEDIA, export.export_filename(view, name, "zip"))


def register(blueprint: flask.Blueprint) -> None:
    base = "/runs/<int:run_number>/<subsystem>/export"
    blueprint.add_url_rule(f"{base}/histogram.json", "export_histogram_json", histogram_json)
    blueprint.add_url_rule(f"{base}/histogram.root", "export_histogram_root", histogram_root)
    blueprint.add_url_rule(f"{base}/group.zip", "export_group_zip", group_zip)
