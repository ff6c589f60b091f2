"""Write a corpus of hostile ROOT files with real ROOT, plus the statistics ROOT itself reports for them.

Usage: ``python tests/rootcorpus/write_corpus.py OUT_DIR`` (needs the PyPI package ``root``; the product
never imports ROOT, only this test-only generator does). See README.md beside this file for what each
file holds and for the layout of ``OUT_DIR/expected.json``.

Everything is deterministic (TRandom3 with fixed seeds, explicit fills); the bytes are not (ROOT stamps
keys with the time of writing and the file with a UUID), the contents and all numbers in expected.json
are.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import subprocess
import sys
import time
import warnings
from array import array
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", category=UserWarning, module="ROOT")  # "alpha stage" notice of the wheel

FORMAT_VERSION = 1

RUN_GOOD = 400001  # A (HLT) and B (EMC): three cumulative files each
RUN_BAD = 400002  # D: EMC, the middle file has NaN, +Inf and negative bins
RUN_ZERO = 400003  # D: EMC, one file whose event counter is 0
MODE = "C"
RUN_STARTS = {
    RUN_GOOD: datetime(2018, 10, 20, 12, 0, 0),
    RUN_BAD: datetime(2018, 10, 20, 13, 0, 0),
    RUN_ZERO: datetime(2018, 10, 20, 14, 0, 0),
}
EVENTS = (100, 250, 400)  # cumulative events in the files of minutes 0, 1, 2
RECEIVER_COMPRESSION = 101  # ZLIB level 1: what ROOT 5/6 receivers wrote (and ROOT's default)
MAX_INGEST_BYTES = 3 * 1024 * 1024
CONTENTS_MAX_CELLS = 6000  # bin contents are listed for histograms with at most this many cells

N_FASTOR = 4992  # 48 x 104 FastOR grid, id = 48 * row + col
HOT_FASTOR = 2222
PT_EDGES = [
    0.1, 0.13, 0.17, 0.22, 0.29, 0.38, 0.5, 0.65, 0.85, 1.1,
    1.4, 1.8, 2.4, 3.1, 4.0, 5.2, 6.8, 9.0, 12.0, 16.0, 20.0,
]  # 20 variable pT bins  # fmt: skip

STAT_NAMES_1D = ["sumw", "sumw2", "sumwx", "sumwx2"]
STAT_NAMES_2D = [*STAT_NAMES_1D, "sumwy", "sumwy2", "sumwxy"]
STAT_NAMES_3D = [*STAT_NAMES_2D, "sumwz", "sumwz2", "sumwxz", "sumwyz"]
STAT_NAMES_PROFILE = [*STAT_NAMES_1D, "sumwy", "sumwy2"]
STAT_NAMES_PROFILE2D = [*STAT_NAMES_2D, "sumwz", "sumwz2"]

SCRIPT = Path(__file__).resolve()
R: Any = None  # the ROOT module, imported by _root()
_uid = [0]


def _root() -> Any:
    global R
    if R is None:
        import ROOT

        ROOT.gROOT.SetBatch(True)
        ROOT.gErrorIgnoreLevel = ROOT.kError  # no Info/Warning chatter (recovery notices included)
        ROOT.TH1.AddDirectory(False)  # histograms belong to Python, not to the current file
        ROOT.TH1.SetDefaultSumw2(False)  # ROOT's default, stated: Sumw2() only where called explicitly
        R = ROOT
    return R


def _unique(prefix: str) -> str:
    _uid[0] += 1
    return f"{prefix}__{_uid[0]}"


def receiver_name(subsystem: str, run: int, minute: int) -> str:
    stamp = (RUN_STARTS[run] + timedelta(minutes=minute)).strftime("%Y_%m_%d_%H_%M_%S")
    return f"{subsystem}histos_{run}_{MODE}_{stamp}.root"


# ------------------------------------------------------------------------------------------- models


class EMCModel:
    """The EMC trigger QA histograms of one run, filled event by event and written as cumulative files."""

    def __init__(self, seed: int) -> None:
        r = _root()
        self.rnd = r.TRandom3(seed)
        self.events = r.TH1F("EMCTRQA_histEvents", "Number of events;;events", 1, 0, 1)
        self.l0 = r.TH1F(
            "EMCTRQA_histFastORL0", "L0 entries per FastOR;FastOR abs. ID;entries", N_FASTOR, 0, N_FASTOR
        )
        self.l0amp = r.TH1F(
            "EMCTRQA_histFastORL0Amp",
            "L0 amplitudes per FastOR;FastOR abs. ID;amplitude (ADC)",
            N_FASTOR,
            0,
            N_FASTOR,
        )
        self.l0amp.Sumw2()
        self.edge = r.TH2F(
            "EMCTRQA_histEMCalEdgePosAmpEMCGAHOnline",
            "Edge position of EMCal gamma high patches, amplitude weighted (online);col;row",
            48, 0, 48, 104, 0, 104,
        )  # fmt: skip
        self.time = r.TH2F(
            "EMCTRQA_histFastORL0Time",
            "L0 trigger time per FastOR;FastOR abs. ID;time (BC)",
            N_FASTOR, 0, N_FASTOR, 20, 0, 20,
        )  # fmt: skip

    def fill(self, n_events: int, count_events: bool = True) -> None:
        rnd = self.rnd
        for _ in range(n_events):
            if count_events:
                self.events.Fill(0.5)
            ids = [int(rnd.Integer(N_FASTOR)) for _ in range(int(rnd.Poisson(20)))]
            if rnd.Rndm() < 0.5:
                ids.append(HOT_FASTOR)
            for fastor in ids:
                amp = 1 + int(rnd.Exp(30.0))  # integer ADC counts
                self.l0.Fill(fastor)  # integer id: the bin centre is fastor + 0.5
                self.l0amp.Fill(fastor, amp)
                self.time.Fill(fastor, min(19, max(0, 8 + round(rnd.Gaus(0.0, 1.5)))))
            for _ in range(1 + int(rnd.Integer(2))):
                col, row = int(rnd.Integer(48)), int(rnd.Integer(104))
                self.edge.Fill(col, row, 1 + int(rnd.Exp(200.0)))

    def items(self) -> list[tuple[str, Any, str]]:
        return [(h.GetName(), h, "write") for h in (self.events, self.l0, self.l0amp, self.edge, self.time)]


class HLTModel:
    """HLT histograms plus the TPC QA ones the HLT receiver stored as top-level keys named ``TPCQA/...``."""

    def __init__(self, seed: int) -> None:
        r = _root()
        self.rnd = r.TRandom3(seed)
        self.events = r.TH1D("fHistEvents", "Number of events;;events", 1, 0, 1)
        self.charge = r.TH2F(
            "fHistClusterChargeMax", "Maximum cluster charge per sector;TPC sector;Q_{max} (ADC)",
            36, 0, 36, 100, 0, 500,
        )  # fmt: skip
        self.sizes = r.TH2F(
            "fHistHLTInSize_HLTOutSize", "HLT output size vs input size;input size (kB);output size (kB)",
            50, 0, 5000, 50, 0, 1000,
        )  # fmt: skip
        self.vertex = [
            r.TH1D("h_tpc_event_recvertex_0", "vertex x position;v_{x} (cm);events", 100, -0.5, 0.5),
            r.TH1D("h_tpc_event_recvertex_1", "vertex y position;v_{y} (cm);events", 100, -0.5, 0.5),
            r.TH1D("h_tpc_event_recvertex_2", "vertex z position;v_{z} (cm);events", 100, -30.0, 30.0),
            r.TH1D("h_tpc_event_recvertex_3", "vertex contributors;contributors;events", 100, 0.0, 200.0),
            r.TH1D(
                "h_tpc_event_recvertex_4", "positive track multiplicity;positive tracks;events", 50, 0, 50
            ),
        ]
        eta, pt = (30, -1.5, 1.5), PT_EDGES

        def th3(name: str, title: str, x: tuple[int, float, float], z_phi: bool = False) -> Any:
            z = (36, 0.0, 2 * math.pi) if z_phi else (len(pt) - 1, pt[0], pt[-1])
            h = r.TH3D(name, title, *x, *eta, *z)
            if not z_phi:
                h.GetZaxis().Set(len(pt) - 1, array("d", pt))  # variable pT bins, x and y stay uniform
            return h

        pt_title = "p_{T} (GeV/#it{c})"
        self.tracks = {
            "0_5_7": th3("h_tpc_track_all_recvertex_0_5_7",
                         f"Number of clusters;Number of TPC clusters;#eta;{pt_title}", (160, 0, 160)),
            "2_5_7": th3("h_tpc_track_all_recvertex_2_5_7",
                         f"Number of found/findable clusters;Found/findable TPC clusters;#eta;{pt_title}",
                         (50, 0, 1)),
            "3_5_7": th3("h_tpc_track_all_recvertex_3_5_7",
                         f"DCA vs r inclusive;DCA_{{r}} (cm);#eta;{pt_title}", (100, -10, 10)),
            "4_5_7": th3("h_tpc_track_all_recvertex_4_5_7",
                         f"DCA vs z inclusive;DCA_{{z}} (cm);#eta;{pt_title}", (100, -10, 10)),
            "pos_2_5_6": th3("h_tpc_track_pos_recvertex_2_5_6",
                             "Found/findable clusters for positive tracks;Found/findable TPC clusters;"
                             "#eta;#phi (rad)", (50, 0, 1), z_phi=True),
            "neg_2_5_6": th3("h_tpc_track_neg_recvertex_2_5_6",
                             "Found/findable clusters for negative tracks;Found/findable TPC clusters;"
                             "#eta;#phi (rad)", (50, 0, 1), z_phi=True),
        }  # fmt: skip

    def fill(self, n_events: int) -> None:
        rnd, t = self.rnd, self.tracks
        for _ in range(n_events):
            self.events.Fill(0.5)
            n_tracks = int(rnd.Poisson(15))
            self.vertex[0].Fill(rnd.Gaus(0.0, 0.05))
            self.vertex[1].Fill(rnd.Gaus(0.02, 0.05))
            self.vertex[2].Fill(rnd.Gaus(0.0, 7.0))
            self.vertex[3].Fill(n_tracks + int(rnd.Poisson(5)))
            n_pos = 0
            for _ in range(n_tracks):
                clusters = 60 + int(rnd.Integer(100))  # integer cluster counts
                eta = rnd.Uniform(-0.9, 0.9)
                pt = min(19.9, 0.15 + rnd.Exp(0.6))
                phi = rnd.Uniform(0.0, 2 * math.pi)
                ratio = min(0.999, max(0.3, rnd.Gaus(0.85, 0.08)))
                positive = rnd.Rndm() < 0.5
                n_pos += positive
                t["0_5_7"].Fill(clusters, eta, pt)
                t["2_5_7"].Fill(ratio, eta, pt)
                t["3_5_7"].Fill(rnd.Gaus(0.0, 0.3 + 0.5 / pt), eta, pt)
                t["4_5_7"].Fill(rnd.Gaus(0.0, 0.5 + 0.8 / pt), eta, pt)
                t["pos_2_5_6" if positive else "neg_2_5_6"].Fill(ratio, eta, phi)
                self.charge.Fill(int(rnd.Integer(36)), rnd.Landau(60.0, 15.0))
            self.vertex[4].Fill(n_pos)
            self.sizes.Fill(rnd.Gaus(2000.0, 400.0), rnd.Gaus(300.0, 60.0))

    def items(self) -> list[tuple[str, Any, str]]:
        items: list[tuple[str, Any, str]] = [
            (h.GetName(), h, "write") for h in (self.events, self.charge, self.sizes)
        ]
        # Both ways a receiver produced "/" in a key name without any TDirectory.
        items += [(f"TPCQA/{h.GetName()}", h, "write") for h in self.vertex]  # h->Write("TPCQA/...")
        items += [(f"TPCQA/{h.GetName()}", h, "writetobject") for h in self.tracks.values()]
        return items


# ------------------------------------------------------------------------------------------ writing


def write_items(
    path: Path, items: list[tuple[str, Any, str]], compression: int = RECEIVER_COMPRESSION
) -> None:
    r = _root()
    path.parent.mkdir(parents=True, exist_ok=True)
    f = r.TFile(str(path), "RECREATE", "", compression)
    if not f or f.IsZombie():
        raise RuntimeError(f"ROOT could not create {path}")
    f.cd()
    for key, obj, how in items:
        if how == "write":
            obj.Write(key)  # TObject::Write(name): the key takes this name, the object keeps its own
        else:
            f.WriteTObject(obj, key)
    f.Close()


def key_names(path: Path) -> list[tuple[str, int, str]]:
    f = _root().TFile.Open(str(path), "READ")
    try:
        return [(k.GetName(), k.GetCycle(), k.GetClassName()) for k in f.GetListOfKeys()]
    finally:
        f.Close()


def check_slash_keys(path: Path) -> None:
    """ROOT's own key list must hold ``TPCQA/...`` names and no ``TPCQA`` directory."""
    keys = key_names(path)
    slashed = [n for n, _c, _k in keys if n.startswith("TPCQA/")]
    dirs = [n for n, _c, k in keys if k.startswith("TDirectory")]
    if len(slashed) != 11 or dirs:
        raise RuntimeError(f"{path.name}: expected 11 top-level TPCQA/ keys and no directory, got {keys}")


