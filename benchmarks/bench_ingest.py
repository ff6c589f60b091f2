"""Ingest + trend extraction throughput (files/s) on demo data, and ingest alone."""

from __future__ import annotations

import shutil
import time

from common import BENCH_RUN, settings_for, workdir

from overwatch_core.demo import generate_source_run
from overwatch_core.ingest import Ingester
from overwatch_core.processing import Processor, open_services


def main(n_files: int = 20, repeat: int = 3) -> None:
    source = workdir() / "source"
    summary = generate_source_run(source, BENCH_RUN, n_files=n_files)
    count = summary.total_files
    for label, with_trends in (("ingest only", False), ("ingest + trends (process)", True)):
        rates = []
        for _ in range(repeat):
            data = workdir() / "data"
            shutil.copytree(source, data)
            settings = settings_for(data)
            catalog, cache = open_services(settings)
            worker = (
                Processor(settings, catalog, cache) if with_trends else Ingester(settings, catalog, cache)
            )
            started = time.perf_counter()
            worker.run_pass()
            rates.append(count / (time.perf_counter() - started))
            shutil.rmtree(data.parent)
        rates.sort()
        print(f"{label}: {rates[len(rates) // 2]:.1f} files/s median over {repeat} runs of {count} files")


if __name__ == "__main__":
    main()
