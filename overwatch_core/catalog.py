"""The catalog: runs, subsystems, files and histogram index in a SQL database through SQLAlchemy Core."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from overwatch_core import schema
from overwatch_core.errors import NotFoundError
from overwatch_core.model import Run, RunFile, Subsystem

log = logging.getLogger(__name__)

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_number", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("hlt_mode", sa.String(8), nullable=False),
)

subsystems = sa.Table(
    "subsystems",
    metadata,
    sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), primary_key=True),
    sa.Column("name", sa.String(16), primary_key=True),
    sa.Column("file_location", sa.String(16), nullable=False),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), nullable=False),
    sa.Column("location", sa.String(16), nullable=False),
    sa.Column("path", sa.String(512), nullable=False, unique=True),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("n_events", sa.Float, nullable=True),
    sa.Index("ix_files_run_location_time", "run_number", "location", "timestamp"),
)

histograms = sa.Table(
    "histograms",
    metadata,
    sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), primary_key=True),
    sa.Column("location", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(512), primary_key=True),
    sa.Column("root_class", sa.String(32), nullable=False),
)

trend_values = sa.Table(
    "trend_values",
    metadata,
    sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), primary_key=True),
    sa.Column("subsystem", sa.String(16), primary_key=True),
    sa.Column("trend", sa.String(128), primary_key=True),
    sa.Column("timestamp", sa.BigInteger, primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("error", sa.Float, nullable=True),
    sa.Index("ix_trend_values_trend", "subsystem", "trend", "run_number"),
)

alarm_results = sa.Table(
    "alarm_results",
    metadata,
    sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), primary_key=True),
    sa.Column("subsystem", sa.String(16), primary_key=True),
    sa.Column("trend", sa.String(128), primary_key=True),
    sa.Column("timestamp", sa.BigInteger, primary_key=True),
    sa.Column("alarm", sa.Integer, primary_key=True),
    sa.Column("message", sa.Text, nullable=False),
)

#: Objects of a file that are not shown: not a histogram, or a histogram that could not be decoded.
skipped_objects = sa.Table(
    "skipped_objects",
    metadata,
    sa.Column("path", sa.String(512), primary_key=True),
    sa.Column("name", sa.String(512), primary_key=True),
    sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), nullable=False),
    sa.Column("location", sa.String(16), nullable=False),
    sa.Column("root_class", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_skipped_objects_run_location", "run_number", "location"),
)

#: Where each stored file is in processing: ``pending`` until its trends are recorded, then ``done`` or
#: ``failed`` (with the problem); ``note`` says how it was read when that was unusual (a recovered file).
#: A separate table rather than columns of ``files``, so catalogs made before it gain it without a migration.
file_status = sa.Table(
    "file_status",
    metadata,
    sa.Column("path", sa.String(512), primary_key=True),
    sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("problem", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("updated", sa.BigInteger, nullable=False),
    sa.Index("ix_file_status_state", "state"),
)

#: Trend values that have no number for a file (a NaN or infinite result, no events to divide by), and why.
trend_missing = sa.Table(
    "trend_missing",
    metadata,
    sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), primary_key=True),
    sa.Column("subsystem", sa.String(16), primary_key=True),
    sa.Column("trend", sa.String(128), primary_key=True),
    sa.Column("timestamp", sa.BigInteger, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
)

#: The reference run of a subsystem, valid from ``valid_from`` on until a later row; who set it and when.
reference_runs = sa.Table(
    "reference_runs",
    metadata,
    sa.Column("subsystem", sa.String(16), primary_key=True),
    sa.Column("valid_from", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("reference_run", sa.Integer, nullable=False),
    sa.Column("set_by", sa.String(64), nullable=False),
    sa.Column("set_at", sa.BigInteger, nullable=False),
)

#: The verdict of each check on each histogram of each processed file (never recomputed on page views).
check_results = sa.Table(
    "check_results",
    metadata,
    sa.Column("path", sa.String(512), primary_key=True),
    sa.Column("subsystem", sa.String(16), primary_key=True),
    sa.Column("histogram", sa.String(512), primary_key=True),
    sa.Column("check_name", sa.String(64), primary_key=True),
    sa.Column("run_number", sa.Integer, sa.ForeignKey("runs.run_number"), nullable=False),
    sa.Column("quality", sa.String(8), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Index("ix_check_results_run_subsystem", "run_number", "subsystem"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created", sa.BigInteger, nullable=False),
)

#: API tokens of users: only a hash is stored (the token is shown once, when created); revocable.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
    sa.Column("label", sa.String(128), nullable=False),
    sa.Column("created", sa.BigInteger, nullable=False),
    sa.Column("revoked", sa.BigInteger, nullable=True),
)

#: Failed logins per user name and client address, for a rate limit every web host shares.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Index("ix_login_failures_user_address_time", "username", "address", "timestamp"),
    sa.Index("ix_login_failures_time", "timestamp"),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("expires", sa.Float, nullable=False),
)

#: The processing loop's last pass and running totals (one row, "last"): the loop runs in another process,
#: often on another host, so /metrics on any host reads its numbers here.
processing_passes = sa.Table(
    "processing_passes",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("finished", sa.Float, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("stored", sa.Integer, nullable=False),
    sa.Column("decodes", sa.Integer, nullable=False),
    sa.Column("passes_total", sa.BigInteger, nullable=False),
    sa.Column("decodes_total", sa.BigInteger, nullable=False),
    sa.Column("seconds_total", sa.Float, nullable=False),
)

#: Tables whose content comes from the data folder (`overwatch rebuild` recreates them), children first.
DATA_TABLES = (
    check_results,
    alarm_results,
    trend_missing,
    trend_values,
    skipped_objects,
    file_status,
    histograms,
    files,
    subsystems,
    runs,
)


@dataclass(frozen=True)
class ReferenceRun:
    """A subsystem's reference run, valid for runs from ``valid_from`` on (until a later setting)."""

    subsystem: str
    valid_from: int
    reference_run: int
    set_by: str
    set_at: datetime


