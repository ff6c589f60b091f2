"""Alarm notifications through Celery: with `celery_broker_url` set the processing loop hands each message to
the broker and the real `overwatch worker` sends it, retrying a refusal; still one message per alarm state
change. Against a real redis-server, a local SMTP server (aiosmtpd) and a local webhook receiver."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Mailbox
from tests.integration.processes import Started, overwatch_command, start_redis, wait_for

HOT_ALARM = {"maxFastORL0": [{"kind": "between_values", "min_value": 0, "max_value": 0.01, "label": "hot"}]}
SUBJECT = "Overwatch ALARM: run 300003 EMC maxFastORL0"
SENT = re.compile(r"Task overwatch\.notify_alarm\[[\w-]+\] succeeded")


@pytest.fixture
def flaky_webhook() -> Iterator[tuple[str, list[dict[str, Any]], list[int]]]:
    """A chat receiver that refuses the first post (HTTP 503) and takes the others: (url, taken, statuses)."""
    taken: list[dict[str, Any]] = []
    statuses: list[int] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status = 503 if not statuses else 200
            statuses.append(status)
            if status == 200:
                taken.append(body)
            self.send_response(status)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/abc", taken, statuses
    server.shutdown()
    server.server_close()


def test_the_worker_sends_alarm_notifications_with_retries(
    start: Callable[..., Started],
    demo_data: Path,
    tmp_path: Path,
    smtp: tuple[int, Mailbox],
    flaky_webhook: tuple[str, list[dict[str, Any]], list[int]],
) -> None:
    data = tmp_path / "data"
    shutil.copytree(demo_data, data, ignore=lambda _folder, _names: ["cache"])
    url, taken, statuses = flaky_webhook
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERWATCH_")}
    env.update(
        OVERWATCH_DATA_FOLDER=str(data),
        OVERWATCH_INSTANCE_FOLDER=str(tmp_path / "instance"),
        OVERWATCH_ALARMS=json.dumps(HOT_ALARM),
        OVERWATCH_NOTIFY_SMTP_HOST="127.0.0.1",
        OVERWATCH_NOTIFY_SMTP_PORT=str(smtp[0]),
        OVERWATCH_NOTIFY_MAIL_TO="shift-leader@example.org",
        OVERWATCH_NOTIFY_WEBHOOKS=url,
    )
    env["OVERWATCH_CELERY_BROKER_URL"] = start_redis(start, env, tmp_path)
    worker = start("worker", [*overwatch_command(), "worker", "--concurrency", "1"], env)
    wait_for(lambda: " ready." in worker.output(), "the Celery worker to be ready", worker)

    # Every trend value again: run 300003's hot FastORs raise the alarm at minute 5 and keep it to the end.
    rebuilt = subprocess.run(
        [*overwatch_command(), "rebuild", "--trending"], env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "notification by" not in rebuilt.stderr, "the processing side only hands messages over"

    wait_for(lambda: len(SENT.findall(worker.output())) == 2, "the mail and the chat task to succeed", worker)
    assert [m["Subject"] for m in smtp[1].messages] == [SUBJECT]
    assert "hot" in smtp[1].messages[0].get_payload()
    assert statuses == [503, 200], "refused once, then sent by the task's retry"
    assert [t["text"].splitlines()[0].startswith(SUBJECT) for t in taken] == [True]
    output = worker.output()
    assert f"notification by webhook {url} failed (try 1 of 3)" in output
    assert f"notification by webhook {url} sent: {SUBJECT}" in output
    assert "notification by mail via 127.0.0.1 sent" in output
