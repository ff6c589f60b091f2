"""Routes of the real app through the Flask test client: the gate, status, legacy URLs and downloads."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import dash
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dashboard.routes import NOT_A_DOWNLOAD, resolve_download
from dashboard.services import EXTENSION_KEY

STORED = "Run300003/EMC/EMChists.2015_11_24_18_24_13.root"
PAGES = ["/", "/?page=2", "/runs/300003/EMC", "/runs/300003/EMC?group=FEE+vs+TRU", "/runs/300003/EMC/files",
         "/runs/1/XYZ", "/no-such-page", "/404"]  # fmt: skip


def callback_body() -> dict[str, object]:
    """A real callback of the app (the run list's refresh)."""
    return {
        "output": "..run-list-table.children...run-list-ongoing.children...run-list-refresh.disabled..",
        "outputs": [
            {"id": "run-list-table", "property": "children"},
            {"id": "run-list-ongoing", "property": "children"},
            {"id": "run-list-refresh", "property": "disabled"},
        ],
        "inputs": [{"id": "run-list-refresh", "property": "n_intervals", "value": 1}],
        "state": [{"id": "run-list-page", "property": "data", "value": 1}],
        "changedPropIds": ["run-list-refresh.n_intervals"],
    }


# -- the gate on the real app --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/files/" + STORED, "/monitoring", "/Run300003/EMC/runPage"])
def test_pages_need_login(app_client: FlaskClient, path: str) -> None:
    response = app_client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/_dash-layout"), ("GET", "/_dash-dependencies"), ("POST", "/_dash-update-component")],
)
def test_dash_endpoints_need_login(app_client: FlaskClient, method: str, path: str) -> None:
    response = app_client.open(path, method=method, json=callback_body() if method == "POST" else None)
    assert response.status_code == 401
    assert response.get_json() == {"error": "login required"}
    assert "Run 300003" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES)
def test_pages_after_login(logged_in_client: FlaskClient, path: str) -> None:
    response = logged_in_client.get(path)
    assert response.status_code == 200, "Dash serves every page; unknown ones show the 404 page itself"
    page = response.get_data(as_text=True)
    assert "<title>Overwatch</title>" in page
    # Nothing from another host (a CDN): the app works on a closed network. (A plain "cdn" substring test
    # failed at random: Dash's build id is random letters.)
    external = re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//[^"']*""", page, flags=re.IGNORECASE)
    assert external == [], "nothing from a CDN: the app works on a closed network"
    assert "/_dash-component-suites/" in page  # the scripts are served by the app itself


def test_dash_endpoints_after_login(logged_in_client: FlaskClient) -> None:
    layout = logged_in_client.get("/_dash-layout")
    assert layout.status_code == 200
    assert "shirley" in layout.get_data(as_text=True), "the user menu names who is logged in"
    dependencies = logged_in_client.get("/_dash-dependencies")
    assert dependencies.status_code == 200
    outputs = {d["output"] for d in dependencies.get_json()}
    assert callback_body()["output"] in outputs
    cookie = logged_in_client.get_cookie("_csrf_token")
    assert cookie is not None
    refreshed = logged_in_client.post(
        "/_dash-update-component", json=callback_body(), headers={"X-CSRFToken": cookie.value}
    )
    assert refreshed.status_code == 200
    assert "Showing runs 1–3 of 3" in refreshed.get_data(as_text=True)


def test_callbacks_need_the_csrf_header(logged_in_client: FlaskClient) -> None:
    response = logged_in_client.post("/_dash-update-component", json=callback_body())
    assert response.status_code == 400


def test_logout_closes_the_real_app(logged_in_client: FlaskClient) -> None:
    assert logged_in_client.get("/logout").location == "/login?logged_out=1"
    assert logged_in_client.get("/").status_code == 302
    assert logged_in_client.get("/_dash-layout").status_code == 401


# -- liveness and contact ------------------------------------------------------------------------------


def test_status_alive_without_login(app_client: FlaskClient) -> None:
    response = app_client.get("/status")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "Alive")
    assert response.mimetype == "text/plain"


def test_status_db_failed(app: dash.Dash, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = sa.create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'overwatch.sqlite'}")
    monkeypatch.setattr(app.server.extensions[EXTENSION_KEY].catalog, "engine", broken)
    response = app.server.test_client().get("/status")
    assert (response.status_code, response.get_data(as_text=True)) == (500, "DB failed")


def test_contact_is_public_and_says_more_after_login(
    app_client: FlaskClient, app_login: Callable[[FlaskClient], TestResponse]
) -> None:
    public = app_client.get("/contact").get_data(as_text=True)
    assert "Europe/Zurich" in public
    assert 'href="/login"' in public
    assert "Test-data archive" not in public
    app_login(app_client)
    private = app_client.get("/contact").get_data(as_text=True)
    assert "Test-data archive" in private
    assert "(shirley)" in private
    assert "Site status" not in private, "admin links only for admins"


