"""Cost of the automatic checks per file on the 300-histogram EMC layout, against the time the file's
processing takes without them (decode + trends); the issue's budget is 25 % on top.

Command: ``cd benchmarks && ../.venv/bin/python bench_checks.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import median_ms, timed
from realistic_data import write_run

from overwatch_core.checks import evaluate
from overwatch_core.histograms import read_file
from overwatch_core.subsystems.base import histograms_with_derived
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.trending import extract_trends


def main() -> None:
    paths = write_run(Path(tempfile.mkdtemp(prefix="overwatch-bench-checks-")), n_files=4)
    emc = [p for p in paths if p.name.startswith("EMC")]
    reference_file, newest = emc[0], emc[-1]
    definition = get_subsystem("EMC")
    specs = [s for s in definition.default_checks() if s.enabled]
    reference = histograms_with_derived(definition, read_file(reference_file).histograms, True)
    contents = read_file(newest)
    hists = histograms_with_derived(definition, contents.histograms, True)
    n_events = float(hists["EMCTRQA_histEvents"].values[0])
    decode = timed(lambda: read_file(newest), 5)
    trends = timed(lambda: extract_trends(definition, hists, n_events), 7)
    checks = timed(lambda: evaluate(specs, hists, reference, n_events, 1), 7)
    results = evaluate(specs, hists, reference, n_events, 1)
    print(f"{len(hists)} histograms, {sum(len(r) for r in results.values())} check results per file")
    print("decode:", median_ms(decode))
    print("trends:", median_ms(trends))
    print("checks:", median_ms(checks))
    base = sorted(decode)[len(decode) // 2] + sorted(trends)[len(trends) // 2]
    print(f"checks / (decode + trends): {sorted(checks)[len(checks) // 2] / base:.1%}")


if __name__ == "__main__":
    main()
