"""`log_format = "json"` in the real services: `overwatch serve` (gunicorn's lines, the access log, the app),
`overwatch worker` (Celery's lines) and `overwatch process --watch` write one JSON object per line."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.integration.processes import Started, free_port, overwatch_command, serve, start_redis, wait_for

KEYS = {"time", "level", "logger", "message"}


def entries(item: Started) -> list[dict[str, Any]]:
    """Every line of the output as JSON (a line that is not fails the test, naming it)."""
    found = []
    for line in item.output().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"{item.name}: not a JSON line: {line!r}\n{item.tail()}") from None
    assert all(set(entry) >= KEYS for entry in found), item.tail()
    return found


def logged(item: Started, logger: str, text: str) -> bool:
    return any(e["logger"].startswith(logger) and text in e["message"] for e in entries(item))


def test_services_log_json_lines(start: Callable[..., Started], demo_data: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(demo_data, data, ignore=lambda _folder, _names: ["cache"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERWATCH_")}
    env.update(
        OVERWATCH_DATA_FOLDER=str(data),
        OVERWATCH_INSTANCE_FOLDER=str(tmp_path / "instance"),
        OVERWATCH_SECRET_KEY=secrets.token_hex(32),
        OVERWATCH_LOG_FORMAT="json",
        OVERWATCH_PORT=str(free_port()),
        OVERWATCH_WORKERS="1",
        OVERWATCH_SETTLE_SECONDS="0",
        OVERWATCH_PROCESS_PERIOD_SECONDS="0.5",
    )
    env["OVERWATCH_CELERY_BROKER_URL"] = start_redis(start, env, tmp_path)
    worker = start("worker", [*overwatch_command(), "worker", "--concurrency", "1"], env)
    loop = start("process", [*overwatch_command(), "process", "--watch"], env)
    server, base_url = serve(start, env, worker, loop)
    with urllib.request.urlopen(f"{base_url}/status", timeout=30) as response:
        assert response.read() == b"Alive"

    wait_for(lambda: logged(server, "gunicorn.access", "GET /status"), "the access log line", server)
    wait_for(lambda: logged(server, "gunicorn.error", "Booting worker"), "gunicorn's own lines", server)
    wait_for(lambda: logged(worker, "celery", " ready."), "the worker, ready", worker)
    wait_for(lambda: logged(loop, "overwatch_core.ingest", "ingest pass"), "a processing pass", loop)
    assert logged(loop, "overwatch", "watching")
    for item in (server, worker, loop):
        assert not any(e["level"] in {"ERROR", "CRITICAL"} for e in entries(item)), item.tail()