def write_runs(out: Path, facts: dict[str, Any]) -> None:
    # A + B: run 400001, HLT (with TPCQA/ keys) and EMC, minutes 0, 1, 2.
    hlt, emc = HLTModel(4000011), EMCModel(4000012)
    done = 0
    for minute, total in enumerate(EVENTS):
        hlt.fill(total - done)
        emc.fill(total - done)
        done = total
        hlt_path = out / receiver_name("HLT", RUN_GOOD, minute)
        write_items(hlt_path, hlt.items())
        check_slash_keys(hlt_path)
        write_items(out / receiver_name("EMC", RUN_GOOD, minute), emc.items())

    # D: run 400002, EMC; minute 1 is written from damaged clones, the fills go on undamaged.
    bad = EMCModel(4000022)
    done = 0
    damage: dict[str, Any] = {}
    for minute, total in enumerate(EVENTS):
        bad.fill(total - done)
        done = total
        items = bad.items()
        if minute == 1:
            items, damage = _damaged(items)
            damage["file"] = receiver_name("EMC", RUN_BAD, minute)
        write_items(out / receiver_name("EMC", RUN_BAD, minute), items)
    facts["non_finite"] = damage

    # D: run 400003, one EMC file with an event counter of 0 and otherwise normal histograms.
    zero = EMCModel(4000032)
    zero.fill(EVENTS[0], count_events=False)
    write_items(out / receiver_name("EMC", RUN_ZERO, 0), zero.items())
    facts["zero_events"] = {
        "file": receiver_name("EMC", RUN_ZERO, 0),
        "counter": "EMCTRQA_histEvents",
        "note": f"EMCTRQA_histEvents never filled (bin 1 = 0, 0 entries); the other histograms hold "
        f"{EVENTS[0]} events' fills",
    }


