"""Parse and format the file names of received, stored, combined and time-slice files (SPEC §3.1)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from overwatch_core.errors import ConfigError, FileNameError

DEFAULT_ZONE = "Europe/Zurich"

_TIME = r"(\d{4})_(\d{1,2})_(\d{1,2})_(\d{1,2})_(\d{1,2})_(\d{1,2})"
RECEIVED_PATTERN = re.compile(
    rf"^(?P<sys>[A-Za-z0-9]+?)histos_(?P<run>\d+)_(?P<mode>[A-Za-z]+)_(?P<time>{_TIME})\.root$"
)
STORED_PATTERN = re.compile(rf"^(?P<sys>[A-Za-z0-9]+?)hists\.(?P<time>{_TIME})\.root$")
COMBINED_PATTERN = re.compile(r"^hists\.combined\.(?P<n>\d+)\.(?P<time>\d+)\.root$")
TIME_SLICE_PATTERN = re.compile(r"^timeSlice\.(?P<min>\d+)\.(?P<max>\d+)\.(?P<hash>[0-9a-fA-F]+)\.root$")

RECEIVED_EXAMPLE = "EMChistos_123456_C_2015_11_24_18_05_10.root"
STORED_EXAMPLE = "EMChists.2015_11_24_18_05_10.root"


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``, or a ConfigError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"unknown time zone {name!r} (expected an IANA name such as {DEFAULT_ZONE!r})"
        ) from exc


@dataclass(frozen=True)
class ReceivedName:
    """A file as a receiver drops it: ``<SYS>histos_<run>_<hltMode>_<Y>_<M>_<D>_<h>_<m>_<s>.root``."""

    subsystem: str
    run_number: int
    hlt_mode: str
    timestamp: datetime


@dataclass(frozen=True)
class StoredName:
    """A file after ingest: ``Run<N>/<SYS>/<SYS>hists.<YYYY_MM_DD_HH_MM_SS>.root``."""

    subsystem: str
    timestamp: datetime


def _parse_time(match: re.Match[str], tz: ZoneInfo, name: str) -> datetime:
    last = len(match.groups())
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(last - 5, last + 1))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError as exc:
        raise FileNameError(f"{name!r}: invalid date or time ({exc})") from exc


def format_time(timestamp: datetime, tz: ZoneInfo) -> str:
    """Zero-padded ``YYYY_MM_DD_HH_MM_SS`` in zone ``tz``."""
    return timestamp.astimezone(tz).strftime("%Y_%m_%d_%H_%M_%S")


def parse_received_name(name: str, tz: ZoneInfo) -> ReceivedName:
    """Parse a drop-folder file name; time fields may be zero-padded or not."""
    base = PurePath(name).name
    match = RECEIVED_PATTERN.match(base)
    if match is None:
        raise FileNameError(
            f"{base!r} is not a received file name: expected "
            f"'<SYS>histos_<run>_<hltMode>_<Y>_<M>_<D>_<h>_<m>_<s>.root', e.g. {RECEIVED_EXAMPLE!r}"
        )
    return ReceivedName(
        subsystem=match["sys"],
        run_number=int(match["run"]),
        hlt_mode=match["mode"].upper(),
        timestamp=_parse_time(match, tz, base),
    )


def format_received_name(
    subsystem: str, run_number: int, hlt_mode: str, timestamp: datetime, tz: ZoneInfo
) -> str:
    """The name a receiver would give this file (zero-padded, as the DQM receiver writes it)."""
    return f"{subsystem}histos_{run_number}_{hlt_mode}_{format_time(timestamp, tz)}.root"


def parse_stored_name(name: str, tz: ZoneInfo) -> StoredName:
    """Parse ``<SYS>hists.<time>.root`` (any directory prefix is ignored)."""
    base = PurePath(name).name
    match = STORED_PATTERN.match(base)
    if match is None:
        raise FileNameError(
            f"{base!r} is not a stored file name: expected '<SYS>hists.<Y>_<M>_<D>_<h>_<m>_<s>.root', "
            f"e.g. {STORED_EXAMPLE!r}"
        )
    return StoredName(subsystem=match["sys"], timestamp=_parse_time(match, tz, base))


def format_stored_name(subsystem: str, timestamp: datetime, tz: ZoneInfo) -> str:
    return f"{subsystem}hists.{format_time(timestamp, tz)}.root"


def stored_path(
    run_number: int, subsystem: str, timestamp: datetime, tz: ZoneInfo, replay: bool = False
) -> str:
    """Relative path of a stored file; HLT-mode-E (replay) data goes below ``ReplayData/``."""
    path = f"Run{run_number}/{subsystem}/{format_stored_name(subsystem, timestamp, tz)}"
    return f"ReplayData/{path}" if replay else path


def format_combined_name(n_files: int, unix_time: int) -> str:
    return f"hists.combined.{n_files}.{unix_time}.root"


def format_time_slice_name(min_unix: int, max_unix: int, digest: str) -> str:
    return f"timeSlice.{min_unix}.{max_unix}.{digest}.root"


def timestamp_from_filename(path: str, tz: ZoneInfo) -> int:
    """The unix time a name stands for (REF §1.3): combined → its time, time slice → its duration in s."""
    base = PurePath(path).name
    if match := COMBINED_PATTERN.match(base):
        return int(match["time"])
    if match := TIME_SLICE_PATTERN.match(base):
        return int(match["max"]) - int(match["min"])
    if RECEIVED_PATTERN.match(base):
        return int(parse_received_name(base, tz).timestamp.timestamp())
    if STORED_PATTERN.match(base):
        return int(parse_stored_name(base, tz).timestamp.timestamp())
    raise FileNameError(
        f"{base!r} matches no known file name: expected a received name like {RECEIVED_EXAMPLE!r}, a stored "
        f"name like {STORED_EXAMPLE!r}, 'hists.combined.<n>.<unix>.root' or "
        "'timeSlice.<min>.<max>.<sha1>.root'"
    )


_RUN_DIR = re.compile(r"^Run(\d+)$")


def parse_run_dir(name: str) -> int | None:
    """The run number of a ``Run<N>`` folder name, or None for any other name."""
    match = _RUN_DIR.match(name)
    return int(match.group(1)) if match else None
