"""Site status: the newest run's activity, receiver heartbeats, and the other sites' ``/status``."""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from overwatch_core.catalog import Catalog

log = logging.getLogger(__name__)

#: A receiver whose heartbeat is this old is dead (REF §9.2).
HEARTBEAT_DEAD_SECONDS = 5 * 60
#: Each site's ``/status`` gets this long (REF §6.11).
SITE_TIMEOUT = 0.5
#: Extra time the whole check waits for answers beyond SITE_TIMEOUT before it calls a site timed out.
SITE_GRACE = 0.3
#: The answer a healthy site gives (``/status`` of this app and of the original).
ALIVE = b"Alive"
_MAX_BODY = 256
_MAX_THREADS = 32

HeartbeatState = Literal["alive", "dead", "missing", "unreadable"]
SiteState = Literal["up", "http_error", "timeout", "connection_error", "bad_answer"]


@dataclass(frozen=True)
class RunActivity:
    """The newest run, whether it is ongoing, and how long ago its last file arrived."""

    run_number: int | None
    ongoing: bool
    last_file: datetime | None
    minutes_since_last_file: int | None


@dataclass(frozen=True)
class Heartbeat:
    """One receiver's last sign of life, read from ``heartbeat.<SYS>Receiver`` in the drop folder."""

    subsystem: str
    state: HeartbeatState
    last_beat: datetime | None = None
    age_seconds: float | None = None
    problem: str = ""


@dataclass(frozen=True)
class SiteStatus:
    """The answer of one other Overwatch site, in words a shifter can act on."""

    name: str
    url: str
    state: SiteState
    message: str
    seconds: float

    @property
    def up(self) -> bool:
        return self.state == "up"


@dataclass(frozen=True)
class SiteReport:
    """Everything the site-status page shows, and how long gathering it took."""

    activity: RunActivity
    heartbeats: tuple[Heartbeat, ...]
    sites: tuple[SiteStatus, ...]
    checked_at: datetime
    seconds: float


# --- run activity --------------------------------------------------------------------------------------


