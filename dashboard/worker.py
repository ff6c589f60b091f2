"""Entry point of `overwatch worker`: the same app (so the same callback tasks) and its Celery instance."""

from dashboard.factory import create_app

app = create_app()
manager = app._background_manager
if not hasattr(manager, "handle") or not type(manager).__name__.startswith("Celery"):
    raise SystemExit("overwatch worker needs celery_broker_url (or OVERWATCH_CELERY_BROKER_URL) to be set")
celery = manager.handle
