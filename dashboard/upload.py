"""Upload API (SPEC §3.4, successor of the DQM receiver): token-checked uploads into the drop folder."""

from __future__ import annotations

import hmac
import logging
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

import flask
from flask.typing import ResponseReturnValue

from dashboard.services import services
from overwatch_core import filenames
from overwatch_core.errors import HistogramReadError
from overwatch_core.histograms import list_classes

log = logging.getLogger(__name__)

TOKEN_ENV = "OVERWATCH_UPLOAD_TOKEN"
_AGENT = re.compile(r"^[A-Za-z0-9]{1,16}$")


def _answer(status: int, message: str, **extra: object) -> ResponseReturnValue:
    headers = {
        k: flask.request.headers.get(k) for k in ("runNumber", "timeStamp", "amoreAgent", "dataStatus")
    }
    body = {"receivedHeaders": headers, "status": status, "message": message, "filename": "", "received": {}}
    body.update(extra)
    return flask.jsonify(body), status


def _token_problem() -> ResponseReturnValue | None:
    """None when the request carries the configured token (compared in constant time)."""
    expected = os.environ.get(TOKEN_ENV, "")
    if not expected:
        return _answer(503, f"Upload API disabled: {TOKEN_ENV} is not set on the server")
    given = flask.request.headers.get("token")
    if not given:
        return _answer(400, "Must pass a token!")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("upload API: invalid token from %s", flask.request.remote_addr)
        return _answer(400, "Received token, but it is invalid!")
    return None


def _int_header(name: str) -> int:
    text = flask.request.headers.get(name)
    if text is None:
        raise ValueError(f"header {name} is required")
    try:
        return int(text)
    except ValueError as exc:
        raise ValueError(f"header {name} must be an integer, got {text!r}") from exc


def _target_name() -> str:
    run_number, stamp = _int_header("runNumber"), _int_header("timeStamp")
    if run_number < 0 or stamp < 0:
        raise ValueError("runNumber and timeStamp must not be negative")
    agent = flask.request.headers.get("amoreAgent", "DQM")
    if not _AGENT.match(agent):
        raise ValueError(f"amoreAgent must be 1-16 letters or digits, got {agent!r}")
    if "dataStatus" in flask.request.headers:
        _int_header("dataStatus")
    tz = filenames.zone(services().settings.timezone)
    try:
        moment = datetime.fromtimestamp(stamp, tz)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"header timeStamp {stamp} is not a time (seconds since 1970)") from exc
    return filenames.format_received_name(agent, run_number, "DQM", moment, tz)


def _payload(limit: int) -> bytes:
    upload = flask.request.files.get("file")
    stream = upload.stream if upload is not None else flask.request.stream
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise OverflowError(f"file larger than the {limit // 2**20} MB limit")
    return data


def _save(drop: Path, name: str, data: bytes) -> dict[str, str]:
    """Check the bytes are a readable ROOT file, then move them into the drop folder in one rename."""
    drop.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".upload", dir=drop)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        classes = list_classes(temp)
        if (drop / name).exists():
            raise FileExistsError(f"{name} was already uploaded")
        os.replace(temp, drop / name)
    finally:
        Path(temp).unlink(missing_ok=True)
    return {key: f"Obj name: {key}, Obj IsA() Name: {cls}" for key, cls in classes.items()}


def post_file() -> ResponseReturnValue:
    if (problem := _token_problem()) is not None:
        return problem
    settings = services().settings
    try:
        name = _target_name()
        data = _payload(settings.upload_max_mb * 2**20)
    except ValueError as exc:
        return _answer(400, str(exc))
    except OverflowError as exc:
        return _answer(413, str(exc))
    if not data:
        return _answer(400, "No file uploaded and the payload was empty")
    try:
        received = _save(settings.drop_path, name, data)
    except HistogramReadError:
        return _answer(
            400, "Successfully received the file, but the file is not valid! Perhaps it was corrupted?"
        )
    except FileExistsError as exc:
        return _answer(409, str(exc), filename=name)
    log.info("upload API: received %s (%s bytes)", name, len(data))
    return _answer(
        200, "Successfully received file and extracted information", filename=name, received=received
    )


def _uploaded(drop: Path) -> list[str]:
    return sorted(
        p.name for p in drop.glob("*.root") if "DQM" in p.name.upper() and not p.name.startswith(".")
    )


def list_files() -> ResponseReturnValue:
    if (problem := _token_problem()) is not None:
        return problem
    return flask.jsonify({"files": _uploaded(services().settings.drop_path)})


def get_file(name: str) -> ResponseReturnValue:
    if (problem := _token_problem()) is not None:
        return problem
    drop = services().settings.drop_path
    if name not in _uploaded(drop):
        return _answer(404, f"No uploaded file called {name!r}")
    return flask.send_from_directory(drop.resolve(), name, as_attachment=True)


def register_upload_api(server: flask.Flask) -> None:
    server.add_url_rule("/rest/api/files", "upload_list", list_files, methods=["GET"])
    server.add_url_rule("/rest/api/files", "upload_post", post_file, methods=["POST"])
    # <path:...>, like the public route the login gate opens: every address below the API is answered by
    # the API (a name with a slash is simply no uploaded file), never by a Dash page.
    server.add_url_rule("/rest/api/files/<path:name>", "upload_get", get_file, methods=["GET"])
