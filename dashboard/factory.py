"""``create_app(settings)``: Flask server, Dash app, services, auth, pages, routes and callbacks."""

from __future__ import annotations

import logging
from pathlib import Path

import dash
import flask

from dashboard import shell
from dashboard.api_jobs import init_api_jobs
from dashboard.auth import init_auth
from dashboard.callbacks import register_callbacks
from dashboard.pages import register_pages
from dashboard.routes import register_routes
from dashboard.services import EXTENSION_KEY, Services
from dashboard.upload import register_upload_api
from overwatch_core.settings import Settings, load_settings

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"

_INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
{%metas%}
<title>{%title%}</title>
<link rel="icon" type="image/svg+xml" href="/assets/logo.svg">
{%css%}
</head>
<body>
{%app_entry%}
<footer>{%config%}{%scripts%}{%renderer%}</footer>
</body>
</html>"""


def background_manager(settings: Settings) -> dash.DiskcacheManager | dash.CeleryManager:
    """Diskcache in the instance folder (shared by every gunicorn worker on the host), or Celery + Redis."""
    if settings.celery_broker_url:
        from dashboard.jobs import CeleryJobs, celery_app

        return CeleryJobs(celery_app(settings.celery_broker_url))
    import diskcache

    directory = settings.instance_path / "jobs"
    directory.mkdir(parents=True, exist_ok=True)
    from dashboard.jobs import DiskcacheJobs

    return DiskcacheJobs(diskcache.Cache(str(directory)))


def create_app(settings: Settings | None = None) -> dash.Dash:
    """Build one complete app; tests build as many as they need."""
    settings = settings or load_settings()
    settings.data_path.mkdir(parents=True, exist_ok=True)
    server = flask.Flask(__name__)
    services = Services.build(settings)
    server.extensions[EXTENSION_KEY] = services
    app = dash.Dash(
        "dashboard",
        server=server,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ASSETS),
        title=shell.TITLE,
        update_title=None,
        suppress_callback_exceptions=True,
        background_callback_manager=background_manager(settings),
        external_stylesheets=[],
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.index_string = _INDEX
    register_pages()
    app.layout = shell.layout
    init_auth(app, services.users, settings)
    register_routes(server)
    init_api_jobs(app)
    register_upload_api(server)
    register_callbacks(app)
    log.info("app ready: data in %s, catalog %s", settings.data_path, settings.catalog_url.split("://")[0])
    return app


__all__ = ["create_app"]
