"""The JSON API under ``/api/v1`` for scripts and other tools, its OpenAPI 3 document and a docs page.

Every route is behind the login gate: a session (the dashboard's login) or a per-user API token
(``Authorization: Bearer <token>``, made with `overwatch users token NAME`). Answers are the same JSON the
`overwatch … --json` commands print (``overwatch_core.exports``). Time slices take the page's validation
(``TimeSliceRequest``) and its view cache; ``/slice`` answers a cached slice at once and computes any other
in the page's background-job manager (``dashboard/api_jobs.py``): the answer says pending, done or failed,
with the job's poll URL, and ``?wait=N`` waits for it. The export routes (``dashboard/api_exports.py``)
hand out the histograms a run page shows, as JSON, ROOT or a group's zip.
"""

from __future__ import annotations

import html
from typing import Any

import flask
from flask.typing import ResponseReturnValue

from dashboard import api_exports
from dashboard.api_jobs import MAX_WAIT_SECONDS, Record, api_jobs
from dashboard.services import services
from overwatch_core import exports
from overwatch_core.errors import NotFoundError, OverwatchError
from overwatch_core.quality import subsystem_quality
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.time_slices import TimeSliceError, TimeSliceRequest
from overwatch_core.trending import find_source, raised_alarms

PREFIX = "/api/v1"
api = flask.Blueprint("api_v1", __name__, url_prefix=PREFIX)


def _int(name: str, default: int | None = None, minimum: int = 0) -> int | None:
    text = flask.request.args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        flask.abort(_error(400, f"{name} must be a whole number, got {text!r}"))
    if value < minimum:
        flask.abort(_error(400, f"{name} must be at least {minimum}, got {value}"))
    return value


def _error(status: int, message: str) -> flask.Response:
    response = flask.jsonify(error=message)
    response.status_code = status
    return response


@api.errorhandler(NotFoundError)
def _not_found(exc: NotFoundError) -> ResponseReturnValue:
    return flask.jsonify(error=str(exc), valid=[str(v) for v in exc.valid[:50]]), 404


@api.errorhandler(TimeSliceError)
def _bad_slice(exc: TimeSliceError) -> ResponseReturnValue:
    return _error(400, str(exc))


@api.errorhandler(OverwatchError)
def _failed(exc: OverwatchError) -> ResponseReturnValue:
    return _error(400, f"{exc.category}: {exc}")


@api.get("/runs")
def runs() -> ResponseReturnValue:
    svc = services()
    page = svc.catalog.runs_page(_int("page", 1, 1) or 1, min(_int("per_page", 50, 1) or 50, 500))
    problems = svc.catalog.problem_counts([r.run_number for r in page.runs])
    return flask.jsonify(exports.runs_json(page, problems, svc.ongoing_run()))


@api.get("/runs/<int:run_number>")
def run(run_number: int) -> ResponseReturnValue:
    found = services().catalog.run(run_number)
    return flask.jsonify(
        {
            "run": found.run_number,
            "hlt_mode": found.hlt_mode,
            "subsystems": [
                {
                    "name": sub.name,
                    "file_location": sub.file_location,
                    "files": [
                        {
                            "path": f.path,
                            "time": f.timestamp.isoformat(),
                            "size": f.size,
                            "n_events": f.n_events,
                        }
                        for f in sub.files
                    ],
                }
                for sub in found.subsystems
            ],
        }
    )


@api.get("/runs/<int:run_number>/<subsystem>/histograms")
def histograms(run_number: int, subsystem: str) -> ResponseReturnValue:
    svc = services()
    sub = svc.catalog.run(run_number).subsystem(subsystem)
    index = svc.catalog.histogram_index(run_number, sub.file_location)
    listed = [{"name": name, "class": cls} for name, cls in index.items()]
    return flask.jsonify({"run": run_number, "subsystem": subsystem, "histograms": listed})


def _slice_request() -> TimeSliceRequest | None:
    start, end = _int("from"), _int("to")
    if start is None and end is None:
        return None
    if start is None or end is None:
        flask.abort(_error(400, "a time slice needs both from and to (minutes since the first file)"))
    scale = flask.request.args.get("scale", "true").lower() not in ("0", "false", "no")
    return TimeSliceRequest(start, end, scale, _int("threshold", 0) or 0)


