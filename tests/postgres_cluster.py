"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary folder, pg_ctl on 127.0.0.1 and a
free port, one fresh database per test, everything removed afterwards.

PostgreSQL refuses to run as root, so as root the cluster belongs to a dedicated system user (created if
missing). Failing to start is an error, never a skip: `make test` installs Debian's postgresql.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SYSTEM_USER = "overwatch-pg"


def _bin(tool: str) -> str:
    """Debian keeps the server tools in /usr/lib/postgresql/<version>/bin, off the PATH."""
    debian = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    found = debian[-1] if debian else shutil.which(tool)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {tool} is missing: apt-get install postgresql (make test does it)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    """Run ``command`` as the cluster's owner: this user, or the dedicated system user when we are root."""
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True)
    return ["runuser", "-u", SYSTEM_USER, "--", *command]


def _run(command: list[str]) -> None:
    done = subprocess.run(_as_owner(command), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


class Cluster:
    """A running cluster; ``database()`` makes a new, empty database and returns its SQLAlchemy URL."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self._names = itertools.count(1)

    def start(self) -> None:
        data, sockets = self.folder / "data", self.folder / "sockets"
        sockets.mkdir(parents=True)
        if os.geteuid() == 0:
            _as_owner(["true"])  # creates the system user if needed
            shutil.chown(self.folder, SYSTEM_USER)
            shutil.chown(sockets, SYSTEM_USER)
        _run([_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        options = f"-p {self.port} -k {sockets} -h 127.0.0.1 -c fsync=off -c full_page_writes=off"
        _run([_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.folder / "log"), "-w", "start"])

    def stop(self) -> None:
        data = self.folder / "data"
        if data.exists():
            _run([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])

    def database(self) -> str:
        import psycopg

        name = f"t{next(self._names)}"
        server = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@contextmanager
def running_cluster() -> Iterator[Cluster]:
    """A started cluster in a new folder of the system's temporary directory (which the cluster's owner can
    reach, unlike pytest's private temporary folders), stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="overwatch-pg-"))
    folder.chmod(0o755)
    cluster = Cluster(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
