"""Demo data: realistic EMC, HLT and TPC receiver files for a set of runs, and a replay that drips a run in.

Every file is a cumulative snapshot (everything since the start of its run), written as a receiver would
name it, ``<SYS>histos_<run>_<mode>_<Y>_<M>_<D>_<h>_<m>_<s>.root``, one a minute per subsystem with a few
seconds of jitter. Contents come from per-minute increments drawn with numpy's Generator, seeded by
(seed, run number, subsystem), so a seed always gives the same names and histogram contents.

Histogram names, classes and binnings follow the original Overwatch and the ALICE QA tasks that fed it
(``AliEMCALTriggerOnlineQAPP``, the HLT list in ``detectors/README.md``, ``TPCQA``). Bin counts are kept
modest where the real ones would only make the demo slow (FEE vs TRU, cell IDs, TPC DCA and phi axes).
Classes are the real ones (HLT mostly TH2F, ``EMCTRQA_histFastORL0Time`` TH2F, TPC event histograms TH1D)
except: TPC track histograms are TH3F (TH3D in the real files) to keep files small; ``...FastORL0Amp`` and
``...FastORL1Amp`` are 1D sums over FastOR ID, the variant the original's hot-channel code reads (the
2018 task wrote them as 2D); ``EMCTRQA_histFastORL0Mean`` is a TProfile from the Pb-Pb variant of the task.

The default set (``generate_demo_data`` with ``n_runs=10``), fixed by ``RUN_PLAN``:

* runs 300000, 300003, 300004, 300011, 300012, 300017, 300018, 300025, 300026, 300031 with 12, 20, 10,
  30, 10, 12, 16, 10, 14 and 10 files; HLT mode B for 300011, U for 300018, C for the others; the first
  files are from ``DEFAULT_START`` (24 Nov 2015 18:05:10 Europe/Zurich) and runs follow with short pauses;
* one extra run, 299887, in HLT mode E (replayed old data, which ingest sets aside), 10 files;
* runs 300004, 300017 and 300031 have no TPC files: their HLT files carry the TPC histograms
  (``TPCQA/...``), as the real HLT receiver's files did; other runs' HLT files do not. As in the real HLT
  and DQM receivers' files, the TPC objects are keys of the file's top directory whose names contain "/"
  (there is no ``TPCQA`` TDirectory);
* hot FastORs ``HOT_FASTOR_IDS`` = 517, 2222, 3931 (SM 1, SM 6 and DCal SM 15) fire in runs 300003,
  300011, 300018 and 300026 from minute ``HOT_FROM_MINUTE`` = 5 on, i.e. from the sixth file of the run
  (index 5); a run made by ``generate_source_run`` has them too unless ``hot_channels=False``.

Hot means hot by the original's rule (content / events above 1e-2, or 1e4 for ``...Amp``, or 1e-7 for
``...LargeAmp``): in ``EMCTRQA_histFastORL0``/``L1`` normal FastORs stay below 5e-3 per event (about 4e-4
on average) while hot ones exceed 0.05 from their first hot file on; normal FastORs never pass 400 ADC, so
their ``LargeAmp`` bins stay 0; hot ones report ``HOT_AMPLITUDE`` ADC per hit, deliberately unphysical
(a 10-bit L0 ADC stops at 1023) so that the 1e4 ``Amp`` default, which no physical FastOR reaches, has
something to flag.

FastOR IDs map onto the 48 x 104 (col x row) trigger grid Overwatch draws its TRU lines on as
``id = 48 * row + col``; super modules (SM) are the grid's blocks: SM 0-9 are 24 x 12 (SM ``2 * (row //
12) + col // 24``), SM 10-11 the 24 x 4 rows 60-63, SM 12-17 the DCal 16 x 12 blocks beside the PHOS hole
(cols 16-31 of rows 64-99), SM 18-19 the 24 x 4 rows 100-103. That is 4416 FastORs, the real number;
``..._SM<n>`` maps are 24 x 12 (eta id = col - first col, phi id = row - first row of the SM).

Event counters (the histogram whose name contains "events"; bin 1 holds the events since run start, the
same count in every subsystem of a run): EMC ``EMCTRQA_histEvents`` (the real TH1F), HLT ``fHistEvents``
(TH1D, named here; the real list has none), TPC ``TPCQA/h_tpc_events`` (TH1D, named here). HLT files that
carry TPC histograms carry no second counter: ``fHistEvents`` counts the same events.

A live demo: ``generate_source_run(source, summary.newest_run_number + 1)`` writes 30 files named from
now on into a separate folder, and ``replay_run(source, drop, run_number)`` then drips them into the drop
folder a minute's batch at a time, each file copied to a dot-file first and renamed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from overwatch_core.errors import FileNameError, NotFoundError
from overwatch_core.filenames import DEFAULT_ZONE, format_received_name, parse_received_name, zone
from overwatch_core.model import FloatArray, Histogram, ProfileSums
from overwatch_core.rootwrite import write_histograms

logger = logging.getLogger(__name__)

DEFAULT_SEED = 20151124
DEFAULT_START = datetime(2015, 11, 24, 18, 5, 10, tzinfo=ZoneInfo(DEFAULT_ZONE))
SUBSYSTEMS = ("EMC", "HLT", "TPC")

#: FastOR abs IDs that turn hot part-way through the runs listed in the module docstring.
HOT_FASTOR_IDS: tuple[int, ...] = (517, 2222, 3931)
#: Index of the first file (minutes after the first file) in which the hot FastORs fire.
HOT_FROM_MINUTE = 5
#: The first run of the plan, without hot channels: `overwatch demo` makes it every subsystem's reference.
REFERENCE_RUN = 300000
#: Hits per event of a hot FastOR (L0 and L1, all above 400 ADC).
HOT_HIT_RATE = 0.5
#: ADC per hit of a hot FastOR; unphysical on purpose, see the module docstring.
HOT_AMPLITUDE = 1.0e6

EVENT_COUNTERS = {"EMC": "EMCTRQA_histEvents", "HLT": "fHistEvents", "TPC": "TPCQA/h_tpc_events"}

N_COLS, N_ROWS = 48, 104
N_FASTOR_BINS = 5000
N_SM = 20
_FASTOR_RATE = 4.0e-4
_FASTOR_RATE_MAX = 2.0e-3
_L0_MEAN_ADC = 25.0


# ----------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class RunPlan:
    """One demo run: its number, length, HLT mode, whether TPC has own files and hot FastORs."""

    run_number: int
    n_files: int
    hlt_mode: str = "C"
    own_tpc: bool = True
    hot_channels: bool = False
    pause_minutes: int = 10  # between the previous run's last file and this run's first


RUN_PLAN: tuple[RunPlan, ...] = (
    RunPlan(300000, 12, pause_minutes=0),
    RunPlan(300003, 20, hot_channels=True, pause_minutes=12),
    RunPlan(300004, 10, own_tpc=False, pause_minutes=7),
    RunPlan(300011, 30, "B", hot_channels=True, pause_minutes=25),
    RunPlan(300012, 10, pause_minutes=6),
    RunPlan(300017, 12, own_tpc=False, pause_minutes=14),
    RunPlan(300018, 16, "U", hot_channels=True, pause_minutes=8),
    RunPlan(300025, 10, pause_minutes=31),
    RunPlan(300026, 14, hot_channels=True, pause_minutes=5),
    RunPlan(300031, 10, own_tpc=False, pause_minutes=9),
)
REPLAY_RUN = RunPlan(299887, 10, "E", pause_minutes=15)
_PLAN_CYCLE_RUNS = 40  # run-number step when n_runs exceeds the table


def plan_runs(n_runs: int) -> tuple[RunPlan, ...]:
    """The first ``n_runs`` runs of RUN_PLAN (repeated with higher numbers if longer) plus the E run."""
    if n_runs < 1:
        raise ValueError(f"n_runs must be at least 1, got {n_runs}")
    runs = [_cycled(i) for i in range(n_runs)]
    return (*runs, REPLAY_RUN)


def _cycled(index: int) -> RunPlan:
    cycle, position = divmod(index, len(RUN_PLAN))
    plan = RUN_PLAN[position]
    pause = plan.pause_minutes if index == 0 or position else 10
    return dataclasses.replace(
        plan, run_number=plan.run_number + cycle * _PLAN_CYCLE_RUNS, pause_minutes=pause
    )


# -------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DemoRun:
    """A written run: its HLT mode, first file time and how many files each subsystem got."""

    run_number: int
    hlt_mode: str
    start: datetime
    files: dict[str, int]
    hot_channels: bool

    @property
    def own_tpc(self) -> bool:
        return "TPC" in self.files

    @property
    def n_files(self) -> int:
        return sum(self.files.values())


@dataclass(frozen=True)
class DemoSummary:
    """What a generation wrote, and the documented hot-channel facts to look for in it."""

    out_dir: Path
    runs: tuple[DemoRun, ...]
    hot_fastor_ids: tuple[int, ...] = HOT_FASTOR_IDS
    hot_from_minute: int = HOT_FROM_MINUTE

    @property
    def total_files(self) -> int:
        return sum(run.n_files for run in self.runs)

    @property
    def newest_run_number(self) -> int:
        return max(run.run_number for run in self.runs)

    def run(self, run_number: int) -> DemoRun:
        for run in self.runs:
            if run.run_number == run_number:
                return run
        raise NotFoundError("demo run", run_number, [r.run_number for r in self.runs])


# ------------------------------------------------------------------------------------ histogram shapes


@dataclass(frozen=True, eq=False)
class _Shape:
    """What a histogram is, apart from its contents: name, ROOT class, titles and bin edges."""

    name: str
    root_class: str
    title: str
    axis_titles: tuple[str, ...]
    edges: tuple[FloatArray, ...]

    @property
    def bins(self) -> tuple[int, ...]:
        return tuple(len(e) - 1 for e in self.edges)


@dataclass(frozen=True, eq=False)
class _Fill:
    """One minute's contribution to a histogram (``sum_w`` only for profiles)."""

    values: FloatArray
    variances: FloatArray
    entries: float
    sum_w: FloatArray | None = None


