"""Verdicts per run and subsystem from the stored check results: the worst histogram, counts, problems first.

A subsystem's verdict is that of its newest file (cumulative files: the newest holds the whole run so far).
Nothing is computed here but the summary of what processing stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from overwatch_core.catalog import Catalog, check_results, files, subsystems
from overwatch_core.checks import QUALITIES, SEVERITY, CheckResult, Quality, worst


@dataclass(frozen=True)
class HistogramVerdict:
    """One histogram's worst quality and every check's result."""

    name: str
    quality: Quality
    results: tuple[CheckResult, ...]


@dataclass(frozen=True)
class SubsystemQuality:
    """A run's subsystem: its worst quality, how many histograms are Bad/Medium/Good/Null, problems first."""

    run_number: int
    subsystem: str
    path: str | None
    reference_run: int | None
    histograms: tuple[HistogramVerdict, ...]

    @property
    def quality(self) -> Quality:
        return worst(h.quality for h in self.histograms)

    @property
    def counts(self) -> dict[Quality, int]:
        counted = dict.fromkeys(QUALITIES, 0)
        for hist in self.histograms:
            counted[hist.quality] += 1
        return counted

    @property
    def problems(self) -> tuple[HistogramVerdict, ...]:
        return tuple(h for h in self.histograms if h.quality in ("Bad", "Medium"))


def _verdicts(rows: Sequence[tuple[str, str, str, str]]) -> tuple[HistogramVerdict, ...]:
    grouped: dict[str, list[CheckResult]] = {}
    for name, check, quality, message in rows:
        grouped.setdefault(name, []).append(CheckResult(check, quality, message))  # type: ignore[arg-type]
    verdicts = [
        HistogramVerdict(n, worst(r.quality for r in found), tuple(found)) for n, found in grouped.items()
    ]
    return tuple(sorted(verdicts, key=lambda v: (-SEVERITY[v.quality] if v.quality != "Null" else 0, v.name)))


def subsystem_quality(catalog: Catalog, run_number: int, subsystem: str) -> SubsystemQuality:
    """The verdicts of one run's subsystem (NotFoundError for an unknown run or subsystem)."""
    sub = catalog.run(run_number).subsystem(subsystem)
    path = sub.files[-1].path if sub.files else None
    rows = catalog.check_results_of(path, subsystem) if path is not None else []
    reference = catalog.reference_for(subsystem, run_number)
    return SubsystemQuality(
        run_number, subsystem, path, None if reference is None else reference.reference_run, _verdicts(rows)
    )


@dataclass(frozen=True)
class Cell:
    """One cell of the overview: worst quality and the number of Bad and Medium histograms."""

    quality: Quality
    bad: int
    medium: int


def overview(catalog: Catalog, run_numbers: Sequence[int]) -> dict[tuple[int, str], Cell]:
    """(run, subsystem) → cell for the newest file of each subsystem of ``run_numbers``, in three queries."""
    numbers = list(run_numbers)
    with catalog.engine.connect() as conn:
        locations = conn.execute(
            sa.select(subsystems.c.run_number, subsystems.c.name, subsystems.c.file_location).where(
                subsystems.c.run_number.in_(numbers)
            )
        ).all()
        newest = dict(
            ((r.run_number, r.location), r.path)
            for r in conn.execute(
                sa.select(files.c.run_number, files.c.location, files.c.path)
                .where(files.c.run_number.in_(numbers))
                .order_by(files.c.timestamp)
            ).all()
        )
        wanted = {newest.get((r.run_number, r.file_location)) for r in locations} - {None}
        rows = conn.execute(
            sa.select(
                check_results.c.path,
                check_results.c.subsystem,
                check_results.c.histogram,
                check_results.c.quality,
            ).where(check_results.c.path.in_(list(wanted)))
        ).all()
    per_hist: dict[tuple[str, str], dict[str, list[Quality]]] = {}
    for row in rows:
        per_hist.setdefault((row.path, row.subsystem), {}).setdefault(row.histogram, []).append(row.quality)
    cells = {}
    for r in locations:
        path = newest.get((r.run_number, r.file_location))
        hists = per_hist.get((path, r.name), {}) if path is not None else {}
        qualities = [worst(q) for q in hists.values()]
        cells[(r.run_number, r.name)] = Cell(
            worst(qualities), qualities.count("Bad"), qualities.count("Medium")
        )
    return cells
