"""Entry point of `overwatch worker`: the same app (so the same callback tasks) and its Celery instance."""

from typing import Any

from celery.signals import setup_logging

from dashboard.factory import create_app
from overwatch_core.logs import configure_logging
from overwatch_core.notifications import register_notify_task
from overwatch_core.settings import load_settings

settings = load_settings()
if settings.log_format == "json":
    configure_logging(settings)  # before the app is built: what it logs is JSON too

    @setup_logging.connect  # type: ignore[untyped-decorator]
    def _json_logs(**_kwargs: Any) -> None:
        """With a receiver Celery leaves logging alone: its lines and the tasks' go out as JSON."""
        configure_logging(settings)


app = create_app(settings)
manager = app._background_manager
if not hasattr(manager, "handle") or not type(manager).__name__.startswith("Celery"):
    raise SystemExit("overwatch worker needs celery_broker_url (or OVERWATCH_CELERY_BROKER_URL) to be set")
celery = manager.handle
register_notify_task(celery, settings)  # alarm notifications, when the processing loop hands them over
