"""One typed settings object, loaded in layers: defaults, then a TOML file, then OVERWATCH_* variables."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overwatch_core.alarms import Alarm, alarms_from_config
from overwatch_core.errors import ConfigError

ENV_PREFIX = "OVERWATCH_"
CONFIG_ENV = "OVERWATCH_CONFIG"


def _setting(default: Any, help: str) -> Any:
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Each field has a one-line help text, mirrored in the example config."""

    data_folder: str = _setting("data", "Folder holding Run<N>/ folders, the catalog and caches.")
    drop_folder: str = _setting("", "Folder receivers drop new files into; empty means the data folder.")
    quarantine_folder: str = _setting(
        "", "Where unreadable files are moved; empty means <data_folder>/quarantine."
    )
    database_url: str = _setting(
        "", "SQLAlchemy URL of the catalog; empty means SQLite <data_folder>/overwatch.sqlite."
    )
    subsystems: list[str] = _setting(
        ["EMC", "TPC", "HLT"], "Subsystems to ingest and show; HLT must be included."
    )
    timezone: str = _setting("Europe/Zurich", "IANA zone of the times in file names and on pages.")
    cumulative: bool = _setting(True, "Files hold everything since run start (true) or only their interval.")
    ongoing_minutes: float = _setting(5.0, "A run is ongoing while its newest file is younger than this.")
    settle_seconds: float = _setting(
        2.0, "A dropped file modified more recently than this is left for the next pass."
    )
    histogram_cache_mb: int = _setting(256, "In-process cache of decoded histograms, in MB.")
    process_histogram_cache_mb: int = _setting(
        64, "The same cache of `overwatch process`, in MB: a pass needs only the newest files and references."
    )
    log_level: str = _setting("INFO", "Logging level: DEBUG, INFO, WARNING or ERROR.")
    log_format: str = _setting(
        "text", "Log lines as text, or json: one object per line (time, level, logger, message, exception)."
    )
    process_period_seconds: float = _setting(
        10.0, "How often `overwatch process --watch` looks for new files."
    )
    live_refresh_seconds: float = _setting(
        20.0, "How often the run list and an ongoing run's page look for new files, in the browser."
    )
    process_lease_seconds: float = _setting(
        60.0, "How long the processing leader's lease lasts unrenewed; a standby takes over after it."
    )
    view_cache_mb: int = _setting(1024, "On-disk cache of processed views and time slices, in MB.")
    alarms: dict[str, Any] = _setting(
        {}, "Alarms per trend name: a list of alarm tables each (see [alarms])."
    )
    checks: dict[str, Any] = _setting(
        {}, "Automatic checks per subsystem: a list of check tables each, changing or adding to the defaults."
    )
    notify_smtp_host: str = _setting("", "SMTP server that alarm mails go through; empty sends no mail.")
    notify_smtp_port: int = _setting(25, "Port of the SMTP server.")
    notify_smtp_starttls: bool = _setting(False, "Upgrade the SMTP connection with STARTTLS.")
    notify_smtp_user: str = _setting("", "SMTP login (the password comes from OVERWATCH_SMTP_PASSWORD).")
    notify_mail_from: str = _setting("overwatch@localhost", "Sender address of alarm mails.")
    notify_mail_to: list[str] = _setting([], "Recipients of alarm mails.")
    notify_webhooks: list[str] = _setting([], "Slack/Mattermost-compatible incoming-webhook URLs for alarms.")
    instance_folder: str = _setting(
        "", "Web app state (secret key, job cache); empty means <data_folder>/instance."
    )
    host: str = _setting("127.0.0.1", "Address `overwatch serve` listens on.")
    port: int = _setting(8050, "Port `overwatch serve` listens on.")
    workers: int = _setting(2, "Number of gunicorn worker processes of `overwatch serve`.")
    celery_broker_url: str = _setting(
        "", "Redis URL for background callbacks on Celery; empty uses diskcache."
    )
    status_sites: dict[str, Any] = _setting({}, "Other Overwatch sites for the status page: name = base URL.")
    restart_command: str = _setting("", "Admin 'restart / upgrade' command; empty disables the action.")
    upload_max_mb: int = _setting(64, "Largest file the upload API accepts, in MB.")
    login_attempts: int = _setting(5, "Failed logins per user and address allowed in login_window_minutes.")
    login_window_minutes: float = _setting(15.0, "Window of the failed-login rate limit, in minutes.")
    slice_delay_seconds: float = _setting(
        0.0, "Extra delay per computed time slice; for tests and demos of Cancel."
    )

    def __post_init__(self) -> None:
        if "HLT" not in self.subsystems:
            raise ConfigError("subsystems: must include 'HLT' (other subsystems fall back to its files)")
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"log_level: {self.log_level!r} is not one of DEBUG, INFO, WARNING, ERROR")
        if self.log_format not in {"text", "json"}:
            raise ConfigError(f"log_format: {self.log_format!r} is not one of text, json")
        self.trend_alarms  # noqa: B018 -- parsed now, so a bad alarm table stops at start-up naming its key
        numbers = ("ongoing_minutes", "settle_seconds", "histogram_cache_mb", "process_histogram_cache_mb")
        more = ("process_period_seconds", "view_cache_mb", "workers", "upload_max_mb", "login_attempts")
        late = ("login_window_minutes", "slice_delay_seconds")
        for name in (*numbers, *more, *late):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must not be negative, got {getattr(self, name)!r}")
        if self.live_refresh_seconds <= 0:
            raise ConfigError(f"live_refresh_seconds: must be positive, got {self.live_refresh_seconds!r}")
        if self.process_lease_seconds <= 0:  # renewed every third of it: zero would never rest
            raise ConfigError(f"process_lease_seconds: must be positive, got {self.process_lease_seconds!r}")

    @functools.cached_property
    def trend_alarms(self) -> dict[str, tuple[Alarm, ...]]:
        """Alarm objects per trend name, built from the ``alarms`` table."""
        return alarms_from_config(self.alarms)

    @property
    def data_path(self) -> Path:
        return Path(self.data_folder)

    @property
    def instance_path(self) -> Path:
        return Path(self.instance_folder) if self.instance_folder else self.data_path / "instance"

    @property
    def metrics_path(self) -> Path:
        """prometheus-client's multiprocess folder of this host's `overwatch serve` workers."""
        return self.instance_path / "metrics"

    @property
    def worker_metrics_path(self) -> Path:
        """The same for this host's `overwatch worker` (its time-slice jobs), read by serve's /metrics."""
        return self.instance_path / "metrics-worker"

    @property
    def drop_path(self) -> Path:
        return Path(self.drop_folder) if self.drop_folder else self.data_path

    @property
    def quarantine_path(self) -> Path:
        return Path(self.quarantine_folder) if self.quarantine_folder else self.data_path / "quarantine"

    @property
    def catalog_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_path / 'overwatch.sqlite').resolve()}"

    @property
    def cache_path(self) -> Path:
        return self.data_path / "cache"