@api.get("/runs/<int:run_number>/<subsystem>/histogram")
def histogram(run_number: int, subsystem: str) -> ResponseReturnValue:
    name = flask.request.args.get("name")
    if not name:
        return _error(400, "give the histogram's name: ?name=…")
    hists, n_events = services().views.raw_histograms(run_number, subsystem, _slice_request())
    if name not in hists:
        raise NotFoundError(f"histogram of run {run_number} {subsystem}", name, sorted(hists))
    return flask.jsonify({**exports.histogram_json(hists[name]), "n_events": n_events})


api_exports.register(api)


def _wait_seconds() -> float:
    text = flask.request.args.get("wait")
    if text is None or text == "":
        return 0.0
    try:
        seconds = float(text)
    except ValueError:
        flask.abort(_error(400, f"wait must be a number of seconds, got {text!r}"))
    if not 0 <= seconds <= MAX_WAIT_SECONDS:
        flask.abort(_error(400, f"wait must be between 0 and {MAX_WAIT_SECONDS:g} seconds, got {text}"))
    return seconds


def _job_answer(record: Record) -> ResponseReturnValue:
    """A job's state as JSON: 202 while pending, 200 once done (the view's JSON beside it) or failed."""
    body: dict[str, Any] = {
        "status": record["status"],
        "job": record["id"],
        "poll": flask.url_for("api_v1.job", job_id=record["id"]),
    }
    if record["status"] == "pending":
        body["progress"] = record.get("progress")
        return flask.jsonify(body), 202
    if record["status"] == "failed":
        return flask.jsonify({**body, "error": record["error"]}), 200
    return flask.jsonify({**body, **record["view"]}), 200


@api.get("/runs/<int:run_number>/<subsystem>/slice")
def time_slice(run_number: int, subsystem: str) -> ResponseReturnValue:
    """A cached slice at once; any other through the background job (submitted once per slice)."""
    if not (flask.request.args.get("from") and flask.request.args.get("to")):
        return _error(400, "a time slice needs from and to (minutes since the first file)")
    request = api_exports.page_slice(run_number, subsystem)  # as the page reads it: 400 or 404 here
    assert request is not None
    wait = _wait_seconds()
    checks = bool(flask.request.args.get("checks"))
    views = services().views
    view = views.cached_time_slice(run_number, subsystem, request)  # validates: 400 or 404 here
    if view is not None and not checks:
        return flask.jsonify({"status": "done", "job": None, "poll": None, **exports.view_json(view, None)})
    jobs = api_jobs()
    record = jobs.submit(run_number, subsystem, request, checks)
    if wait and record["status"] == "pending":
        record = jobs.wait(record["id"], wait) or record
    return _job_answer(record)


@api.get("/jobs/<job_id>")
def job(job_id: str) -> ResponseReturnValue:
    """A time-slice job's state; ``?wait=N`` waits up to N seconds for it to finish."""
    wait = _wait_seconds()
    jobs = api_jobs()
    record = jobs.wait(job_id, wait) if wait else jobs.state(job_id)
    if record is None:
        raise NotFoundError("time-slice job", job_id, [])
    return _job_answer(record)


@api.get("/trends/<subsystem>/<trend>")
def trend(subsystem: str, trend: str) -> ResponseReturnValue:
    svc = services()
    find_source(get_subsystem(subsystem, svc.settings.subsystems), trend)
    runs_text = flask.request.args.get("runs")
    if runs_text:
        first, _, last = runs_text.partition("-")
        if not (first.isdigit() and last.isdigit()):
            return _error(400, f"runs must look like 300000-300031, got {runs_text!r}")
        low, high = sorted((int(first), int(last)))
        return flask.jsonify(
            exports.trend_json(subsystem, trend, svc.trends.across_runs(subsystem, trend, low, high), [])
        )
    run_number = _int("run") or max(svc.catalog.run_numbers(), default=0)
    points = svc.trends.within_run(subsystem, trend, run_number)
    missing = [(run_number, t, r) for t, r in svc.trends.missing_within_run(subsystem, trend, run_number)]
    return flask.jsonify(exports.trend_json(subsystem, trend, points, missing))