def _damaged(items: list[tuple[str, Any, str]]) -> tuple[list[tuple[str, Any, str]], dict[str, Any]]:
    nan_bins, inf_bins, neg_bins = [10, 11, 517, 4000], [2223], [(5, 7), (6, 7), (40, 100)]
    out = []
    for key, h, how in items:
        c = h.Clone(h.GetName())
        if key == "EMCTRQA_histFastORL0":
            for b in nan_bins:
                c.SetBinContent(b, float("nan"))
        elif key == "EMCTRQA_histFastORL0Amp":
            for b in inf_bins:
                c.SetBinContent(b, float("inf"))
        elif key == "EMCTRQA_histEMCalEdgePosAmpEMCGAHOnline":
            for bx, by in neg_bins:
                c.SetBinContent(bx, by, -5.0)
        out.append((key, c, how))
    return out, {
        "nan": {"EMCTRQA_histFastORL0": nan_bins},
        "inf": {"EMCTRQA_histFastORL0Amp": inf_bins},
        "negative": {"EMCTRQA_histEMCalEdgePosAmpEMCGAHOnline": [list(b) for b in neg_bins]},
        "how": "SetBinContent on clones of the minute-1 histograms (ROOT then counts one entry more per "
        "call and recomputes the statistics from the bins); minutes 0 and 2 are undamaged",
        "negative_value": -5.0,
    }


def write_dir_and_slash(out: Path, facts: dict[str, Any]) -> None:
    r = _root()
    rnd = r.TRandom3(3)
    x = r.TH1D(
        "h_tpc_event_recvertex_0", "vertex x position (directory TPCQA);v_{x} (cm);events", 100, -0.5, 0.5
    )
    for _ in range(100):
        x.Fill(rnd.Gaus(0.0, 0.05))
    y = r.TH1D(
        "h_tpc_event_recvertex_0", "vertex x position (key TPCQA/...);v_{x} (cm);events", 100, -0.5, 0.5
    )
    for _ in range(37):
        y.Fill(rnd.Gaus(0.2, 0.1))
    nested = r.TH1D("name", "nested TPCQA/sub/name;x;entries", 10, 0, 10)
    for i in range(10):
        for _ in range(i):
            nested.Fill(i + 0.5)
    path = out / "objects" / "dir_and_slash.root"
    path.parent.mkdir(parents=True, exist_ok=True)
    f = r.TFile(str(path), "RECREATE")
    top = f.mkdir("TPCQA")
    top.cd()
    x.Write()
    sub = top.mkdir("sub")
    sub.cd()
    nested.Write()
    f.cd()
    f.WriteTObject(y, "TPCQA/h_tpc_event_recvertex_0")
    f.Close()
    keys = key_names(path)
    if ("TPCQA", 1, "TDirectoryFile") not in keys or ("TPCQA/h_tpc_event_recvertex_0", 1, "TH1D") not in keys:
        raise RuntimeError(f"dir_and_slash.root: unexpected keys {keys}")
    facts["dir_and_slash"] = {"file": "objects/dir_and_slash.root"}  # filled in from ROOT's reading


