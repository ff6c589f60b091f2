"""Alarm notifications: one message per alarm state change, by mail to a real local SMTP server (aiosmtpd)
and to a local webhook receiver, sent from a queue with retries that never holds processing up."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from overwatch_core.notifications import AlarmChange, Notifier, channels, sender_for
from overwatch_core.processing import Processor, open_services
from overwatch_core.settings import load_settings
from tests.conftest import Mailbox

HOT_ALARM = {"maxFastORL0": [{"kind": "between_values", "min_value": 0, "max_value": 0.01, "label": "hot"}]}


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/abc", received
    server.shutdown()
    server.server_close()


def test_one_message_per_state_change_by_mail_and_webhook(
    demo_data: Path, tmp_path: Path, smtp: tuple[int, Mailbox], webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    """Run 300003's hot FastORs alarm from minute 5 to its end: one "ALARM" message, not one per file."""
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    settings = load_settings(
        None,
        env={},
        data_folder=str(data),
        alarms=HOT_ALARM,
        notify_smtp_host="127.0.0.1",
        notify_smtp_port=smtp[0],
        notify_mail_to=["shift-leader@example.org"],
        notify_webhooks=[webhook[0]],
    )
    processor = Processor(settings, *open_services(settings))
    processor.recompute_trends()
    processor.notifier.close()
    mails = smtp[1].messages
    assert [m["Subject"] for m in mails] == ["Overwatch ALARM: run 300003 EMC maxFastORL0"]
    assert mails[0]["To"] == "shift-leader@example.org"
    assert "hot" in mails[0].get_payload()
    assert [w["text"].splitlines()[0][:45] for w in webhook[1]] == [
        "Overwatch ALARM: run 300003 EMC maxFastORL0 a"
    ]
    assert processor.notifier.failed == 0


def change(raised: bool = True) -> AlarmChange:
    return AlarmChange(1, "EMC", "maxFastORL0", datetime(2025, 1, 1), raised, ("value 3 outside [0, 1]",))


def test_retries_then_gives_up_and_never_blocks() -> None:
    calls: list[float] = []

    def flaky(_change: AlarmChange) -> None:
        calls.append(time.monotonic())
        if len(calls) < 2:
            raise OSError("connection refused")

    def dead(_change: AlarmChange) -> None:
        raise OSError("no route to host")

    release = threading.Event()

    def slow(_change: AlarmChange) -> None:
        release.wait(30)

    notifier = Notifier([("flaky", flaky), ("dead", dead)], retries=3, backoff=0.0)
    notifier.notify([change()])
    notifier.close()
    assert (len(calls), notifier.sent, notifier.failed) == (2, 1, 1)
    blocked = Notifier([("slow", slow)], backoff=0.0)
    blocked.notify([change(), change(False)])  # returns while the sender is still stuck
    assert blocked.sent == 0
    release.set()
    blocked.close()
    assert blocked.sent == 2


def test_without_channels_nothing_is_started() -> None:
    notifier = Notifier.from_settings(load_settings(None, env={}))
    notifier.notify([change()])
    assert not notifier.senders
    assert "cleared" in change(False).subject


def test_a_change_travels_as_json_to_configured_channels_only() -> None:
    """What a Celery task carries: the change round-trips through JSON; the worker sends only where its own
    settings say (a message naming another URL is refused)."""
    zoned = AlarmChange(1, "EMC", "maxFastORL0", datetime(2025, 1, 1, tzinfo=UTC), True, ("a", "b"))
    assert AlarmChange.from_json(json.loads(json.dumps(zoned.to_json()))) == zoned
    settings = load_settings(None, env={}, notify_webhooks=["http://chat.example.org/hook"])
    assert channels(settings) == ["http://chat.example.org/hook"]
    with pytest.raises(ValueError, match="not configured"):
        sender_for(settings, "http://elsewhere.example.org/hook")
    with pytest.raises(ValueError, match="not configured"):
        sender_for(settings, "mail")  # no SMTP server set
