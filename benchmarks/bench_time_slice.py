"""Full EMC time slice (every histogram of a 40-minute demo run): cold, warm files, and cached."""

from __future__ import annotations

import diskcache
from common import ingested_run, median_ms, timed, workdir

from overwatch_core.histograms import HistogramCache
from overwatch_core.processing import open_services
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.views import ViewService

RUN = 310000


def main() -> None:
    settings = ingested_run(n_files=40)
    catalog, _ = open_services(settings)
    request = TimeSliceRequest(10, 30)

    def fresh(hist_cache: HistogramCache) -> ViewService:
        return ViewService(settings, catalog, hist_cache, diskcache.Cache(workdir() / "views"))

    n_hists = sum(len(g.histograms) for g in fresh(HistogramCache()).time_slice(RUN, "EMC", request).groups)
    print(f"EMC slice 10–30 min: {n_hists} processed histograms")
    print(
        "cold (decode both files, subtract, process):",
        median_ms(timed(lambda: fresh(HistogramCache()).time_slice(RUN, "EMC", request), 5)),
    )
    warm = HistogramCache()
    fresh(warm).time_slice(RUN, "EMC", request)
    print(
        "files decoded, view not cached:",
        median_ms(timed(lambda: fresh(warm).time_slice(RUN, "EMC", request), 7)),
    )
    shared = fresh(warm)
    shared.time_slice(RUN, "EMC", request)
    print("cached view:", median_ms(timed(lambda: shared.time_slice(RUN, "EMC", request), 21)))
    disk_only = ViewService(settings, catalog, HistogramCache(), shared.view_cache)
    print(
        "cached view, new process (disk cache only):",
        median_ms(timed(lambda: disk_only.time_slice(RUN, "EMC", request), 7)),
    )


if __name__ == "__main__":
    main()