def write_classes(out: Path) -> None:
    r = _root()
    hists: list[Any] = []
    for dim in (1, 2, 3):
        for t in "CSIFDL":
            cls = f"TH{dim}{t}"
            if not hasattr(r, cls):
                continue
            name = f"h_{cls}"
            if dim == 1:
                h = getattr(r, cls)(name, f"{cls};x;entries", 10, 0, 10)
                for i in range(10):
                    for _ in range(i + 1):
                        h.Fill(i + 0.5)
            elif dim == 2:
                h = getattr(r, cls)(name, f"{cls};x;y", 5, 0, 5, 4, 0, 4)
                for i in range(5):
                    for j in range(4):
                        for _ in range(i + j + 1):
                            h.Fill(i + 0.5, j + 0.5)
            else:
                h = getattr(r, cls)(name, f"{cls};x;y;z", 4, 0, 4, 3, 0, 3, 2, 0, 2)
                for i in range(4):
                    for j in range(3):
                        for k in range(2):
                            for _ in range(i + j + k + 1):
                                h.Fill(i + 0.5, j + 0.5, k + 0.5)
            hists.append(h)
    # Saturating integer bins: the stored bin is clipped, the statistics keep the real weight.
    c = r.TH1C("h_TH1C_saturated", "TH1C filled with weight 300 (bin clipped at 127);x;entries", 10, 0, 10)
    c.Fill(1.5, 300)
    s = r.TH1S(
        "h_TH1S_saturated", "TH1S filled with weight 40000 (bin clipped at 32767);x;entries", 10, 0, 10
    )
    s.Fill(1.5, 40000)
    hists += [c, s]

    prof = r.TProfile("h_TProfile", "TProfile;x;<y>", 10, 0, 10)
    for i in range(10):
        for j in range(3):
            prof.Fill(i + 0.5, 2.0 * i + j, 1.0 + j)
    prof2 = r.TProfile2D("h_TProfile2D", "TProfile2D;x;y;<z>", 5, 0, 5, 4, 0, 4)
    for i in range(5):
        for j in range(4):
            for k in range(2):
                prof2.Fill(i + 0.5, j + 0.5, i * j + k)
    var = r.TH1D("h_variable", "variable bins;x;entries", 7, array("d", [0, 1, 2, 5, 10, 20, 50, 100]))
    for v in (0.5, 1.5, 1.7, 3.0, 4.9, 7.0, 15.0, 15.0, 30.0, 75.0, 99.0, 150.0, -1.0):
        var.Fill(v)
    lab = r.TH1D("h_labels_1d", "labelled bins;label;entries", 3, 0, 3)
    for i, label in enumerate(("alpha", "beta", "gamma"), 1):
        lab.GetXaxis().SetBinLabel(i, label)
    for v, n in ((0.5, 5), (1.5, 3)):
        for _ in range(n):
            lab.Fill(v)
    lab.Fill("gamma", 2.0)  # by label: counted in the bin, not in the x sums
    lab2 = r.TH2D("h_labels_2d", "labelled bins on both axes;x label;y label", 3, 0, 3, 2, 0, 2)
    for i, label in enumerate(("alpha", "beta", "gamma"), 1):
        lab2.GetXaxis().SetBinLabel(i, label)
    for j, label in enumerate(("one", "two"), 1):
        lab2.GetYaxis().SetBinLabel(j, label)
    for i in range(3):
        for j in range(2):
            for _ in range(1 + i + 2 * j):
                lab2.Fill(i + 0.5, j + 0.5)
    latex = r.TH1F("h_latex_title", "p_{T} spectrum #gamma;p_{T} (GeV/#it{c});dN/dp_{T}", 20, 0, 10)
    rnd = r.TRandom3(5)
    for _ in range(200):
        latex.Fill(rnd.Exp(2.0))
    empty = r.TH1F("h_empty", "never filled;x;entries", 10, 0, 10)
    hists += [prof, prof2, var, lab, lab2, latex, empty]

    path = out / "objects" / "classes.root"
    path.parent.mkdir(parents=True, exist_ok=True)
    f = r.TFile(str(path), "RECREATE")
    f.cd()
    for h in hists:
        h.Write()
    tree = r.TTree("tree", "a small tree")
    x, n = array("d", [0.0]), array("i", [0])
    tree.Branch("x", x, "x/D")
    tree.Branch("n", n, "n/I")
    for i in range(5):
        x[0], n[0] = 1.5 * i, i * i
        tree.Fill()
    tree.Write()
    graph = r.TGraph(5, array("d", [0, 1, 2, 3, 4]), array("d", [0, 1, 4, 9, 16]))
    graph.SetName("graph")
    graph.SetTitle("a TGraph;x;x^{2}")
    graph.Write()
    member = r.TH1D("list_member", "a histogram inside a TList;x;entries", 5, 0, 5)
    for i in range(5):
        member.Fill(i + 0.5, i + 1.0)
    lst = r.TList()
    lst.SetName("list")
    lst.Add(member)
    lst.Write("list", r.TObject.kSingleKey)
    f.WriteTObject(r.TObjString("a TObjString beside the histograms"), "objstring")
    named = r.TNamed("named", "a TNamed beside the histograms")
    named.Write()
    f.Close()
    del tree


