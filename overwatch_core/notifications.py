"""Alarm notifications by mail (SMTP, STARTTLS optional) and chat webhooks (Slack/Mattermost-compatible JSON).

One message per alarm state change of a trend within a run (raised, or cleared again), not per file. They
are sent from a queue by a background thread with retries, so a slow or dead mail server or chat never
blocks or fails ingest; what cannot be sent after the retries is logged.

With Celery configured (``celery_broker_url``) the thread only hands each message and channel to the broker
as a task (``NOTIFY_TASK``), and `overwatch worker` sends it, with its own retries: a processing host then
needs no route to the mail server or the chat. The worker sends only to channels its own settings name.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import queue
import smtplib
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from overwatch_core.settings import Settings

log = logging.getLogger(__name__)

#: The SMTP password comes from the environment only, never from a file in the repository.
SMTP_PASSWORD_ENV = "OVERWATCH_SMTP_PASSWORD"
#: The Celery task that sends one message through one channel (registered by `overwatch worker`).
NOTIFY_TASK = "overwatch.notify_alarm"
MAIL = "mail"
#: Tries of a Celery task (the first and two retries, 1 s and 2 s later), like the thread's.
TASK_TRIES = 3


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

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict for a Celery task (the time with its zone)."""
        return {**asdict(self), "timestamp": self.timestamp.isoformat(), "messages": list(self.messages)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlarmChange:
        values = {**data, "timestamp": datetime.fromisoformat(data["timestamp"])}
        return cls(**{**values, "messages": tuple(data["messages"])})


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


def channels(settings: Settings) -> list[str]:
    """The configured channels: "mail" (when a server and recipients are set), then each webhook URL."""
    return ([MAIL] if mail_sender(settings) is not None else []) + list(settings.notify_webhooks)


def sender_for(settings: Settings, channel: str) -> Send:
    """The sender of one configured channel; a channel the settings do not name is refused."""
    if channel == MAIL:
        mail = mail_sender(settings)
        if mail is not None:
            return mail
    elif channel in settings.notify_webhooks:
        return webhook_sender(channel)
    raise ValueError(f"notification channel {channel!r} is not configured here")


def _channel_name(settings: Settings, channel: str) -> str:
    return f"mail via {settings.notify_smtp_host}" if channel == MAIL else f"webhook {channel}"


@functools.cache
def _broker(broker_url: str) -> Any:
    """A Celery client of the broker, only to send tasks (JSON, like the worker's app)."""
    from celery import Celery

    app = Celery("overwatch-notifications", broker=broker_url)
    app.conf.update(task_serializer="json", accept_content=["json"], broker_connection_retry_on_startup=True)
    return app


def celery_sender(broker_url: str, channel: str) -> Send:
    """A "sender" handing the change to the broker as a task for `overwatch worker` (which sends it)."""
    from kombu.exceptions import OperationalError

    def send(change: AlarmChange) -> None:
        try:
            _broker(broker_url).send_task(NOTIFY_TASK, args=[channel, change.to_json()], ignore_result=True)
        except OperationalError as exc:  # the broker is away: the queue's thread tries again
            raise OSError(f"the Celery broker did not take the task: {exc}") from exc

    return send


def register_notify_task(app: Any, settings: Settings) -> Any:
    """Define ``NOTIFY_TASK`` on the worker's Celery ``app``: send through the channel, retried on failure."""

    @app.task(name=NOTIFY_TASK, bind=True, max_retries=TASK_TRIES - 1, ignore_result=True)  # type: ignore[untyped-decorator]
    def notify_alarm(task: Any, channel: str, change: dict[str, Any]) -> None:
        alarm, name = AlarmChange.from_json(change), _channel_name(settings, channel)
        try:
            sender_for(settings, channel)(alarm)
        except (OSError, smtplib.SMTPException) as exc:
            tries = task.request.retries + 1
            if tries >= TASK_TRIES:
                log.error("notification by %s given up after %s tries: %s", name, tries, alarm.subject)
                raise
            log.warning("notification by %s failed (try %s of %s): %s", name, tries, TASK_TRIES, exc)
            raise task.retry(exc=exc, countdown=tries) from exc
        log.info("notification by %s sent: %s", name, alarm.subject)

    return notify_alarm


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
        """Sending itself, or with Celery configured handing each message to `overwatch worker`."""
        if settings.celery_broker_url:
            url = settings.celery_broker_url
            return cls(
                [
                    (f"Celery task for {_channel_name(settings, c)}", celery_sender(url, c))
                    for c in channels(settings)
                ]
            )
        return cls([(_channel_name(settings, c), sender_for(settings, c)) for c in channels(settings)])

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