@api.get("/runs/<int:run_number>/alarms")
def alarms(run_number: int) -> ResponseReturnValue:
    svc = services()
    svc.catalog.run(run_number)
    raised = raised_alarms(svc.trends, run_number, flask.request.args.get("subsystem"))
    listed = [
        {"subsystem": a.subsystem, "trend": a.trend, "time": a.timestamp.isoformat(), "message": a.message}
        for a in raised
    ]
    return flask.jsonify({"run": run_number, "alarms": listed})


@api.get("/runs/<int:run_number>/quality")
def quality(run_number: int) -> ResponseReturnValue:
    catalog = services().catalog
    names = [s.name for s in catalog.run(run_number).subsystems]
    return flask.jsonify([exports.quality_json(subsystem_quality(catalog, run_number, n)) for n in names])


@api.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return flask.jsonify(OPENAPI)


@api.get("/docs")
def docs() -> ResponseReturnValue:
    """The OpenAPI document as a page people can read (no script from a CDN)."""
    rows = []
    for path, item in OPENAPI["paths"].items():
        operation = item["get"]
        params = ", ".join(
            f"{p['name']}{'' if p.get('required') else '?'}" for p in operation.get("parameters", [])
        )
        rows.append(
            f"<tr><td><code>GET {html.escape(PREFIX + path)}</code></td><td>{html.escape(params)}</td>"
            f"<td>{html.escape(operation['summary'])}</td></tr>"
        )
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Overwatch API v1</title>"
        "<link rel='stylesheet' href='/assets/bootstrap.min.css'></head><body class='container py-4'>"
        "<h1 class='h3'>Overwatch JSON API v1</h1><p>Log in, or send "
        "<code>Authorization: Bearer &lt;token&gt;</code> (a token from "
        "<code>overwatch users token NAME</code>). Machine-readable: "
        f"<a href='{PREFIX}/openapi.json'>openapi.json</a>.</p>"
        "<table class='table table-sm'><thead><tr><th>Route</th><th>Parameters</th><th>What</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></body></html>"
    )
    return flask.Response(body, mimetype="text/html")


# --- the OpenAPI 3 document ---------------------------------------------------------------------------------


def _param(
    name: str, where: str, kind: str, text: str, required: bool = False, example: Any = None
) -> dict[str, Any]:
    param: dict[str, Any] = {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": {"type": kind},
        "description": text,
    }
    if example is not None:
        param["example"] = example
    return param