def write_cycles(out: Path, facts: dict[str, Any]) -> None:
    r = _root()
    path = out / "objects" / "cycles.root"
    path.parent.mkdir(parents=True, exist_ok=True)
    f = r.TFile(str(path), "RECREATE")
    f.cd()
    h = r.TH1F("h_cycles", "written three times;x;entries", 10, 0, 10)
    o = r.TH1F("h_overwrite", "written three times with kOverwrite;x;entries", 10, 0, 10)
    for value, n in ((1.5, 10), (5.5, 20), (8.5, 30)):
        for _ in range(n):
            h.Fill(value)
            o.Fill(value)
        h.Write()  # a new cycle each time
        o.Write("", r.TObject.kOverwrite)
    single = r.TH1F("h_single", "written once;x;entries", 10, 0, 10)
    single.Fill(2.5)
    single.Write()
    f.Close()
    keys = key_names(path)
    cycles = sorted(c for n, c, _k in keys if n == "h_cycles")
    if cycles != [1, 2, 3]:
        raise RuntimeError(f"cycles.root: expected cycles 1, 2, 3 of h_cycles, got {keys}")
    facts["cycles"] = {
        "file": "objects/cycles.root",
        "h_cycles": {"cycles": cycles, "entries_per_write": [10, 30, 60], "highest": max(cycles)},
        "h_overwrite": {"cycles": sorted(c for n, c, _k in keys if n == "h_overwrite")},
        "note": "h_cycles: plain Write() after refilling, three cycles, each with more entries; "
        'h_overwrite: Write("", kOverwrite) three times, ROOT keeps one key (the last content)',
    }


NAMES = [
    "hist with spaces",
    "hist#1",
    "a?b&c",
    "../../etc/passwd",
    "..",
    "x/../y",
    "a;b",
    "hist_µm_ü",
    "long_" + "abcdefghij" * 13,  # 135 characters
    "verylong_" + "0123456789" * 30,  # 309 characters: ROOT's long-string form (255 + 4-byte length)
]


def write_names(out: Path, facts: dict[str, Any]) -> None:
    r = _root()
    path = out / "objects" / "names.root"
    path.parent.mkdir(parents=True, exist_ok=True)
    f = r.TFile(str(path), "RECREATE")
    f.cd()
    for i, name in enumerate(NAMES):
        h = r.TH1F(name, f"key {i};x;entries", 10, 0, 10)
        for _ in range(i + 1):
            h.Fill(i + 0.5)
        f.WriteTObject(h, name)
    f.Close()
    found = [n for n, _c, _k in key_names(path)]
    if sorted(found) != sorted(NAMES):
        raise RuntimeError(f"names.root: ROOT lists {found}, wrote {NAMES}")
    facts["names"] = {
        "file": "objects/names.root",
        "names": NAMES,
        "note": "key i (in this list) is a TH1F named like its key with i + 1 entries at x = i + 0.5",
    }


CODECS = {
    "zlib": ("kZLIB", 1),
    "lz4": ("kLZ4", 4),
    "zstd": ("kZSTD", 5),
    "lzma": ("kLZMA", 7),
    "none": (None, 0),
}


def write_codecs(out: Path, facts: dict[str, Any]) -> None:
    r = _root()
    facts["codecs"] = {}
    for codec, (alg_name, level) in CODECS.items():
        settings = (
            0 if alg_name is None else int(getattr(r.RCompressionSetting.EAlgorithm, alg_name)) * 100 + level
        )
        rnd = r.TRandom3(7)
        h1f = r.TH1F("h1f", f"TH1F ({codec});x;entries", 200, -5, 5)
        h2f = r.TH2F("h2f", f"TH2F ({codec});x;y", 40, -4, 4, 40, -4, 4)
        h1d = r.TH1D("h1d", f"TH1D ({codec});x;entries", 100, 0, 20)
        for _ in range(2000):
            h1f.Fill(rnd.Gaus(0.0, 1.0))
            h2f.Fill(rnd.Gaus(0.0, 1.0), rnd.Gaus(0.0, 1.5))
            h1d.Fill(rnd.Exp(4.0))
        rel = f"objects/codec_{codec}.root"
        write_items(out / rel, [(h.GetName(), h, "write") for h in (h1f, h2f, h1d)], compression=settings)
        f = r.TFile.Open(str(out / rel), "READ")
        got = {
            "requested_settings": settings,
            "settings": int(f.GetCompressionSettings()),
            "algorithm": int(f.GetCompressionAlgorithm()),
            "level": int(f.GetCompressionLevel()),
        }
        compressed = [k.GetNbytes() - k.GetKeylen() < k.GetObjlen() for k in f.GetListOfKeys()]
        f.Close()
        if got["settings"] != settings or any(compressed) != (level > 0):
            raise RuntimeError(f"{rel}: asked for {settings}, ROOT reads {got}, compressed keys {compressed}")
        facts["codecs"][codec] = {"file": rel, **got}


# --------------------------------------------------------------------------------- unclosed writers


def _unclosed_child(path: str, variant: str) -> None:
    """Runs in a child process: writes, flushes and dies without Close(); prints what it held in memory."""
    r = _root()
    f = r.TFile(path, "RECREATE", "", RECEIVER_COMPRESSION)
    f.cd()
    rnd = r.TRandom3(11)
    ha = r.TH1F("hA", "first histogram;x;entries", 100, 0, 100)
    hb = r.TH2F("hB", "second histogram;x;y", 10, 0, 10, 10, 0, 10)
    hc = r.TH1D("hC", "third histogram;x;entries", 50, -5, 5)
    hists = (ha, hb, hc)

    def fill(n: int) -> None:
        for _ in range(n):
            ha.Fill(rnd.Uniform(0, 100))
            hb.Fill(rnd.Gaus(5, 2), rnd.Gaus(5, 2))
            hc.Fill(rnd.Gaus(0, 1))

    snapshots = []
    fill(50)
    for h in hists:
        h.Write()
    snapshots.append({h.GetName(): _brief(h) for h in hists})
    if variant == "after_write":
        f.Write()  # keys list, StreamerInfo, free segments and header: the file is complete here
        fill(70)
        for h in hists:
            h.Write()  # cycle 2 of each, after the keys list ROOT will read
        snapshots.append({h.GetName(): _brief(h) for h in hists})
    f.Flush()
    sys.stdout.write(json.dumps(_jsonable(snapshots)))
    sys.stdout.flush()
    os._exit(0)  # the writer dies: no Close(), no destructor


