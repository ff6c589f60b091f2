"""The Overwatch Dash web app: built by ``create_app(settings)``; nothing happens at import."""

from dashboard.factory import create_app

__all__ = ["create_app"]
