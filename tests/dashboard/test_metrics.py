"""/metrics: Prometheus text for an admin session or the metrics token, refused to everyone else; the values
match the catalog, requests and time-slice jobs are counted, the worker's folder is added in, the processing
loop's last pass comes from the catalog and the Celery queue depth from Redis."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dash
import pytest
import redis
from flask.testing import FlaskClient
from flask_login import login_user
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import TestResponse

from dashboard.auth import SessionUser
from dashboard.callbacks.time_slices import cached, job, job_result
from dashboard.metrics import CELERY_QUEUE, FoldersCollector
from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.settings import load_settings
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.users import User, UserStore

TOKEN = "metrics-secret-for-tests"


@pytest.fixture(scope="module")
def metrics_data(make_app_data: Callable[[], Path]) -> Path:
    data = make_app_data()
    settings = load_settings(None, env={}, data_folder=str(data))
    UserStore(Catalog.connect(settings.catalog_url, zone(settings.timezone)), rounds=4).add(
        "ada", "ada-pw", "admin"
    )
    return data


@pytest.fixture
def client(
    make_app: Callable[..., dash.Dash], metrics_data: Path, monkeypatch: pytest.MonkeyPatch
) -> FlaskClient:
    monkeypatch.setenv("OVERWATCH_METRICS_TOKEN", TOKEN)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    return make_app(metrics_data).server.test_client()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_refused_without_admin_or_token(
    client: FlaskClient, auth_login: Callable[..., TestResponse], metrics_data: Path
) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert auth_login(client, "shirley", "shirley-pw").status_code == 302  # a shifter
    assert client.get("/metrics").status_code == 401


def test_an_admin_session_or_the_token_gets_the_metrics(
    client: FlaskClient, auth_login: Callable[..., TestResponse], metrics_data: Path
) -> None:
    by_token = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert by_token.status_code == 200
    assert by_token.mimetype == "text/plain"
    values = samples(by_token.get_data(as_text=True))
    catalog = Catalog.connect(
        load_settings(None, env={}, data_folder=str(metrics_data)).catalog_url, zone("UTC")
    )
    emc_files = sum(len(catalog.run(n).subsystem("EMC").files) for n in catalog.run_numbers())
    assert values[("overwatch_files", (("subsystem", "EMC"),))] == emc_files
    assert values[("overwatch_ingest_lag_seconds", (("subsystem", "EMC"),))] > 0
    assert values[("overwatch_file_states", (("state", "failed"),))] == 0
    assert ("overwatch_processing_leader", ()) in values
    assert auth_login(client, "ada", "ada-pw").status_code == 302
    client.get("/contact")
    by_session = samples(client.get("/metrics").get_data(as_text=True))
    assert by_session[("overwatch_request_seconds_count", (("kind", "page"),))] >= 1


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return samples(response.get_data(as_text=True))


def job_count(values: dict[tuple[str, tuple[tuple[str, str], ...]], float], outcome: str) -> float:
    return values.get(("overwatch_time_slice_jobs_total", (("outcome", outcome),)), 0.0)


def test_time_slice_jobs_are_counted_where_they_run(client: FlaskClient, tmp_path: Path) -> None:
    before = scrape(client)
    context = {"run": 300003, "subsystem": "EMC", "group": "FastOR", "hist": None, "href": "/runs/300003/EMC"}
    slice_request = TimeSliceRequest(1, 4, True, 0)
    with client.application.test_request_context("/"):
        login_user(SessionUser(User("shirley", "shifter")))
        assert cached(slice_request, context) is None  # asked for, not cached: a job
        assert job_result(lambda _p: None, job(slice_request, context, [], push=True))["kind"] == "patch"
        assert cached(slice_request, context) is not None  # asked again: from the view cache
        missing_run = {**context, "run": 999999}
        assert job_result(lambda _p: None, job(slice_request, missing_run, [], push=True))["kind"] == "error"
    after = scrape(client)
    assert job_count(after, "done") == job_count(before, "done") + 1
    assert job_count(after, "failed") == job_count(before, "failed") + 1
    duration = ("overwatch_time_slice_job_seconds_count", ())
    assert after[duration] == before.get(duration, 0) + 2
    assert after[("overwatch_time_slice_job_seconds_sum", ())] > before.get(
        ("overwatch_time_slice_job_seconds_sum", ()), 0
    )
    for answer in ("job", "cache"):
        key = ("overwatch_time_slice_requests_total", (("answer", answer),))
        assert after[key] == before.get(key, 0) + 1


def test_the_processing_loops_last_pass_comes_from_the_catalog(
    client: FlaskClient, metrics_data: Path
) -> None:
    catalog = Catalog.connect(
        load_settings(None, env={}, data_folder=str(metrics_data)).catalog_url, zone("UTC")
    )
    before = scrape(client).get(("overwatch_process_passes_total", ()), 0)
    catalog.record_pass("other-host:42", time.time() - 30, 2.5, 3, 7)
    values = scrape(client)
    assert values[("overwatch_process_last_pass_seconds", ())] == 2.5
    assert values[("overwatch_process_last_pass_files", ())] == 3
    assert values[("overwatch_process_last_pass_decodes", ())] == 7
    assert values[("overwatch_process_last_pass_age_seconds", ())] >= 30
    assert values[("overwatch_process_passes_total", ())] == before + 1
    assert values[("overwatch_process_decodes_total", ())] >= 7


COUNT_A_JOB = """
from dashboard.metrics import SLICE_JOBS
SLICE_JOBS.labels("done").inc()
"""


def test_serve_adds_in_the_worker_folder(tmp_path: Path) -> None:
    """Multiprocess mode for real: two processes, each writing its own folder, read as one sum."""
    folders = [tmp_path / "metrics", tmp_path / "metrics-worker"]
    for folder in folders:
        folder.mkdir()
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
        subprocess.run([sys.executable, "-c", COUNT_A_JOB], env=env, check=True, timeout=120)
    merged = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in FoldersCollector(folders).collect()
        for s in family.samples
    }
    assert merged[("overwatch_time_slice_jobs_total", (("outcome", "done"),))] == 2


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on a free port (failing, not skipping, when it is missing)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server; `make test` does it)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("redis-server did not answer PING")
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_the_celery_queue_depth_is_read_from_redis(
    make_app: Callable[..., dash.Dash], metrics_data: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVERWATCH_METRICS_TOKEN", TOKEN)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    client = make_app(metrics_data, celery_broker_url=redis_url).server.test_client()
    assert scrape(client)[("overwatch_time_slice_queue_depth", ())] == 0
    redis.Redis.from_url(redis_url).rpush(CELERY_QUEUE, "a waiting task", "another")
    assert scrape(client)[("overwatch_time_slice_queue_depth", ())] == 2


def test_a_redis_that_does_not_answer_leaves_out_only_the_queue_depth(
    make_app: Callable[..., dash.Dash], metrics_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVERWATCH_METRICS_TOKEN", TOKEN)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    client = make_app(metrics_data, celery_broker_url=f"redis://127.0.0.1:{closed}/0").server.test_client()
    values = scrape(client)
    assert ("overwatch_time_slice_queue_depth", ()) not in values
    assert ("overwatch_processing_leader", ()) in values