def _brief(h: Any) -> dict[str, Any]:
    return {"entries": h.GetEntries(), "mean": h.GetMean(1), "std_dev": h.GetStdDev(1)}


def write_unclosed(out: Path, facts: dict[str, Any]) -> None:
    (out / "objects").mkdir(parents=True, exist_ok=True)
    for variant, rel in (
        ("plain", "objects/unclosed.root"),
        ("after_write", "objects/unclosed_after_write.root"),
    ):
        done = subprocess.run(
            [sys.executable, str(SCRIPT), "--unclosed-child", str(out / rel), variant],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"unclosed writer for {rel} failed ({done.returncode}):\n{done.stderr}")
        facts["unclosed" if variant == "plain" else "unclosed_after_write"] = {
            "file": rel,
            "writer_snapshots": json.loads(done.stdout),
        }


def read_header(path: Path) -> dict[str, Any]:
    """The file header and the top directory record as they are on disk."""
    data = path.read_bytes()
    if data[:4] != b"root":
        return {"magic": data[:4].hex()}
    version, begin = struct.unpack(">ii", data[4:12])
    if version >= 1000000:
        end, seek_free, nbytes_free, nfree, nbytes_name, units, compress, seek_info, nbytes_info = (
            struct.unpack_from(">qqiiiBiqi", data, 12)
        )
    else:
        end, seek_free, nbytes_free, nfree, nbytes_name, units, compress, seek_info, nbytes_info = (
            struct.unpack_from(">iiiiiBiii", data, 12)
        )
    d = begin + nbytes_name
    dversion, _ctime, _mtime, nbytes_keys, dnbytes_name = struct.unpack_from(">hIIii", data, d)
    fmt = ">qqq" if dversion > 1000 else ">iii"
    seek_dir, seek_parent, seek_keys = struct.unpack_from(fmt, data, d + 18)
    return {
        "version": version,
        "fBEGIN": begin,
        "fEND": end,
        "fSeekFree": seek_free,
        "fNbytesFree": nbytes_free,
        "nfree": nfree,
        "fNbytesName": nbytes_name,
        "fUnits": units,
        "fCompress": compress,
        "fSeekInfo": seek_info,
        "fNbytesInfo": nbytes_info,
        "size_bytes": len(data),
        "top_directory": {
            "version": dversion,
            "fNbytesKeys": nbytes_keys,
            "fNbytesName": dnbytes_name,
            "fSeekDir": seek_dir,
            "fSeekParent": seek_parent,
            "fSeekKeys": seek_keys,
        },
    }


def finish_unclosed(out: Path, facts: dict[str, Any], files: dict[str, Any]) -> None:
    r = _root()
    for case in ("unclosed", "unclosed_after_write"):
        rel = facts[case]["file"]
        header = read_header(out / rel)
        f = r.TFile.Open(str(out / rel), "READ")
        recovered = bool(f.TestBit(r.TFile.kRecovered))
        keys = [f"{k.GetName()};{k.GetCycle()}" for k in f.GetListOfKeys()]
        has_streamers = bool(f.GetStreamerInfoList() and f.GetStreamerInfoList().GetSize())
        f.Close()
        facts[case].update(
            {
                "header_on_disk": header,
                "root_recovered": recovered,
                "root_keys": keys,
                "root_streamer_info_found": has_streamers,
                "root_histograms": {
                    n: {k: files[rel]["histograms"][n][k] for k in ("entries", "mean", "std_dev")}
                    for n in files[rel]["histograms"]
                },
            }
        )
    u = facts["unclosed"]
    h = u["header_on_disk"]
    u["how"] = (
        "a child process created the file (RECREATE, ZLIB 1), filled three histograms, called h.Write() for "
        "each and f.Flush(), then os._exit(0): no f.Write(), no Close()"
    )
    u["lacks"] = [
        f"the keys list of the top directory: its directory record on disk has fSeekKeys = "
        f"{h['top_directory']['fSeekKeys']} and fNbytesKeys = {h['top_directory']['fNbytesKeys']}",
        f"the StreamerInfo record: header fSeekInfo = {h['fSeekInfo']}, fNbytesInfo = {h['fNbytesInfo']}",
        f"the free-segments record: header fSeekFree = {h['fSeekFree']}",
        f"an up-to-date header: fEND on disk is {h['fEND']} (just after the top directory record) while the "
        f"file is {h['size_bytes']} bytes; the histogram keys lie beyond fEND",
    ]
    a = facts["unclosed_after_write"]
    a["how"] = (
        "a child process wrote cycle 1 of three histograms, called f.Write() (keys list, StreamerInfo, free "
        "segments, header: a complete file), filled more, wrote cycle 2 of each with h.Write(), f.Flush(), "
        "then os._exit(0)"
    )
    a["lacks"] = [
        "nothing ROOT needs: the header and keys list are those of f.Write(), so ROOT opens it without "
        "recovery and sees cycle 1 only (writer_snapshots[0]); the cycle-2 keys (writer_snapshots[1]) lie "
        f"after the keys list and before the end of the file ({a['header_on_disk']['size_bytes']} bytes) and "
        "no reader that follows the keys list finds them",
    ]


# -------------------------------------------------------------------------------------------- reading


def _axis(axis: Any) -> dict[str, Any]:
    n = axis.GetNbins()
    labels = axis.GetLabels()
    variable = bool(axis.IsVariableBinSize())
    return {
        "title": str(axis.GetTitle()),
        "nbins": n,
        "min": axis.GetXmin(),
        "max": axis.GetXmax(),
        "variable": variable,
        "edges": [axis.GetBinLowEdge(i) for i in range(1, n + 2)] if variable else None,
        "labels": [str(axis.GetBinLabel(i)) for i in range(1, n + 1)]
        if labels and labels.GetSize()
        else None,
    }


