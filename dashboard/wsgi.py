"""Entry point for gunicorn (`overwatch serve` runs `dashboard.wsgi:server`), set up from the environment."""

from dashboard.factory import create_app

app = create_app()
server = app.server
