"""/metrics: Prometheus text for an admin session or the metrics token, refused to everyone else; the values
match the catalog and requests are counted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dash
import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import TestResponse

from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.settings import load_settings
from overwatch_core.users import UserStore

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