def _moments(h: Any, n_axes: int) -> dict[str, Any]:
    return {
        "entries": h.GetEntries(),
        "mean": [h.GetMean(a) for a in range(1, n_axes + 1)],
        "std_dev": [h.GetStdDev(a) for a in range(1, n_axes + 1)],
        "mean_error": [h.GetMeanError(a) for a in range(1, n_axes + 1)],
        "std_dev_error": [h.GetStdDevError(a) for a in range(1, n_axes + 1)],
    }


_NUMPY_TYPES = {"C": "i1", "S": "i2", "I": "i4", "L": "i8", "F": "f4", "D": "f8"}


def hist_stats(h: Any) -> dict[str, Any]:
    """What ROOT reports for one histogram (a TH1 or anything derived from it)."""
    cls = h.ClassName()
    profile = h.InheritsFrom("TProfile") or h.InheritsFrom("TProfile2D") or h.InheritsFrom("TProfile3D")
    dim = h.GetDimension()
    n_axes = dim + (1 if profile else 0)
    if profile:
        names = STAT_NAMES_PROFILE if dim == 1 else STAT_NAMES_PROFILE2D
    else:
        names = (STAT_NAMES_1D, STAT_NAMES_2D, STAT_NAMES_3D)[dim - 1]
    stats = array("d", [0.0] * 16)
    h.GetStats(stats)
    ncells = h.GetNcells()
    out: dict[str, Any] = {
        "class": cls,
        "name": str(h.GetName()),
        "title": str(h.GetTitle()),
        "dimension": dim,
        "profile": bool(profile),
        "axes": [_axis(a) for a in (h.GetXaxis(), h.GetYaxis(), h.GetZaxis())[:dim]],
        "ncells": ncells,
        "sumw2": h.GetSumw2N() > 0,
        **_moments(h, n_axes),
        "effective_entries": h.GetEffectiveEntries(),
        "maximum": h.GetMaximum(),
        "minimum": h.GetMinimum(),
        "sum_of_weights": h.GetSumOfWeights(),
        "integral": h.Integral(),
        "stats_names": names,
        "stats": list(stats)[: len(names)],
    }
    clone = h.Clone(_unique(str(h.GetName())))
    clone.ResetStats()
    cstats = array("d", [0.0] * 16)
    clone.GetStats(cstats)
    out["from_bins"] = {**_moments(clone, n_axes), "stats": list(cstats)[: len(names)]}
    if ncells <= CONTENTS_MAX_CELLS:
        contents = [h.GetBinContent(i) for i in range(ncells)]
        out["contents"] = contents
        if out["sumw2"] or profile:
            out["errors"] = [h.GetBinError(i) for i in range(ncells)]
        if profile:
            out["bin_entries"] = [h.GetBinEntries(i) for i in range(ncells)]
        out["cells_sum"] = math.fsum(contents) if all(math.isfinite(c) for c in contents) else sum(contents)
        out["nonzero_cells"] = sum(1 for c in contents if c != 0)
    else:
        import numpy as np

        raw = h.GetArray()
        raw.reshape((ncells,))
        dtype = "f8" if profile else _NUMPY_TYPES[cls[-1]]  # a profile's array holds sums of w * y
        values = np.frombuffer(raw, dtype=np.dtype(dtype), count=ncells)
        out["cells_sum"] = float(values.astype(np.float64).sum())
        out["nonzero_cells"] = int(np.count_nonzero(values))
    return out


def _other(obj: Any) -> dict[str, Any]:
    cls = obj.ClassName()
    info: dict[str, Any] = {"class": cls, "name": str(obj.GetName()), "title": str(obj.GetTitle())}
    if obj.InheritsFrom("TTree"):
        info["entries"] = int(obj.GetEntries())
        info["branches"] = [str(b.GetName()) for b in obj.GetListOfBranches()]
        rows = []
        for i in range(int(obj.GetEntries())):
            obj.GetEntry(i)
            rows.append({b: float(getattr(obj, b)) for b in info["branches"]})
        info["rows"] = rows
    elif obj.InheritsFrom("TGraph"):
        n = obj.GetN()
        info["n"] = n
        info["x"] = [obj.GetPointX(i) for i in range(n)]
        info["y"] = [obj.GetPointY(i) for i in range(n)]
    elif obj.InheritsFrom("TCollection"):
        info["members"] = [{"class": m.ClassName(), "name": str(m.GetName())} for m in obj]
        info["histograms"] = {str(m.GetName()): hist_stats(m) for m in obj if m.InheritsFrom("TH1")}
    elif cls == "TObjString":
        info["string"] = str(obj.GetString())
    return info


def describe_directory(d: Any) -> dict[str, Any]:
    keys = list(d.GetListOfKeys())
    counts: dict[str, int] = {}
    for k in keys:
        counts[k.GetName()] = counts.get(k.GetName(), 0) + 1
    out: dict[str, Any] = {"keys": [], "histograms": {}, "objects": {}, "directories": {}}
    for k in keys:
        name = str(k.GetName())
        label = f"{name};{k.GetCycle()}" if counts[name] > 1 else name
        out["keys"].append(
            {
                "name": name,
                "cycle": k.GetCycle(),
                "class": str(k.GetClassName()),
                "title": str(k.GetTitle()),
                "seek": k.GetSeekKey(),
                "keylen": k.GetKeylen(),
                "nbytes": k.GetNbytes(),
                "objlen": k.GetObjlen(),
                "compressed": k.GetNbytes() - k.GetKeylen() < k.GetObjlen(),
            }
        )
        obj = k.ReadObj()
        if obj.InheritsFrom("TDirectory"):
            out["directories"][label] = describe_directory(obj)
        elif obj.InheritsFrom("TH1"):
            out["histograms"][label] = hist_stats(obj)
        else:
            out["objects"][label] = _other(obj)
    return out


def describe_file(out: Path, rel: str) -> dict[str, Any]:
    r = _root()
    path = out / rel
    f = r.TFile.Open(str(path), "READ")
    if not f or f.IsZombie():
        raise RuntimeError(f"ROOT cannot open {rel}")
    info: dict[str, Any] = {
        "size_bytes": path.stat().st_size,
        "compression": {
            "settings": int(f.GetCompressionSettings()),
            "algorithm": int(f.GetCompressionAlgorithm()),
            "level": int(f.GetCompressionLevel()),
        },
        "header": read_header(path),
        **describe_directory(f),
    }
    f.Close()
    return info


