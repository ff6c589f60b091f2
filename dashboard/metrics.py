"""Prometheus metrics at ``/metrics`` (prometheus-client): what an operator scrapes and alerts on.

Facts every host shares come from the catalog at scrape time (files per subsystem, ingest lag, failed and
pending files, recent failed logins, whether a processing leader holds the lease), so any host answers for
all. Request durations are counted in each gunicorn worker; with ``PROMETHEUS_MULTIPROC_DIR`` set (which
`overwatch serve` does) prometheus-client's multiprocess mode adds up the workers. The decoded-histogram
cache counters are this worker's own.

Reachable with an admin session or ``Authorization: Bearer $OVERWATCH_METRICS_TOKEN``, never anonymously.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator

import flask
import sqlalchemy as sa
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from dashboard.auth import has_role
from dashboard.services import services
from overwatch_core.catalog import file_status, files, leases, login_failures

TOKEN_ENV = "OVERWATCH_METRICS_TOKEN"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"

REQUESTS = Histogram(
    "overwatch_request_seconds",
    "Time to answer a request, by kind (page, callback, api, file, other).",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _kind(path: str) -> str:
    if path.startswith("/_dash-update-component"):
        return "callback"
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/files/"):
        return "file"
    if path.startswith(("/_dash", "/assets", PATH)):
        return "other"
    return "page"


class CatalogCollector(Collector):
    """Gauges read from the catalog (and this worker's cache) each time Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        svc = services()
        now = time.time()
        with svc.catalog.engine.connect() as conn:
            per_location = conn.execute(
                sa.select(files.c.location, sa.func.count(), sa.func.max(files.c.timestamp)).group_by(
                    files.c.location
                )
            ).all()
            states = dict(
                conn.execute(
                    sa.select(file_status.c.state, sa.func.count()).group_by(file_status.c.state)
                ).all()
            )
            failures = conn.execute(
                sa.select(sa.func.count()).where(login_failures.c.timestamp >= int(now) - 3600)
            ).scalar_one()
            leader = conn.execute(sa.select(sa.func.count()).where(leases.c.expires > now)).scalar_one()
        count = GaugeMetricFamily(
            "overwatch_files", "Files recorded in the catalog, per subsystem.", labels=["subsystem"]
        )
        lag = GaugeMetricFamily(
            "overwatch_ingest_lag_seconds",
            "Now minus the newest file's time, per subsystem.",
            labels=["subsystem"],
        )
        for location, number, newest in per_location:
            count.add_metric([location], number)
            lag.add_metric([location], max(0.0, now - newest))
        yield count
        yield lag
        state = GaugeMetricFamily(
            "overwatch_file_states", "Stored files per processing state.", labels=["state"]
        )
        for name in ("pending", "done", "failed"):
            state.add_metric([name], states.get(name, 0))
        yield state
        yield GaugeMetricFamily(
            "overwatch_failed_logins_last_hour", "Failed logins in the last hour.", value=failures
        )
        yield GaugeMetricFamily(
            "overwatch_processing_leader", "1 while a processing loop holds the lease.", value=leader
        )
        stats = svc.hist_cache.stats
        cache = GaugeMetricFamily(
            "overwatch_histogram_cache", "This worker's decoded-histogram cache counters.", labels=["counter"]
        )
        for name in ("hits", "disk_hits", "misses", "decodes"):
            cache.add_metric([name], getattr(stats, name))
        yield cache


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # the request histograms of every worker
    else:
        registry.register(REQUESTS)
    registry.register(CatalogCollector())
    return registry


def _allowed() -> bool:
    expected = os.environ.get(TOKEN_ENV, "")
    header = flask.request.headers.get("Authorization", "")
    scheme, _, sent = header.partition(" ")
    if expected and scheme.lower() == "bearer" and hmac.compare_digest(sent.strip(), expected):
        return True
    return has_role("admin")


def metrics() -> ResponseReturnValue:
    if not _allowed():
        return flask.Response(
            "metrics need an admin session or the metrics token\n", status=401, mimetype="text/plain"
        )
    return flask.Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def register_metrics(server: flask.Flask) -> None:
    """The /metrics route (public to the login gate: it checks admin or token itself) and request timing."""

    @server.before_request
    def _start() -> None:
        flask.g.metrics_started = time.perf_counter()

    @server.after_request
    def _observe(response: flask.Response) -> flask.Response:
        started = flask.g.get("metrics_started")
        if started is not None:
            REQUESTS.labels(_kind(flask.request.path)).observe(time.perf_counter() - started)
        return response

    server.add_url_rule(PATH, "metrics", metrics)
