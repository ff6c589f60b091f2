"""A run laid out like the original's own data (issue 10): 300-histogram, 3.8 M-bin EMC files and 50-object
HLT files, cumulative, Poisson-filled per minute, written with uproot as the receivers name them.

One run, ``n_files`` files per subsystem (minute k holds minutes 0..k), about 30,000 events a minute.
EMC (106 TH1F, 194 TH2F, ~3.8 M bins with flow): ``EMCTRQA_histEvents``; the six FastOR summaries
TH1F(5000); ``FastORL0Time`` TH2F 5000×20; 22 edge-position maps TH2F 48×104 with the PHOS hole; 120 per-SM
maps TH2F 24×12; 40 FEE-vs-TRU/STU TH2F 200×100; 90 patch spectra TH1F of 1000–2000 bins; 3 median maps
TH2F 100×100; 4 background maps; 9 cluster spectra; 4 cell-ID maps TH2F 32×17664. HLT: the 38 trended
``fHist*`` histograms (``fHistTPCdEdxMaxIROC`` 200×200, ``fHistTPCAallClustersRowPhi`` 159×360, …) and
12 more. Most bins see a few hits a minute at most, as in the real files (mostly zeros, small counts).

``python realistic_data.py OUT [--files N]`` writes into OUT (a drop folder); ``write_run`` from code.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from overwatch_core.filenames import format_received_name
from overwatch_core.model import Histogram
from overwatch_core.rootwrite import write_histograms
from overwatch_core.subsystems import emc, hlt

P = "EMCTRQA_hist"
RUN = 320000
EVENTS_PER_MINUTE = 30_000
START = datetime(2018, 10, 20, 12, 10, 5, tzinfo=ZoneInfo("Europe/Zurich"))


@dataclass(frozen=True)
class Spec:
    """One histogram: name, class, edges per axis, and the mean hits per bin per minute (an array)."""

    name: str
    root_class: str
    edges: tuple[np.ndarray, ...]
    rate: np.ndarray


def _edges(n: int, low: float, high: float) -> np.ndarray:
    return np.linspace(low, high, n + 1)


def _smooth(rng: np.random.Generator, shape: tuple[int, ...], total: float) -> np.ndarray:
    """A positive, smoothly varying density over ``shape`` summing to ``total`` hits a minute."""
    density = np.ones(shape)
    for axis, n in enumerate(shape):
        x = np.linspace(0, 1, n)
        profile = np.exp(-((x - rng.uniform(0.2, 0.8)) ** 2) / (2 * rng.uniform(0.05, 0.4) ** 2)) + 0.05
        density = density * profile.reshape([n if i == axis else 1 for i in range(len(shape))])
    return density * (total / density.sum())


def _phos_hole(shape: tuple[int, int]) -> np.ndarray:
    """Edge-position maps (48 × 104 cols × rows): no FastORs in the PHOS hole (cols 16–31, rows 64–99)."""
    mask = np.ones(shape)
    mask[16:32, 64:100] = 0
    return mask


def _th1(rng: np.random.Generator, name: str, n: int, total: float, high: float | None = None) -> Spec:
    return Spec(name, "TH1F", (_edges(n, 0, n if high is None else high),), _smooth(rng, (n,), total))


def _th2(rng: np.random.Generator, name: str, nx: int, ny: int, total: float) -> Spec:
    return Spec(name, "TH2F", (_edges(nx, 0, nx), _edges(ny, 0, ny)), _smooth(rng, (nx, ny), total))


TRIGGERS = (
    "EMCGAH",
    "EMCGAL",
    "EMCJEH",
    "EMCJEL",
    "EMCL0",
    "DCalGAH",
    "DCalGAL",
    "DCalJEH",
    "DCalJEL",
    "DCalL0",
)
SM_MAPS = ("FastORL0", "FastORL0Amp", "FastORL1", "FastORL1Amp", "FastORL0LargeAmp", "FastORL1LargeAmp")
MEDIANS = ("EMCalMedianVsDCalMedian", "EMCalMedianVsDCalMedianRecalc", "EMCalMedianVsDCalMedianOffline")
CLUSTERS = ("Energy", "EnergyHG", "EnergyLG", "NCells", "Time", "TimeHG", "TimeLG", "Eta", "Phi")


def emc_specs(rng: np.random.Generator) -> list[Spec]:
    specs = [Spec(f"{P}Events", "TH1F", (_edges(1, 0, 1),), np.array([EVENTS_PER_MINUTE], dtype=float))]
    for level in ("L0", "L1"):
        for kind, total in (("", 3000.0), ("Amp", 90_000.0), ("LargeAmp", 30.0)):
            specs.append(_th1(rng, f"{P}FastOR{level}{kind}", 5000, total))
    specs.append(_th2(rng, f"{P}FastORL0Time", 5000, 20, 3000))
    hole = _phos_hole((48, 104))
    for kind in ("Amp", "Max"):
        for patch, _ in emc._EDGE_POSITION_PATCHES:
            edge = _th2(rng, f"{P}{kind}EdgePos{patch}", 48, 104, 2000)
            specs.append(Spec(edge.name, edge.root_class, edge.edges, edge.rate * hole))
    specs += [_th2(rng, f"{P}{kind}_SM{sm}", 24, 12, 150) for kind in SM_MAPS for sm in range(20)]
    specs += [
        _th2(rng, f"{P}{kind}_SM{sm}", 200, 100, 800) for kind in ("FEEvsTRU", "FEEvsSTU") for sm in range(20)
    ]
    for trigger in TRIGGERS:
        for kind in ("Offline", "Online", "Recalc"):
            for spectrum in ("MaxPatchAmp", "PatchAmp", "PatchAmpRatio"):
                n = int(rng.integers(1000, 2001))
                specs.append(_th1(rng, f"{P}EMCal{spectrum}{trigger}{kind}", n, 500))
    specs += [_th2(rng, f"{P}{kind}", 100, 100, 400) for kind in MEDIANS]
    specs += [
        _th2(rng, f"{P}{kind}", 100, 100, 400)
        for kind in ("BKGEMCal", "BKGDCal", "BKGEMCalRecalc", "BKGDCalRecalc")
    ]
    specs += [_th1(rng, f"hCluster{kind}", 1000, 2000, high=100) for kind in CLUSTERS]
    specs += [
        _th2(rng, f"h{kind}", 32, 17664, 20_000)
        for kind in ("IDvsAmpHG", "IDvsAmpLG", "IDvsTimeHG", "IDvsTimeLG")
    ]
    return specs


def hlt_specs(rng: np.random.Generator) -> list[Spec]:
    sizes = {"fHistTPCdEdxMaxIROC": (200, 200), "fHistTPCAallClustersRowPhi": (159, 360)}
    specs = []
    for name in sorted({s.hist_name for s in hlt.TRENDING_SOURCES}):
        shape = sizes.get(name, (100, 100) if "_" in name or "RowPhi" in name or "dEdx" in name else (200,))
        edges = tuple(_edges(n, 0, n) for n in shape)
        specs.append(Spec(name, f"TH{len(shape)}F", edges, _smooth(rng, shape, 5000)))
    for i in range(12):
        specs.append(Spec(f"fHistExtra{i}", "TH1F", (_edges(100, 0, 100),), _smooth(rng, (100,), 500)))
    specs.append(Spec("fHistEvents", "TH1D", (_edges(1, 0, 1),), np.array([EVENTS_PER_MINUTE], dtype=float)))
    return specs


def _snapshots(specs: list[Spec], rng: np.random.Generator, n_files: int) -> Iterator[dict[str, Histogram]]:
    """Cumulative contents after each minute: Poisson hits per minute, accumulated."""
    totals = {s.name: np.zeros(s.rate.shape) for s in specs}
    for _ in range(n_files):
        for spec in specs:
            totals[spec.name] += spec.rate if spec.name.endswith("Events") else rng.poisson(spec.rate)
        yield {
            s.name: Histogram(
                name=s.name,
                root_class=s.root_class,
                values=totals[s.name].copy(),
                variances=totals[s.name].copy(),
                edges=s.edges,
                title=s.name,
                axis_titles=("x", "y", "z")[: len(s.edges) + 1],
                entries=float(totals[s.name].sum()),
            )
            for s in specs
        }


def write_run(out_dir: Path, n_files: int = 30, run_number: int = RUN, seed: int = 1) -> list[Path]:
    """Write ``n_files`` EMC and HLT files of one run into ``out_dir``; returns the paths, oldest first."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for subsystem, specs in (("EMC", emc_specs), ("HLT", hlt_specs)):
        rng = np.random.default_rng(seed + (subsystem == "HLT"))
        chosen = specs(rng)
        for minute, hists in enumerate(_snapshots(chosen, rng, n_files)):
            stamp = START + timedelta(minutes=minute, seconds=int(rng.integers(0, 4)))
            name = format_received_name(subsystem, run_number, "C", stamp, START.tzinfo)  # type: ignore[arg-type]
            written.append(write_histograms(out_dir / name, hists))
    return sorted(written, key=lambda p: p.name.split("_", 2)[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=30)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = write_run(args.out, args.files)
    emc_sizes = [p.stat().st_size for p in paths if p.name.startswith("EMC")]
    print(
        f"wrote {len(paths)} files in {time.perf_counter() - started:.1f} s; EMC files "
        f"{emc_sizes[0] / 1e6:.2f} → {emc_sizes[-1] / 1e6:.2f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