def _axis(n: int, low: float, high: float) -> FloatArray:
    return np.linspace(low, high, n + 1)


def _centres(edges: FloatArray) -> FloatArray:
    return (edges[:-1] + edges[1:]) / 2


def _normal(x: FloatArray, mean: float | FloatArray, sigma: float | FloatArray) -> FloatArray:
    return np.asarray(np.exp(-0.5 * ((x - mean) / sigma) ** 2), dtype=np.float64)


def _gamma_pdf(x: FloatArray, mean: float, k: float = 2.5) -> FloatArray:
    """Unnormalised gamma shape: the usual rise-and-tail of a per-event size or multiplicity."""
    scale = mean / k
    return np.asarray(np.clip(x, 0, None) ** (k - 1) * np.exp(-np.clip(x, 0, None) / scale), dtype=np.float64)


def _unit(density: FloatArray) -> FloatArray:
    total = float(density.sum())
    return density / total if total > 0 else density


def _counts(rng: np.random.Generator, expected: FloatArray) -> _Fill:
    """Poisson counts around ``expected``: a count histogram's increment."""
    values = rng.poisson(expected).astype(np.float64)
    return _Fill(values, values.copy(), float(values.sum()))


def _weighted(rng: np.random.Generator, hits: FloatArray, mean_weight: float | FloatArray) -> _Fill:
    """Sum of exponentially distributed weights over ``hits`` entries per bin (amplitude histograms)."""
    scale = np.broadcast_to(np.asarray(mean_weight, dtype=np.float64), hits.shape)
    values = np.round(rng.gamma(hits, np.where(hits > 0, scale, 1.0)))
    return _Fill(values, values * 2 * scale, float(hits.sum()))


class _Model:
    """A subsystem's histograms: their shapes, and how one minute of data fills them."""

    shapes: tuple[_Shape, ...]

    def fill(self, rng: np.random.Generator, n_events: int, minute: int) -> dict[str, _Fill]:
        raise NotImplementedError


@dataclass(frozen=True)
class _Conditions:
    """What differs from run to run: event rate, a gain drift and the beam spot, so trends move."""

    events_per_minute: float
    gain: float
    vertex_z: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> _Conditions:
        return cls(float(rng.uniform(2500, 5000)), float(rng.uniform(0.95, 1.05)), float(rng.normal(0, 0.8)))


def _events(rng: np.random.Generator, conditions: _Conditions, n_files: int) -> list[int]:
    """Events recorded in each minute of a run: a few thousand, varying by about ten per cent."""
    return [max(2000, round(conditions.events_per_minute * rng.uniform(0.88, 1.12))) for _ in range(n_files)]


# ------------------------------------------------------------------------------------- EMC geometry