def slice_stats(out: Path, later: str, earlier: str) -> dict[str, Any]:
    """Clone each histogram of ``later``, Add(earlier, -1) and report what ROOT says of the difference."""
    r = _root()
    fl, fe = r.TFile.Open(str(out / later), "READ"), r.TFile.Open(str(out / earlier), "READ")
    result: dict[str, Any] = {"later": later, "earlier": earlier, "histograms": {}}
    for k in fl.GetListOfKeys():
        name = str(k.GetName())
        ke = fe.GetKey(name)
        if not ke:
            continue
        hl, he = k.ReadObj(), ke.ReadObj()
        if not (hl.InheritsFrom("TH1") and he.InheritsFrom("TH1")):
            continue
        diff = hl.Clone(_unique("slice"))
        ok = diff.Add(he, -1.0)
        stats = hist_stats(diff)
        stats["name"] = str(hl.GetName())
        stats["add_ok"] = bool(ok)
        stats["entries_later_minus_earlier"] = hl.GetEntries() - he.GetEntries()
        result["histograms"][name] = stats
    fl.Close()
    fe.Close()
    return result


# ----------------------------------------------------------------------------------------------- JSON


def _jsonable(value: Any) -> Any:
    """Non-finite floats become the strings "nan", "inf", "-inf" (JSON has no literal for them)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _compact_lists(text: str) -> str:
    """Put lists without nested lists or objects on one line (raw newlines only occur between tokens)."""

    def one_line(match: re.Match[str]) -> str:
        inner = re.sub(r",\n\s*", ", ", match.group(0))
        return re.sub(r"\n\s*", "", inner)

    return re.sub(r"\[[^\[\]{}]*\]", one_line, text)


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[1] == "--unclosed-child":
        _unclosed_child(argv[2], argv[3])
        return 0
    if len(argv) != 2:
        sys.stderr.write(f"usage: {argv[0]} OUT_DIR\n")
        return 2
    started = time.monotonic()
    Path(argv[1]).mkdir(parents=True, exist_ok=True)
    # ROOT stores the name a file was opened with in the file; relative names keep the bytes (sizes,
    # offsets) independent of OUT_DIR.
    os.chdir(argv[1])
    out = Path()
    r = _root()
    facts: dict[str, Any] = {}
    write_runs(out, facts)
    write_dir_and_slash(out, facts)
    write_classes(out)
    write_cycles(out, facts)
    write_names(out, facts)
    write_codecs(out, facts)
    write_unclosed(out, facts)

    files: dict[str, Any] = {}
    ingest = []
    for run, subsystems, minutes in (
        (RUN_GOOD, ("HLT", "EMC"), (0, 1, 2)),
        (RUN_BAD, ("EMC",), (0, 1, 2)),
        (RUN_ZERO, ("EMC",), (0,)),
    ):
        for subsystem in subsystems:
            for minute in minutes:
                rel = receiver_name(subsystem, run, minute)
                info = {
                    "kind": "ingest",
                    "subsystem": subsystem,
                    "run": run,
                    "mode": MODE,
                    "minute": minute,
                    "time": (RUN_STARTS[run] + timedelta(minutes=minute)).strftime("%Y_%m_%d_%H_%M_%S"),
                    **describe_file(out, rel),
                }
                counter = "fHistEvents" if subsystem == "HLT" else "EMCTRQA_histEvents"
                info["events"] = info["histograms"][counter]["contents"][1]
                if info["size_bytes"] > MAX_INGEST_BYTES:
                    raise RuntimeError(f"{rel} is {info['size_bytes']} bytes, over {MAX_INGEST_BYTES}")
                files[rel] = info
                ingest.append(rel)
    for rel in sorted(str(p.relative_to(out)) for p in (out / "objects").glob("*.root")):
        files[rel] = {"kind": "object", **describe_file(out, rel)}

    slices: dict[str, Any] = {}
    for run, subsystem in ((RUN_GOOD, "HLT"), (RUN_GOOD, "EMC"), (RUN_BAD, "EMC")):
        slices[f"{subsystem}/{run}"] = {
            f"{a}-{b}": slice_stats(out, receiver_name(subsystem, run, a), receiver_name(subsystem, run, b))
            for a, b in ((1, 0), (2, 0), (2, 1))
        }

    ds = files["objects/dir_and_slash.root"]
    pick = ("class", "title", "entries", "mean", "std_dev")
    facts["dir_and_slash"].update(
        {
            "directory_variant": {
                "path": ["TPCQA", "h_tpc_event_recvertex_0"],
                **{k: ds["directories"]["TPCQA"]["histograms"]["h_tpc_event_recvertex_0"][k] for k in pick},
            },
            "slash_key_variant": {
                "key": "TPCQA/h_tpc_event_recvertex_0",
                **{k: ds["histograms"]["TPCQA/h_tpc_event_recvertex_0"][k] for k in pick},
            },
            "nested": {
                "path": ["TPCQA", "sub", "name"],
                **{
                    k: ds["directories"]["TPCQA"]["directories"]["sub"]["histograms"]["name"][k] for k in pick
                },
            },
        }
    )
    finish_unclosed(out, facts, files)

    expected = {
        "format_version": FORMAT_VERSION,
        "root_version": str(r.gROOT.GetVersion()),
        "non_finite": 'non-finite floats are the strings "nan", "inf" and "-inf"',
        "contents_max_cells": CONTENTS_MAX_CELLS,
        "ingest_files": ingest,
        "files": files,
        "slices": slices,
        "cases": facts,
        "seconds": round(time.monotonic() - started, 2),
    }
    data = _jsonable(expected)
    text = _compact_lists(json.dumps(data, indent=1, allow_nan=False, ensure_ascii=False))
    if json.loads(text) != data:
        raise RuntimeError("expected.json: compacting the lists changed the data")
    (out / "expected.json").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