RUN = _param("run_number", "path", "integer", "run number", example=300003)
SUBSYSTEM = _param("subsystem", "path", "string", "subsystem, e.g. EMC", example="EMC")
SLICE = [
    _param("from", "query", "integer", "time slice start, minutes since the first file", example=5),
    _param("to", "query", "integer", "time slice end, minutes since the first file", example=7),
]
WAIT = _param("wait", "query", "number", "seconds to wait for the job (at most 30)", example=30)
#: The run page's time-slice keys (``dashboard/time_slice_panel.py``); missing ones as the page fills them.
PAGE_SLICE = [
    _param("from", "query", "integer", "time slice start, minutes since the first file", example=5),
    _param("to", "query", "integer", "time slice end (default: the run's end)", example=7),
    _param("threshold", "query", "integer", "hot-channel threshold 0–1000 (default: the subsystem's)"),
    _param("scale", "query", "integer", "1: scaled per event, 0: not (default: the subsystem's)"),
]
EXPORT_NAME = _param("name", "query", "string", "histogram name", True, "EMCTRQA_histFastORL0")
NUMBER_OR_NULL = {"type": ["number", "null"]}
CHECK = {
    "type": "object",
    "required": ["check", "quality", "message"],
    "properties": {
        "check": {"type": "string"},
        "quality": {"enum": ["Good", "Medium", "Bad", "Null"]},
        "message": {"type": "string"},
    },
}
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Runs": {
        "type": "object",
        "required": ["page", "pages", "total", "ongoing", "runs"],
        "properties": {
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "total": {"type": "integer"},
            "ongoing": {"type": ["integer", "null"]},
            "runs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["run", "hlt_mode", "subsystems"],
                    "properties": {
                        "run": {"type": "integer"},
                        "hlt_mode": {"type": "string"},
                        "start": {"type": ["string", "null"]},
                        "end": {"type": ["string", "null"]},
                        "subsystems": {"type": "object"},
                        "files_with_problems": {"type": "integer"},
                    },
                },
            },
        },
    },
    "Run": {
        "type": "object",
        "required": ["run", "hlt_mode", "subsystems"],
        "properties": {
            "run": {"type": "integer"},
            "hlt_mode": {"type": "string"},
            "subsystems": {
                "type": "array",
                "items": {"type": "object", "required": ["name", "file_location", "files"]},
            },
        },
    },
    "Histograms": {
        "type": "object",
        "required": ["run", "subsystem", "histograms"],
        "properties": {
            "histograms": {"type": "array", "items": {"type": "object", "required": ["name", "class"]}}
        },
    },
    "Histogram": {
        "type": "object",
        "required": [
            "name",
            "class",
            "title",
            "axis_titles",
            "entries",
            "edges",
            "labels",
            "values",
            "errors",
            "n_events",
        ],
        "properties": {
            "edges": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
            "values": {"type": "array"},
            "errors": {"type": "array"},
            "n_events": NUMBER_OR_NULL,
        },
    },
    "View": {
        "type": "object",
        "required": ["run", "subsystem", "description", "files", "n_events", "groups", "checks"],
        "properties": {
            "groups": {"type": "array", "items": {"type": "object", "required": ["name", "histograms"]}},
            "checks": {"type": ["object", "null"]},
        },
    },
    "SliceJob": {
        "description": "A time-slice job: done (with the view's fields), pending (poll) or failed (error).",
        "type": "object",
        "required": ["status", "job", "poll"],
        "properties": {
            "status": {"enum": ["pending", "done", "failed"]},
            "job": {"type": ["string", "null"], "description": "job id; null when answered from the cache"},
            "poll": {"type": ["string", "null"], "description": "URL of the job's state"},
            "progress": {"type": ["array", "null"], "description": "[percent, text] while pending"},
            "error": {"type": "string"},
        },
        "allOf": [
            {
                "if": {"properties": {"status": {"const": "done"}}},
                "then": {"$ref": "#/components/schemas/View"},
            },
            {"if": {"properties": {"status": {"const": "failed"}}}, "then": {"required": ["error"]}},
        ],
    },
    "HistogramExport": {
        "description": "The shown histogram (scaled as drawn, with the plot's titles) and its window.",
        "allOf": [{"$ref": "#/components/schemas/Histogram"}],
        "type": "object",
        "required": ["pretty_name", "run", "subsystem", "window", "layers"],
        "properties": {
            "run": {"type": "integer"},
            "subsystem": {"type": "string"},
            "window": {
                "type": "object",
                "required": [
                    "full_run",
                    "requested",
                    "shown",
                    "scaled",
                    "hot_channel_threshold",
                    "description",
                ],
                "properties": {
                    "full_run": {"type": "boolean"},
                    "requested": {"type": ["array", "null"], "items": {"type": "integer"}},
                    "shown": {"type": ["array", "null"], "items": {"type": "integer"}},
                    "scaled": {"type": "boolean"},
                    "hot_channel_threshold": {"type": "integer"},
                },
            },
            "layers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "label", "values", "errors", "edges", "title"],
                },
            },
        },
    },
    "Trend": {
        "type": "object",
        "required": ["subsystem", "trend", "points", "missing"],
        "properties": {
            "points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["run", "time", "value", "error", "alarms"],
                    "properties": {"value": {"type": "number"}, "error": NUMBER_OR_NULL},
                },
            },
            "missing": {"type": "array"},
        },
    },
    "Alarms": {
        "type": "object",
        "required": ["run", "alarms"],
        "properties": {
            "alarms": {
                "type": "array",
                "items": {"type": "object", "required": ["subsystem", "trend", "time", "message"]},
            }
        },
    },
    "Quality": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["run", "subsystem", "quality", "reference_run", "counts", "histograms"],
            "properties": {
                "quality": {"enum": ["Good", "Medium", "Bad", "Null"]},
                "histograms": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"checks": {"type": "array", "items": CHECK}}},
                },
            },
        },
    },
}


