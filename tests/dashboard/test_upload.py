"""Upload API (SPEC §3.4): token, headers, validation, size cap, duplicates, listing and download."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dash
import numpy as np
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dashboard.upload import TOKEN_ENV
from overwatch_core.model import Histogram
from overwatch_core.processing import Processor, open_services
from overwatch_core.rootwrite import write_histograms
from overwatch_core.settings import load_settings

TOKEN = "upload-token-0123456789"
STAMP = 1448384710  # 2015-11-24 18:05:10 in Zurich
NAME = "EMChistos_300010_DQM_2015_11_24_18_05_10.root"
HEADERS = {
    "token": TOKEN,
    "runNumber": "300010",
    "timeStamp": str(STAMP),
    "amoreAgent": "EMC",
    "dataStatus": "0",
}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_upload_app(make_app: Callable[..., dash.Dash], data: Path) -> Callable[..., dash.Dash]:
    """The real app on an empty data folder (the drop folder is the data folder)."""
    return lambda **overrides: make_app(data, **overrides)


@pytest.fixture
def client(make_upload_app: Callable[..., dash.Dash], monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return make_upload_app().server.test_client()


@pytest.fixture(scope="module")
def root_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A small EMC file written with uproot: a TH1F and a TH2F in a directory."""
    edges = np.linspace(0.0, 10.0, 11)
    spectrum = Histogram(
        "EMCTRQA_histEvents", "TH1F", np.arange(10.0), np.arange(10.0), (edges,), "Events", ("E", "counts")
    )
    grid = np.ones((4, 3))
    fastor = Histogram(
        "EMCTRQA_histFastORL0", "TH2F", grid, grid, (np.arange(5.0), np.arange(4.0)), "FastOR L0"
    )
    path = tmp_path_factory.mktemp("upload") / "source.root"
    write_histograms(path, {"EMCTRQA_histEvents": spectrum, "QA/EMCTRQA_histFastORL0": fastor})
    return path.read_bytes()


def post(client: FlaskClient, content: bytes | None, headers: dict[str, str] | None = None) -> TestResponse:
    """POST like the DQM clients do: headers, and the file as multipart field ``file``."""
    form: dict[str, Any] = {} if content is None else {"file": (io.BytesIO(content), "histos.root")}
    return client.post("/rest/api/files", data=form, headers=HEADERS if headers is None else headers)


def dropped(data: Path) -> list[str]:
    """Files in the drop folder (the data folder here) besides the app's catalog."""
    return sorted(p.name for p in data.iterdir() if p.is_file() and not p.name.startswith("overwatch.sqlite"))


def without(name: str, **changes: str) -> dict[str, str]:
    return {**{k: v for k, v in HEADERS.items() if k != name}, **changes}


# -- the token ------------------------------------------------------------------------------------------


def test_disabled_without_a_token_in_the_environment(
    make_upload_app: Callable[..., dash.Dash], monkeypatch: pytest.MonkeyPatch, root_file: bytes
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    client = make_upload_app().server.test_client()
    for response in (post(client, root_file), client.get("/rest/api/files", headers={"token": ""})):
        assert response.status_code == 503
        assert TOKEN_ENV in response.get_json()["message"]
    monkeypatch.setenv(TOKEN_ENV, "")
    assert post(client, root_file).status_code == 503, "an empty token is no token"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (without("token"), "Must pass a token!"),
        (without("token", token=""), "Must pass a token!"),
        (without("token", token="wrong"), "Received token, but it is invalid!"),
        (without("token", token=TOKEN + "x"), "Received token, but it is invalid!"),
        (without("token", token=TOKEN[:-1]), "Received token, but it is invalid!"),
    ],
)
def test_token_is_checked(
    client: FlaskClient, data: Path, root_file: bytes, headers: dict[str, str], message: str
) -> None:
    response = post(client, root_file, headers)
    assert response.status_code == 400
    assert response.get_json()["message"] == message
    assert list(data.glob("*.root")) == []


@pytest.mark.parametrize("path", ["/rest/api/files", f"/rest/api/files/{NAME}"])
def test_reading_needs_the_token_too(client: FlaskClient, path: str) -> None:
    assert client.get(path).get_json()["message"] == "Must pass a token!"
    assert client.get(path, headers={"token": "wrong"}).status_code == 400


# -- a good upload ---------------------------------------------------------------------------------------


def test_upload(client: FlaskClient, data: Path, root_file: bytes) -> None:
    response = post(client, root_file)
    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] == "Successfully received file and extracted information"
    assert body["filename"] == NAME
    assert body["status"] == 200
    assert body["receivedHeaders"]["runNumber"] == "300010"
    assert body["received"] == {
        "EMCTRQA_histEvents": "Obj name: EMCTRQA_histEvents, Obj IsA() Name: TH1F",
        "QA/EMCTRQA_histFastORL0": "Obj name: QA/EMCTRQA_histFastORL0, Obj IsA() Name: TH2F",
    }
    assert (data / NAME).read_bytes() == root_file
    assert dropped(data) == [NAME], "no temporary file is left"


def test_upload_as_raw_body(client: FlaskClient, data: Path, root_file: bytes) -> None:
    response = client.post("/rest/api/files", data=root_file, headers=HEADERS)
    assert response.status_code == 200
    assert (data / NAME).read_bytes() == root_file


def test_an_uploaded_file_is_ingested(client: FlaskClient, data: Path, root_file: bytes) -> None:
    assert post(client, root_file).status_code == 200
    settings = load_settings(None, env={}, data_folder=str(data), settle_seconds=0.0)
    catalog, cache = open_services(settings)
    Processor(settings, catalog, cache).run_pass()
    run = catalog.run(300010)
    assert [f.path for f in run.subsystem("EMC").files] == ["Run300010/EMC/EMChists.2015_11_24_18_05_10.root"]
    catalog.close()
    cache.close()


