"""Site status with fake sites served locally, receiver heartbeats, run activity, and the admin action."""

from __future__ import annotations

import http.server
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest

from overwatch_core.admin import AdminActionError, restart_argv, restart_disabled_reason, run_restart
from overwatch_core.catalog import Catalog
from overwatch_core.processing import open_services
from overwatch_core.settings import Settings, load_settings
from overwatch_core.site_status import (
    check_site,
    check_sites,
    read_heartbeat,
    run_activity,
    site_report,
    status_url,
)

TZ = ZoneInfo("Europe/Zurich")
NOW = datetime(2015, 11, 24, 19, 0, 0, tzinfo=TZ)
#: How long the tests let a healthy site answer: generous, so a busy machine never turns "up" into "timeout".
#: Nothing here is timed: the hanging site never answers within any timeout, so states alone tell.
TIMEOUT = 2.0
#: A hanging site answers only when its module's tests are done (or after this many seconds).
HANG_SECONDS = 60.0


class FakeSite(http.server.BaseHTTPRequestHandler):
    """One server, one behaviour per path prefix: /fast, /slow (hangs), /error, /garbage, /raw, and
    /barrier/<name>/<n>, which answers only once n requests for that name are waiting at once."""

    hang: ClassVar[threading.Event] = threading.Event()
    barriers: ClassVar[dict[str, threading.Barrier]] = {}
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_GET(self) -> None:
        kind, *rest = self.path.strip("/").split("/")
        if kind == "slow":
            self.hang.wait(HANG_SECONDS)
        if kind == "barrier":
            with self.lock:
                barrier = self.barriers.setdefault(rest[0], threading.Barrier(int(rest[1])))
            barrier.wait(HANG_SECONDS)
        if kind == "raw":
            self.wfile.write(b"\x00\x17 this is not HTTP at all\r\n\r\n")
            return
        status, body = {"error": (500, b"DB failed"), "garbage": (200, b"<html>hello</html>")}.get(
            kind, (200, b"Alive")
        )
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is about the client."""


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """The slow answer goes to a client that gave up; that broken pipe is expected."""


@pytest.fixture(scope="module")
def fake_base() -> Iterator[str]:
    server = QuietServer(("127.0.0.1", 0), FakeSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    FakeSite.hang.set()
    for barrier in FakeSite.barriers.values():
        barrier.abort()
    server.shutdown()
    server.server_close()


def refused_url() -> str:
    """A local port nobody listens on: bound, then closed again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def fake_sites(base: str) -> dict[str, str]:
    return {
        "fast": f"{base}/fast",
        "slow": f"{base}/slow/",
        "error": f"{base}/error",
        "garbage": f"{base}/garbage",
        "raw": f"{base}/raw",
        "refused": refused_url(),
    }


# --- other sites ---------------------------------------------------------------------------------------


def test_every_kind_of_site_is_reported_with_its_state(fake_base: str) -> None:
    results = check_sites(fake_sites(fake_base), timeout=TIMEOUT)
    states = {r.name: r.state for r in results}
    assert states == {
        "fast": "up",
        "slow": "timeout",
        "error": "http_error",
        "garbage": "bad_answer",
        "raw": "bad_answer",
        "refused": "connection_error",
    }
    messages = {r.name: r.message for r in results}
    assert "HTTP 500" in messages["error"]
    assert "<html>hello" in messages["garbage"]
    assert f"no answer within {TIMEOUT:g} s" in messages["slow"]
    assert [r.name for r in results] == list(fake_sites(fake_base))  # configured order


def test_sites_are_asked_at_once_not_one_after_another(fake_base: str) -> None:
    """Six sites that answer only while all six requests are waiting together: asked one after another,
    the first would wait alone until its timeout and every site would be reported as timed out."""
    sites = {f"site{i}": f"{fake_base}/barrier/at-once/6" for i in range(6)}
    results = check_sites(sites, timeout=HANG_SECONDS / 2)
    assert {r.state for r in results} == {"up"}


def test_a_hanging_check_is_cut_at_the_deadline(fake_base: str) -> None:
    """A socket timeout longer than the deadline stands for a hung name lookup or a trickling server: the
    site never answers while the test runs, so only the deadline can end the check."""
    (result,) = check_sites({"slow": f"{fake_base}/slow"}, timeout=HANG_SECONDS / 2, deadline=0.3)
    assert (result.state, result.url) == ("timeout", f"{fake_base}/slow/status")
    assert result.message.startswith("no answer within ")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org", "not a url", "http://[::1"])
def test_only_http_urls_are_asked(url: str) -> None:
    assert status_url(url) is None
    result = check_site("odd", url)
    assert result.state == "connection_error"
    assert "not an http(s) URL" in result.message


def test_no_sites_no_threads() -> None:
    assert check_sites({}) == ()


# --- heartbeats and run activity --------------------------------------------------------------------------


def beat(folder: Path, subsystem: str, text: str) -> None:
    (folder / f"heartbeat.{subsystem}Receiver").write_text(text)