def _sm_blocks() -> tuple[tuple[int, int, int, int], ...]:
    """(first col, first row, cols, rows) of each super module on the 48 x 104 FastOR grid."""
    full = [(24 * (i % 2), 12 * (i // 2), 24, 12) for i in range(10)]
    third_emcal = [(0, 60, 24, 4), (24, 60, 24, 4)]
    dcal = [(0 if i % 2 == 0 else 32, 64 + 12 * (i // 2), 16, 12) for i in range(6)]
    third_dcal = [(0, 100, 24, 4), (24, 100, 24, 4)]
    return tuple(full + third_emcal + dcal + third_dcal)


SM_BLOCKS = _sm_blocks()


def fastor_position(fastor_id: int) -> tuple[int, int]:
    """(col, row) of a FastOR abs ID on the 48 x 104 grid."""
    row, col = divmod(fastor_id, N_COLS)
    return col, row


def fastor_in_sm(fastor_id: int) -> tuple[int, int, int]:
    """(SM, eta id, phi id) of a FastOR, i.e. where it shows in the ``..._SM<n>`` maps."""
    col, row = fastor_position(fastor_id)
    for sm, (col0, row0, n_cols, n_rows) in enumerate(SM_BLOCKS):
        if col0 <= col < col0 + n_cols and row0 <= row < row0 + n_rows:
            return sm, col - col0, row - row0
    raise ValueError(f"FastOR {fastor_id} (col {col}, row {row}) is in the PHOS hole or off the grid")


def _acceptance() -> FloatArray:
    """1 where the grid has a FastOR, 0 in the PHOS hole; indexed [col, row]."""
    grid = np.zeros((N_COLS, N_ROWS))
    for col0, row0, n_cols, n_rows in SM_BLOCKS:
        grid[col0 : col0 + n_cols, row0 : row0 + n_rows] = 1.0
    return grid


def _by_id(grid: FloatArray) -> FloatArray:
    """A [col, row] grid as a 5000-bin array over FastOR abs ID (48 * row + col)."""
    flat = np.zeros(N_FASTOR_BINS)
    flat[: N_COLS * N_ROWS] = grid.T.ravel()
    return flat


def _by_sm(grid: FloatArray, sm: int) -> FloatArray:
    col0, row0, n_cols, n_rows = SM_BLOCKS[sm]
    out = np.zeros((24, 12))
    out[:n_cols, :n_rows] = grid[col0 : col0 + n_cols, row0 : row0 + n_rows]
    return out


def _hot_grid() -> FloatArray:
    grid = np.zeros((N_COLS, N_ROWS))
    for fastor_id in HOT_FASTOR_IDS:
        grid[fastor_position(fastor_id)] = 1.0
    return grid


# ------------------------------------------------------------------------------------------ EMC model

_TRIGGERS = {  # trigger -> (patch types, patch size in FastORs, mean patch ADC, threshold ADC, max ADC)
    "EMCGAH": (("Offline", "Online", "Recalc"), 2, 60.0, 140.0, 2048.0),
    "EMCGAL": (("Online",), 2, 60.0, 90.0, 2048.0),
    "EMCJEH": (("Offline", "Online", "Recalc"), 16, 150.0, 250.0, 4096.0),
    "EMCJEL": (("Online",), 16, 150.0, 200.0, 4096.0),
    "EMCL0": (("Offline", "Online", "Recalc"), 2, 50.0, 120.0, 2048.0),
}
_FASTOR_1D = {
    "EMCTRQA_histFastORL0": ("L0", "entries above 0"),
    "EMCTRQA_histFastORL0LargeAmp": ("L0 (amp>400)", "entries above 400"),
    "EMCTRQA_histFastORL0Amp": ("L0 amplitudes", "amplitude"),
    "EMCTRQA_histFastORL1": ("L1", "entries above 0"),
    "EMCTRQA_histFastORL1LargeAmp": ("L1 (amp>400)", "entries above 400"),
    "EMCTRQA_histFastORL1Amp": ("L1 amplitudes", "amplitude"),
}
_SM_MAPS = {  # suffix -> (title, z title)
    "FastORL0": ("L0 (amp>0)", "entries above 0"),
    "FastORL0LargeAmp": ("L0 (amp>400)", "entries above 400"),
    "FastORL0Amp": ("L0 int. amplitude", "amplitude"),
    "FastORL1": ("L1 (amp>0)", "entries above 0"),
    "FastORL1LargeAmp": ("L1 (amp>400)", "entries above 400"),
    "FastORL1Amp": ("L1 int. amplitude", "amplitude"),
}
_ADC_TO_GEV = 0.07874  # the original's kEMCL1ADCtoGeV
# TRU/STU ADC 0-512 x FEE energy 0-40 GeV: the real task's 16 ADC x 1 GeV bins over a smaller range
_FEE_EDGES = (_axis(32, 0, 512), _axis(40, 0, 40))


def _grid_edges() -> tuple[FloatArray, FloatArray]:
    return _axis(N_COLS, 0, N_COLS), _axis(N_ROWS, 0, N_ROWS)


def _emc_trigger_shapes() -> list[_Shape]:
    shapes = []
    for trigger, (types, *_rest) in _TRIGGERS.items():
        for kind in types:
            shapes += [
                _Shape(
                    f"EMCTRQA_histMaxEdgePos{trigger}{kind}",
                    "TH2F",
                    f"Edge Position Max {trigger} patch {kind}",
                    ("col", "row", "entries"),
                    _grid_edges(),
                ),
                _Shape(
                    f"EMCTRQA_histAmpEdgePos{trigger}{kind}",
                    "TH2F",
                    f"Integrated amplitude {trigger} patch {kind}",
                    ("col", "row", "entries"),
                    _grid_edges(),
                ),
            ]
            shapes += _patch_amp_shapes(trigger, kind)
    return shapes


def _patch_amp_shapes(trigger: str, kind: str) -> list[_Shape]:
    max_adc = _TRIGGERS[trigger][4]
    edges = (_axis(int(max_adc) // 16, 0, max_adc),)
    return [
        _Shape(
            f"EMCTRQA_hist{det}{what}{trigger}{kind}",
            "TH1F",
            f"EMCTRQA_hist{det}{what}{trigger}{kind}",
            ("amplitude", "entries"),
            edges,
        )
        for det in ("EMCal", "DCal")
        for what in ("PatchAmp", "MaxPatchAmp")
    ]


def _emc_fastor_shapes() -> list[_Shape]:
    by_id = (_axis(N_FASTOR_BINS, 0, N_FASTOR_BINS),)
    shapes = [
        _Shape(name, "TH1F", title, ("FastOR abs. ID", y), by_id) for name, (title, y) in _FASTOR_1D.items()
    ]
    shapes.append(
        _Shape(
            "EMCTRQA_histFastORL0Time",
            "TH2F",
            "L0 trigger time",
            ("FastOR abs. ID", "L0 trigger time"),
            (*by_id, _axis(20, 0, 20)),
        )
    )
    shapes.append(
        _Shape(
            "EMCTRQA_histFastORL0Mean",
            "TProfile",
            "EMCTRQA_histFastORL0Mean",
            ("FastOR abs. ID", "mean ADC counts"),
            by_id,
        )
    )
    sm_edges = (_axis(24, 0, 24), _axis(12, 0, 12))
    for sm in range(N_SM):
        for suffix, (title, z) in _SM_MAPS.items():
            shapes.append(
                _Shape(
                    f"EMCTRQA_hist{suffix}_SM{sm}",
                    "TH2F",
                    f"SM{sm} {title}",
                    ("eta id", "phi id", z),
                    sm_edges,
                )
            )
        for source in ("TRU", "STU"):
            shapes.append(
                _Shape(
                    f"EMCTRQA_histFEEvs{source}_SM{sm}",
                    "TH2F",
                    f"SM{sm} FEE vs {source}",
                    (f"{source} amplitude", "FEE energy (GeV)", "entries"),
                    _FEE_EDGES,
                )
            )
    return shapes


# fmt: off
_CLUSTER_SHAPES = (
    _Shape("hClusterCells", "TH1F", "Number of cells per cluster", ("Number of cells/cluster", "Number"),
           (_axis(50, 0, 50),)),
    _Shape("hClusterEneCells", "TH2F", "Cluster energy vs number of cells",
           ("Cluster Energy (GeV)", "Number of cells/cluster", "entries"),
           (_axis(50, 0, 50), _axis(50, 0, 50))),
    _Shape("hClusterEneEMCAL", "TH1F", "Cluster energy", ("Cluster Energy (GeV)", "dN_{cluster}/dE"),
           (_axis(100, 0, 50),)),
    _Shape("hClusterEneVsTime", "TH2F", "Cluster energy vs time",
           ("Cluster Energy (GeV)", "Cluster time (ns)", "entries"),
           (_axis(50, 0, 50), _axis(50, -200, 200))),
    _Shape("hClusterEtaVsPhi", "TH2F", "Cluster #eta vs #phi", ("#eta", "#phi (rad)", "entries"),
           (_axis(32, -0.8, 0.8), _axis(92, 1.2, 5.8))),
    _Shape("hClusterInvariantMass", "TH1F", "Cluster pair invariant mass",
           ("M_{#gamma#gamma} (GeV/#it{c}^{2})", "Counts/1 MeV"), (_axis(500, 0, 0.5),)),
    _Shape("hClusterM02", "TH1F", "Cluster M02", ("M_{02}", "dN/dM_{02}"), (_axis(100, 0, 2),)),
    _Shape("hClusterM20", "TH1F", "Cluster M20", ("M_{20}", "dN/dM_{20}"), (_axis(100, 0, 2),)),
    _Shape("hClusterNumVsV0", "TH2F", "Number of clusters vs V0 amplitude",
           ("Number of clusters", "V0 amplitude", "entries"), (_axis(50, 0, 1000), _axis(50, 0, 1000))),
)
# fmt: on
_CELL_IDS = 17664
_CELL_SHAPES = tuple(
    _Shape(
        f"hIDvs{what}{gain}",
        "TH2F",
        f"Cell ID vs {what.lower()} ({gain})",
        (x_title, "Cell ID", "entries"),
        (x_edges, _axis(_CELL_IDS // 128, 0, _CELL_IDS)),
    )
    for what, x_title, x_edges in (
        ("Amp", "Cell amplitude", _axis(64, 0, 1024)),
        ("Time", "Cell time (ns)", _axis(50, -50, 150)),
    )
    for gain in ("HG", "LG")
)


def _cluster_densities(gain: float) -> dict[str, FloatArray]:
    """Expected entries per event of the cluster histograms: about two clusters and one pair an event."""
    x = {shape.name: [_centres(e) for e in shape.edges] for shape in _CLUSTER_SHAPES}

    def energy(e: FloatArray) -> FloatArray:
        return np.asarray(np.exp(-e / (1.2 * gain)) + 1e-3 * (1 + e) ** -3, dtype=np.float64)

    def cells(n: FloatArray) -> FloatArray:
        return _gamma_pdf(n, 4.0, 2.0)

    def shower_shape(m: FloatArray, peak: float) -> FloatArray:
        return _normal(m, peak, 0.06) + 0.1 * np.exp(-m)

    mass = x["hClusterInvariantMass"][0]
    shapes = {
        "hClusterCells": cells(x["hClusterCells"][0]),
        "hClusterEneCells": _outer(energy(x["hClusterEneCells"][0]), cells(x["hClusterEneCells"][1])),
        "hClusterEneEMCAL": energy(x["hClusterEneEMCAL"][0]),
        "hClusterEneVsTime": _outer(
            energy(x["hClusterEneVsTime"][0]), _normal(x["hClusterEneVsTime"][1], 0, 20)
        ),
        "hClusterEtaVsPhi": _calorimeter_acceptance(*np.meshgrid(*x["hClusterEtaVsPhi"], indexing="ij")),
        "hClusterInvariantMass": mass * np.exp(-mass / 0.12) + 0.15 * _normal(mass, 0.135 * gain, 0.012),
        "hClusterM02": shower_shape(x["hClusterM02"][0], 0.27),
        "hClusterM20": shower_shape(x["hClusterM20"][0], 0.15),
        "hClusterNumVsV0": _band(*_xy(x["hClusterNumVsV0"]), _linear(0, 3), 0.3, 40, x_mean=60),
    }
    per_event = {"hClusterInvariantMass": 1.0, "hClusterNumVsV0": 1.0}
    return {name: per_event.get(name, 2.0) * _unit(shape) for name, shape in shapes.items()}


def _cell_densities() -> dict[str, FloatArray]:
    """Expected entries per event of cell ID vs amplitude or time: about 30 cells an event, flat in ID."""
    out = {}
    for shape in _CELL_SHAPES:
        x, ids = (_centres(e) for e in shape.edges)
        if "Amp" in shape.name:
            along_x = np.exp(-x / (30 if shape.name.endswith("HG") else 8))
        else:
            along_x = _normal(x, 25, 12) + 0.005
        out[shape.name] = 30 * _unit(_outer(along_x, np.ones(len(ids))))
    return out


def _xy(centres: Iterable[FloatArray]) -> tuple[FloatArray, FloatArray]:
    """The two axes of a 2D histogram's bin centres."""
    x, y = centres
    return x, y


def _outer(x: FloatArray, y: FloatArray) -> FloatArray:
    return np.asarray(np.outer(x, y), dtype=np.float64)


def _calorimeter_acceptance(eta: FloatArray, phi: FloatArray) -> FloatArray:
    emcal = (np.abs(eta) < 0.67) & (phi > 1.40) & (phi < 3.26)
    dcal = (np.abs(eta) < 0.67) & (np.abs(eta) > 0.22) & (phi > 4.54) & (phi < 5.58)
    dcal_thirds = (np.abs(eta) < 0.67) & (phi >= 5.58) & (phi < 5.70)
    return (emcal | dcal | dcal_thirds).astype(np.float64)


class _EmcModel(_Model):
    """EMCal trigger QA: FastOR hit maps (with hot channels), patch positions and amplitudes, clusters."""

    def __init__(self, detector_rng: np.random.Generator, conditions: _Conditions, hot: bool) -> None:
        self.shapes = (
            _Shape(EVENT_COUNTERS["EMC"], "TH1F", "events", ("", "total events"), (_axis(1, 0, 1),)),
            *_emc_fastor_shapes(),
            *_emc_trigger_shapes(),
            *_CLUSTER_SHAPES,
            *_CELL_SHAPES,
        )
        spread = np.exp(detector_rng.normal(0, 0.35, size=(N_COLS, N_ROWS)))
        self.l0_rate = np.minimum(_FASTOR_RATE * spread, _FASTOR_RATE_MAX) * _acceptance()
        self.hot = hot
        self.gain = conditions.gain
        self.time_profile = _unit(_normal(_centres(_axis(20, 0, 20)), 8.5, 1.0))
        self.fee = _unit(
            _band(
                *_xy(_centres(e) for e in _FEE_EDGES),
                _linear(0, _ADC_TO_GEV),
                0.12,
                0.5,
                x_mean=60,
            )
        )
        self.patches = _patch_densities(conditions.gain)
        self.clusters = _cluster_densities(conditions.gain) | _cell_densities()

    def fill(self, rng: np.random.Generator, n_events: int, minute: int) -> dict[str, _Fill]:
        hot = self.hot and minute >= HOT_FROM_MINUTE
        one = np.array([float(n_events)])
        fills = {EVENT_COUNTERS["EMC"]: _Fill(one, one.copy(), float(n_events))}
        fills |= self._fastor_fills(rng, n_events, hot)
        fills |= {name: _counts(rng, dens * n_events) for name, dens in self.clusters.items()}
        fills |= self._patch_fills(rng, n_events, hot)
        return fills

    def _fastor_fills(self, rng: np.random.Generator, n_events: int, hot: bool) -> dict[str, _Fill]:
        fills: dict[str, _Fill] = {}
        for level, rate_factor, mean_adc in (("L0", 1.0, _L0_MEAN_ADC), ("L1", 1.5, 4 * _L0_MEAN_ADC)):
            hits = rng.poisson(self.l0_rate * rate_factor * n_events).astype(np.float64)
            hot_hits = (
                rng.poisson(_hot_grid() * HOT_HIT_RATE * n_events).astype(np.float64) if hot else 0 * hits
            )
            amp = np.round(rng.gamma(hits, mean_adc))
            grids = {
                "": (hits + hot_hits, hits + hot_hits),
                "LargeAmp": (hot_hits, hot_hits),
                "Amp": (amp + hot_hits * HOT_AMPLITUDE, amp * 2 * mean_adc + hot_hits * HOT_AMPLITUDE**2),
            }
            fills |= _fastor_level_fills(level, grids)
            fills |= self._fee_fills("TRU" if level == "L0" else "STU", rng, hits)
        fills["EMCTRQA_histFastORL0Time"] = self._l0_time(rng, n_events, hot)
        hits_l0, amp_l0 = fills["EMCTRQA_histFastORL0"], fills["EMCTRQA_histFastORL0Amp"]
        fills["EMCTRQA_histFastORL0Mean"] = _Fill(
            amp_l0.values, amp_l0.variances, hits_l0.entries, hits_l0.values
        )
        return fills

    def _l0_time(self, rng: np.random.Generator, n_events: int, hot: bool) -> _Fill:
        expected = np.outer(_by_id(self.l0_rate), self.time_profile) * n_events
        if hot:  # a noisy channel fires at any time, not only in the trigger window
            expected += np.outer(_by_id(_hot_grid()), np.full(20, HOT_HIT_RATE / 20)) * n_events
        return _counts(rng, expected)

    def _fee_fills(self, source: str, rng: np.random.Generator, hits: FloatArray) -> dict[str, _Fill]:
        return {
            f"EMCTRQA_histFEEvs{source}_SM{sm}": _counts(rng, self.fee * 0.3 * float(_by_sm(hits, sm).sum()))
            for sm in range(N_SM)
        }

    def _patch_fills(self, rng: np.random.Generator, n_events: int, hot: bool) -> dict[str, _Fill]:
        fills: dict[str, _Fill] = {}
        for name, (density, mean_adc) in self.patches.items():
            expected = density * n_events
            if hot and "EdgePos" in name and _is_small_patch(name):
                expected = expected + _hot_grid() * HOT_HIT_RATE * 0.5 * n_events
            hits = rng.poisson(expected).astype(np.float64)
            fills[name] = _patch_fill(rng, name, hits, mean_adc)
        return fills


def _is_small_patch(name: str) -> bool:
    return not any(jet in name for jet in ("EMCJEH", "EMCJEL"))


def _patch_fill(rng: np.random.Generator, name: str, hits: FloatArray, mean_adc: float) -> _Fill:
    """AmpEdgePos sums the patch amplitude; everything else counts patches."""
    if "AmpEdgePos" not in name:
        return _Fill(hits, hits.copy(), float(hits.sum()))
    return _weighted(rng, hits, mean_adc)


def _fastor_level_fills(level: str, grids: Mapping[str, tuple[FloatArray, FloatArray]]) -> dict[str, _Fill]:
    """The 1D by-ID histogram and the 20 per-SM maps of each FastOR quantity, all from the same grid."""
    hits = grids[""][0]
    fills = {}
    for suffix, (grid, variance) in grids.items():
        fills[f"EMCTRQA_histFastOR{level}{suffix}"] = _Fill(_by_id(grid), _by_id(variance), float(hits.sum()))
        for sm in range(N_SM):
            fills[f"EMCTRQA_histFastOR{level}{suffix}_SM{sm}"] = _Fill(
                _by_sm(grid, sm), _by_sm(variance, sm), float(_by_sm(hits, sm).sum())
            )
    return fills


def _patch_densities(gain: float) -> dict[str, tuple[FloatArray, float]]:
    """Expected patches per event per bin, and mean ADC, for edge-position and patch-amplitude histograms."""
    out = {}
    for trigger, (types, size, mean_adc, threshold, _max) in _TRIGGERS.items():
        positions = _unit(_edge_positions(size))
        for kind in types:
            out[f"EMCTRQA_histMaxEdgePos{trigger}{kind}"] = (0.6 * positions, mean_adc * gain)
            out[f"EMCTRQA_histAmpEdgePos{trigger}{kind}"] = (1.5 * positions, mean_adc * gain)
            for shape in _patch_amp_shapes(trigger, kind):
                density = _amplitude_density(shape, mean_adc * gain, threshold, kind == "Online")
                out[shape.name] = (density, mean_adc)
    return out


def _edge_positions(size: int) -> FloatArray:
    """Where a patch of ``size`` x ``size`` FastORs can start: inside one calorimeter, jets on a step of 4."""
    accept = _acceptance()
    out = np.zeros_like(accept)
    step = 4 if size > 2 else 1
    for col in range(0, N_COLS - size + 1, step):
        for row in range(0, N_ROWS - size + 1, step):
            same_side = (row + size <= 64) or (row >= 64)
            out[col, row] = float(same_side and accept[col : col + size, row : row + size].all())
    return out


def _amplitude_density(shape: _Shape, mean_adc: float, threshold: float, online: bool) -> FloatArray:
    """Falling patch spectrum; online patches only above the trigger threshold, max patches peak higher."""
    adc = _centres(shape.edges[0])
    spectrum = np.exp(-adc / mean_adc)
    if "MaxPatchAmp" in shape.name:
        spectrum = _gamma_pdf(adc, 2.5 * mean_adc, 3.0)
    turn_on = 1 / (1 + np.exp(-(adc - (threshold if online else 0.4 * threshold)) / 8))
    rate = 0.3 if "EMCal" in shape.name else 0.15
    return np.asarray(rate * _unit(spectrum * turn_on), dtype=np.float64)


def _band(
    x: FloatArray,
    y: FloatArray,
    relation: Callable[[FloatArray], FloatArray],
    spread: float,
    floor: float,
    x_mean: float | None = None,
) -> FloatArray:
    """A 2D correlation: x from a gamma shape, y around ``relation(x)`` with relative ``spread``."""
    mean_x = x_mean if x_mean is not None else 0.25 * float(x[-1] + x[0])
    xs, ys = np.meshgrid(x, y, indexing="ij")
    centre = relation(xs)
    sigma = np.maximum(spread * np.abs(centre), floor)
    return _gamma_pdf(xs, mean_x) * _normal(ys, centre, sigma)


# ------------------------------------------------------------------------------------------ HLT model


@dataclass(frozen=True)
class _HltBand:
    """An HLT correlation histogram: per event one entry near ``y = offset + slope * x``."""

    name: str
    title: str
    x: tuple[str, float, float]  # axis title, low, high
    y: tuple[str, float, float]
    offset: float
    slope: float
    spread: float  # relative width of the band


# fmt: off
_HLT_BANDS = (
    _HltBand("HLTInSize_HLTOutSize", "HLT Out Size vs HLT In Size",
             ("HLT input size (kB)", 0, 2000), ("HLT output size (kB)", 0, 1000), 0, 0.3, 0.08),
    _HltBand("HLTSize_HLTInOutRatio", "HLT Out/In Size Ratio vs HLT Input Size",
             ("HLT input size (kB)", 0, 2000), ("HLT out/in size ratio", 0, 1), 0.3, 0, 0.1),
    _HltBand("SDDclusters_SDDrawSize", "SDD clusters vs SDD raw size",
             ("SDD clusters", 0, 5000), ("SDD raw size (kB)", 0, 500), 0, 0.08, 0.06),
    _HltBand("SPDclusters_SDDclusters", "SDD clusters vs SPD clusters",
             ("SPD clusters", 0, 2000), ("SDD clusters", 0, 5000), 0, 1.8, 0.1),
    _HltBand("SPDclusters_SPDrawSize", "SPD clusters vs SPD raw size",
             ("SPD clusters", 0, 2000), ("SPD raw size (kB)", 0, 200), 0, 0.06, 0.05),
    _HltBand("SPDclusters_SSDclusters", "SSD clusters vs SPD clusters",
             ("SPD clusters", 0, 2000), ("SSD clusters", 0, 5000), 0, 2.0, 0.1),
    _HltBand("SSDclusters_SDDclusters", "SDD clusters vs SSD clusters",
             ("SSD clusters", 0, 5000), ("SDD clusters", 0, 5000), 0, 0.9, 0.1),
    _HltBand("SSDclusters_SSDrawSize", "SSD clusters vs SSD raw size",
             ("SSD clusters", 0, 5000), ("SSD raw size (kB)", 0, 500), 0, 0.07, 0.05),
    _HltBand("TPCClusterSize_TPCCompressedSize", "TPC compressed size vs TPC HWCF Size",
             ("TPC HWCF size (kB)", 0, 10000), ("TPC compressed size (kB)", 0, 5000), 0, 0.22, 0.05),
    _HltBand("TPCHLTclusters_TPCCompressionRatio", "Huffman compression ratio vs TPC HLT clusters",
             ("TPC HLT clusters", 0, 200000), ("Huffman compression ratio", 0, 10), 2.0, 0, 0.05),
    _HltBand("TPCHLTclusters_TPCFullCompressionRatio", "Full compression ratio vs TPC HLT clusters",
             ("TPC HLT clusters", 0, 200000), ("Full compression ratio", 0, 10), 4.2, 2e-6, 0.05),
    _HltBand("TPCHLTclusters_TPCSplitClusterRatioPad", "TPC Split Cluster ratio pad vs TPC HLT clusters",
             ("TPC HLT clusters", 0, 200000), ("split cluster ratio (pad)", 0, 0.2), 0.04, 1e-7, 0.15),
    _HltBand("TPCHLTclusters_TPCSplitClusterRatioTime", "TPC Split Cluster ratio time vs TPC HLT clusters",
             ("TPC HLT clusters", 0, 200000), ("split cluster ratio (time)", 0, 0.2), 0.02, 1e-7, 0.15),
    _HltBand("TPCRawSize_TPCCompressedSize", "TPC compressed size vs TPC Raw Size",
             ("TPC raw size (kB)", 0, 20000), ("TPC compressed size (kB)", 0, 5000), 0, 0.12, 0.05),
    _HltBand("TPCtracks_TPCtracklets", "TPC Tracks vs TPC Tracklets",
             ("TPC tracklets", 0, 1000), ("TPC tracks", 0, 500), 0, 0.45, 0.08),
    _HltBand("TZERO_ITSSPDVertexZ", "TZERO interaction time vs ITS vertex z",
             ("ITS SPD vertex z (cm)", -30, 30), ("T0 interaction time (ns)", -1, 1), 0, 1 / 30, 0.0),
    _HltBand("VZERO_SPDClusters", "SPD Clusters vs VZERO Trigger Charge (A+C)",
             ("VZERO trigger charge (A+C)", 0, 20000), ("SPD clusters", 0, 2000), 0, 0.1, 0.12),
    _HltBand("ZNA_VZEROTrigChargeA", "ZNA vs. VZERO Trigger Charge A",
             ("VZERO trigger charge A", 0, 10000), ("ZNA signal", 0, 1000), 50, 0.01, 0.8),
    _HltBand("ZNC_VZEROTrigChargeC", "ZNC vs. VZERO Trigger Charge C",
             ("VZERO trigger charge C", 0, 10000), ("ZNC signal", 0, 1000), 50, 0.01, 0.8),
    _HltBand("ZNT_VZEROTrigChargeT", "ZN (A+C) vs. VZERO Trigger Charge (A+C)",
             ("VZERO trigger charge (A+C)", 0, 20000), ("ZN (A+C) signal", 0, 2000), 100, 0.01, 0.8),
)
# fmt: on
_HLT_DEDX = {  # suffix -> (title part, relative gain); dE/dx vs p of the TPC read-out chambers
    "MaxIROC": ("qMax, IROC", 0.55),
    "MaxOROC1": ("qMax, OROC1", 0.6),
    "MaxOROC2": ("qMax, OROC2", 0.62),
    "MaxOROCAll": ("qMax, OROC all", 0.61),
    "MaxTPCAll": ("qMax, full TPC", 0.6),
    "TotIROC": ("qTot, IROC", 0.9),
    "TotOROC1": ("qTot, OROC1", 1.0),
    "TotOROC2": ("qTot, OROC2", 1.02),
    "TotOROCAll": ("qTot, OROC all", 1.01),
    "TotTPCAll": ("qTot, full TPC", 1.0),
}
_HLT_ROWPHI = {
    "TPCAallClustersRowPhi": "TPCA clusters all, raw cluster coordinates",
    "TPCAattachedClustersRowPhi": "TPCA clusters attached to tracks, raw cluster coordinates",
    "TPCCallClustersRowPhi": "TPCC clusters all, raw cluster coordinates",
    "TPCCattachedClustersRowPhi": "TPCC clusters attached to tracks, raw cluster coordinates",
}
_HLT_TH1 = {  # name -> (title, x title, bins, low, high)
    "ClusterChargeMax": ("TPC Cluster ChargeMax", "Q_{max} (ADC)", 100, 0, 1000),
    "ClusterChargeTot": ("TPC Cluster ChargeTotal", "Q_{tot} (ADC)", 100, 0, 5000),
    "TPCClusterFlags": ("TPC Cluster Flags", "cluster flag", 8, 0, 8),
    "TPCTrackPt": ("TPC Track Pt", "p_{T} (GeV/#it{c})", 100, 0, 10),
}
_PARTICLES = ((0.1396, 0.70), (0.4937, 0.12), (0.9383, 0.10), (0.000511, 0.08))  # mass (GeV), share


def _hlt_shapes() -> list[_Shape]:
    shapes = [_Shape(EVENT_COUNTERS["HLT"], "TH1D", "Number of events", ("", "events"), (_axis(1, 0, 1),))]
    shapes += [
        _Shape(f"fHist{n}", "TH1D", t, (x, "entries"), (_axis(b, lo, hi),))
        for n, (t, x, b, lo, hi) in _HLT_TH1.items()
    ]
    for band in _HLT_BANDS:
        (x_title, x_low, x_high), (y_title, y_low, y_high) = band.x, band.y
        edges = (_axis(50, x_low, x_high), _axis(50, y_low, y_high))
        shapes.append(_Shape(f"fHist{band.name}", "TH2F", band.title, (x_title, y_title, "entries"), edges))
    for name, (what, _gain) in _HLT_DEDX.items():
        shapes.append(
            _Shape(
                f"fHistTPCdEdx{name}",
                "TH2F",
                f"TPC dE/dx v.s. P ({what})",
                ("p (GeV/#it{c})", "dE/dx (arb. units)", "entries"),
                (_axis(50, 0, 5), _axis(60, 0, 300)),
            )
        )
    for name, title in _HLT_ROWPHI.items():
        shapes.append(
            _Shape(
                f"fHist{name}",
                "TH2F",
                title,
                ("pad row", "#phi (rad)", "entries"),
                (_axis(80, 0, 160), _axis(72, 0, 2 * np.pi)),
            )
        )
    return shapes


def _hlt_densities(shapes: Sequence[_Shape], gain: float) -> dict[str, FloatArray]:
    """Expected entries per event: one per event for sizes and ratios, many for clusters and tracks."""
    by_name = {s.name: tuple(_centres(e) for e in s.edges) for s in shapes}
    dens = {
        "fHistClusterChargeMax": 200 * _unit(_moyal(by_name["fHistClusterChargeMax"][0], 60 * gain, 20)),
        "fHistClusterChargeTot": 200 * _unit(_moyal(by_name["fHistClusterChargeTot"][0], 300 * gain, 90)),
        "fHistTPCClusterFlags": 200 * _unit(np.array([0.8, 0.1, 0.05, 0.02, 0.015, 0.01, 0.004, 0.001])),
        "fHistTPCTrackPt": 15 * _unit(_track_pt(by_name["fHistTPCTrackPt"][0])),
    }
    for band in _HLT_BANDS:
        x, y = by_name[f"fHist{band.name}"]
        relation = _linear(band.offset, band.slope)
        x_mean = 0.0 if x[0] < 0 else None
        dens[f"fHist{band.name}"] = _unit(_hlt_band(x, y, relation, band.spread, float(y[1] - y[0]), x_mean))
    for name, (_what, chamber_gain) in _HLT_DEDX.items():
        dens[f"fHistTPCdEdx{name}"] = 15 * _unit(
            _dedx(*_xy(by_name[f"fHistTPCdEdx{name}"]), 80 * chamber_gain * gain)
        )
    for name in _HLT_ROWPHI:
        share = 0.55 if "attached" in name else 1.0
        dens[f"fHist{name}"] = (
            2000 * share * _unit(_row_phi(*_xy(by_name[f"fHist{name}"]), c_side="TPCC" in name))
        )
    return dens


def _linear(offset: float, slope: float) -> Callable[[FloatArray], FloatArray]:
    def relation(x: FloatArray) -> FloatArray:
        return offset + slope * x

    return relation


def _hlt_band(
    x: FloatArray,
    y: FloatArray,
    relation: Callable[[FloatArray], FloatArray],
    spread: float,
    width: float,
    x_mean: float | None,
) -> FloatArray:
    """A band; an x axis around zero (vertex z) gets a Gaussian beam spot instead of a gamma shape."""
    if x_mean is None:
        return _band(x, y, relation, spread, width)
    xs, ys = np.meshgrid(x, y, indexing="ij")
    return _normal(xs, x_mean, 6.0) * _normal(ys, relation(xs), max(width, 0.05))


def _moyal(x: FloatArray, peak: float, width: float) -> FloatArray:
    """Landau-like energy-loss shape (Moyal approximation)."""
    lam = (x - peak) / width
    return np.asarray(np.exp(-0.5 * (lam + np.exp(-lam))), dtype=np.float64)


def _track_pt(pt: FloatArray) -> FloatArray:
    return np.asarray(pt * np.exp(-pt / 0.35) + 0.02 * (1 + pt) ** -5.5, dtype=np.float64)


def _dedx(p: FloatArray, dedx: FloatArray, mip: float) -> FloatArray:
    """Bethe-Bloch-like bands for pions, kaons, protons and electrons, 7 per cent resolution."""
    ps, ys = np.meshgrid(p, dedx, indexing="ij")
    total = np.zeros_like(ps)
    for mass, share in _PARTICLES:
        beta_gamma = ps / mass
        centre = mip * (1 + 1 / beta_gamma**2) * (1 + 0.08 * np.log1p(beta_gamma))
        total += share * _track_pt(ps) * _normal(ys, centre, 0.07 * centre) / (0.07 * centre)
    return total


def _row_phi(row: FloatArray, phi: FloatArray, c_side: bool) -> FloatArray:
    """Clusters per pad row and phi: fewer outside, gaps at the 18 sector edges, one weak C-side sector."""
    sector_edge = np.abs(((phi / (2 * np.pi / 18)) % 1) - 0.5) > 0.45
    along_phi = np.where(sector_edge, 0.6, 1.0)
    if c_side:
        along_phi = np.where(
            (phi > 7 * 2 * np.pi / 18) & (phi < 8 * 2 * np.pi / 18), 0.5 * along_phi, along_phi
        )
    return _outer(1.3 - 0.3 * row / 160, along_phi)


class _HltModel(_Model):
    """HLT QA: data sizes, compression, detector correlations, TPC dE/dx; TPC too when it has no files."""

    def __init__(self, conditions: _Conditions, tpc: _TpcModel | None) -> None:
        own = _hlt_shapes()
        self.densities = _hlt_densities(own, conditions.gain)
        self.tpc = tpc
        carried = [s for s in tpc.shapes if s.name != EVENT_COUNTERS["TPC"]] if tpc else []
        self.shapes = (*own, *carried)

    def fill(self, rng: np.random.Generator, n_events: int, minute: int) -> dict[str, _Fill]:
        one = np.array([float(n_events)])
        fills = {EVENT_COUNTERS["HLT"]: _Fill(one, one.copy(), float(n_events))}
        fills |= {name: _counts(rng, dens * n_events) for name, dens in self.densities.items()}
        return fills


# ------------------------------------------------------------------------------------------ TPC model

_TPC_VARS = {  # index in the TPCQA name -> (axis title, bins, low, high); 5, 6, 7 are eta, phi, pT
    0: ("Number of TPC clusters", 160, 0.0, 160.0),
    2: ("Found/findable TPC clusters", 20, 0.0, 1.2),
    3: ("DCA_{r} (cm)", 30, -3.0, 3.0),
    4: ("DCA_{z} (cm)", 30, -3.0, 3.0),
    5: ("#eta", 30, -1.5, 1.5),
    6: ("#phi (rad)", 18, 0.0, 2 * np.pi),
}
_PT_EDGES = np.round(np.geomspace(0.1, 20.0, 26), 4)  # 25 log bins, as the pT axis needs bins 1-25
_TPC_TRACKS = {  # name -> (title, variables)
    "TPCQA/h_tpc_track_all_recvertex_0_5_7": ("Number of clusters", (0, 5, 7)),
    "TPCQA/h_tpc_track_all_recvertex_2_5_7": ("Number of found/findable clusters", (2, 5, 7)),
    "TPCQA/h_tpc_track_all_recvertex_3_5_7": ("DCA vs r inclusive", (3, 5, 7)),
    "TPCQA/h_tpc_track_all_recvertex_4_5_7": ("DCA vs z inclusive", (4, 5, 7)),
    "TPCQA/h_tpc_track_pos_recvertex_0_5_7": ("Number of clusters for positive tracks", (0, 5, 7)),
    "TPCQA/h_tpc_track_neg_recvertex_0_5_7": ("Number of clusters for negative tracks", (0, 5, 7)),
    "TPCQA/h_tpc_track_pos_recvertex_2_5_6": ("Found/findable clusters for positive tracks", (2, 5, 6)),
    "TPCQA/h_tpc_track_neg_recvertex_2_5_6": ("Found/findable clusters for negative tracks", (2, 5, 6)),
    "TPCQA/h_tpc_track_pos_recvertex_3_5_6": ("DCA vs r for positive tracks", (3, 5, 6)),
    "TPCQA/h_tpc_track_neg_recvertex_3_5_6": ("DCA vs r for negative tracks", (3, 5, 6)),
    "TPCQA/h_tpc_track_pos_recvertex_4_5_6": ("DCA vs z for positive tracks", (4, 5, 6)),
    "TPCQA/h_tpc_track_neg_recvertex_4_5_6": ("DCA vs z for negative tracks", (4, 5, 6)),
}
_TPC_EVENTS = {  # index -> (title, x title, bins, low, high)
    0: ("vertex x position", "v_{x} (cm)", 100, -0.5, 0.5),
    1: ("vertex y position", "v_{y} (cm)", 100, -0.5, 0.5),
    2: ("vertex z position", "v_{z} (cm)", 100, -30.0, 30.0),
    4: ("Positive track multiplicity", "positive tracks", 100, 0.0, 100.0),
    5: ("Negative track multiplicity", "negative tracks", 100, 0.0, 100.0),
}
_TRACKS_PER_SIGN = 8.0


def _tpc_edges(var: int) -> FloatArray:
    if var == 7:
        return np.asarray(_PT_EDGES, dtype=np.float64)
    _title, bins, low, high = _TPC_VARS[var]
    return _axis(bins, low, high)


def _tpc_shapes() -> list[_Shape]:
    shapes = [_Shape(EVENT_COUNTERS["TPC"], "TH1D", "Number of events", ("", "events"), (_axis(1, 0, 1),))]
    for name, (title, variables) in _TPC_TRACKS.items():
        titles = tuple(_TPC_VARS[v][0] if v != 7 else "p_{T} (GeV/#it{c})" for v in variables)
        shapes.append(_Shape(name, "TH3F", title, titles, tuple(_tpc_edges(v) for v in variables)))
    for index, (title, x_title, bins, low, high) in _TPC_EVENTS.items():
        shapes.append(
            _Shape(
                f"TPCQA/h_tpc_event_recvertex_{index}",
                "TH1D",
                title,
                (x_title, "events"),
                (_axis(bins, low, high),),
            )
        )
    return shapes


def _tpc_variable(var: int, centres: FloatArray, pt: FloatArray | None = None) -> FloatArray:
    """Distribution of one track variable; the DCA narrows with pT when pT is known."""
    if var == 0:
        return _normal(centres, 140, 14) * (centres < 159) + 0.01
    if var == 2:
        return _normal(centres, 0.93, 0.05)
    if var in (3, 4):
        sigma = 0.05 + 0.3 / pt if pt is not None else 0.35
        return _normal(centres, 0.0, sigma) + 1e-3
    if var == 5:
        return np.clip(1.9 - np.abs(centres) * 1.5, 0, 1)
    if var == 6:
        return np.ones_like(centres)
    return _track_pt(centres) * np.diff(_PT_EDGES)  # pT: counts in variable-width bins


def _track_density(variables: tuple[int, int, int], edges: tuple[FloatArray, ...]) -> FloatArray:
    """Tracks per event per bin: a product of the three variables, DCA width depending on pT."""
    centres = [_centres(e) for e in edges]
    grids = np.meshgrid(*centres, indexing="ij")
    pt = grids[2] if variables[2] == 7 else None
    product = np.ones_like(grids[0])
    for axis, var in enumerate(variables):
        product *= _tpc_variable(var, grids[axis], pt)
    return _unit(product)


class _TpcModel(_Model):
    """TPC QA: track properties in (variable, eta, phi/pT) TH3s, vertex and multiplicity per event."""

    def __init__(self, conditions: _Conditions) -> None:
        self.shapes = tuple(_tpc_shapes())
        by_name = {s.name: s for s in self.shapes}
        self.tracks = {
            name: _track_density(variables, by_name[name].edges)
            for name, (_title, variables) in _TPC_TRACKS.items()
        }
        self.events = self._event_densities(by_name, conditions)

    @staticmethod
    def _event_densities(by_name: Mapping[str, _Shape], conditions: _Conditions) -> dict[str, FloatArray]:
        def x(index: int) -> FloatArray:
            return _centres(by_name[f"TPCQA/h_tpc_event_recvertex_{index}"].edges[0])

        vertex = {
            0: _normal(x(0), 0.07, 0.02),
            1: _normal(x(1), 0.34, 0.02),
            2: _normal(x(2), conditions.vertex_z, 6.0),
            4: _gamma_pdf(x(4), _TRACKS_PER_SIGN, 1.6),
            5: _gamma_pdf(x(5), _TRACKS_PER_SIGN, 1.6),
        }
        return {f"TPCQA/h_tpc_event_recvertex_{i}": _unit(d) for i, d in vertex.items()}

    def fill(self, rng: np.random.Generator, n_events: int, minute: int) -> dict[str, _Fill]:
        one = np.array([float(n_events)])
        fills = {EVENT_COUNTERS["TPC"]: _Fill(one, one.copy(), float(n_events))}
        fills |= {
            name: _counts(rng, dens * _TRACKS_PER_SIGN * n_events)
            for name, dens in self.tracks.items()
            if "_all_" not in name
        }
        fills |= self._inclusive(rng, fills, n_events)
        fills |= {name: _counts(rng, dens * n_events) for name, dens in self.events.items()}
        return fills

    def _inclusive(
        self, rng: np.random.Generator, fills: Mapping[str, _Fill], n_events: int
    ) -> dict[str, _Fill]:
        """``all`` histograms: the sum of pos and neg where both exist, drawn otherwise."""
        out = {}
        for name, dens in self.tracks.items():
            if "_all_" not in name:
                continue
            pos, neg = fills.get(name.replace("_all_", "_pos_")), fills.get(name.replace("_all_", "_neg_"))
            if pos is not None and neg is not None:
                values = pos.values + neg.values
                out[name] = _Fill(values, values.copy(), float(values.sum()))
            else:
                out[name] = _counts(rng, dens * 2 * _TRACKS_PER_SIGN * n_events)
        return out


# -------------------------------------------------------------------------------- writing the files

_STREAMS = {"conditions": 0, "EMC": 1, "HLT": 2, "TPC": 3, "detector": 4, "events": 5, "clock": 10}


def _rng(seed: int, run_number: int, stream: str, extra: int = 0) -> np.random.Generator:
    """An independent generator per (seed, run, stream): any job order gives the same data."""
    return np.random.default_rng([seed, run_number, _STREAMS[stream] + extra])


class _Accumulator:
    """Running sums since the start of the run, turned into cumulative histograms on demand."""

    def __init__(self, shapes: Sequence[_Shape]) -> None:
        self.shapes = {shape.name: shape for shape in shapes}
        self.values = {name: np.zeros(s.bins) for name, s in self.shapes.items()}
        self.variances = {name: np.zeros(s.bins) for name, s in self.shapes.items()}
        self.sum_w = {name: np.zeros(s.bins) for name, s in self.shapes.items() if s.root_class == "TProfile"}
        self.entries = dict.fromkeys(self.shapes, 0.0)

    def add(self, fills: Mapping[str, _Fill]) -> None:
        """Add a minute; fills of histograms this file lacks (the TPC counter in HLT files) are dropped."""
        for name, fill in fills.items():
            if name not in self.shapes:
                continue
            self.values[name] += fill.values
            self.variances[name] += fill.variances
            self.entries[name] += fill.entries
            if fill.sum_w is not None:
                self.sum_w[name] += fill.sum_w

    def snapshot(self) -> dict[str, Histogram]:
        return {name: self._histogram(shape) for name, shape in self.shapes.items()}

    def _histogram(self, shape: _Shape) -> Histogram:
        name = shape.name
        values: FloatArray = self.values[name].copy()
        variances: FloatArray = self.variances[name].copy()
        profile = None
        if name in self.sum_w:
            profile = ProfileSums(self.sum_w[name].copy(), values, variances)
            values, variances = _profile_mean(profile)
        return Histogram(
            name,
            shape.root_class,
            values,
            variances,
            shape.edges,
            shape.title,
            shape.axis_titles,
            self.entries[name],
            profile,
        )


def _profile_mean(sums: ProfileSums) -> tuple[FloatArray, FloatArray]:
    """Bin means of a profile and the squared errors of those means."""
    has = sums.sum_w > 0
    mean = np.divide(sums.sum_wy, sums.sum_w, out=np.zeros_like(sums.sum_w), where=has)
    spread = np.divide(sums.sum_wy2, sums.sum_w, out=np.zeros_like(sums.sum_w), where=has) - mean**2
    return mean, np.divide(np.clip(spread, 0, None), sums.sum_w, out=np.zeros_like(sums.sum_w), where=has)


@dataclass(frozen=True)
class _Job:
    """One subsystem of one run: everything a worker process needs to write its files."""

    plan: RunPlan
    subsystem: str
    start: datetime
    out_dir: Path
    tz: ZoneInfo
    seed: int

    @property
    def cost(self) -> int:
        """Rough relative writing time: an EMC file takes about four times as long as the others."""
        return self.plan.n_files * (4 if self.subsystem == "EMC" else 1)


def _model(job: _Job, conditions: _Conditions) -> _Model:
    if job.subsystem == "EMC":
        return _EmcModel(_rng(job.seed, 0, "detector"), conditions, job.plan.hot_channels)
    if job.subsystem == "TPC":
        return _TpcModel(conditions)
    return _HltModel(conditions, None if job.plan.own_tpc else _TpcModel(conditions))


def _file_times(job: _Job) -> list[datetime]:
    """One file a minute, each a few seconds late, as a receiver's writes drift."""
    rng = _rng(job.seed, job.plan.run_number, "clock", SUBSYSTEMS.index(job.subsystem))
    return [
        job.start + timedelta(minutes=i, seconds=int(rng.integers(0, 5))) for i in range(job.plan.n_files)
    ]


def _write_job(job: _Job) -> int:
    """Write one subsystem's cumulative files for a run; returns how many."""
    conditions = _Conditions.draw(_rng(job.seed, job.plan.run_number, "conditions"))
    events = _events(_rng(job.seed, job.plan.run_number, "events"), conditions, job.plan.n_files)
    model = _model(job, conditions)
    rngs = _fill_generators(job, model)
    totals = _Accumulator(model.shapes)
    for minute, timestamp in enumerate(_file_times(job)):
        for part, rng in rngs:
            totals.add(part.fill(rng, events[minute], minute))
        name = format_received_name(job.subsystem, job.plan.run_number, job.plan.hlt_mode, timestamp, job.tz)
        # Every key at the top level, as the receivers wrote them: TPC's are named "TPCQA/…", no directory.
        write_histograms(job.out_dir / name, totals.snapshot(), directories=False)
    logger.debug("wrote %s files of %s for run %s", job.plan.n_files, job.subsystem, job.plan.run_number)
    return job.plan.n_files


def _fill_generators(job: _Job, model: _Model) -> list[tuple[_Model, np.random.Generator]]:
    """Each model part with its own generator, so TPC data is the same whether TPC or HLT files carry it."""
    parts: list[tuple[_Model, np.random.Generator]] = [
        (model, _rng(job.seed, job.plan.run_number, job.subsystem))
    ]
    if isinstance(model, _HltModel) and model.tpc is not None:
        parts.append((model.tpc, _rng(job.seed, job.plan.run_number, "TPC")))
    return parts


def _subsystems(plan: RunPlan) -> tuple[str, ...]:
    return SUBSYSTEMS if plan.own_tpc else ("EMC", "HLT")


def _schedule(plans: Sequence[RunPlan], start: datetime) -> Iterator[tuple[RunPlan, datetime]]:
    """Each run's first file time: runs follow each other with the plan's pauses."""
    first = start
    for plan in plans:
        first += timedelta(minutes=plan.pause_minutes)
        yield plan, first
        first += timedelta(minutes=plan.n_files - 1)


def _run_jobs(jobs: Sequence[_Job], workers: int | None) -> None:
    count = min(workers or os.cpu_count() or 1, len(jobs))
    ordered = sorted(jobs, key=lambda job: -job.cost)  # longest first keeps every worker busy to the end
    if count <= 1:
        for job in ordered:
            _write_job(job)
        return
    with ProcessPoolExecutor(max_workers=count) as pool:
        list(pool.map(_write_job, ordered))


def _write(
    plans_and_starts: Sequence[tuple[RunPlan, datetime]],
    out_dir: str | os.PathLike[str],
    seed: int,
    tz: ZoneInfo,
    workers: int | None,
) -> DemoSummary:
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    jobs = [
        _Job(plan, subsystem, first, target, tz, seed)
        for plan, first in plans_and_starts
        for subsystem in _subsystems(plan)
    ]
    _run_jobs(jobs, workers)
    runs = tuple(_demo_run(plan, first) for plan, first in plans_and_starts)
    logger.info("wrote %s demo files for %s runs into %s", sum(r.n_files for r in runs), len(runs), target)
    return DemoSummary(target, runs)


def _demo_run(plan: RunPlan, first: datetime) -> DemoRun:
    files = dict.fromkeys(_subsystems(plan), plan.n_files)
    return DemoRun(plan.run_number, plan.hlt_mode, first, files, plan.hot_channels)


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else zone(tz)


def _aware(start: datetime, tz: ZoneInfo) -> datetime:
    """A naive start is read as local time of ``tz``."""
    return start if start.tzinfo is not None else start.replace(tzinfo=tz)


# ------------------------------------------------------------------------------------------- public


def generate_demo_data(
    out_dir: str | os.PathLike[str],
    *,
    seed: int = DEFAULT_SEED,
    n_runs: int = 10,
    tz: str | ZoneInfo = DEFAULT_ZONE,
    start: datetime = DEFAULT_START,
    files_per_run: int | None = None,
    workers: int | None = None,
) -> DemoSummary:
    """Write the demo runs of RUN_PLAN (plus the mode-E run) into ``out_dir`` as receivers would.

    ``files_per_run`` overrides every run's length (tests, quick looks); ``workers`` is the number of
    processes (default: one per CPU; 1 writes in this process).
    """
    zone_info = _zone(tz)
    plans = plan_runs(n_runs)
    if files_per_run is not None:
        plans = tuple(_with_files(plan, files_per_run) for plan in plans)
    return _write(list(_schedule(plans, _aware(start, zone_info))), out_dir, seed, zone_info, workers)


def generate_source_run(
    out_dir: str | os.PathLike[str],
    run_number: int,
    *,
    n_files: int = 30,
    seed: int = DEFAULT_SEED,
    tz: str | ZoneInfo = DEFAULT_ZONE,
    start: datetime | None = None,
    hlt_mode: str = "C",
    own_tpc: bool = True,
    hot_channels: bool = True,
    workers: int | None = None,
) -> DemoSummary:
    """Write one run to be replayed as if live; its files are named from ``start`` on (default: now).

    Replaying it right away with ``replay_run`` then gives the dashboard files whose names match the
    time they arrive, so the run shows as ongoing.
    """
    zone_info = _zone(tz)
    first = _aware(start, zone_info) if start is not None else datetime.now(zone_info).replace(microsecond=0)
    plan = RunPlan(run_number, n_files, hlt_mode.upper(), own_tpc, hot_channels, pause_minutes=0)
    return _write([(plan, first)], out_dir, seed, zone_info, workers)


def _with_files(plan: RunPlan, n_files: int) -> RunPlan:
    if n_files < 1:
        raise ValueError(f"files_per_run must be at least 1, got {n_files}")
    return dataclasses.replace(plan, n_files=n_files)


# ------------------------------------------------------------------------------------------- replay

_BATCH_SECONDS = 30  # files of all subsystems less than this apart belong to the same minute


@dataclass(frozen=True)
class _Received:
    """A received file in a replay source folder."""

    timestamp: datetime
    path: Path
    run_number: int


def _received_files(source_dir: Path) -> list[_Received]:
    """Received-style files in ``source_dir`` (dot-files and other names are skipped), oldest first."""
    if not source_dir.is_dir():
        raise NotFoundError("replay source folder", str(source_dir))
    found = []
    for path in source_dir.iterdir():
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            # Wall-clock order is all that matters here, so any fixed zone will do.
            name = parse_received_name(path.name, ZoneInfo("UTC"))
        except FileNameError:
            continue
        found.append(_Received(name.timestamp, path, name.run_number))
    return sorted(found, key=lambda r: (r.timestamp, r.path.name))


def _batches(files: Sequence[_Received]) -> list[list[_Received]]:
    """Group files written in the same minute (all subsystems) into one batch."""
    batches: list[list[_Received]] = []
    for item in files:
        if batches and (item.timestamp - batches[-1][0].timestamp).total_seconds() < _BATCH_SECONDS:
            batches[-1].append(item)
        else:
            batches.append([item])
    return batches


def _copy_atomically(source: Path, drop_dir: Path) -> Path:
    """Copy into a dot-file first, then rename, so ingest never sees half a file."""
    target = drop_dir / source.name
    partial = drop_dir / f".{source.name}.replay"
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def replay_run(
    source_dir: str | os.PathLike[str],
    drop_dir: str | os.PathLike[str],
    run_number: int,
    *,
    cadence_seconds: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    on_file: Callable[[Path], None] | None = None,
) -> int:
    """Copy one run's received files into the drop folder a minute's batch at a time; returns how many.

    Batches follow the files' time order and are ``cadence_seconds`` apart, as a live receiver's would be.
    """
    available = _received_files(Path(source_dir))
    files = [item for item in available if item.run_number == run_number]
    if not files:
        raise NotFoundError("run", run_number, sorted({item.run_number for item in available}))
    Path(drop_dir).mkdir(parents=True, exist_ok=True)
    for index, batch in enumerate(_batches(files)):
        if index:
            sleep(cadence_seconds)
        for item in batch:
            landed = _copy_atomically(item.path, Path(drop_dir))
            if on_file is not None:
                on_file(landed)
    logger.info("replayed %s files of run %s into %s", len(files), run_number, drop_dir)
    return len(files)
