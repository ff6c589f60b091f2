"""Exports of the histograms a run page shows: file names, JSON documents, ROOT files and group zips.

What is exported is what is drawn: each layer of a processed histogram (scaled per event when the page
scales it), with the title and axis titles the plot shows (the subsystem's display titles where it sets
them, in ROOT's TLatex), of the full run or of a time slice. A group's zip holds, per histogram, exactly the
two files its own links give (``.json`` and ``.root``).
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from overwatch_core import exports
from overwatch_core.model import Histogram
from overwatch_core.rootwrite import write_histograms
from overwatch_core.subsystems.base import DisplayOptions, ProcessedGroup, ProcessedHistogram
from overwatch_core.views import SubsystemView

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+|\.{2,}")


def safe_part(text: str) -> str:
    """A piece of a file name: runs of anything but letters, digits, ``.``, ``_`` and ``-``, and runs of
    dots, become one ``_`` (so neither ``/`` nor ``..`` reaches a name), without leading dots."""
    return re.sub("_+", "_", _UNSAFE.sub("_", text)).lstrip(".") or "_"


def window_label(view: SubsystemView) -> str:
    """``full`` for the full run; ``min5-7`` for a slice, with ``_thr300`` and ``_unscaled`` when set."""
    if view.selection is None:
        return "full"
    low, high = view.selection.requested
    threshold = view.options.hot_channel_threshold
    return (
        f"min{low}-{high}"
        + (f"_thr{threshold}" if threshold else "")
        + ("" if view.options.scale_hists else "_unscaled")
    )


def export_filename(view: SubsystemView, item: str, extension: str) -> str:
    """``run300000_EMC_EMCTRQA_histFastORL0_min10-20.root``: run, subsystem, histogram (or group), window."""
    parts = (f"run{view.run_number}", view.subsystem, item, window_label(view))
    return "_".join(safe_part(p) for p in parts) + f".{extension}"


@dataclass(frozen=True)
class ShownLayer:
    """One drawn layer: its key in the exported ROOT file, its legend label and the histogram as shown."""

    key: str
    label: str
    hist: Histogram


def _root_class(hist: Histogram) -> str:
    """Double precision for whatever is not a profile: a scaled TH1I or TH1F would lose the values shown."""
    return hist.root_class if hist.is_profile else f"TH{hist.ndim}D"


def _axis_titles(hist: Histogram, display: DisplayOptions) -> tuple[str, ...]:
    """One title per axis plus the value axis (ROOT's convention), the display's where it sets one."""
    overrides = (display.x_title, display.y_title, display.z_title)
    kept = (*hist.axis_titles, "", "", "")
    count = min(hist.ndim + 1, 3)
    pairs = zip(overrides[:count], kept[:count], strict=True)
    return tuple(own if new is None else new for new, own in pairs)


def shown_layers(processed: ProcessedHistogram) -> tuple[ShownLayer, ...]:
    """The layers of ``processed`` with the plot's titles; keys are the histogram's name (``/`` → ``_``),
    with the layer's label appended when there are several (a stack)."""
    display = processed.display
    base = processed.name.replace("/", "_")
    several = len(processed.layers) > 1
    layers = []
    for layer in processed.layers:
        hist = layer.hist
        shown = hist.replace(
            title=display.title if display.title is not None else (hist.title or processed.pretty_name),
            axis_titles=_axis_titles(hist, display),
            root_class=_root_class(hist),
        )
        key = f"{base}_{safe_part(layer.label)}" if several else base
        layers.append(ShownLayer(key, layer.label, shown))
    return tuple(layers)


def window_json(view: SubsystemView) -> dict[str, object]:
    selection = view.selection
    return {
        "full_run": selection is None,
        "requested": None if selection is None else list(selection.requested),
        "shown": None if selection is None else list(selection.shown),
        "scaled": bool(view.options.scale_hists and view.n_events),
        "hot_channel_threshold": view.options.hot_channel_threshold,
        "description": view.describe(),
    }


def histogram_document(view: SubsystemView, processed: ProcessedHistogram) -> dict[str, object]:
    """The JSON export: where it comes from, the window, and every layer's contents (the first layer's
    also at the top, for the usual one-layer histogram)."""
    layers = shown_layers(processed)
    return {
        **exports.histogram_json(layers[0].hist),
        "name": processed.name,
        "pretty_name": processed.pretty_name,
        "run": view.run_number,
        "subsystem": view.subsystem,
        "window": window_json(view),
        "n_events": view.n_events,
        "layers": [
            {"key": layer.key, "label": layer.label, **exports.histogram_json(layer.hist)} for layer in layers
        ],
    }


def histogram_json_bytes(view: SubsystemView, processed: ProcessedHistogram) -> bytes:
    return json.dumps(histogram_document(view, processed), indent=1).encode()


def histogram_root_bytes(processed: ProcessedHistogram) -> bytes:
    """A ROOT file with the shown layers as top-level TH1D/TH2D/TH3D (or profiles), written by uproot."""
    with tempfile.TemporaryDirectory(prefix="overwatch-export-") as folder:
        path = Path(folder) / "export.root"
        layers: dict[tuple[str, ...], Histogram] = {(s.key,): s.hist for s in shown_layers(processed)}
        write_histograms(path, layers)
        return path.read_bytes()


def group_zip_bytes(view: SubsystemView, group: ProcessedGroup) -> bytes:
    """Per histogram of the group its ``.json`` and ``.root`` export, under the names the links give."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for processed in group.histograms:
            archive.writestr(
                export_filename(view, processed.name, "json"), histogram_json_bytes(view, processed)
            )
            archive.writestr(export_filename(view, processed.name, "root"), histogram_root_bytes(processed))
    return buffer.getvalue()
