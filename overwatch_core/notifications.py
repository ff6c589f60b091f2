"""Alarm notifications by mail (SMTP, STARTTLS optional) and chat webhooks (Slack/Mattermost-compatible JSON).

One message per alarm state change of a trend within a run (raised, or cleared again), not per file. They
are sent from a queue by a background thread with retries, so a slow or dead mail server or chat never
blocks or fails ingest; what cannot be sent after the retries is logged.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import smtplib
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from overwatch_core.settings import Settings

log = logging.getLogger(__name__)

#: The SMTP password comes from the environment only, never from a file in the repository.
SMTP_PASSWORD_ENV = "OVERWATCH_SMTP_PASSWORD"


@dataclass(frozen=True)
class AlarmChange:
    """A trend of a run whose alarm state changed at a file: raised (with the alarms' messages) or cleared."""

    run_number: int
    subsystem: str
    trend: str
    timestamp: datetime
    raised: bool
    messages: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        state = "ALARM" if self.raised else "cleared"
        return f"Overwatch {state}: run {self.run_number} {self.subsystem} {self.trend}"

    @property
    def text(self) -> str:
        when = f"{self.timestamp:%Y-%m-%d %H:%M:%S %Z}"
        if not self.raised:
            return f"{self.subject} at {when}: the trend is within its alarms again."
        return f"{self.subject} at {when}:\n" + "\n".join(f"- {m}" for m in self.messages)


Send = Callable[[AlarmChange], None]


def mail_sender(settings: Settings) -> Send | None:
    """A sender for the configured SMTP server, or None when mail is off (no host or no recipients)."""
    if not settings.notify_smtp_host or not settings.notify_mail_to:
        return None

    def send(change: AlarmChange) -> None:
        message = EmailMessage()
        message["Subject"] = change.subject
        message["From"] = settings.notify_mail_from
        message["To"] = ", ".join(settings.notify_mail_to)
        message.set_content(change.text)
        with smtplib.SMTP(settings.notify_smtp_host, settings.notify_smtp_port, timeout=10) as smtp:
            if settings.notify_smtp_starttls:
                smtp.starttls()
            password = os.environ.get(SMTP_PASSWORD_ENV)
            if settings.notify_smtp_user and password:
                smtp.login(settings.notify_smtp_user, password)
            smtp.send_message(message)

    return send


def webhook_sender(url: str) -> Send:
    """A sender posting ``{"text": …}``, which Slack and Mattermost incoming webhooks both accept."""

    def send(change: AlarmChange) -> None:
        body = json.dumps({"text": change.text}).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    return send


class Notifier:
    """A queue and one background thread sending every change through every configured channel."""

    def __init__(self, senders: Sequence[tuple[str, Send]], retries: int = 3, backoff: float = 1.0) -> None:
        self.senders = tuple(senders)
        self.retries = retries
        self.backoff = backoff
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[AlarmChange | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="alarm-notifications", daemon=True)
        if self.senders:
            self._thread.start()

    @classmethod
    def from_settings(cls, settings: Settings) -> Notifier:
        senders: list[tuple[str, Send]] = [
            (f"webhook {url}", webhook_sender(url)) for url in settings.notify_webhooks
        ]
        mail = mail_sender(settings)
        if mail is not None:
            senders.insert(0, (f"mail via {settings.notify_smtp_host}", mail))
        return cls(senders)

    def notify(self, changes: Sequence[AlarmChange]) -> None:
        """Queue ``changes``; returns at once."""
        if self.senders:
            for change in changes:
                self._queue.put(change)

    def close(self, timeout: float = 30.0) -> None:
        """Send what is queued (up to ``timeout``), then stop the thread."""
        if self.senders and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        while (change := self._queue.get()) is not None:
            for name, send in self.senders:
                self._deliver(name, send, change)

    def _deliver(self, name: str, send: Send, change: AlarmChange) -> None:
        for attempt in range(1, self.retries + 1):
            try:
                send(change)
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("notification by %s failed (try %s of %s): %s", name, attempt, self.retries, exc)
                time.sleep(self.backoff * attempt)
                continue
            self.sent += 1
            return
        self.failed += 1
        log.error("notification by %s given up after %s tries: %s", name, self.retries, change.subject)
