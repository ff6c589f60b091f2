"""Shared fixtures: settings pointing at a temporary data folder."""

from __future__ import annotations

import http.server
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from overwatch_core.settings import Settings, load_settings
from tests.postgres_cluster import Cluster, running_cluster

#: Test modules that run against SQLite and PostgreSQL (the same SQLAlchemy code): the catalog and what
#: writes it (users, trends and alarms, ingest, processing and its lease, schema migrations).
BOTH_DATABASES = frozenset(
    [
        "test_catalog.py",
        "test_users.py",
        "test_alarms.py",
        "test_ingest.py",
        "test_processing.py",
        "test_schema.py",
    ]
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    uses_catalog = {"make_settings", "settings", "catalog_url"} & set(metafunc.fixturenames)
    if metafunc.definition.path.name in BOTH_DATABASES and uses_catalog:
        metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the session (a failure to start fails the tests using it)."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """The catalog's database kind for this test: "sqlite" unless the module runs against both."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def catalog_url(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty catalog database for this test: a SQLite file, or a new PostgreSQL database."""
    if database == "postgresql":
        cluster: Cluster = request.getfixturevalue("postgres")
        return cluster.database()
    return f"sqlite:///{tmp_path / 'c.sqlite'}"


@pytest.fixture
def make_settings(tmp_path: Path, database: str, request: pytest.FixtureRequest) -> Callable[..., Settings]:
    """Settings for a fresh data folder below tmp_path; keyword arguments override any setting. With
    PostgreSQL every settings object of the test shares one new database (like one shared catalog)."""
    url = request.getfixturevalue("catalog_url") if database == "postgresql" else None

    def make(**overrides: Any) -> Settings:
        overrides.setdefault("data_folder", str(tmp_path / "data"))
        overrides.setdefault("settle_seconds", 0.0)
        if url is not None:
            overrides.setdefault("database_url", url)
        return load_settings(None, env={}, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A processed demo data folder (3 short runs: 300000, 300003 with hot channels, 300004 without own
    TPC files), made once per session. Treat it as read only; copy it to change it."""
    from overwatch_core.demo import generate_demo_data
    from overwatch_core.processing import Processor, open_services

    data = tmp_path_factory.mktemp("demo") / "data"
    generate_demo_data(data, n_runs=3, files_per_run=8)
    settings = load_settings(None, env={}, data_folder=str(data), settle_seconds=0.0)
    catalog, cache = open_services(settings)
    Processor(settings, catalog, cache).run_pass()
    catalog.close()
    cache.close()
    return data


@pytest.fixture(scope="session")
def root_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The ROOT-written fixture corpus (tests/rootcorpus) and ROOT's own expected values, made once.

    Real ROOT writes it in a subprocess; `make test` installs it (the `rootfiles` extra). Without it the
    tests that use this fail rather than skip: the corpus is what proves we read what receivers write.
    """
    from tests.rootcorpus.corpus import root_available, write_corpus

    if not root_available():
        pytest.fail("ROOT is not installed: `pip install -e '.[rootfiles]'` (make test does it)")
    out = tmp_path_factory.mktemp("rootcorpus")
    return out, write_corpus(out)


class _Alive(http.server.BaseHTTPRequestHandler):
    """A fake Overwatch site whose /status answers "Alive"."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"Alive")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="session")
def sites() -> Iterator[dict[str, str]]:
    """Two other sites for the status page: one that is up and one whose port refuses connections."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Alive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        refused = sock.getsockname()[1]
    yield {"Up": f"http://127.0.0.1:{server.server_address[1]}", "Down": f"http://127.0.0.1:{refused}"}
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Undo what a test's in-process `overwatch` command did to the root logger (configure_logging points
    it at the sys.stderr of that test, which pytest closes): a later thread logging there, such as the
    test SMTP server's, would print a "Logging error" into the run's output."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in before and not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
    root.setLevel(level)


class Mailbox:
    """What the local SMTP server (aiosmtpd) received: the parsed messages, in order."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server on a free local port: (port, its mailbox)."""
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller.port, box
    controller.stop()
