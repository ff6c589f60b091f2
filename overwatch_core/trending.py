"""Trending: one value per ingested file and trend source, stored with its time; alarms evaluated on them."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from overwatch_core.alarms import Alarm, AlarmResult
from overwatch_core.catalog import Catalog, alarm_results, trend_missing, trend_values
from overwatch_core.errors import NotFoundError
from overwatch_core.model import Histogram, RunFile
from overwatch_core.notifications import AlarmChange
from overwatch_core.subsystems.base import SubsystemDefinition, TrendingSource, scale_by_events, trend_value

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrendPoint:
    """One value of a trend: which run, which file time, value and error (None where undefined)."""

    run_number: int
    timestamp: datetime
    value: float
    error: float | None
    alarms: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrendValue:
    """A trend's value for one file; ``value`` None means no number exists, and ``reason`` says why."""

    trend: str
    value: float | None
    error: float | None
    reason: str | None = None

    def __post_init__(self) -> None:
        if (self.value is None) == (self.reason is None):
            raise ValueError(f"{self.trend}: a trend value needs either a number or a reason for none")


def extract_trends(
    definition: SubsystemDefinition, hists: Mapping[str, Histogram], n_events: float | None = None
) -> list[TrendValue]:
    """The value of every trend whose source histogram is in ``hists`` (others are skipped, not errors).

    ``n_events`` is the file's own event count, which per-event trends divide by. A NaN or infinite result
    (a broken file) is no value, with the reason, never a number that poisons alarms and plots.
    """
    values = []
    for source in definition.trending_sources():
        hist = hists.get(source.hist_name)
        if hist is not None:
            values.append(trend_of(source, hist, n_events))
    return values


def trend_of(source: TrendingSource, hist: Histogram, n_events: float | None) -> TrendValue:
    """One trend's value for one file's histogram (see ``extract_trends``)."""
    if source.per_event:
        if n_events is None or not math.isfinite(n_events) or n_events <= 0:
            shown = "unknown" if n_events is None else f"{n_events:g}"
            reason = f"per-event trend, but the file has {shown} events"
            return TrendValue(source.trend_name, None, None, reason)
        hist = scale_by_events(hist, n_events)
    value, error = trend_value(hist, source.kind)
    if not math.isfinite(value):
        reason = f"{source.kind} of {source.hist_name} is {value} (NaN or infinite bins)"
        return TrendValue(source.trend_name, None, None, reason)
    return TrendValue(source.trend_name, value, error if error is None or math.isfinite(error) else None)


def find_source(definition: SubsystemDefinition, trend: str) -> TrendingSource:
    """The trending source called ``trend``, or NotFoundError listing the subsystem's trends."""
    sources = definition.trending_sources()
    for source in sources:
        if source.trend_name == trend:
            return source
    raise NotFoundError(f"trend of {definition.name}", trend, [s.trend_name for s in sources])


