"""The Flask secret key: from the environment, or generated once into the instance folder."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from overwatch_core.errors import ConfigError
from overwatch_core.settings import Settings

log = logging.getLogger(__name__)

SECRET_KEY_ENV = "OVERWATCH_SECRET_KEY"
SECRET_KEY_FILE = "secret_key"


def load_secret_key(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """The key that signs session cookies; never a constant, so no two sites share one by accident.

    Every web host must see the same key (several hosts behind a load balancer share the
    instance folder, or all set the environment variable).
    """
    env = os.environ if env is None else env
    if env.get(SECRET_KEY_ENV):
        return env[SECRET_KEY_ENV]
    path = settings.instance_path / SECRET_KEY_FILE
    if not path.exists():
        _create_key_file(path)
    return _read_key_file(path)


def _create_key_file(path: Path) -> None:
    """Write a new key under a temporary name, then link it into place: readers never see a half
    written file, and of two processes starting at once the first link wins and both use its key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        os.link(temporary, path)
        log.info("generated a new secret key in %s", path)
    except FileExistsError:
        log.debug("another process created %s first", path)
    finally:
        temporary.unlink(missing_ok=True)


def _read_key_file(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("secret key file %s is readable by other users; run chmod 600 on it", path)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ConfigError(f"the secret key in {path} is too short; delete the file to generate a new one")
    return key
