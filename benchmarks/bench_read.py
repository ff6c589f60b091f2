"""Read all histograms of the largest demo file: cold (decode), in-process cache hit, disk cache hit."""

from __future__ import annotations

from pathlib import Path

from common import ingested_run, median_ms, timed, workdir

from overwatch_core.histograms import HistogramCache, read_file


def main() -> None:
    settings = ingested_run(n_files=10)
    largest = max(Path(settings.data_folder).glob("Run*/*/*.root"), key=lambda p: p.stat().st_size)
    n = len(read_file(largest).histograms)
    print(f"file: {largest.name}, {largest.stat().st_size / 1e6:.2f} MB, {n} histograms")
    print("cold read_file:", median_ms(timed(lambda: read_file(largest), 7)))
    memory = HistogramCache()
    memory.get(largest)
    print("in-process cache hit:", median_ms(timed(lambda: memory.get(largest), 21)))
    disk_dir = workdir() / "disk"
    HistogramCache(disk_directory=disk_dir).get(largest)
    print(
        "disk cache hit (new process-like cache):",
        median_ms(timed(lambda: HistogramCache(disk_directory=disk_dir).get(largest), 7)),
    )


if __name__ == "__main__":
    main()
