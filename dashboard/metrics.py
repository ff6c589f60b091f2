"""Prometheus metrics at ``/metrics`` (prometheus-client): what an operator scrapes and alerts on.

Facts every host shares come from the catalog at scrape time (files per subsystem, ingest lag, failed and
pending files, recent failed logins, whether a processing leader holds the lease, and the processing loop's
last pass: it runs in another process, often on another host, and stores its numbers there), so any host
answers for all. Request durations and time-slice requests are counted in each gunicorn worker, time-slice
jobs where they run: a forked diskcache job or this host's `overwatch worker`. With
``PROMETHEUS_MULTIPROC_DIR`` set (`overwatch serve` and `overwatch worker` each set their folder of the
instance folder) prometheus-client's multiprocess mode adds up all those processes of this host; Prometheus
adds up the hosts. The Celery queue depth is read from Redis at scrape time. The decoded-histogram cache
counters are this worker's own.

Reachable with an admin session or ``Authorization: Bearer $OVERWATCH_METRICS_TOKEN``, never anonymously.
"""

from __future__ import annotations

import glob
import hmac
import logging
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import flask
import sqlalchemy as sa
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from dashboard.auth import has_role
from dashboard.services import services
from overwatch_core.catalog import PassRecord, file_status, files, leases, login_failures

log = logging.getLogger(__name__)

TOKEN_ENV = "OVERWATCH_METRICS_TOKEN"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"

REQUESTS = Histogram(
    "overwatch_request_seconds",
    "Time to answer a request, by kind (page, callback, api, file, other).",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SLICE_REQUESTS = Counter(
    "overwatch_time_slice_requests",
    "Time slices asked for on this host, by answer: from the shared view cache, or a background job.",
    ["answer"],
)
SLICE_JOBS = Counter(
    "overwatch_time_slice_jobs",
    "Time-slice jobs run (by the Celery worker or a forked diskcache job), by outcome: done or failed.",
    ["outcome"],
)
SLICE_JOB_SECONDS = Histogram(
    "overwatch_time_slice_job_seconds",
    "Duration of a time-slice job: computing the slice and drawing what changes.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
#: What this process counts itself (without multiprocess mode they are registered directly).
OWN_METRICS = (REQUESTS, SLICE_REQUESTS, SLICE_JOBS, SLICE_JOB_SECONDS)
#: The queue Celery puts background-callback tasks on (the default queue), a list in Redis.
CELERY_QUEUE = "celery"


def count_slice_request(cached: bool) -> None:
    SLICE_REQUESTS.labels("cache" if cached else "job").inc()


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
        yield from _pass_metrics(svc.catalog.last_pass(), now)
        stats = svc.hist_cache.stats
        cache = GaugeMetricFamily(
            "overwatch_histogram_cache", "This worker's decoded-histogram cache counters.", labels=["counter"]
        )
        for name in ("hits", "disk_hits", "misses", "decodes"):
            cache.add_metric([name], getattr(stats, name))
        yield cache


def _pass_metrics(last: PassRecord | None, now: float) -> Iterator[Metric]:
    """The processing loop's last pass and its totals, as the loop stored them in the catalog."""
    if last is None:
        return
    gauges = (
        ("seconds", "Duration of the processing loop's last pass.", last.seconds),
        ("files", "Files the last pass stored.", last.stored),
        ("decodes", "Files the last pass decoded.", last.decodes),
        ("age_seconds", "Time since the last pass ended.", max(0.0, now - last.finished)),
    )
    for name, text, value in gauges:
        yield GaugeMetricFamily(f"overwatch_process_last_pass_{name}", text, value=value)
    yield CounterMetricFamily("overwatch_process_passes", "Processing passes run.", value=last.passes_total)
    yield CounterMetricFamily(
        "overwatch_process_decodes", "Files decoded by processing passes.", value=last.decodes_total
    )
    yield CounterMetricFamily(
        "overwatch_process_pass_seconds", "Time spent in processing passes.", value=last.seconds_total
    )


class QueueCollector(Collector):
    """Background jobs waiting in the Celery queue, read from Redis at scrape time."""

    def __init__(self, broker_url: str) -> None:
        self.broker_url = broker_url

    def collect(self) -> Iterator[Metric]:
        import redis

        try:
            with redis.Redis.from_url(self.broker_url, socket_timeout=2) as client:
                depth = client.llen(CELERY_QUEUE)
        except redis.RedisError as exc:  # Redis away: the other metrics still answer
            log.warning("the Celery queue depth is unknown: %s", exc)
            return
        yield GaugeMetricFamily(
            "overwatch_time_slice_queue_depth",
            "Background jobs waiting in the Celery queue for a worker.",
            value=float(depth),
        )


class FoldersCollector(Collector):
    """prometheus-client's multiprocess files of several folders (serve's and the worker's) merged as one."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = tuple(folders)

    def collect(self) -> Iterator[Metric]:
        paths = [path for folder in self.folders for path in sorted(glob.glob(str(folder / "*.db")))]
        return iter(MultiProcessCollector.merge(paths, accumulate=True))  # type: ignore[no-untyped-call]


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    settings = services().settings
    if os.environ.get(MULTIPROC_ENV):
        registry.register(FoldersCollector([Path(os.environ[MULTIPROC_ENV]), settings.worker_metrics_path]))
    else:
        for metric in OWN_METRICS:
            registry.register(metric)
    registry.register(CatalogCollector())
    if settings.celery_broker_url:
        registry.register(QueueCollector(settings.celery_broker_url))
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