def setting_help() -> dict[str, str]:
    """Name → help text of every setting (used by the documentation test and `--help`)."""
    return {f.name: f.metadata["help"] for f in dataclasses.fields(Settings)}


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(Settings)


def _convert(name: str, value: Any, kind: Any) -> Any:
    """Check a TOML value against the field type; ints are accepted where floats are expected."""
    origin = typing.get_origin(kind)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a table, got {type(value).__name__}")
        return value
    if origin is list:
        (item,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise ConfigError(f"{name}: expected a list of {item.__name__}, got {type(value).__name__}")
        return [_convert(f"{name}[{i}]", v, item) for i, v in enumerate(value)]
    if origin in (types.UnionType, typing.Union):
        raise ConfigError(f"{name}: unsupported setting type")  # no optional settings exist today
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        raise ConfigError(f"{name}: expected int, got bool")
    if not isinstance(value, kind):
        raise ConfigError(f"{name}: expected {kind.__name__}, got {type(value).__name__} ({value!r})")
    return value


def _from_env_text(name: str, text: str, kind: Any) -> Any:
    """Turn an environment string into the field's type (lists are comma separated)."""
    if typing.get_origin(kind) is dict:
        try:
            table = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()}: expected a JSON object ({exc})") from exc
        return _convert(f"{ENV_PREFIX}{name.upper()}", table, kind)
    if typing.get_origin(kind) is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}: expected true/false, got {text!r}")
    try:
        return kind(text)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}: expected {kind.__name__}, got {text!r}") from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file {str(path)!r} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {str(path)!r} is not valid TOML: {exc}") from exc


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from defaults, the TOML file (argument or OVERWATCH_CONFIG), env, then overrides."""
    env = os.environ if env is None else env
    kinds = _field_types()
    values: dict[str, Any] = {}
    path = config_file or env.get(CONFIG_ENV)
    if path:
        for key, value in _read_toml(Path(path)).items():
            if key not in kinds:
                raise ConfigError(
                    f"unknown setting {key!r} in {str(path)!r}; valid: {', '.join(sorted(kinds))}"
                )
            values[key] = _convert(key, value, kinds[key])
    for name, kind in kinds.items():
        text = env.get(f"{ENV_PREFIX}{name.upper()}")
        if text is not None:
            values[name] = _from_env_text(name, text, kind)
    for key, value in overrides.items():
        if key not in kinds:
            raise ConfigError(f"unknown setting {key!r}; valid: {', '.join(sorted(kinds))}")
        values[key] = _convert(key, value, kinds[key])
    return Settings(**values)