#: File processing states (``file_status.state``).
PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True)
class FileReport:
    """What processing knows about one stored file beyond its histograms: state, problem, skipped objects."""

    path: str
    state: str
    problem: str | None
    note: str | None
    skipped: Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class RunSummary:
    """One row of the run list: run, mode, start time, and file count per subsystem."""

    run_number: int
    hlt_mode: str
    start: datetime | None
    end: datetime | None
    file_counts: Mapping[str, int]
    file_locations: Mapping[str, str]


@dataclass(frozen=True)
class RunPage:
    """Page ``page`` (1-based) of runs, newest first, with the total to paginate."""

    runs: tuple[RunSummary, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_index(self) -> int:
        """1-based index of the first run shown (0 when there are none)."""
        return (self.page - 1) * self.per_page + 1 if self.runs else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.runs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets several gunicorn workers read while ingest writes; wait instead of failing on a lock."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and a busy timeout."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


LAST_PASS = "last"


@dataclass(frozen=True)
class PassRecord:
    """The processing loop's last pass (who, when, how long, files stored, files decoded) and the totals."""

    holder: str
    finished: float
    seconds: float
    stored: int
    decodes: int
    passes_total: int
    decodes_total: int
    seconds_total: float


class Catalog:
    """All reads and writes of the catalog database; the only module that speaks SQL."""

    def __init__(self, engine: Engine, tz: ZoneInfo) -> None:
        self.engine = engine
        self.tz = tz

    @classmethod
    def connect(cls, url: str, tz: ZoneInfo, create: bool = True) -> Catalog:
        """The catalog at ``url``: an empty one is created at the newest schema revision (``create``), an
        out-of-date one is refused with SchemaError naming `overwatch db upgrade`."""
        catalog = cls(make_engine(url), tz)
        schema.ensure_current(catalog.engine, metadata, create)
        return catalog

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    def drop_data(self) -> None:
        """Drop every table that can be rebuilt from disk; users are kept."""
        metadata.drop_all(self.engine, tables=list(DATA_TABLES))

    def close(self) -> None:
        self.engine.dispose()

    # -- writes -------------------------------------------------------------------------------------

    def add_run(self, conn: Connection, run_number: int, hlt_mode: str) -> None:
        """Insert the run if new; the HLT mode of the first file seen is kept (REF §1.1)."""
        exists = conn.execute(sa.select(runs.c.run_number).where(runs.c.run_number == run_number)).first()
        if exists is None:
            conn.execute(runs.insert().values(run_number=run_number, hlt_mode=hlt_mode))

    def add_file(
        self,
        conn: Connection,
        run_file: RunFile,
        hist_classes: Mapping[str, str],
        skipped: Mapping[str, tuple[str, str]] | None = None,
        note: str | None = None,
        now: float | None = None,
    ) -> bool:
        """Record a stored file, its histogram index and its skipped objects (name → (class, reason)).

        The file starts ``pending``: processing records its trends and then marks it done or failed.
        False when the path was already known.
        """
        known = conn.execute(sa.select(files.c.id).where(files.c.path == run_file.path)).first()
        if known is not None:
            return False
        conn.execute(
            files.insert().values(
                run_number=run_file.run_number,
                location=run_file.subsystem,
                path=run_file.path,
                timestamp=int(run_file.timestamp.timestamp()),
                size=run_file.size,
                n_events=run_file.n_events,
            )
        )
        self._index_histograms(conn, run_file.run_number, run_file.subsystem, hist_classes)
        if skipped:
            conn.execute(
                skipped_objects.insert(),
                [
                    {
                        "path": run_file.path,
                        "name": name,
                        "run_number": run_file.run_number,
                        "location": run_file.subsystem,
                        "root_class": cls,
                        "reason": reason,
                    }
                    for name, (cls, reason) in skipped.items()
                ],
            )
        conn.execute(
            file_status.insert().values(
                path=run_file.path,
                run_number=run_file.run_number,
                state=PENDING,
                note=note,
                updated=int(time.time() if now is None else now),
            )
        )
        return True

    def set_file_state(
        self, conn: Connection, path: str, state: str, problem: str | None = None, now: float | None = None
    ) -> None:
        """Mark a file's processing done or failed (with the problem, shown on the files page and CLI)."""
        conn.execute(
            file_status.update()
            .where(file_status.c.path == path)
            .values(state=state, problem=problem, updated=int(time.time() if now is None else now))
        )

    def _index_histograms(
        self, conn: Connection, run_number: int, location: str, classes: Mapping[str, str]
    ) -> None:
        existing = set(
            conn.execute(
                sa.select(histograms.c.name).where(
                    histograms.c.run_number == run_number, histograms.c.location == location
                )
            ).scalars()
        )
        new = [
            {"run_number": run_number, "location": location, "name": name, "root_class": cls}
            for name, cls in classes.items()
            if name not in existing
        ]
        if new:
            conn.execute(histograms.insert(), new)

    def update_subsystems(self, conn: Connection, run_number: int, configured: Sequence[str]) -> None:
        """Decide where each configured subsystem reads its files (REF §1.6), whatever the arrival order.

        Own files win; otherwise HLT files; otherwise the subsystem does not exist for this run.
        """
        locations = set(
            conn.execute(
                sa.select(files.c.location).where(files.c.run_number == run_number).distinct()
            ).scalars()
        )
        wanted = {}
        for name in configured:
            if name in locations:
                wanted[name] = name
            elif "HLT" in locations:
                wanted[name] = "HLT"
        conn.execute(subsystems.delete().where(subsystems.c.run_number == run_number))
        if wanted:
            conn.execute(
                subsystems.insert(),
                [{"run_number": run_number, "name": n, "file_location": loc} for n, loc in wanted.items()],
            )

    # -- reads --------------------------------------------------------------------------------------

    def _datetime(self, unix: int | None) -> datetime | None:
        return None if unix is None else datetime.fromtimestamp(unix, self.tz)

    def runs_page(self, page: int = 1, per_page: int = 50) -> RunPage:
        """Runs newest first (numeric order), ``per_page`` at a time; only that page is loaded."""
        if page < 1 or per_page < 1:
            raise ValueError(f"page and per_page must be ≥ 1, got page={page}, per_page={per_page}")
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one()
            rows = conn.execute(
                sa.select(runs.c.run_number, runs.c.hlt_mode)
                .order_by(runs.c.run_number.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).all()
            summaries = self._summaries(conn, [(r.run_number, r.hlt_mode) for r in rows])
        return RunPage(runs=tuple(summaries), total=total, page=page, per_page=per_page)

    def _summaries(self, conn: Connection, rows: Sequence[tuple[int, str]]) -> list[RunSummary]:
        numbers = [number for number, _ in rows]
        counts = conn.execute(
            sa.select(
                files.c.run_number,
                files.c.location,
                sa.func.count(),
                sa.func.min(files.c.timestamp),
                sa.func.max(files.c.timestamp),
            )
            .where(files.c.run_number.in_(numbers))
            .group_by(files.c.run_number, files.c.location)
        ).all()
        per_location = {(r[0], r[1]): (r[2], r[3], r[4]) for r in counts}
        subs = conn.execute(
            sa.select(subsystems).where(subsystems.c.run_number.in_(numbers)).order_by(subsystems.c.name)
        ).all()
        result = []
        for number, mode in rows:
            locations = {s.name: s.file_location for s in subs if s.run_number == number}
            stats = [
                per_location[(number, loc)]
                for loc in set(locations.values())
                if (number, loc) in per_location
            ]
            result.append(
                RunSummary(
                    run_number=number,
                    hlt_mode=mode,
                    start=self._datetime(min((s[1] for s in stats), default=None)),
                    end=self._datetime(max((s[2] for s in stats), default=None)),
                    file_counts={
                        n: per_location.get((number, loc), (0, 0, 0))[0] for n, loc in locations.items()
                    },
                    file_locations=locations,
                )
            )
        return result

    def run_numbers(self) -> list[int]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(runs.c.run_number).order_by(runs.c.run_number)).scalars())

    def neighbour_runs(self, run_number: int) -> tuple[int | None, int | None]:
        """The run numbers just before and just after ``run_number`` (None at either end)."""
        number = runs.c.run_number
        with self.engine.connect() as conn:
            before = conn.execute(sa.select(sa.func.max(number)).where(number < run_number)).scalar()
            after = conn.execute(sa.select(sa.func.min(number)).where(number > run_number)).scalar()
        return before, after

    def subsystem_names(self, run_numbers: Sequence[int]) -> dict[int, list[str]]:
        """Run number → its subsystems' names (sorted), for the runs asked that exist."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(subsystems.c.run_number, subsystems.c.name)
                .where(subsystems.c.run_number.in_(list(run_numbers)))
                .order_by(subsystems.c.run_number, subsystems.c.name)
            ).all()
        found: dict[int, list[str]] = {}
        for number, name in rows:
            found.setdefault(number, []).append(name)
        return found

    def run(self, run_number: int) -> Run:
        """The run with its subsystems and their files (time ordered), or NotFoundError."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.run_number == run_number)).first()
            if row is None:
                nearby = conn.execute(
                    sa.select(runs.c.run_number)
                    .order_by(sa.func.abs(runs.c.run_number - run_number))
                    .limit(10)
                ).scalars()
                raise NotFoundError("run", run_number, sorted(nearby))
            subs = conn.execute(
                sa.select(subsystems).where(subsystems.c.run_number == run_number).order_by(subsystems.c.name)
            ).all()
            file_rows = conn.execute(
                sa.select(files)
                .where(files.c.run_number == run_number)
                .order_by(files.c.timestamp, files.c.path)
            ).all()
        return Run(
            run_number=run_number,
            hlt_mode=row.hlt_mode,
            subsystems=tuple(self._subsystem(run_number, s.name, s.file_location, file_rows) for s in subs),
        )

    def _subsystem(self, run_number: int, name: str, location: str, file_rows: Iterable[Any]) -> Subsystem:
        run_files = tuple(
            RunFile(
                run_number=run_number,
                subsystem=location,
                path=f.path,
                timestamp=datetime.fromtimestamp(f.timestamp, self.tz),
                size=f.size,
                n_events=f.n_events,
            )
            for f in file_rows
            if f.location == location
        )
        return Subsystem(run_number=run_number, name=name, file_location=location, files=run_files)

    def histogram_index(self, run_number: int, location: str) -> dict[str, str]:
        """Histogram name → ROOT class for the files of ``location`` in a run."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(histograms.c.name, histograms.c.root_class)
                .where(histograms.c.run_number == run_number, histograms.c.location == location)
                .order_by(histograms.c.name)
            ).all()
        return {r.name: r.root_class for r in rows}

    def newest_run(self) -> tuple[int, datetime] | None:
        """The newest run and the time of its newest file, or None for an empty catalog."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(files.c.run_number, sa.func.max(files.c.timestamp))
                .where(files.c.run_number == sa.select(sa.func.max(runs.c.run_number)).scalar_subquery())
                .group_by(files.c.run_number)
            ).first()
        if row is None:
            return None
        return row[0], datetime.fromtimestamp(row[1], self.tz)

    def ongoing_run(self, now: datetime, minutes: float) -> int | None:
        """The newest run if its newest file is younger than ``minutes`` (REF §1.4), else None."""
        newest = self.newest_run()
        if newest is None:
            return None
        number, last = newest
        return number if (now - last).total_seconds() < minutes * 60 else None

    def pending_paths(self) -> list[str]:
        """Stored files whose processing has not finished (a pass cut short), oldest first."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(files.c.path)
                    .join(file_status, file_status.c.path == files.c.path)
                    .where(file_status.c.state == PENDING)
                    .order_by(files.c.timestamp, files.c.path)
                ).scalars()
            )

    def file_reports(self, run_number: int, location: str | None = None) -> dict[str, FileReport]:
        """Path → processing state, problem, note and skipped objects of a run's files (of one location)."""
        status_query = sa.select(file_status).where(file_status.c.run_number == run_number)
        skipped_query = sa.select(skipped_objects).where(skipped_objects.c.run_number == run_number)
        if location is not None:
            status_query = status_query.where(file_status.c.path.in_(self._paths(run_number, location)))
            skipped_query = skipped_query.where(skipped_objects.c.location == location)
        with self.engine.connect() as conn:
            rows = conn.execute(status_query).all()
            skipped_rows = conn.execute(skipped_query.order_by(skipped_objects.c.name)).all()
        skipped: dict[str, dict[str, tuple[str, str]]] = {}
        for row in skipped_rows:
            skipped.setdefault(row.path, {})[row.name] = (row.root_class, row.reason)
        return {r.path: FileReport(r.path, r.state, r.problem, r.note, skipped.get(r.path, {})) for r in rows}

    def _paths(self, run_number: int, location: str) -> Any:
        return sa.select(files.c.path).where(files.c.run_number == run_number, files.c.location == location)

    def problem_counts(self, run_numbers: Sequence[int]) -> dict[int, int]:
        """Files per run with a problem (processing failed, trend values missing) or undecodable objects."""
        failed = sa.select(file_status.c.run_number, file_status.c.path).where(
            file_status.c.run_number.in_(list(run_numbers)), file_status.c.problem.is_not(None)
        )
        broken = sa.select(skipped_objects.c.run_number, skipped_objects.c.path).where(
            skipped_objects.c.run_number.in_(list(run_numbers)),
            skipped_objects.c.reason.like("cannot decode%"),
        )
        union = sa.union(failed, broken).subquery()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(union.c.run_number, sa.func.count()).group_by(union.c.run_number)
            ).all()
        return {r[0]: r[1] for r in rows}

    # -- reference runs and check results -----------------------------------------------------------------

    def set_reference(
        self,
        subsystem: str,
        reference_run: int,
        valid_from: int,
        set_by: str,
        now: float | None = None,
        require_run: bool = True,
    ) -> None:
        """Make ``reference_run`` the reference of ``subsystem`` for runs from ``valid_from`` on.

        The run must exist unless ``require_run`` is False (a demo naming a run it is about to ingest).
        """
        if require_run:
            self.run(reference_run).subsystem(subsystem)  # NotFoundError for an unknown run or subsystem
        row = {
            "reference_run": reference_run,
            "set_by": set_by,
            "set_at": int(time.time() if now is None else now),
        }
        with self.engine.begin() as conn:
            key = (reference_runs.c.subsystem == subsystem, reference_runs.c.valid_from == valid_from)
            if conn.execute(reference_runs.update().where(*key).values(**row)).rowcount == 0:
                conn.execute(
                    reference_runs.insert().values(subsystem=subsystem, valid_from=valid_from, **row)
                )

    def clear_reference(self, subsystem: str, valid_from: int) -> bool:
        """Remove the reference set from ``valid_from`` on; False when there was none."""
        with self.engine.begin() as conn:
            done = conn.execute(
                reference_runs.delete().where(
                    reference_runs.c.subsystem == subsystem, reference_runs.c.valid_from == valid_from
                )
            )
        return bool(done.rowcount)

    def references(self, subsystem: str | None = None) -> list[ReferenceRun]:
        """Every reference setting (of one subsystem), oldest validity first."""
        query = sa.select(reference_runs).order_by(reference_runs.c.subsystem, reference_runs.c.valid_from)
        if subsystem is not None:
            query = query.where(reference_runs.c.subsystem == subsystem)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            ReferenceRun(
                r.subsystem,
                r.valid_from,
                r.reference_run,
                r.set_by,
                datetime.fromtimestamp(r.set_at, self.tz),
            )
            for r in rows
        ]

    def reference_for(self, subsystem: str, run_number: int) -> ReferenceRun | None:
        """The reference valid for ``run_number``: the setting with the latest ``valid_from`` not after it."""
        valid = [r for r in self.references(subsystem) if r.valid_from <= run_number]
        return valid[-1] if valid else None

    def record_checks(
        self, conn: Connection, run_file: RunFile, subsystem: str, results: Mapping[str, Sequence[Any]]
    ) -> None:
        """Store the check results of one file and subsystem (replacing earlier ones of that file)."""
        conn.execute(
            check_results.delete().where(
                check_results.c.path == run_file.path, check_results.c.subsystem == subsystem
            )
        )
        rows = [
            {
                "path": run_file.path,
                "subsystem": subsystem,
                "histogram": name,
                "check_name": r.check,
                "run_number": run_file.run_number,
                "quality": r.quality,
                "message": r.message,
            }
            for name, found in results.items()
            for r in found
        ]
        if rows:
            conn.execute(check_results.insert(), rows)

    def check_results_of(self, path: str, subsystem: str) -> list[tuple[str, str, str, str]]:
        """(histogram, check, quality, message) of one file and subsystem, by histogram and check."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    check_results.c.histogram,
                    check_results.c.check_name,
                    check_results.c.quality,
                    check_results.c.message,
                )
                .where(check_results.c.path == path, check_results.c.subsystem == subsystem)
                .order_by(check_results.c.histogram, check_results.c.check_name)
            ).all()
        return [tuple(r) for r in rows]

    def recorded_paths(self, paths: Sequence[str]) -> set[str]:
        """Which of ``paths`` the catalog already lists as files."""
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(files.c.path).where(files.c.path.in_(list(paths)))).scalars())

    def acquire_lease(self, name: str, holder: str, now: float, seconds: float) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until now + seconds; False if another holds it.

        One conditional UPDATE (or INSERT) is atomic in every database, so two hosts sharing the catalog
        can never both hold it; a holder that dies loses it when it expires.
        """
        with self.engine.begin() as conn:
            taken = conn.execute(
                leases.update()
                .where(leases.c.name == name, sa.or_(leases.c.holder == holder, leases.c.expires < now))
                .values(holder=holder, expires=now + seconds)
            ).rowcount
            if taken:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(leases.insert().values(name=name, holder=holder, expires=now + seconds))
        except sa.exc.IntegrityError:
            return False
        return True

    def record_pass(self, holder: str, finished: float, seconds: float, stored: int, decodes: int) -> None:
        """Store a processing pass's numbers as the last pass and add them to the running totals."""
        row = processing_passes.c
        with self.engine.begin() as conn:
            updated = conn.execute(
                processing_passes.update()
                .where(row.name == LAST_PASS)
                .values(
                    holder=holder,
                    finished=finished,
                    seconds=seconds,
                    stored=stored,
                    decodes=decodes,
                    passes_total=row.passes_total + 1,
                    decodes_total=row.decodes_total + decodes,
                    seconds_total=row.seconds_total + seconds,
                )
            ).rowcount
            if not updated:
                conn.execute(
                    processing_passes.insert().values(
                        name=LAST_PASS,
                        holder=holder,
                        finished=finished,
                        seconds=seconds,
                        stored=stored,
                        decodes=decodes,
                        passes_total=1,
                        decodes_total=decodes,
                        seconds_total=seconds,
                    )
                )

    def last_pass(self) -> PassRecord | None:
        """The newest processing pass's numbers and the totals, or None before the first pass."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(processing_passes).where(processing_passes.c.name == LAST_PASS)
            ).first()
        if row is None:
            return None
        return PassRecord(**{k: v for k, v in row._mapping.items() if k != "name"})

    def lease_holder(self, name: str) -> str | None:
        """Who holds the lease ``name`` (even if it has run out), or None."""
        with self.engine.connect() as conn:
            holder = conn.execute(sa.select(leases.c.holder).where(leases.c.name == name)).scalar()
        return None if holder is None else str(holder)

    def release_lease(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(leases.delete().where(leases.c.name == name, leases.c.holder == holder))

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table in a stable order, to compare two catalogs (rebuild vs incremental)."""
        content = {}
        with self.engine.connect() as conn:
            for table in DATA_TABLES:
                columns = [c for c in table.columns if c.name not in ("id", "updated")]  # not content
                rows = conn.execute(sa.select(*columns).order_by(*columns)).all()
                content[table.name] = [tuple(r) for r in rows]
        return content
