"""The JSON API: every route the OpenAPI document lists exists and answers as documented (the response is
validated against its schema), with a token or a session; no answer without either; errors as JSON."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dash
import jsonschema
import pytest
from flask.testing import FlaskClient

from dashboard.api import OPENAPI, PREFIX
from overwatch_core.processing import open_services
from overwatch_core.settings import load_settings
from overwatch_core.users import UserStore
from tests.dashboard.conftest import with_references


@pytest.fixture(scope="module")
def api_data(make_app_data: Callable[[], Path]) -> tuple[Path, str, str]:
    """Demo data with run 300000 as the reference, and a shifter's API token (and a revoked one)."""
    data = with_references(make_app_data())
    settings = load_settings(None, env={}, data_folder=str(data))
    users = UserStore(open_services(settings)[0], rounds=4)
    users.add("scripts", "pw", "shifter")
    _, token = users.create_token("scripts", "tests")
    revoked_id, revoked = users.create_token("scripts", "old")
    users.revoke_token(revoked_id)
    return data, token, revoked


@pytest.fixture
def client(make_app: Callable[..., dash.Dash], api_data: tuple[Path, str, str]) -> FlaskClient:
    return make_app(api_data[0]).server.test_client()


def schema_of(path: str, status: str = "200") -> dict[str, Any]:
    content = OPENAPI["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
    return {**content, "components": OPENAPI["components"]}


def media_of(path: str) -> str:
    (media,) = OPENAPI["paths"][path]["get"]["responses"]["200"]["content"]
    return str(media)


def example_url(path: str) -> str:
    """The documented path with every parameter's example filled in."""
    params = OPENAPI["paths"][path]["get"]["parameters"]
    url = path
    query = []
    for p in params:
        if "example" not in p:
            continue
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", str(p["example"]))
        else:
            query.append(f"{p['name']}={p['example']}")
    assert "{" not in url, f"{path}: a path parameter without an example"
    return PREFIX + url + ("?" + "&".join(query) if query else "")


@pytest.mark.parametrize("path", sorted(OPENAPI["paths"]))
def test_every_documented_route_answers_as_documented(
    client: FlaskClient, api_data: tuple[Path, str, str], path: str
) -> None:
    auth = {"Authorization": f"Bearer {api_data[1]}"}
    url = example_url(path)
    if path == "/jobs/{job_id}":  # a job of a slice nobody asked for yet
        job = client.get(f"{PREFIX}/runs/300003/EMC/slice?from=1&to=4", headers=auth).get_json()["job"]
        url = f"{PREFIX}/jobs/{job}?wait=30"
    response = client.get(url, headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == media_of(path)
    if response.mimetype != "application/json":
        assert response.get_data()
        return
    body = response.get_json()
    jsonschema.validate(body, schema_of(path))


def test_no_answer_without_a_session_or_a_valid_token(
    client: FlaskClient, api_data: tuple[Path, str, str]
) -> None:
    for headers in ({}, {"Authorization": f"Bearer {api_data[2]}"}, {"Authorization": "Bearer nonsense"}):
        response = client.get(f"{PREFIX}/runs", headers=headers)
        assert response.status_code == 401
        jsonschema.validate(response.get_json(), schema_of("/runs", "401"))
    page = client.get("/quality", headers={"Authorization": f"Bearer {api_data[1]}"})
    assert page.status_code == 302  # tokens open the API only, not the pages


def test_every_route_of_the_blueprint_is_documented(client: FlaskClient) -> None:
    app = client.application
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX)}
    documented = {PREFIX + re.sub(r"\{(\w+)\}", r"<\1>", p) for p in OPENAPI["paths"]}
    normalised = {re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", r) for r in routes}
    assert normalised - {f"{PREFIX}/openapi.json", f"{PREFIX}/docs"} == documented


def test_contents_errors_and_slices(client: FlaskClient, api_data: tuple[Path, str, str]) -> None:
    auth = {"Authorization": f"Bearer {api_data[1]}"}
    full = client.get(
        f"{PREFIX}/runs/300003/EMC/histogram?name=EMCTRQA_histFastORL0", headers=auth
    ).get_json()
    assert len(full["values"]) == len(full["edges"][0]) - 1
    sliced = client.get(
        f"{PREFIX}/runs/300003/EMC/histogram?name=EMCTRQA_histFastORL0&from=5&to=7", headers=auth
    ).get_json()
    assert sum(sliced["values"]) < sum(full["values"])
    assert sliced["n_events"] < full["n_events"]
    hot = client.get(f"{PREFIX}/runs/300003/EMC/slice?from=5&to=7&checks=1&wait=30", headers=auth).get_json()
    assert {r["check"] for r in hot["checks"]["EMCTRQA_histFastORL0"]} >= {"fastor-hot"}
    errors = {
        f"{PREFIX}/runs/999/EMC/histograms": 404,
        f"{PREFIX}/runs/300003/EMC/histogram?name=nope": 404,
        f"{PREFIX}/runs/300003/EMC/histogram": 400,
        f"{PREFIX}/runs/300003/EMC/slice?from=7&to=5": 400,
        f"{PREFIX}/runs/300003/EMC/slice?from=x&to=5": 400,
        f"{PREFIX}/runs/300003/EMC/slice?from=0&to=999": 400,
        f"{PREFIX}/runs/300003/EMC/slice?from=1&to=5&wait=100": 400,
        f"{PREFIX}/runs/300003/XYZ/slice?from=1&to=5": 404,
        f"{PREFIX}/jobs/api-slice-nope": 404,
        f"{PREFIX}/trends/EMC/noSuchTrend": 404,
        f"{PREFIX}/runs?page=0": 400,
    }
    for url, status in errors.items():
        response = client.get(url, headers=auth)
        assert response.status_code == status, url
        assert "error" in response.get_json(), url
    quality = client.get(f"{PREFIX}/runs/300003/quality", headers=auth).get_json()
    assert {q["subsystem"]: q["quality"] for q in quality}["EMC"] == "Bad"


def test_the_docs_page_lists_every_route(client: FlaskClient, api_data: tuple[Path, str, str]) -> None:
    page = client.get(f"{PREFIX}/docs", headers={"Authorization": f"Bearer {api_data[1]}"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for path in OPENAPI["paths"]:
        assert f"GET {PREFIX}{path}" in text
    assert "https://" not in text


@pytest.fixture
def slow_client(make_app: Callable[..., dash.Dash], api_data: tuple[Path, str, str]) -> FlaskClient:
    """Slices take an extra second, so a job is seen pending."""
    return make_app(api_data[0], slice_delay_seconds=1.0).server.test_client()


def test_a_slice_is_a_background_job_polled_until_done(
    slow_client: FlaskClient, api_data: tuple[Path, str, str]
) -> None:
    auth = {"Authorization": f"Bearer {api_data[1]}"}
    url = f"{PREFIX}/runs/300003/EMC/slice?from=2&to=6"
    submitted = slow_client.get(url, headers=auth)
    assert submitted.status_code == 202
    body = submitted.get_json()
    jsonschema.validate(body, schema_of("/runs/{run_number}/{subsystem}/slice", "202"))
    assert body["status"] == "pending"
    assert body["poll"] == f"{PREFIX}/jobs/{body['job']}"
    again = slow_client.get(url, headers=auth).get_json()
    assert (again["status"], again["job"]) == ("pending", body["job"])  # one job per slice
    done = slow_client.get(body["poll"] + "?wait=30", headers=auth)
    assert done.status_code == 200
    result = done.get_json()
    jsonschema.validate(result, schema_of("/jobs/{job_id}"))
    assert (result["status"], result["job"]) == ("done", body["job"])
    assert "Time slice: requested 2–6 min" in result["description"]
    assert slow_client.get(body["poll"], headers=auth).get_json()["status"] == "done"  # polls again
    cached = slow_client.get(url, headers=auth).get_json()  # the job filled the view cache
    assert (cached["status"], cached["job"], cached["description"]) == ("done", None, result["description"])


def test_a_failed_job_says_why(
    client: FlaskClient, api_data: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from overwatch_core.views import MissingFileError, ViewService

    def fails(*_args: object, **_kwargs: object) -> None:
        raise MissingFileError("file 'Run300003/EMC/x.root' of run 300003 is missing on disk")

    monkeypatch.setattr(ViewService, "time_slice", fails)  # the forked job inherits it
    auth = {"Authorization": f"Bearer {api_data[1]}"}
    response = client.get(f"{PREFIX}/runs/300003/EMC/slice?from=3&to=6&wait=30", headers=auth)
    body = response.get_json()
    jsonschema.validate(body, schema_of("/runs/{run_number}/{subsystem}/slice"))
    assert body["status"] == "failed"
    assert body["error"].startswith("Missing file: file 'Run300003/EMC/x.root'")


def test_slice_keys_are_read_as_the_page_reads_them(
    client: FlaskClient, api_data: tuple[Path, str, str]
) -> None:
    """Missing threshold and scale take the subsystem's defaults, as on the run page: TPC is unscaled."""
    auth = {"Authorization": f"Bearer {api_data[1]}"}
    tpc = client.get(f"{PREFIX}/runs/300003/TPC/slice?from=1&to=5&wait=30", headers=auth).get_json()
    assert tpc["status"] == "done", tpc
    assert tpc["description"].endswith(", unscaled")
    emc = client.get(f"{PREFIX}/runs/300003/EMC/slice?from=1&to=5&scale=0&wait=30", headers=auth).get_json()
    assert ", unscaled, " in emc["description"]
