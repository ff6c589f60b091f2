"""The core services one app uses (catalog, caches, views, trends, users), reachable from any request."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import diskcache
import flask

from overwatch_core import filenames
from overwatch_core.catalog import Catalog
from overwatch_core.histograms import HistogramCache
from overwatch_core.processing import open_services
from overwatch_core.settings import Settings
from overwatch_core.trending import TrendStore
from overwatch_core.users import UserStore
from overwatch_core.views import ViewService

EXTENSION_KEY = "overwatch"


@dataclass
class Services:
    """Everything pages and callbacks need from the core, built once per app."""

    settings: Settings
    catalog: Catalog
    hist_cache: HistogramCache
    views: ViewService
    trends: TrendStore
    users: UserStore

    @classmethod
    def build(cls, settings: Settings) -> Services:
        catalog, hist_cache = open_services(settings)
        view_cache = diskcache.Cache(
            str(settings.cache_path / "views"), size_limit=settings.view_cache_mb * 2**20
        )
        delay = settings.slice_delay_seconds
        views = ViewService(
            settings, catalog, hist_cache, view_cache, (lambda: time.sleep(delay)) if delay else None
        )
        return cls(settings, catalog, hist_cache, views, TrendStore(catalog), UserStore(catalog))

    @property
    def tz_name(self) -> str:
        return self.settings.timezone

    def now(self) -> datetime:
        return datetime.now(filenames.zone(self.settings.timezone))

    def ongoing_run(self) -> int | None:
        return self.catalog.ongoing_run(self.now(), self.settings.ongoing_minutes)


def services() -> Services:
    """The services of the app serving the current request."""
    found: Services = flask.current_app.extensions[EXTENSION_KEY]
    return found
