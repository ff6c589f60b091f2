"""Celery for background callbacks across hosts (SPEC §12): the app object, and the worker's entry point."""

from __future__ import annotations

from typing import Any


def celery_app(broker_url: str) -> Any:
    """A Celery app using Redis (or any broker URL) as broker and result store; JSON only, no pickle."""
    from celery import Celery

    app = Celery("overwatch", broker=broker_url, backend=broker_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=3600,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
    )
    return app