def run_activity(catalog: Catalog, now: datetime, ongoing_minutes: float) -> RunActivity:
    """The newest run and the whole minutes since its last file (REF §6.11 "time since last file")."""
    newest = catalog.newest_run()
    if newest is None:
        return RunActivity(None, False, None, None)
    number, last = newest
    age = (now - last).total_seconds()
    return RunActivity(number, age < ongoing_minutes * 60, last, max(0, int(age // 60)))


# --- heartbeats ------------------------------------------------------------------------------------------


def heartbeat_path(drop_path: Path, subsystem: str) -> Path:
    return drop_path / f"heartbeat.{subsystem}Receiver"


def read_heartbeat(drop_path: Path, subsystem: str, now: datetime) -> Heartbeat:
    """The receiver's state; the file holds one unix time, which needs no time zone (the original read it
    as Zurich time and compared it with UTC)."""
    path = heartbeat_path(drop_path, subsystem)
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        return Heartbeat(subsystem, "missing", problem=f"no file {path.name}")
    except OSError as exc:
        return Heartbeat(subsystem, "unreadable", problem=f"{path.name}: {exc.strerror or exc}")
    try:
        beat = datetime.fromtimestamp(float(text), now.tzinfo)
    except (ValueError, OverflowError, OSError):
        return Heartbeat(subsystem, "unreadable", problem=f"{path.name} holds {text[:40]!r}, not a unix time")
    age = (now - beat).total_seconds()
    state: HeartbeatState = "dead" if age >= HEARTBEAT_DEAD_SECONDS else "alive"
    return Heartbeat(subsystem, state, beat, age)


def read_heartbeats(drop_path: Path, subsystems: Iterable[str], now: datetime) -> tuple[Heartbeat, ...]:
    return tuple(read_heartbeat(drop_path, name, now) for name in subsystems)


# --- other sites ---------------------------------------------------------------------------------------


def status_url(base_url: str) -> str | None:
    """``<base>/status`` for an http(s) base URL; None for anything else (never ``file:`` and friends)."""
    try:
        parts = urllib.parse.urlsplit(base_url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{base_url.strip().rstrip('/')}/status"


def check_site(name: str, base_url: str, timeout: float = SITE_TIMEOUT) -> SiteStatus:
    """GET the site's ``/status`` once; every failure becomes a state with a message, never an exception."""
    started = time.monotonic()
    url = status_url(base_url)
    if url is None:
        return SiteStatus(name, base_url, "connection_error", f"{base_url!r} is not an http(s) URL", 0.0)
    state, message = _ask(url, timeout)
    seconds = time.monotonic() - started
    if state != "up":
        log.info("site %s at %s: %s (%s)", name, url, state, message)
    return SiteStatus(name, url, state, message, seconds)


def _ask(url: str, timeout: float) -> tuple[SiteState, str]:
    request = urllib.request.Request(url, headers={"User-Agent": "overwatch-site-status"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body: bytes = response.read(_MAX_BODY)
    except urllib.error.HTTPError as exc:
        return "http_error", f"answered HTTP {exc.code} {exc.reason}"
    except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        return _failure(exc, timeout)
    if body.strip() != ALIVE:
        return "bad_answer", f"answered {body[:60]!r} instead of {ALIVE.decode()!r}"
    return "up", "Site is up"


def _failure(exc: Exception, timeout: float) -> tuple[SiteState, str]:
    """Sort a failed request into timeout, unusable answer or connection error."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return "timeout", f"no answer within {timeout:g} s"
    if isinstance(reason, http.client.InvalidURL):
        return "connection_error", f"invalid URL: {reason}"
    if isinstance(reason, http.client.RemoteDisconnected):
        return "connection_error", "closed the connection without answering"
    if isinstance(reason, http.client.HTTPException):
        return "bad_answer", f"answered something that is not HTTP ({type(reason).__name__})"
    return "connection_error", str(reason) or type(reason).__name__


def check_sites(
    sites: Mapping[str, str], timeout: float = SITE_TIMEOUT, deadline: float | None = None
) -> tuple[SiteStatus, ...]:
    """Every site at once, each with ``timeout``; returns after ``deadline`` (timeout + grace) at most.

    The socket timeout does not bound a name lookup or a server that trickles bytes, so a site still
    unanswered at the deadline is reported as timed out and its thread is left to finish on its own.
    """
    if not sites:
        return ()
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=min(len(sites), _MAX_THREADS), thread_name_prefix="site-status")
    try:
        futures = {name: pool.submit(check_site, name, str(url), timeout) for name, url in sites.items()}
        wait(futures.values(), timeout=timeout + SITE_GRACE if deadline is None else deadline)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    elapsed = time.monotonic() - started
    return tuple(_outcome(name, str(sites[name]), future, elapsed) for name, future in futures.items())


def _outcome(name: str, url: str, future: Future[SiteStatus], elapsed: float) -> SiteStatus:
    if not future.done() or future.cancelled():
        late = f"no answer within {elapsed:.1f} s"
        return SiteStatus(name, status_url(url) or url, "timeout", late, elapsed)
    problem = future.exception()
    if problem is None:
        return future.result()
    log.error("site %s at %s: the check itself failed: %r", name, url, problem)
    return SiteStatus(name, url, "connection_error", f"check failed: {problem}", elapsed)


# --- the whole report ------------------------------------------------------------------------------------


def site_report(
    catalog: Catalog,
    drop_path: Path,
    subsystems: Iterable[str],
    sites: Mapping[str, str],
    now: datetime,
    ongoing_minutes: float,
    timeout: float = SITE_TIMEOUT,
) -> SiteReport:
    """Gather the status page: local facts first (fast), then every site concurrently."""
    started = time.monotonic()
    activity = run_activity(catalog, now, ongoing_minutes)
    heartbeats = read_heartbeats(drop_path, subsystems, now)
    checked = check_sites(sites, timeout)
    return SiteReport(activity, heartbeats, checked, now, time.monotonic() - started)