class TrendStore:
    """Reads and writes trend values and alarm results in the catalog database."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def record(
        self,
        conn: Connection,
        run_file: RunFile,
        subsystem: str,
        values: Sequence[TrendValue],
        alarms: Mapping[str, Sequence[Alarm]],
        changes: list[AlarmChange] | None = None,
    ) -> int:
        """Store the file's values (once per file time) and evaluate each trend's alarms; returns alarms.

        A trend whose alarm state differs from the run's previous file (raised, or cleared) is appended to
        ``changes``, for the notifications.
        """
        stamp = int(run_file.timestamp.timestamp())
        base = {"run_number": run_file.run_number, "subsystem": subsystem}
        known = self._known(conn, run_file.run_number, subsystem, stamp)
        new = [v for v in values if v.trend not in known]
        numbers = [v for v in new if v.value is not None]
        if numbers:
            conn.execute(
                trend_values.insert(),
                [
                    {**base, "trend": v.trend, "timestamp": stamp, "value": v.value, "error": v.error}
                    for v in numbers
                ],
            )
        missing = [v for v in new if v.value is None]
        if missing:
            conn.execute(
                trend_missing.insert(),
                [{**base, "trend": v.trend, "timestamp": stamp, "reason": v.reason} for v in missing],
            )
        return sum(
            self._check_alarms(conn, {**base, "trend": v.trend}, stamp, alarms.get(v.trend, ()), changes)
            for v in numbers
        )

    def _known(self, conn: Connection, run_number: int, subsystem: str, stamp: int) -> set[str]:
        """Trends already recorded (as a number or as missing) for this file time."""
        known: set[str] = set()
        for table in (trend_values, trend_missing):
            known.update(
                conn.execute(
                    sa.select(table.c.trend).where(
                        table.c.run_number == run_number,
                        table.c.subsystem == subsystem,
                        table.c.timestamp == stamp,
                    )
                ).scalars()
            )
        return known

    def missing_within_run(self, subsystem: str, trend: str, run_number: int) -> list[tuple[datetime, str]]:
        """File times of the run at which the trend has no value, with the reason, in time order."""
        with self.catalog.engine.connect() as conn:
            rows = conn.execute(
                sa.select(trend_missing.c.timestamp, trend_missing.c.reason)
                .where(
                    trend_missing.c.subsystem == subsystem,
                    trend_missing.c.trend == trend,
                    trend_missing.c.run_number == run_number,
                )
                .order_by(trend_missing.c.timestamp)
            ).all()
        return [(datetime.fromtimestamp(r.timestamp, self.catalog.tz), r.reason) for r in rows]

    def _check_alarms(
        self,
        conn: Connection,
        key: dict[str, object],
        stamp: int,
        alarms: Sequence[Alarm],
        changes: list[AlarmChange] | None = None,
    ) -> int:
        """Alarms see the trend's values within the run so far, newest last (REF §5.2)."""
        if not alarms:
            return 0
        series = list(
            conn.execute(
                sa.select(trend_values.c.value)
                .where(*(trend_values.c[k] == v for k, v in key.items()), trend_values.c.timestamp <= stamp)
                .order_by(trend_values.c.timestamp)
            ).scalars()
        )
        results: list[tuple[int, AlarmResult]] = [(i, a.check(series)) for i, a in enumerate(alarms)]
        rows = [
            {**key, "timestamp": stamp, "alarm": i, "message": r.message} for i, r in results if r.alarmed
        ]
        if changes is not None and bool(rows) != self._alarmed_before(conn, key, stamp):
            changes.append(
                AlarmChange(
                    int(str(key["run_number"])),
                    str(key["subsystem"]),
                    str(key["trend"]),
                    datetime.fromtimestamp(stamp, self.catalog.tz),
                    bool(rows),
                    tuple(str(r["message"]) for r in rows),
                )
            )
        if rows:
            conn.execute(alarm_results.insert(), rows)
            for row in rows:
                log.debug(  # a pass summarises them per run (processing.py): demo runs raise hundreds
                    "alarm run %s %s %s: %s",
                    key["run_number"],
                    key["subsystem"],
                    key["trend"],
                    row["message"],
                )
        return len(rows)

    def _alarmed_before(self, conn: Connection, key: dict[str, object], stamp: int) -> bool:
        """Whether the trend was alarmed at the run's previous file (no previous file: not alarmed)."""
        where = [*(trend_values.c[k] == v for k, v in key.items()), trend_values.c.timestamp < stamp]
        previous = conn.execute(sa.select(sa.func.max(trend_values.c.timestamp)).where(*where)).scalar()
        if previous is None:
            return False
        found = conn.execute(
            sa.select(alarm_results.c.alarm)
            .where(*(alarm_results.c[k] == v for k, v in key.items()), alarm_results.c.timestamp == previous)
            .limit(1)
        ).first()
        return found is not None

    def within_run(self, subsystem: str, trend: str, run_number: int) -> list[TrendPoint]:
        """The trend's values for every file of one run, in time order, with the alarms raised at each."""
        where = (
            trend_values.c.subsystem == subsystem,
            trend_values.c.trend == trend,
            trend_values.c.run_number == run_number,
        )
        with self.catalog.engine.connect() as conn:
            rows = conn.execute(
                sa.select(trend_values).where(*where).order_by(trend_values.c.timestamp)
            ).all()
            messages = self._messages(conn, subsystem, trend, [run_number])
        return [self._point(r, messages) for r in rows]

    def across_runs(self, subsystem: str, trend: str, first_run: int, last_run: int) -> list[TrendPoint]:
        """One value per run in [first_run, last_run]: the value of the run's last file."""
        last_time = (
            sa.select(trend_values.c.run_number, sa.func.max(trend_values.c.timestamp).label("last"))
            .where(
                trend_values.c.subsystem == subsystem,
                trend_values.c.trend == trend,
                trend_values.c.run_number.between(first_run, last_run),
            )
            .group_by(trend_values.c.run_number)
            .subquery()
        )
        query = (
            sa.select(trend_values)
            .join(
                last_time,
                sa.and_(
                    trend_values.c.run_number == last_time.c.run_number,
                    trend_values.c.timestamp == last_time.c.last,
                ),
            )
            .where(trend_values.c.subsystem == subsystem, trend_values.c.trend == trend)
            .order_by(trend_values.c.run_number)
        )
        with self.catalog.engine.connect() as conn:
            rows = conn.execute(query).all()
            messages = self._messages(conn, subsystem, trend, [r.run_number for r in rows])
        return [self._point(r, messages) for r in rows]

    def _messages(
        self, conn: Connection, subsystem: str, trend: str, run_numbers: list[int]
    ) -> dict[tuple[int, int], tuple[str, ...]]:
        rows = conn.execute(
            sa.select(alarm_results).where(
                alarm_results.c.subsystem == subsystem,
                alarm_results.c.trend == trend,
                alarm_results.c.run_number.in_(run_numbers),
            )
        ).all()
        messages: dict[tuple[int, int], list[str]] = {}
        for row in rows:
            messages.setdefault((row.run_number, row.timestamp), []).append(row.message)
        return {k: tuple(v) for k, v in messages.items()}

    def _point(
        self, row: sa.Row[tuple[object, ...]], messages: Mapping[tuple[int, int], tuple[str, ...]]
    ) -> TrendPoint:
        return TrendPoint(
            run_number=row.run_number,
            timestamp=datetime.fromtimestamp(row.timestamp, self.catalog.tz),
            value=row.value,
            error=row.error,
            alarms=messages.get((row.run_number, row.timestamp), ()),
        )

    def alarm_counts(self, run_numbers: Sequence[int]) -> dict[int, int]:
        """Number of alarms raised per run (for run-list badges)."""
        with self.catalog.engine.connect() as conn:
            rows = conn.execute(
                sa.select(alarm_results.c.run_number, sa.func.count())
                .where(alarm_results.c.run_number.in_(list(run_numbers)))
                .group_by(alarm_results.c.run_number)
            ).all()
        return {r[0]: r[1] for r in rows}

    def count(self) -> int:
        with self.catalog.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(trend_values)).scalar_one())


@dataclass(frozen=True)
class RaisedAlarm:
    """An alarm raised for a trend at one file time of a run."""

    subsystem: str
    trend: str
    timestamp: datetime
    message: str


def raised_alarms(store: TrendStore, run_number: int, subsystem: str | None = None) -> list[RaisedAlarm]:
    """The alarms raised in a run (optionally one subsystem), oldest first."""
    query = sa.select(alarm_results).where(alarm_results.c.run_number == run_number)
    if subsystem is not None:
        query = query.where(alarm_results.c.subsystem == subsystem)
    with store.catalog.engine.connect() as conn:
        rows = conn.execute(query.order_by(alarm_results.c.timestamp, alarm_results.c.trend)).all()
    return [
        RaisedAlarm(r.subsystem, r.trend, datetime.fromtimestamp(r.timestamp, store.catalog.tz), r.message)
        for r in rows
    ]