# -- legacy URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/monitoring", "/"),
        ("/monitoring/", "/"),
        ("/Run300003/EMC/runPage", "/runs/300003/EMC"),
        ("/Run300003/EMC/rootFiles", "/runs/300003/EMC/files"),
        ("/overwatchStatus", "/site-status"),
    ],
)
def test_legacy_redirects(logged_in_client: FlaskClient, old: str, new: str) -> None:
    response = logged_in_client.get(old)
    assert (response.status_code, response.location) == (301, new)


def test_legacy_run_page_lands_on_the_run_page(logged_in_client: FlaskClient) -> None:
    response = logged_in_client.get("/Run300003/EMC/runPage", follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/runs/300003/EMC"


# -- downloads -----------------------------------------------------------------------------------------


def test_download_a_stored_file(logged_in_client: FlaskClient, app_data: Path) -> None:
    response = logged_in_client.get(f"/files/{STORED}")
    assert response.status_code == 200
    assert response.data == (app_data / STORED).read_bytes()
    assert response.headers["Content-Disposition"] == "attachment; filename=EMChists.2015_11_24_18_24_13.root"


def test_every_listed_file_downloads(logged_in_client: FlaskClient, app_data: Path) -> None:
    stored = sorted(app_data.glob("Run*/*/*.root"))
    assert len(stored) == 64  # 3 runs of 8 minutes: EMC, HLT, TPC (none for 300004: via HLT)
    for path in stored:
        response = logged_in_client.get(f"/files/{path.relative_to(app_data).as_posix()}")
        assert response.status_code == 200, path
        assert len(response.data) == path.stat().st_size


@pytest.fixture(scope="module")
def traps(make_app_data: Callable[[], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with things that must never download: a quarantined file, cache files, a config
    file, and symlinks in a run folder to a file outside, to the catalog and to a folder outside."""
    data = make_app_data()
    elsewhere = tmp_path_factory.mktemp("outside")
    outside = elsewhere / "outside.root"
    outside.write_bytes((data / STORED).read_bytes())
    (data / "quarantine").mkdir()
    (data / "quarantine" / "EMChistos_300003_C_2015_11_24_18_24_13.root").write_bytes(b"broken")
    (data / "config").mkdir()
    (data / "config" / "overwatch.toml").write_text('database_url = "secret"\n')
    (data / "cache" / "views" / "0a").mkdir(parents=True)
    (data / "cache" / "views" / "0a" / "entry.val").write_bytes(b"cache")
    emc = data / "Run300003" / "EMC"
    os.symlink(outside, emc / "EMChists.2015_11_24_19_00_00.root")
    os.symlink(data / "overwatch.sqlite", emc / "EMChists.2015_11_24_19_00_01.root")
    os.symlink(elsewhere, data / "Run300003" / "OUT")
    (elsewhere / "EMChists.2015_11_24_19_00_03.root").write_bytes(outside.read_bytes())
    (emc / "EMChists.2015_11_24_19_00_02.txt").write_text("not ROOT")
    return data


REFUSED = [
    "overwatch.sqlite",
    "overwatch.sqlite-wal",
    "../overwatch.sqlite",
    "Run300003/../overwatch.sqlite",
    "Run300003/EMC/../../overwatch.sqlite",
    "Run1/../overwatch.sqlite",
    "/etc/passwd",
    "//etc/passwd",
    "config/overwatch.toml",
    "cache/views/0a/entry.val",
    "instance/secret_key",
    "quarantine/EMChistos_300003_C_2015_11_24_18_24_13.root",
    "Run300003/run_info.json",
    "Run300003/EMC",
    "Run300003/EMC/EMChists.2015_11_24_19_00_00.root",  # symlink to a file outside the data folder
    "Run300003/EMC/EMChists.2015_11_24_19_00_01.root",  # symlink to the catalog
    "Run300003/EMC/EMChists.2015_11_24_19_00_02.txt",
    "Run300003/OUT/EMChists.2015_11_24_19_00_03.root",  # through a symlinked folder leading outside
    "Run300003/EMC/EMChists.2015_11_24_18_24_13.root/",
    "Run300003/EMC/EMChists.2015_11_24_23_59_59.root",  # right shape, no such file
    "run300003/EMC/EMChists.2015_11_24_18_24_13.root",
    "Run300003\\EMC\\EMChists.2015_11_24_18_24_13.root",
    "ReplayData/Run299887/EMC/EMChists.2015_11_24_17_53_10.root",
]


@pytest.mark.parametrize("relative", REFUSED)
def test_resolve_download_refuses(traps: Path, relative: str) -> None:
    assert resolve_download(traps, relative) is None


def test_resolve_download_accepts_stored_files(traps: Path) -> None:
    assert resolve_download(traps, STORED) == (traps / STORED).resolve()


@pytest.mark.parametrize(
    "url",
    [
        "/files/../overwatch.sqlite",
        "/files/%2e%2e/overwatch.sqlite",
        "/files/%2E%2E%2Foverwatch.sqlite",
        "/files/Run300003/%2e%2e/%2e%2e/overwatch.sqlite",
        "/files/Run1/../overwatch.sqlite",
        "/files/overwatch.sqlite",
        "/files/config/overwatch.toml",
        "/files/cache/views/0a/entry.val",
        "/files/Run300003/OUT/EMChists.2015_11_24_19_00_03.root",
        "/files/quarantine/EMChistos_300003_C_2015_11_24_18_24_13.root",
        "/files/Run300003/EMC/EMChists.2015_11_24_19_00_00.root",
        "/files/Run300003/EMC/EMChists.2015_11_24_19_00_01.root",
        "/files/Run300003/EMC/EMChists.2015_11_24_19_00_02.txt",
        "/files/Run300003/EMC/EMChists.2015_11_24_18_24_13.root%00.txt",
    ],
)
def test_download_traversal_is_404(
    make_app: Callable[..., dash.Dash],
    traps: Path,
    app_login: Callable[[FlaskClient], TestResponse],
    url: str,
) -> None:
    client = make_app(traps).server.test_client()
    app_login(client)
    response = client.get(url, follow_redirects=True)
    assert_plain_404(response)
    assert b"SQLite" not in response.data
    assert b"secret" not in response.data


#: Addresses below /files that are no stored run file: each must be our plain 404, never Dash's shell.
NOT_DOWNLOADS = [
    "/files",
    "/files/",
    "/files//",
    "/files///etc/passwd",
    "/files//etc/passwd",
    "/files/%2Fetc%2Fpasswd",
    "/files/%2F%2Fetc%2Fpasswd",
    "/files/..%2F..%2Foverwatch.sqlite",
    "/files/%2E%2E%2F%2E%2E%2Foverwatch.sqlite",
    "/files/Run1/EMC/",
    "/files/Run300003",
    "/files/Run300003/",
    "/files/Run300003/EMC",
    "/files/Run300003/EMC/",
    "/files/Run300003//EMC/EMChists.2015_11_24_18_24_13.root",
    "/files//Run300003/EMC/EMChists.2015_11_24_18_24_13.root",
    "/files/Run300003/EMC/EMChists.2015_11_24_18_24_13.root/",
    "/files/Run300003/EMC/EMChists.2015_11_24_19_00_00.root",
    "/files/Run300003/EMC/EMChists.2015_11_24_19_00_01.root",
    "/files/Run300003/OUT",
    "/files/Run300003/OUT/",
    "/files/Run300003/OUT/EMChists.2015_11_24_19_00_03.root",
    "/files/no-such-thing",
    "/files/%00",
    "/files/index.html",
]


def assert_plain_404(response: TestResponse) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 404, body[:200]
    assert response.mimetype == "text/plain"
    assert "Content-Disposition" not in response.headers
    assert "_dash-config" not in body, "not the Dash app shell"
    assert "<title>" not in body
    assert body == NOT_A_DOWNLOAD


@pytest.mark.parametrize("url", NOT_DOWNLOADS)
def test_not_a_stored_file_is_404_after_login(
    make_app: Callable[..., dash.Dash],
    traps: Path,
    app_login: Callable[[FlaskClient], TestResponse],
    url: str,
) -> None:
    """Every address below /files is answered by the download route, never by Dash's catch-all."""
    client = make_app(traps).server.test_client()
    app_login(client)
    assert_plain_404(client.get(url))
    head = client.head(url)
    assert (head.status_code, head.data) == (404, b"")


@pytest.mark.parametrize("url", NOT_DOWNLOADS)
def test_not_a_stored_file_needs_login_like_every_page(app_client: FlaskClient, url: str) -> None:
    """Logged out, the gate answers first, as for every page: to the login form, nothing else."""
    response = app_client.get(url)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert b"root:" not in response.data


def test_absolute_paths_are_not_downloads(logged_in_client: FlaskClient) -> None:
    """``%2F`` reaches the app decoded, so ``/files/%2Fetc%2Fpasswd`` is ``/files//etc/passwd``."""
    for url in ("/files//etc/passwd", "/files/%2Fetc%2Fpasswd"):
        response = logged_in_client.get(url, follow_redirects=True)
        assert_plain_404(response)
        assert b"root:" not in response.data


def test_files_route_takes_every_path_below_files(app: dash.Dash) -> None:
    """The routing itself: no address below /files reaches Dash's ``<path:path>`` catch-all."""
    adapter = app.server.url_map.bind("localhost")
    for url in ["/files", "/files/", "/files//etc/passwd", "/files/Run1/EMC/", "/files/" + STORED]:
        endpoint, _ = adapter.match(url)
        assert endpoint in {"download", "download_root"}, url


def test_a_page_next_to_files_is_still_dash(logged_in_client: FlaskClient) -> None:
    """Only ``/files`` and below are downloads: ``/filesystem`` is an unknown page of the app."""
    response = logged_in_client.get("/filesystem")
    assert response.status_code == 200
    assert "<title>Overwatch</title>" in response.get_data(as_text=True)
