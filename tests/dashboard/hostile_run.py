"""A run whose HLT files have hostile key names and processing problems, for the ROOT files page tests.

The files are written with our uproot writer and processed by the real pipeline (ingest, trends); what
that writer cannot make (a TTree, a histogram that does not decode, a recovered unclosed file, a failed
file) is put into the catalog rows processing would have written.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from overwatch_core import catalog as tables
from overwatch_core.catalog import FAILED, Catalog
from overwatch_core.filenames import format_received_name, zone
from overwatch_core.histograms import NOT_A_HISTOGRAM
from overwatch_core.model import Histogram
from overwatch_core.processing import Processor, open_services
from overwatch_core.rootwrite import write_histograms
from overwatch_core.settings import load_settings

RUN = 400100
SUBSYSTEM = "HLT"
T0 = datetime(2016, 5, 1, 12, 0, 0, tzinfo=zone("Europe/Zurich"))
FIRST = f"Run{RUN}/HLT/HLThists.2016_05_01_12_00_00.root"
SECOND = f"Run{RUN}/HLT/HLThists.2016_05_01_12_01_00.root"

#: Top-level key names of both files (written as one key each, "/" included).
HOSTILE = (
    "hist with spaces",
    "hist#1",
    "a?b&c",
    "../../etc/passwd",
    "..",
    "x" * 130,
    "TPCQA/h_tpc_event_recvertex_0",
    "<b>bold</b>",
    "100%+1",
    "ünï",
)
#: The reader's names: a top-level key whose name is also a directory path gets its "/" written "%2F".
TOP_LEVEL_TPC = "TPCQA%2Fh_tpc_event_recvertex_0"
IN_DIRECTORY_TPC = "TPCQA/h_tpc_event_recvertex_0"
NAMES = (*(TOP_LEVEL_TPC if n == IN_DIRECTORY_TPC else n for n in HOSTILE), IN_DIRECTORY_TPC, "fHistEvents")

PROBLEM = "trend 'x' of histogram 'a?b&c': <script>alert(1)</script> is NaN"
NOTE = "the file was never closed (no key list); 12 objects recovered by scanning its records"
UNDECODABLE_NAME = "broken <h2>"
UNDECODABLE_REASON = "cannot decode: ValueError: bad bytes in basket"
#: name → (class, reason, paths) of the skipped objects put into the catalog.
SKIPPED = {
    "events tree": ("TTree", NOT_A_HISTOGRAM, (FIRST, SECOND)),
    "g/raph": ("TGraph", NOT_A_HISTOGRAM, (SECOND,)),
    UNDECODABLE_NAME: ("TH2F", UNDECODABLE_REASON, (SECOND,)),
    "a?b&c": ("TH1F", "cannot decode: truncated", (FIRST,)),  # decoded in the second file
}


def _hist(name: str, value: float) -> Histogram:
    edges = np.linspace(0.0, 1.0, 3)
    values = np.array([value, 1.0])
    return Histogram(
        name, "TH1F", values, values.copy(), (edges,), name, ("x", "entries"), float(values.sum())
    )


def write_hostile_run(data: Path) -> None:
    """Drop, ingest and process the run's two files into ``data``, then record the problems."""
    settings = load_settings(None, env={}, data_folder=str(data), settle_seconds=0.0)
    settings.drop_path.mkdir(parents=True, exist_ok=True)
    for minute in (0, 1):
        keys: dict[tuple[str, ...], Histogram] = {(n,): _hist(n, minute + 1.0) for n in HOSTILE}
        keys["TPCQA", "h_tpc_event_recvertex_0"] = _hist("in a directory", 5.0)
        keys["fHistEvents",] = _hist("fHistEvents", 10.0)
        name = format_received_name(SUBSYSTEM, RUN, "C", T0 + timedelta(minutes=minute), T0.tzinfo)
        write_histograms(settings.drop_path / name, keys)
    catalog, cache = open_services(settings)
    try:
        Processor(settings, catalog, cache).run_pass()
        _record_problems(catalog)
    finally:
        catalog.close()
        cache.close()


def _record_problems(catalog: Catalog) -> None:
    rows = [
        {
            "path": path,
            "name": name,
            "run_number": RUN,
            "location": SUBSYSTEM,
            "root_class": cls,
            "reason": why,
        }
        for name, (cls, why, paths) in SKIPPED.items()
        for path in paths
    ]
    with catalog.engine.begin() as conn:
        conn.execute(tables.skipped_objects.insert(), rows)
        catalog.set_file_state(conn, FIRST, FAILED, PROBLEM)
        conn.execute(tables.file_status.update().where(tables.file_status.c.path == SECOND).values(note=NOTE))