@pytest.mark.parametrize(
    ("content", "state"),
    [
        (str(int((NOW - timedelta(seconds=30)).timestamp())), "alive"),
        (f"{(NOW - timedelta(seconds=299)).timestamp():.3f}\n", "alive"),
        (str(int((NOW - timedelta(minutes=5)).timestamp())), "dead"),
        (str(int((NOW - timedelta(hours=3)).timestamp())), "dead"),
        ("yesterday", "unreadable"),
        ("", "unreadable"),
    ],
)
def test_heartbeat_states(tmp_path: Path, content: str, state: str) -> None:
    beat(tmp_path, "EMC", content)
    assert read_heartbeat(tmp_path, "EMC", NOW).state == state


def test_heartbeat_age_and_missing_file(tmp_path: Path) -> None:
    beat(tmp_path, "EMC", str(int((NOW - timedelta(seconds=90)).timestamp())))
    emc = read_heartbeat(tmp_path, "EMC", NOW)
    assert (emc.age_seconds, emc.last_beat) == (90.0, NOW - timedelta(seconds=90))
    missing = read_heartbeat(tmp_path, "TPC", NOW)
    assert (missing.state, missing.problem) == ("missing", "no file heartbeat.TPCReceiver")


@pytest.fixture
def demo_catalog(demo_data: Path) -> Catalog:
    catalog, cache = open_services(load_settings(None, env={}, data_folder=str(demo_data)))
    cache.close()
    return catalog


def test_run_activity_of_the_newest_run(demo_catalog: Catalog) -> None:
    _, last = demo_catalog.newest_run() or (0, NOW)
    soon = run_activity(demo_catalog, last + timedelta(minutes=2, seconds=59), ongoing_minutes=5)
    assert (soon.run_number, soon.ongoing, soon.minutes_since_last_file) == (300004, True, 2)
    later = run_activity(demo_catalog, last + timedelta(hours=1), ongoing_minutes=5)
    assert (later.ongoing, later.minutes_since_last_file, later.last_file) == (False, 60, last)


def test_run_activity_of_an_empty_catalog(tmp_path: Path) -> None:
    catalog = Catalog.connect(f"sqlite:///{tmp_path / 'c.sqlite'}", TZ)
    assert run_activity(catalog, NOW, 5).run_number is None


def test_whole_report_has_local_facts_and_every_site(
    demo_catalog: Catalog, fake_base: str, tmp_path: Path
) -> None:
    beat(tmp_path, "EMC", str(int(NOW.timestamp()) - 10))
    report = site_report(demo_catalog, tmp_path, ["EMC", "HLT"], fake_sites(fake_base), NOW, 5.0, TIMEOUT)
    assert [h.state for h in report.heartbeats] == ["alive", "missing"]
    assert report.activity.run_number == 300004
    assert {s.name: s.state for s in report.sites}["slow"] == "timeout"  # a hung site does not hold it up
    assert {s.name: s.state for s in report.sites}["fast"] == "up"
    assert len(report.sites) == 6


# --- the admin action -----------------------------------------------------------------------------------


@pytest.fixture
def admin_settings(make_settings: Callable[..., Settings]) -> Callable[[str], Settings]:
    return lambda command: make_settings(restart_command=command)


def test_restart_is_off_until_configured(admin_settings: Callable[[str], Settings]) -> None:
    assert "not set" in (restart_disabled_reason(admin_settings("")) or "")
    assert "cannot be parsed" in (restart_disabled_reason(admin_settings("upgrade 'half")) or "")
    assert restart_disabled_reason(admin_settings("true")) is None
    with pytest.raises(AdminActionError, match="not set"):
        run_restart(admin_settings("  "), "adam")


def test_restart_runs_without_a_shell_and_is_audited(
    admin_settings: Callable[[str], Settings], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="overwatch.audit")
    result = run_restart(admin_settings("echo $HOME && rm -rf /nonexistent; echo 'two words'"), "adam")
    assert result.ok
    assert result.output_tail == "$HOME && rm -rf /nonexistent; echo two words"
    audit = [r.getMessage() for r in caplog.records if r.name == "overwatch.audit"]
    assert len(audit) == 2
    assert "user adam runs restart command echo '$HOME'" in audit[0]
    assert "user adam ended: exit code 0" in audit[1]


def test_restart_reports_failure_timeout_and_missing_program(
    admin_settings: Callable[[str], Settings],
) -> None:
    failing = f"{sys.executable} -c \"import sys; print('\\n'.join(map(str, range(100)))); sys.exit(3)\""
    failed = run_restart(admin_settings(failing), "adam")
    assert (failed.ok, failed.exit_code) == (False, 3)
    assert failed.output_tail.splitlines() == [str(i) for i in range(60, 100)]
    slow = run_restart(admin_settings("sleep 5"), "adam", timeout=0.3)
    assert (slow.timed_out, slow.exit_code, slow.output_tail) == (True, None, "(killed after 0.3 s)")
    missing = run_restart(admin_settings("/no/such/upgrade --now"), "adam")
    assert missing.exit_code is None
    assert "could not start /no/such/upgrade" in missing.output_tail
    assert restart_argv(admin_settings("upgrade --to 'v 2'")) == ["upgrade", "--to", "v 2"]
