"""Catalog query "page of 50 newest runs" with 10,000 runs (target < 50 ms median)."""

from __future__ import annotations

from common import median_ms, timed, workdir

from overwatch_core.catalog import Catalog, files, runs, subsystems
from overwatch_core.filenames import zone


def fill(catalog: Catalog, n_runs: int = 10_000, files_per_run: int = 30) -> None:
    numbers = range(200_000, 200_000 + n_runs)
    with catalog.engine.begin() as conn:
        conn.execute(runs.insert(), [{"run_number": n, "hlt_mode": "C"} for n in numbers])
        conn.execute(
            subsystems.insert(),
            [
                {"run_number": n, "name": s, "file_location": s}
                for n in numbers
                for s in ("EMC", "HLT", "TPC")
            ],
        )
        conn.execute(
            files.insert(),
            [
                {
                    "run_number": n,
                    "location": s,
                    "path": f"Run{n}/{s}/{s}hists.{i}.root",
                    "timestamp": n * 10_000 + i * 60,
                    "size": 1,
                }
                for n in numbers
                for s in ("EMC", "HLT", "TPC")
                for i in range(files_per_run)
            ],
        )


def main() -> None:
    catalog = Catalog.connect(f"sqlite:///{workdir() / 'catalog.sqlite'}", zone("Europe/Zurich"))
    fill(catalog)
    print(
        "runs_page(1, 50) with 10,000 runs / 900,000 files:",
        median_ms(timed(lambda: catalog.runs_page(1, 50), 21)),
    )
    print("runs_page(150, 50):", median_ms(timed(lambda: catalog.runs_page(150, 50), 21)))
    print("run(205000) with its 90 files:", median_ms(timed(lambda: catalog.run(205_000), 21)))


if __name__ == "__main__":
    main()
