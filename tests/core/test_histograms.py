"""Tests of the ROOT reader and the decoded-contents cache, on files written here with rootwrite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import uproot

from overwatch_core.decoded_store import DecodedStore
from overwatch_core.errors import HistogramReadError
from overwatch_core.histograms import (
    FileContents,
    HistogramCache,
    _cache_key,
    event_count,
    list_classes,
    read_file,
)
from overwatch_core.model import SUPPORTED_CLASSES, Histogram, ProfileSums
from overwatch_core.rootwrite import to_root_object, write_histograms

X_EDGES = np.array([0.0, 1.0, 3.0, 7.5, 10.0])  # variable bins
Y_EDGES = np.linspace(-1.0, 2.0, 4)
Z_EDGES = np.linspace(0.0, 1.0, 3)
TITLES = ("x title", "y title", "z title")
#: uproot writes no TH*L (64-bit integer) histograms; the ROOT-written corpus covers those.
TH_CLASSES = sorted(c for c in SUPPORTED_CLASSES - {"TProfile", "TProfile2D"} if not c.endswith("L"))


def make_hist(root_class: str, seed: int = 0, name: str = "h") -> Histogram:
    """A small histogram of ``root_class`` with integral contents (they fit even TH1C's int8)."""
    rng = np.random.default_rng(seed)
    ndim = {"TProfile": 1, "TProfile2D": 2}.get(root_class) or int(root_class[2])
    edges = (X_EDGES, Y_EDGES, Z_EDGES)[:ndim]
    shape = tuple(len(e) - 1 for e in edges)
    values = rng.integers(0, 100, shape).astype(np.float64)
    profile = None
    if root_class.startswith("TProfile"):
        sum_w = rng.integers(2, 6, shape).astype(np.float64)
        sum_wy = rng.random(shape) * sum_w
        profile = ProfileSums(sum_w=sum_w, sum_wy=sum_wy, sum_wy2=sum_wy**2 / sum_w + rng.random(shape) + 0.1)
    return Histogram(
        name=name,
        root_class=root_class,
        values=values,
        variances=values * 1.5,
        edges=edges,
        title=f"{root_class} title",
        axis_titles=TITLES[: min(ndim + 1, 3)],
        entries=1234.0,
        profile=profile,
    )


@pytest.fixture
def write_root(tmp_path: Path):
    """Factory: write ``{key: Histogram}`` to a file below tmp_path and return its path."""

    def _write(hists: dict[str, Histogram], name: str = "file.root") -> Path:
        return write_histograms(tmp_path / name, hists)

    return _write


def counting_decode(calls: list[Path]):
    def decode(path: Path) -> FileContents:
        calls.append(path)
        return read_file(path)

    return decode


# --- reading ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("root_class", TH_CLASSES)
def test_histogram_classes_round_trip(write_root, root_class: str) -> None:
    original = make_hist(root_class)
    hist = read_file(write_root({"h": original})).histograms["h"]
    assert hist.root_class == root_class
    # The file's own precision: single (and narrower) stays float32, which holds it exactly.
    assert hist.values.dtype == (np.float32 if root_class[-1] in "FSC" else np.float64)
    np.testing.assert_array_equal(hist.values, original.values)
    np.testing.assert_array_equal(hist.variances, original.variances)
    assert len(hist.edges) == original.ndim
    for got, expected in zip(hist.edges, original.edges, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert hist.title == original.title
    assert hist.axis_titles == original.axis_titles
    assert hist.entries == 1234.0
    assert hist.profile is None


@pytest.mark.parametrize("root_class", ["TProfile", "TProfile2D"])
def test_profiles_round_trip_with_their_sums(write_root, root_class: str) -> None:
    original = make_hist(root_class)
    sums = original.profile
    assert sums is not None
    hist = read_file(write_root({"p": original})).histograms["p"]
    assert hist.root_class == root_class
    assert hist.profile is not None
    for field in ("sum_w", "sum_wy", "sum_wy2"):
        np.testing.assert_allclose(getattr(hist.profile, field), getattr(sums, field), rtol=1e-12)
    mean = sums.sum_wy / sums.sum_w
    np.testing.assert_allclose(hist.values, mean, rtol=1e-12)
    # rootwrite sets fBinSumw2 = fBinEntries, so the effective entries are sum_w: error of the mean squared.
    np.testing.assert_allclose(hist.variances, (sums.sum_wy2 / sums.sum_w - mean**2) / sums.sum_w, rtol=1e-9)
    np.testing.assert_array_equal(hist.edges[0], X_EDGES)
    assert hist.title == original.title
    assert hist.axis_titles == TITLES[: hist.ndim + 1]
    assert hist.entries == 1234.0


def test_two_dimensional_layout_is_x_then_y(write_root) -> None:
    """A single filled cell finds its way back to the same (x, y) index, so no transposition slipped in."""
    hist = make_hist("TH2D")
    values = np.zeros_like(hist.values)
    values[3, 1] = 7.0
    base = make_hist("TProfile2D")
    assert base.profile is not None
    sum_w = np.ones_like(values)
    sum_w[3, 1] = 5.0
    profile = base.replace(profile=ProfileSums(sum_w, base.profile.sum_wy, base.profile.sum_wy2))
    contents = read_file(write_root({"h": hist.replace(values=values, variances=values), "p": profile}))
    assert contents.histograms["h"].values[3, 1] == 7.0
    assert contents.histograms["h"].values.sum() == 7.0
    assert contents.histograms["p"].profile is not None
    assert contents.histograms["p"].profile.sum_w[3, 1] == 5.0


def test_histograms_in_nested_directories_are_keyed_by_path(write_root) -> None:
    hists = {"top": make_hist("TH1F"), "EMC/hA": make_hist("TH2F"), "EMC/sub/hB": make_hist("TH1D")}
    path = write_root(hists)
    contents = read_file(path)
    assert list(contents.histograms) == ["EMC/hA", "EMC/sub/hB", "top"]
    assert contents.histograms["EMC/sub/hB"].name == "EMC/sub/hB"
    assert contents.unsupported == {}
    assert list_classes(path) == {"EMC/hA": "TH2F", "EMC/sub/hB": "TH1D", "top": "TH1F"}


def test_highest_cycle_wins(tmp_path: Path) -> None:
    path = tmp_path / "cycles.root"
    old, new = make_hist("TH1D", seed=1), make_hist("TH1D", seed=2)
    with uproot.recreate(path) as out:
        out["h"] = to_root_object(old)
        out["h"] = to_root_object(new)
    with uproot.open(path) as f:
        assert sorted(f.keys()) == ["h;1", "h;2"]
    contents = read_file(path)
    assert list(contents.histograms) == ["h"]
    np.testing.assert_array_equal(contents.histograms["h"].values, new.values)


def test_unsupported_objects_are_listed_not_fatal(write_root) -> None:
    path = write_root({"h": make_hist("TH1F")})
    with uproot.update(path) as out:
        out["note"] = "some text"
        out["dir/other"] = "more text"
    contents = read_file(path)
    assert list(contents.histograms) == ["h"]
    assert contents.unsupported == {"dir/other": "TObjString", "note": "TObjString"}
    assert list_classes(path) == {"dir/other": "TObjString", "h": "TH1F", "note": "TObjString"}


def test_decoded_arrays_are_read_only(write_root) -> None:
    hist = read_file(write_root({"h": make_hist("TH1F")})).histograms["h"]
    with pytest.raises(ValueError, match="read-only"):
        hist.values[0] = 1.0


# --- broken files ---------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.root"
    with pytest.raises(HistogramReadError, match=r"nope\.root.*No such file"):
        read_file(path)
    with pytest.raises(HistogramReadError, match=r"nope\.root"):
        list_classes(path)


def test_zero_size_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.root"
    path.touch()
    with pytest.raises(HistogramReadError, match=r"empty\.root.*empty"):
        read_file(path)


def test_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.root"
    path.write_bytes(b"this is not a ROOT file\n" * 50)
    with pytest.raises(HistogramReadError, match=r"garbage\.root.*not a ROOT file"):
        read_file(path)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(HistogramReadError, match="Is a directory"):
        read_file(tmp_path)


def test_file_cut_to_half_is_refused(write_root) -> None:
    """Half of an uproot-written file still holds every key and histogram; the header check catches it."""
    path = write_root({"h": make_hist("TH1F"), "d/p": make_hist("TProfile2D")})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(HistogramReadError, match=r"file\.root.*truncated"):
        read_file(path)
    with pytest.raises(HistogramReadError, match="truncated"):
        list_classes(path)


@pytest.mark.parametrize("fraction", [i / 16 for i in range(1, 16)])
def test_file_cut_anywhere_is_refused(write_root, fraction: float) -> None:
    path = write_root({"h": make_hist("TH2F"), "d/p": make_hist("TProfile")})
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(HistogramReadError, match=r"file\.root"):
        read_file(path)


# --- event count ----------------------------------------------------------------------------------------


def _with_first_bin(hist: Histogram, value: float) -> Histogram:
    values = hist.values.copy()
    values.flat[0] = value
    return hist.replace(values=values, variances=values)


def test_event_count_takes_bin_one_of_first_events_histogram(write_root) -> None:
    hists = {
        "a": make_hist("TH1F"),
        "EMC/hNEvents": _with_first_bin(make_hist("TH1D"), 42.0),
        "zEvents": _with_first_bin(make_hist("TH1I"), 7.0),
    }
    assert event_count(read_file(write_root(hists))) == 42.0


def test_event_count_matches_the_name_not_the_directory(write_root) -> None:
    hists = {
        "events/h": _with_first_bin(make_hist("TH1F"), 5.0),
        "nEVENTS": _with_first_bin(make_hist("TH1F"), 9.0),
    }
    assert event_count(read_file(write_root(hists))) == 9.0


def test_event_count_none_without_events_histogram(write_root) -> None:
    assert event_count(read_file(write_root({"h": make_hist("TH1F")}))) is None


# --- cache ----------------------------------------------------------------------------------------------


def test_second_get_does_not_decode(write_root) -> None:
    path = write_root({"h": make_hist("TH1F")})
    calls: list[Path] = []
    cache = HistogramCache(decode=counting_decode(calls))
    first = cache.get(path)
    second = cache.get(str(path))
    assert second is first
    assert calls == [path.absolute()]
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.decodes, stats.disk_hits) == (1, 1, 1, 0)


def test_relative_and_absolute_paths_share_an_entry(write_root, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_root({"h": make_hist("TH1F")})
    monkeypatch.chdir(path.parent)
    cache = HistogramCache()
    cache.get(path.name)
    cache.get(path)
    assert cache.stats.decodes == 1


def test_rewritten_file_is_decoded_again(write_root) -> None:
    path = write_root({"h": make_hist("TH1F", seed=1)})
    cache = HistogramCache()
    old = cache.get(path)
    new_hist = make_hist("TH2F", seed=2)
    write_root({"h": new_hist})  # another class and shape: another size
    new = cache.get(path)
    assert cache.stats.decodes == 2
    np.testing.assert_array_equal(new.histograms["h"].values, new_hist.values)
    assert old.histograms["h"].root_class == "TH1F"
    assert cache.memory_bytes == new.nbytes  # the old version was dropped, not kept until evicted


def test_same_size_new_mtime_is_decoded_again(write_root) -> None:
    path = write_root({"h": make_hist("TH1F")})
    cache = HistogramCache()
    cache.get(path)
    path.write_bytes(path.read_bytes())  # rewritten in place: same size, only the mtime tells
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # coarse clocks: force a change
    cache.get(path)
    assert cache.stats.decodes == 2


def test_file_replaced_while_decoding_is_not_cached(write_root) -> None:
    path = write_root({"h": make_hist("TH1F", seed=1)})

    def decode_then_replace(p: Path) -> FileContents:
        contents = read_file(p)
        write_root({"h": make_hist("TH3F", seed=2)})
        return contents

    cache = HistogramCache(decode=decode_then_replace)
    cache.get(path)
    assert cache.memory_bytes == 0
    assert cache.get(path).histograms["h"].root_class == "TH3F"
    assert cache.stats.decodes == 2


def test_missing_file_through_the_cache(tmp_path: Path) -> None:
    with pytest.raises(HistogramReadError, match=r"gone\.root"):
        HistogramCache().get(tmp_path / "gone.root")


def _synthetic(nbytes: int) -> FileContents:
    """Contents whose arrays hold exactly ``nbytes`` (values + variances + edges, 8 bytes each)."""
    n = (nbytes // 8 - 1) // 3
    assert 8 * (3 * n + 1) == nbytes
    hist = Histogram("h", "TH1D", np.zeros(n), np.zeros(n), (np.arange(n + 1.0),))
    return FileContents(histograms={"h": hist})


def test_memory_level_evicts_least_recently_used_by_bytes(tmp_path: Path) -> None:
    paths = [tmp_path / f"f{i}.root" for i in range(3)]
    for p in paths:
        p.write_bytes(b"x")
    calls: list[Path] = []

    def decode(path: Path) -> FileContents:
        calls.append(path)
        return _synthetic(8 * (3 * 100 + 1))  # 2408 bytes

    cache = HistogramCache(max_bytes=5000, decode=decode)
    cache.get(paths[0])
    cache.get(paths[1])
    assert cache.memory_bytes == 4816
    cache.get(paths[0])  # f0 is now the most recently used
    cache.get(paths[2])  # over 5000 bytes: f1 goes
    assert cache.memory_bytes == 4816
    calls.clear()
    cache.get(paths[0])
    cache.get(paths[2])
    assert calls == []
    cache.get(paths[1])
    assert calls == [paths[1]]


def test_contents_larger_than_the_memory_bound_are_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "big.root"
    path.write_bytes(b"x")
    cache = HistogramCache(max_bytes=1000, decode=lambda _: _synthetic(8 * (3 * 100 + 1)))
    cache.get(path)
    cache.get(path)
    assert cache.memory_bytes == 0
    assert cache.stats.decodes == 2


def test_disk_level_is_shared_between_cache_objects(write_root, tmp_path: Path) -> None:
    path = write_root({"h": make_hist("TH2F"), "p": make_hist("TProfile")})
    first = HistogramCache(disk_directory=tmp_path / "cache")
    decoded = first.get(path)
    first.close()

    def must_not_decode(p: Path) -> FileContents:
        raise AssertionError(f"decoded {p} although the disk level holds it")

    second = HistogramCache(disk_directory=tmp_path / "cache", decode=must_not_decode)
    shared = second.get(path)
    assert second.stats.decodes == 0
    assert (second.stats.hits, second.stats.disk_hits) == (1, 1)
    np.testing.assert_array_equal(shared.histograms["h"].values, decoded.histograms["h"].values)
    profile = shared.histograms["p"].profile
    assert profile is not None
    assert decoded.histograms["p"].profile is not None
    np.testing.assert_array_equal(profile.sum_wy2, decoded.histograms["p"].profile.sum_wy2)
    assert not shared.histograms["h"].values.flags.writeable
    assert second.get(path) is shared  # now from memory
    assert second.stats.disk_hits == 1
    second.close()


def test_disk_level_is_shared_between_processes(write_root, tmp_path: Path) -> None:
    path = write_root({"h": make_hist("TH1F")})
    cache_dir = tmp_path / "cache"
    local = HistogramCache(disk_directory=cache_dir)
    local.get(path)
    local.close()
    script = (
        "import sys\n"
        "from overwatch_core.histograms import HistogramCache\n"
        "cache = HistogramCache(disk_directory=sys.argv[1])\n"
        "cache.get(sys.argv[2])\n"
        "print(cache.stats.decodes, cache.stats.disk_hits)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(cache_dir), str(path)], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["0", "1"]


# --- the decoded store -----------------------------------------------------------------------------------


def unit_fills(root_class: str, n: int = 50, seed: int = 3) -> Histogram:
    """Counts from unit-weight fills: no Sumw2 in the file, errors² = contents."""
    hist = make_hist(root_class, seed)
    values = np.random.default_rng(seed).poisson(3.0, hist.values.shape).astype(np.float64)
    return hist.replace(values=values, variances=values)


def test_stored_entries_keep_the_files_precision_and_share_values_as_variances(
    write_root, tmp_path: Path
) -> None:
    path = write_root({"f": unit_fills("TH2F"), "d": unit_fills("TH1D"), "w": make_hist("TH1F")})
    HistogramCache(disk_directory=tmp_path / "store").get(path)
    loaded = DecodedStore(tmp_path / "store").load(_cache_key(path.absolute()))
    assert loaded is not None
    f, d, w = (loaded.histograms[k] for k in "fdw")
    assert (f.values.dtype, d.values.dtype, w.values.dtype) == (np.float32, np.float64, np.float32)
    assert f.variances is f.values  # no Sumw2 in the file: one array, on disk and in memory
    assert w.variances is not w.values  # weighted: its own (float64) Sumw2
    np.testing.assert_array_equal(w.variances, make_hist("TH1F").variances)


def test_a_replaced_file_gets_a_new_entry_and_the_old_one_is_not_served(write_root, tmp_path: Path) -> None:
    path = write_root({"h": unit_fills("TH1F", seed=1)})
    store = tmp_path / "store"
    first = HistogramCache(disk_directory=store).get(path).histograms["h"].values.copy()
    os.utime(path, ns=(1, 1))  # another version of the file (size and mtime are the key)
    write_root({"h": unit_fills("TH1F", seed=2)})
    again = HistogramCache(disk_directory=store)
    second = again.get(path).histograms["h"].values
    assert again.stats.decodes == 1
    assert not np.array_equal(first, second)
    assert len(list(store.glob("*/*.owd"))) == 1  # one entry per file, replaced in place


def test_a_damaged_entry_is_decoded_again(write_root, tmp_path: Path) -> None:
    path = write_root({"h": unit_fills("TH1F")})
    store = tmp_path / "store"
    HistogramCache(disk_directory=store).get(path)
    (entry,) = store.glob("*/*.owd")
    entry.write_bytes(entry.read_bytes()[:-100])
    cache = HistogramCache(disk_directory=store)
    assert cache.get(path).histograms["h"].values.size
    assert cache.stats.decodes == 1


def test_the_store_is_a_small_multiple_of_the_root_files(tmp_path: Path) -> None:
    """Demo EMC/HLT/TPC files: the decoded store takes at most 3× the bytes of the ROOT files."""
    from overwatch_core.demo import generate_demo_data

    files = generate_demo_data(tmp_path / "drop", n_runs=1, files_per_run=3, workers=1).out_dir
    paths = sorted(p for p in files.glob("*_300000_*.root"))
    cache = HistogramCache(disk_directory=tmp_path / "store")
    for path in paths:
        cache.get(path)
    root_bytes = sum(p.stat().st_size for p in paths)
    assert DecodedStore(tmp_path / "store").size_bytes() <= 3 * root_bytes