def test_list_and_download(client: FlaskClient, data: Path, root_file: bytes) -> None:
    assert post(client, root_file).status_code == 200
    (data / "EMChistos_300010_C_2015_11_24_18_06_10.root").write_bytes(root_file)  # a receiver's file
    (data / ".EMChistos_300010_DQM_2015_11_24_18_07_10.root").write_bytes(root_file)  # being written
    listing = client.get("/rest/api/files", headers={"token": TOKEN})
    assert listing.get_json() == {"files": [NAME]}
    download = client.get(f"/rest/api/files/{NAME}", headers={"token": TOKEN})
    assert download.status_code == 200
    assert download.data == root_file
    assert download.headers["Content-Disposition"] == f"attachment; filename={NAME}"


@pytest.mark.parametrize(
    "path",
    [
        "/rest/api/files/../../x",
        "/rest/api/files/..%2F..%2Foverwatch.sqlite",
        "/rest/api/files/%2e%2e",
        "/rest/api/files/overwatch.sqlite",
        "/rest/api/files/EMChistos_300010_C_2015_11_24_18_06_10.root",
        "/rest/api/files/.EMChistos_300010_DQM_2015_11_24_18_07_10.root",
        "/rest/api/files/instance%2Fsecret_key",
    ],
)
def test_download_refuses_anything_else(client: FlaskClient, data: Path, root_file: bytes, path: str) -> None:
    data.mkdir(parents=True, exist_ok=True)
    (data / "EMChistos_300010_C_2015_11_24_18_06_10.root").write_bytes(root_file)
    (data / ".EMChistos_300010_DQM_2015_11_24_18_07_10.root").write_bytes(root_file)
    response = client.get(path, headers={"token": TOKEN})
    assert response.status_code == 404
    assert response.data != root_file
    assert b"SQLite" not in response.data


# -- bad uploads -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (without("runNumber", runNumber="abc"), "header runNumber must be an integer, got 'abc'"),
        (without("runNumber"), "header runNumber is required"),
        (without("timeStamp"), "header timeStamp is required"),
        (without("timeStamp", timeStamp="yesterday"), "header timeStamp must be an integer, got 'yesterday'"),
        (without("runNumber", runNumber="-1"), "runNumber and timeStamp must not be negative"),
        (without("amoreAgent", amoreAgent="../x"), "amoreAgent must be 1-16 letters or digits, got '../x'"),
        (without("amoreAgent", amoreAgent="EMC/../../x"), "amoreAgent must be 1-16 letters or digits"),
        (without("amoreAgent", amoreAgent=""), "amoreAgent must be 1-16 letters or digits, got ''"),
        (without("amoreAgent", amoreAgent="E" * 17), "amoreAgent must be 1-16 letters or digits"),
        (without("dataStatus", dataStatus="end"), "header dataStatus must be an integer, got 'end'"),
    ],
)
def test_bad_headers(
    client: FlaskClient, data: Path, root_file: bytes, headers: dict[str, str], message: str
) -> None:
    response = post(client, root_file, headers)
    assert response.status_code == 400
    assert message in response.get_json()["message"]
    assert list(data.rglob("*.root")) == []
    assert not (data.parent / "x").exists()


@pytest.mark.parametrize("stamp", ["9" * 30, str(2**62)])
def test_impossible_timestamp_is_refused(client: FlaskClient, root_file: bytes, stamp: str) -> None:
    response = post(client, root_file, without("timeStamp", timeStamp=stamp))
    assert response.status_code == 400
    assert response.get_json()["message"] == f"header timeStamp {stamp} is not a time (seconds since 1970)"


def test_garbage_is_not_valid(client: FlaskClient, data: Path) -> None:
    response = post(client, b"this is not a ROOT file" * 100)
    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "Successfully received the file, but the file is not valid! Perhaps it was corrupted?"
    )
    assert dropped(data) == [], "nothing is left behind, not even the temporary file"


def test_truncated_file_is_not_valid(client: FlaskClient, data: Path, root_file: bytes) -> None:
    assert post(client, root_file[: len(root_file) // 2]).status_code == 400
    assert dropped(data) == []


def test_oversize_is_413(
    make_upload_app: Callable[..., dash.Dash], monkeypatch: pytest.MonkeyPatch, data: Path
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    client = make_upload_app(upload_max_mb=1).server.test_client()
    response = post(client, b"\0" * (2 * 2**20))
    assert response.status_code == 413
    assert "larger than the 1 MB limit" in response.get_json()["message"]
    assert list(data.glob("*.root")) == []


@pytest.mark.parametrize("content", [b"", None])
def test_empty_upload(client: FlaskClient, data: Path, content: bytes | None) -> None:
    response = post(client, content)
    assert response.status_code == 400
    assert response.get_json()["message"] == "No file uploaded and the payload was empty"


def test_duplicate_is_409(client: FlaskClient, data: Path, root_file: bytes) -> None:
    assert post(client, root_file).status_code == 200
    again = post(client, root_file[:-1] + b"\0")
    assert again.status_code == 409
    assert again.get_json()["filename"] == NAME
    assert (data / NAME).read_bytes() == root_file, "the first upload is kept"
    assert dropped(data) == [NAME]


def test_answers_are_json_of_the_documented_shape(client: FlaskClient, root_file: bytes) -> None:
    for response in (post(client, root_file, without("token")), post(client, root_file)):
        assert set(response.get_json()) == {"receivedHeaders", "status", "message", "filename", "received"}
        assert re.fullmatch(r"application/json.*", response.content_type)
