"""Every histogram of the ROOT-written corpus, ingested as a run, is drawn: classes (TH*L, profiles), labels,
codecs, cycles, hostile names, a recovered unclosed file, zero events, and the HLT receiver's TPC keys."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

from dashboard.figures import figure
from overwatch_core.processing import Processor, open_services
from overwatch_core.settings import Settings
from overwatch_core.subsystems.base import ProcessedHistogram
from overwatch_core.views import ViewService

Corpus = tuple[Path, dict[str, Any]]

#: Corpus object files, each dropped as run 400030 + its index: three identical EMC files a minute apart
#: (a cumulative run that stopped growing), so that a time slice of minutes 1–2 subtracts them.
OBJECT_FILES = (
    "objects/classes.root",
    "objects/cycles.root",
    "objects/names.root",
    "objects/unclosed.root",
    "objects/dir_and_slash.root",
    *(f"objects/codec_{c}.root" for c in ("zlib", "lz4", "zstd", "lzma", "none")),
)


@pytest.fixture(scope="module")
def corpus_views(
    root_corpus: Corpus, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ViewService, Settings]:
    from overwatch_core.settings import load_settings

    data = tmp_path_factory.mktemp("corpus-run") / "data"
    settings = load_settings(None, env={}, data_folder=str(data), settle_seconds=0.0)
    data.mkdir(parents=True)
    for index, name in enumerate(OBJECT_FILES):
        for minute in range(3):
            target = f"EMChistos_{400030 + index}_C_2018_10_23_{12 + index:02d}_{minute:02d}_00.root"
            shutil.copy(root_corpus[0] / name, data / target)
    for name, exp in root_corpus[1]["files"].items():
        if exp["kind"] == "ingest" and (name.startswith("HLT") or "400003" in name):
            shutil.copy(root_corpus[0] / name, data / name)
    processor = Processor(settings, *open_services(settings))
    report = processor.run_pass()
    assert not report.ingest.quarantined
    assert not report.failed
    return ViewService(settings, processor.ingester.catalog, processor.ingester.cache), settings


def drawn(hist: ProcessedHistogram) -> go.Figure:
    """The figure, checked by plotly's validating constructor, with at least one trace holding data."""
    fig = go.Figure(figure(hist).to_dict())
    assert fig.data, hist.name
    assert fig.layout.meta["kind"] != "empty", hist.name
    return fig


def every_histogram(views: ViewService, run: int, subsystem: str, slice_to: int | None = None) -> list[Any]:
    if slice_to is None:
        view = views.full_run(run, subsystem)
    else:
        from overwatch_core.time_slices import TimeSliceRequest

        view = views.time_slice(run, subsystem, TimeSliceRequest(1, slice_to))
    return [h for g in view.groups for h in g.histograms]


def object_run(name: str) -> int:
    return 400030 + OBJECT_FILES.index(name)


def test_every_object_file_histogram_is_drawn_full_run_and_sliced(
    corpus_views: tuple[ViewService, Settings],
) -> None:
    views, _ = corpus_views
    names: set[str] = set()
    for name in OBJECT_FILES:
        full = every_histogram(views, object_run(name), "EMC")
        sliced = every_histogram(views, object_run(name), "EMC", slice_to=2)
        assert [h.name for h in full] == [h.name for h in sliced]
        for hist in full + sliced:
            drawn(hist)
        names |= {h.name for h in full}
    assert {"h_TH1L", "h_TH3L", "h_TProfile", "h_TProfile2D", "h_labels_2d", "h_cycles", "a?b&c"} <= names
    assert {"TPCQA/h_tpc_event_recvertex_0", "TPCQA%2Fh_tpc_event_recvertex_0", "TPCQA/sub/name"} <= names
    assert {"hA", "hB", "hC", "h1f", "h2f", "h1d", "../../etc/passwd"} <= names


def test_bin_labels_are_the_tick_labels(corpus_views: tuple[ViewService, Settings]) -> None:
    views, _ = corpus_views
    by_name = {h.name: h for h in every_histogram(views, object_run("objects/classes.root"), "EMC")}
    one_d = drawn(by_name["h_labels_1d"]).layout
    assert list(one_d.xaxis.ticktext) == ["alpha", "beta", "gamma"]
    two_d = drawn(by_name["h_labels_2d"]).layout
    assert list(two_d.xaxis.ticktext) == ["alpha", "beta", "gamma"]
    assert list(two_d.yaxis.ticktext) == ["one", "two"]


def test_information_says_where_the_statistics_come_from(corpus_views: tuple[ViewService, Settings]) -> None:
    views, _ = corpus_views
    run = object_run("objects/classes.root")
    full = {h.name: h for h in every_histogram(views, run, "EMC")}
    assert "fill-time sums" in full["h_TH1F"].information["Statistics"]
    sliced = {h.name: h for h in every_histogram(views, run, "EMC", slice_to=2)}
    assert "bin centres" in sliced["h_TH1F"].information["Statistics"]


def test_hlt_receiver_files_draw_hlt_and_tpc_pages(corpus_views: tuple[ViewService, Settings]) -> None:
    views, _ = corpus_views
    tpc = every_histogram(views, 400001, "TPC")
    names = {h.name for h in tpc}
    assert "TPCQA/h_tpc_event_recvertex_0" in names
    assert {"pT_postracks", "Eta_vs_Phi_negtracks", "DCAz_vs_Phi_postracks_aSide"} & names
    for hist in tpc + every_histogram(views, 400001, "HLT"):
        drawn(hist)


def test_zero_event_file_is_drawn_unscaled(corpus_views: tuple[ViewService, Settings]) -> None:
    views, _ = corpus_views
    hists = every_histogram(views, 400003, "EMC")
    assert hists
    for hist in hists:
        drawn(hist)
        assert "entries / events" not in str(drawn(hist).layout.yaxis.title.text or "")
