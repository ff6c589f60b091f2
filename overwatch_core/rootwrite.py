"""Writing histograms into ROOT files with uproot (demo data, tests and the upload API's fixtures)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import uproot
import uproot.writing.identify as ident

from overwatch_core.model import FloatArray, Histogram

_DTYPES = {"F": np.float32, "D": np.float64, "I": np.int32, "S": np.int16, "C": np.int8}


def _axis(name: str, edges: FloatArray, title: str, labels: tuple[str, ...] = ()) -> Any:
    uniform = bool(np.allclose(np.diff(edges), edges[1] - edges[0]))
    return ident.to_TAxis(
        fName=name,
        fTitle=title,
        fNbins=len(edges) - 1,
        fXmin=float(edges[0]),
        fXmax=float(edges[-1]),
        fXbins=np.array([], dtype=np.float64) if uniform else np.asarray(edges, dtype=np.float64),
        fLabels=_labels(labels),
    )


def _labels(labels: tuple[str, ...]) -> Any:
    """Bin labels as ROOT keeps them: a THashList of TObjStrings whose unique ID is the bin number (bins
    without a label have none); None for a numeric axis."""
    if not any(labels):
        return None
    strings = []
    for number, text in enumerate(labels, start=1):
        if text:
            string = ident.to_TObjString(text)
            string._bases[0]._members["@fUniqueID"] = number
            strings.append(string)
    return ident.to_THashList(strings)


def _with_flow(array: FloatArray, dtype: Any) -> Any:
    return np.pad(np.asarray(array, dtype=np.float64), 1).astype(dtype).ravel(order="F")


def _stats(hist: Histogram) -> dict[str, float]:
    """Global sums ROOT keeps (fTsumw...); computed from bin centres, which is what ROOT does on merge."""
    total = float(np.sum(hist.values))
    stats = {"fTsumw": total, "fTsumw2": float(np.sum(hist.variances))}
    keys = ("x", "y", "z")
    for axis, edges in enumerate(hist.edges):
        centres = (edges[:-1] + edges[1:]) / 2
        projected = hist.values.sum(axis=tuple(i for i in range(hist.ndim) if i != axis))
        stats[f"fTsumw{keys[axis]}"] = float(np.sum(projected * centres))
        stats[f"fTsumw{keys[axis]}2"] = float(np.sum(projected * centres**2))
    return stats


def _sumw2(hist: Histogram) -> Any:
    """fSumw2 only for weighted histograms: with variances equal to |contents| (unit-weight fills) ROOT
    keeps no Sumw2 unless asked, and its bin errors are sqrt(|content|) then, which the reader restores."""
    if np.array_equal(hist.variances, np.abs(hist.values)):
        return np.array([], dtype=np.float64)
    return _with_flow(hist.variances, np.float64)


def to_root_object(hist: Histogram) -> Any:
    """Build the uproot writable object (TH1x/TH2x/TH3x/TProfile/TProfile2D) for ``hist``."""
    titles = tuple(hist.axis_titles) + ("",) * (3 - len(hist.axis_titles))
    unit = np.array([0.0, 1.0])
    all_edges = list(hist.edges) + [unit] * (3 - hist.ndim)
    # Axes beyond the histogram's dimension only carry the title of the value axis (ROOT does the same).
    labels = [hist.axis_labels(axis) for axis in range(3)]
    names = ("xaxis", "yaxis", "zaxis")
    axes = [_axis(*parts) for parts in zip(names, all_edges, titles, labels, strict=True)]
    stats = _stats(hist)
    common: dict[str, Any] = {
        "fName": hist.name.rsplit("/", 1)[-1],
        "fTitle": hist.title,
        "fEntries": float(hist.entries),
        "fTsumw": stats["fTsumw"],
        "fTsumw2": stats["fTsumw2"],
        "fTsumwx": stats["fTsumwx"],
        "fTsumwx2": stats["fTsumwx2"],
    }
    if hist.profile is not None:
        return _profile_object(hist, axes, common, stats)
    dtype = _DTYPES[hist.root_class[-1]]
    data = _with_flow(hist.values, dtype)
    sumw2 = _sumw2(hist)
    if hist.ndim == 1:
        return ident.to_TH1x(
            data=data, fSumw2=sumw2, fXaxis=axes[0], fYaxis=axes[1], fZaxis=axes[2], **common
        )
    common.update(fTsumwy=stats["fTsumwy"], fTsumwy2=stats["fTsumwy2"], fTsumwxy=0.0)
    if hist.ndim == 2:
        return ident.to_TH2x(
            data=data, fSumw2=sumw2, fXaxis=axes[0], fYaxis=axes[1], fZaxis=axes[2], **common
        )
    common.update(fTsumwz=stats["fTsumwz"], fTsumwz2=stats["fTsumwz2"], fTsumwxz=0.0, fTsumwyz=0.0)
    return ident.to_TH3x(data=data, fSumw2=sumw2, fXaxis=axes[0], fYaxis=axes[1], fZaxis=axes[2], **common)


def _profile_object(hist: Histogram, axes: list[Any], common: dict[str, Any], stats: dict[str, float]) -> Any:
    assert hist.profile is not None
    sums = hist.profile
    arrays = {
        "data": _with_flow(sums.sum_wy, np.float64),
        "fSumw2": _with_flow(sums.sum_wy2, np.float64),
        "fBinEntries": _with_flow(sums.sum_w, np.float64),
        "fBinSumw2": _with_flow(sums.sum_w, np.float64),
    }
    total_wy = float(np.sum(sums.sum_wy))
    total_wy2 = float(np.sum(sums.sum_wy2))
    if hist.ndim == 1:
        return ident.to_TProfile(
            fXaxis=axes[0],
            fYaxis=axes[1],
            fZaxis=axes[2],
            fTsumwy=total_wy,
            fTsumwy2=total_wy2,
            fErrorMode=0,
            fYmin=0.0,
            fYmax=0.0,
            **arrays,
            **common,
        )
    return ident.to_TProfile2D(
        fXaxis=axes[0],
        fYaxis=axes[1],
        fZaxis=axes[2],
        fTsumwy=stats["fTsumwy"],
        fTsumwy2=stats["fTsumwy2"],
        fTsumwxy=0.0,
        fTsumwz=total_wy,
        fTsumwz2=total_wy2,
        fErrorMode=0,
        fZmin=0.0,
        fZmax=0.0,
        **arrays,
        **common,
    )


#: A key of ``write_histograms``: "dir/name" (split into TDirectories), or the path's parts as a tuple, each
#: part written as it is: ``("TPCQA/h_tpc_events",)`` is one top-level key with "/" in its name.
WriteKey = str | tuple[str, ...]


def write_histograms(
    path: str | os.PathLike[str],
    hists: Mapping[str, Histogram] | Mapping[tuple[str, ...], Histogram] | Mapping[WriteKey, Histogram],
    *,
    directories: bool = True,
) -> Path:
    """Write ``hists`` to ``path`` atomically via a dot-file.

    String keys are split at "/" into TDirectories unless ``directories`` is False: then every string key
    is one top-level key under its full name, the layout of the HLT and DQM receivers' files
    (``TPCQA/h_tpc_event_recvertex_0`` is a key of the top directory, there is no ``TPCQA`` directory).
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.writing")
    with uproot.recreate(tmp) as out:
        streamers: list[Any] = []
        for key, hist in hists.items():
            parts = key if isinstance(key, tuple) else tuple(key.split("/")) if directories else (key,)
            directory = out
            for folder in parts[:-1]:
                directory = directory.mkdir(folder)  # returns the directory if it exists
            # uproot's own `update` splits names at "/"; this is the call it makes per object, minus that.
            ident.add_to_directory(to_root_object(hist), parts[-1], directory, streamers)
        out.file._cascading.streamers.update_streamers(out.file.sink, streamers)  # one streamer record
    os.replace(tmp, target)
    return target