def _error_response() -> dict[str, Any]:
    return {
        "description": "error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _operation(
    summary: str, schema: str, params: list[dict[str, Any]], media: str = "application/json"
) -> dict[str, Any]:
    """A GET answering ``schema`` (a file of type ``media`` when it is not JSON), or a JSON error."""
    content: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    if media != "application/json":
        content = {"schema": {"type": "string", "format": "binary"}}
    return {
        "get": {
            "summary": summary,
            "parameters": params,
            "responses": {
                "200": {"description": summary, "content": {media: content}},
                "400": _error_response(),
                "401": _error_response(),
                "404": _error_response(),
            },
        }
    }


def _job_operation(summary: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    """A GET answering a job's state: 200 when done or failed, 202 while pending."""
    operation = _operation(summary, "SliceJob", params)
    responses = operation["get"]["responses"]
    responses["202"] = {
        "description": "the job is pending: poll its URL",
        "content": responses["200"]["content"],
    }
    return operation


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Overwatch JSON API", "version": "1"},
    "servers": [{"url": PREFIX}],
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "token": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"},
        },
    },
    "security": [{"token": []}, {"session": []}],
    "paths": {
        "/runs": _operation(
            "runs, newest first, paginated",
            "Runs",
            [
                _param("page", "query", "integer", "page number (1-based)", example=1),
                _param("per_page", "query", "integer", "runs per page (at most 500)", example=50),
            ],
        ),
        "/runs/{run_number}": _operation("a run's subsystems and files", "Run", [RUN]),
        "/runs/{run_number}/{subsystem}/histograms": _operation(
            "the histograms of a run's subsystem", "Histograms", [RUN, SUBSYSTEM]
        ),
        "/runs/{run_number}/{subsystem}/histogram": _operation(
            "one histogram's contents (full run, or a time slice with from/to), unscaled",
            "Histogram",
            [
                RUN,
                SUBSYSTEM,
                _param("name", "query", "string", "histogram name", True, "EMCTRQA_histFastORL0"),
                *SLICE,
            ],
        ),
        "/runs/{run_number}/{subsystem}/slice": _job_operation(
            "a time slice, its keys read as the run page reads them: every processed histogram's summary "
            "(and checks with checks=1); a cached slice at once, any other through the background job "
            "(202 pending with a poll URL, or wait=N)",
            [
                RUN,
                SUBSYSTEM,
                *[dict(p, required=True) for p in PAGE_SLICE[:2]],
                *PAGE_SLICE[2:],
                _param("checks", "query", "integer", "1: also the slice's check verdicts", example=1),
                WAIT,
            ],
        ),
        "/jobs/{job_id}": _job_operation(
            "a time-slice job's state (the poll URL of /slice)",
            [_param("job_id", "path", "string", "job id from /slice", example="api-slice-…"), WAIT],
        ),
        "/runs/{run_number}/{subsystem}/export/histogram.json": _operation(
            "the shown histogram as a JSON file (full run, or the run page's time slice)",
            "HistogramExport",
            [RUN, SUBSYSTEM, EXPORT_NAME, *PAGE_SLICE],
        ),
        "/runs/{run_number}/{subsystem}/export/histogram.root": _operation(
            "the shown histogram as a ROOT file (TH1D/TH2D with titles, axis titles, entries, bin labels)",
            "HistogramExport",
            [RUN, SUBSYSTEM, EXPORT_NAME, *PAGE_SLICE],
            media="application/octet-stream",
        ),
        "/runs/{run_number}/{subsystem}/export/group.zip": _operation(
            "a group's histograms as a zip: per histogram its JSON and ROOT export",
            "HistogramExport",
            [
                RUN,
                SUBSYSTEM,
                _param("group", "query", "string", "group name", True, "FastOR"),
                *PAGE_SLICE,
            ],
            media="application/zip",
        ),
        "/trends/{subsystem}/{trend}": _operation(
            "a trend within a run (run) or one value per run (runs=A-B)",
            "Trend",
            [
                SUBSYSTEM,
                _param("trend", "path", "string", "trend name", example="meanFastORL0"),
                _param("run", "query", "integer", "run number (default: the newest)", example=300003),
                _param("runs", "query", "string", "run range A-B"),
            ],
        ),
        "/runs/{run_number}/alarms": _operation(
            "the alarms raised in a run",
            "Alarms",
            [RUN, _param("subsystem", "query", "string", "only this subsystem")],
        ),
        "/runs/{run_number}/quality": _operation(
            "the check verdicts of every subsystem of a run", "Quality", [RUN]
        ),
    },
}
