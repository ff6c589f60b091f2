"""Export helpers: file names are safe, the plot's titles win, stacks give one key per layer, and the ROOT
file keeps values, errors, titles, entries and bin labels (re-read with Overwatch's own reader)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from overwatch_core.histogram_export import histogram_root_bytes, safe_part, shown_layers
from overwatch_core.histograms import read_file
from overwatch_core.model import Histogram
from overwatch_core.subsystems.base import DisplayOptions, Layer, ProcessedHistogram


def labelled(name: str = "QA/hLabels", scale: float = 1.0) -> Histogram:
    values = np.array([3.0, 0.0, 5.0]) * scale
    return Histogram(
        name=name,
        root_class="TH1I",  # a scaled TH1I would lose its values: the export is TH1D
        values=values,
        variances=np.array([3.0, 0.0, 5.0]) * scale**2,
        edges=(np.array([0.0, 1.0, 2.0, 3.0]),),
        title="own title",
        axis_titles=("own x", "own y"),
        entries=8.0,
        labels=(("good", "", "bad"),),
    )


def processed(*layers: Layer, display: DisplayOptions | None = None) -> ProcessedHistogram:
    return ProcessedHistogram("QA/hLabels", "Labels", layers, display or DisplayOptions(), {}, "TH1I")


@pytest.mark.parametrize(
    ("text", "safe"),
    [("EMCTRQA_histFastORL0", "EMCTRQA_histFastORL0"), ("TPCQA/h_tpc", "TPCQA_h_tpc"),
     ("../../etc/passwd", "_etc_passwd"), ("FastOR L0 (hits > 0)", "FastOR_L0_hits_0_"), ("..", "_")],
)  # fmt: skip
def test_safe_part(text: str, safe: str) -> None:
    assert safe_part(text) == safe


def test_the_plots_titles_win_over_the_histograms_own() -> None:
    display = DisplayOptions(title="SM 0", y_title="entries / events")
    (layer,) = shown_layers(processed(Layer("Labels", labelled(scale=0.5)), display=display))
    assert (layer.key, layer.hist.title, layer.hist.axis_titles) == (
        "QA_hLabels",
        "SM 0",
        ("own x", "entries / events"),
    )
    assert layer.hist.root_class == "TH1D"


def test_a_stack_gives_one_key_per_layer() -> None:
    stack = processed(Layer("EMCal", labelled()), Layer("DCal", labelled(scale=2.0)))
    assert [layer.key for layer in shown_layers(stack)] == ["QA_hLabels_EMCal", "QA_hLabels_DCal"]


def test_root_file_keeps_contents_titles_entries_and_labels(tmp_path: Path) -> None:
    path = tmp_path / "export.root"
    path.write_bytes(histogram_root_bytes(processed(Layer("Labels", labelled(scale=0.25)))))
    back = read_file(path).histograms["QA_hLabels"]
    np.testing.assert_allclose(back.values, [0.75, 0.0, 1.25])
    np.testing.assert_allclose(back.variances, np.array([3.0, 0.0, 5.0]) / 16)
    assert (back.root_class, back.title, back.axis_titles[:2], back.entries) == (
        "TH1D",
        "own title",
        ("own x", "own y"),
        8.0,
    )
    assert back.labels[0] == ("good", "", "bad")
