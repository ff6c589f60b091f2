"""Quality at scale: the overview with 1,000 runs in the catalog, and the run page of the largest EMC group
with the reference overlay on (1D overlay + ratio) and as 2D ratio maps, against the same page without.

The 1,000 runs are copies of one real processed demo run's catalog rows (its files, file states and stored
check results, under new run numbers and paths), written with SQL: the overview reads only the catalog.
The run page is measured on the original's layout (realistic_data.py: 300 EMC histograms, 3.8 M bins);
a second realistic run is its reference (the same seed: the generator draws each patch spectrum's bin
count at random, and a reference of another binning is refused; the cost does not depend on the values).

Command: ``cd benchmarks && ../.venv/bin/python bench_quality.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from bench_dashboard import add_user, build_app, figure_sizes, logged_in, page_request, report_sizes
from common import BENCH_RUN, ingested_run, median_ms, settings_for, timed, workdir
from dash import dcc
from dash.development.base_component import Component
from flask_login import login_user
from realistic_data import RUN as REALISTIC_RUN
from realistic_data import write_run

from dashboard.auth import SessionUser
from dashboard.pages import quality, run_page
from overwatch_core import catalog as tables
from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.processing import Processor, open_services
from overwatch_core.settings import Settings
from overwatch_core.users import User

N_RUNS = 1000
FIRST_COPY = 400000


def copy_runs(settings: Settings, source: int, numbers: range) -> int:
    """Copies of run ``source``'s rows (run, files, states, check results) as runs ``numbers``."""
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    with catalog.engine.begin() as conn:
        run_row = (
            conn.execute(sa.select(tables.runs).where(tables.runs.c.run_number == source)).mappings().one()
        )
        file_rows = conn.execute(
            sa.select(tables.files).where(tables.files.c.run_number == source)
        ).mappings()
        files = [dict(r) for r in file_rows]
        states = [
            dict(r)
            for r in conn.execute(
                sa.select(tables.file_status).where(tables.file_status.c.run_number == source)
            ).mappings()
        ]
        checks = [
            dict(r)
            for r in conn.execute(
                sa.select(tables.check_results).where(tables.check_results.c.run_number == source)
            ).mappings()
        ]

        def moved(row: dict[str, object], number: int) -> dict[str, object]:
            out = {k: v for k, v in row.items() if k != "id"}
            out["run_number"] = number
            if "path" in out:
                out["path"] = str(out["path"]).replace(str(source), str(number))
            return out

        for number in numbers:
            conn.execute(tables.runs.insert().values({**dict(run_row), "run_number": number}))
            conn.execute(tables.files.insert(), [moved(r, number) for r in files])
            conn.execute(tables.file_status.insert(), [moved(r, number) for r in states])
            if checks:
                conn.execute(tables.check_results.insert(), [moved(r, number) for r in checks])
        total = conn.execute(sa.select(sa.func.count()).select_from(tables.check_results)).scalar_one()
    catalog.close()
    return int(total)


def bench_overview() -> None:
    settings = ingested_run(n_files=10)
    checks = copy_runs(settings, BENCH_RUN, range(FIRST_COPY, FIRST_COPY + N_RUNS - 1))
    add_user(settings)
    app = build_app(settings)
    print(f"quality overview, {N_RUNS} runs, {checks} stored check results:")
    with app.server.test_request_context("/"):
        print("  layout():", median_ms(timed(quality.layout, 21)))
        print("  layout(bigscreen=1):", median_ms(timed(lambda: quality.layout(bigscreen="1"), 21)))
    fetch = page_request(logged_in(app), "/quality")
    print(f"  whole page request ({fetch() / 1e3:.0f} kB JSON):", median_ms(timed(fetch, 21)))


def _graphs(node: object) -> list[dcc.Graph]:
    if isinstance(node, dcc.Graph):
        return [node]
    if isinstance(node, Component):
        return _graphs(getattr(node, "children", None))
    if isinstance(node, list | tuple):
        return [g for child in node for g in _graphs(child)]
    return []


def _figure_bytes(page: object) -> int:
    """JSON bytes of the graphs sent with the page (lazy ones come later, each on its own)."""
    return sum(len(g.figure.to_json()) for g in _graphs(page))


def bench_run_page_overlay() -> None:
    data = workdir() / "data"
    write_run(data, n_files=10)
    write_run(data, n_files=10, run_number=REALISTIC_RUN + 1, seed=1)
    settings = settings_for(data)
    processor = Processor(settings, *open_services(settings))
    processor.run_pass()
    processor.ingester.catalog.set_reference("EMC", REALISTIC_RUN + 1, REALISTIC_RUN, "bench")
    add_user(settings)
    app = build_app(settings)
    largest = report_sizes(figure_sizes(app, REALISTIC_RUN, "EMC"), "EMC")
    path = f"/runs/{REALISTIC_RUN}/EMC"
    client = logged_in(app)
    print(f"run page {path}?group={largest} (largest EMC group), reference run {REALISTIC_RUN + 1}:")
    for label, extra in (
        ("no overlay", ""),
        ("1D overlay + ratio", "&ref=1"),
        ("2D ratio maps", "&refmap=ratio"),
    ):
        search = f"?group={largest.replace(' ', '+')}{extra}"
        fetch = page_request(client, path, search)
        fetch()  # the reference view and this view in the caches: what every later shifter gets
        times = timed(fetch, 11)
        params = {"run": str(REALISTIC_RUN), "subsystem": "EMC", "group": largest}
        params.update(dict(p.split("=") for p in extra.strip("&").split("&") if p))
        with app.server.test_request_context("/"):
            login_user(SessionUser(User("bench", "shifter")))
            figures_kb = _figure_bytes(run_page.layout(**params)) / 1e3
        print(
            f"  {label}: whole page request {median_ms(times)}; figures sent with the page "
            f"{figures_kb:.0f} kB"
        )


def main() -> None:
    bench_overview()
    bench_run_page_overlay()


if __name__ == "__main__":
    main()
