"""The JSON API under ``/api/v1`` for scripts and other tools, its OpenAPI 3 document and a docs page.

Every route is behind the login gate: a session (the dashboard's login) or a per-user API token
(``Authorization: Bearer <token>``, made with `overwatch users token NAME`). Answers are the same JSON the
`overwatch … --json` commands print (``overwatch_core.exports``). Time slices take the page's validation
(``TimeSliceRequest``) and its view cache; the API computes an uncached slice in the request (a slice
takes 0.05–0.5 s) instead of through the page's background job.
"""

from __future__ import annotations

import html
from typing import Any

import flask
from flask.typing import ResponseReturnValue

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


@api.get("/runs/<int:run_number>/<subsystem>/slice")
def time_slice(run_number: int, subsystem: str) -> ResponseReturnValue:
    request = _slice_request()
    if request is None:
        return _error(400, "a time slice needs from and to (minutes since the first file)")
    views = services().views
    view = views.time_slice(run_number, subsystem, request)
    checks = views.slice_checks(run_number, subsystem, request) if flask.request.args.get("checks") else None
    return flask.jsonify(exports.view_json(view, checks))


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


def _operation(summary: str, schema: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    error = {
        "description": "error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    return {
        "get": {
            "summary": summary,
            "parameters": params,
            "responses": {
                "200": {"description": summary, "content": {"application/json": {"schema": ref}}},
                "400": error,
                "401": error,
                "404": error,
            },
        }
    }


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
        "/runs/{run_number}/{subsystem}/slice": _operation(
            "a time slice: every processed histogram's summary (and checks with checks=1)",
            "View",
            [
                RUN,
                SUBSYSTEM,
                *[dict(p, required=True) for p in SLICE],
                _param("threshold", "query", "integer", "hot-channel threshold 0–1000", example=0),
                _param("checks", "query", "integer", "1: also the slice's check verdicts", example=1),
            ],
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
