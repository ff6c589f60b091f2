"""File names: the REF §1.3 test vectors, padded and unpadded fields, zones, and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from overwatch_core import filenames
from overwatch_core.errors import ConfigError, FileNameError

ZURICH = filenames.zone("Europe/Zurich")


@pytest.mark.parametrize("prefix", ["", "data/Run123456/EMC/"])
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hists.combined.1.1448388552.root", 1448388552),
        ("timeSlice.1448388310.1448388552.5b3e4f0c2d1a.root", 242),
        ("EMChistos_300005_C_2015_11_24_18_05_10.root", 1448384710),
        ("EMChists.2015_11_24_18_05_10.root", 1448384710),
    ],
)
def test_reference_vectors(prefix: str, name: str, expected: int) -> None:
    assert filenames.timestamp_from_filename(prefix + name, ZURICH) == expected


def test_unpadded_zmq_name() -> None:
    name = filenames.parse_received_name("EMChistos_123456_B_2015_3_14_2_3_5.root", ZURICH)
    assert name.subsystem == "EMC"
    assert name.run_number == 123456
    assert name.hlt_mode == "B"
    assert name.timestamp == datetime(2015, 3, 14, 2, 3, 5, tzinfo=ZURICH)


def test_dqm_receiver_name() -> None:
    # REF §1.1: timeStamp=140844 becomes 1970_01_02_16_07_24 in Europe/Zurich.
    name = filenames.parse_received_name("EMChistos_123456_DQM_1970_01_02_16_07_24.root", ZURICH)
    assert name.hlt_mode == "DQM"
    assert int(name.timestamp.timestamp()) == 140844


def test_round_trip_received_and_stored() -> None:
    when = datetime(2015, 11, 24, 17, 5, 10, tzinfo=UTC)
    received = filenames.format_received_name("HLT", 300005, "C", when, ZURICH)
    assert received == "HLThistos_300005_C_2015_11_24_18_05_10.root"
    assert filenames.parse_received_name(received, ZURICH).timestamp == when
    stored = filenames.format_stored_name("HLT", when, ZURICH)
    assert stored == "HLThists.2015_11_24_18_05_10.root"
    assert filenames.parse_stored_name(stored, ZURICH).timestamp == when


def test_stored_paths() -> None:
    when = datetime(2015, 11, 24, 18, 5, 10, tzinfo=ZURICH)
    assert (
        filenames.stored_path(300005, "EMC", when, ZURICH)
        == "Run300005/EMC/EMChists.2015_11_24_18_05_10.root"
    )
    assert filenames.stored_path(1, "EMC", when, ZURICH, replay=True).startswith("ReplayData/Run1/EMC/")


def test_combined_and_time_slice_names() -> None:
    assert filenames.format_combined_name(1, 1448388552) == "hists.combined.1.1448388552.root"
    name = filenames.format_time_slice_name(1448388310, 1448388552, "ab12")
    assert filenames.timestamp_from_filename(name, ZURICH) == 242


def test_configured_zone_changes_the_time() -> None:
    utc = filenames.zone("UTC")
    assert filenames.timestamp_from_filename("EMChists.2015_11_24_18_05_10.root", utc) == 1448388310


@pytest.mark.parametrize(
    "bad",
    [
        "EMChistos_12a_C_2015_11_24_18_05_10.root",
        "EMChistos_1_C_2015_11_24_18_05.root",
        "EMC.root",
        "EMChistos_1_C_2015_11_24_18_05_10.txt",
    ],
)
def test_bad_received_names_say_what_was_expected(bad: str) -> None:
    with pytest.raises(FileNameError, match="expected '<SYS>histos_<run>_<hltMode>"):
        filenames.parse_received_name(bad, ZURICH)


def test_impossible_date() -> None:
    with pytest.raises(FileNameError, match="invalid date"):
        filenames.parse_received_name("EMChistos_1_C_2015_13_24_18_05_10.root", ZURICH)


def test_unknown_name_lists_the_patterns() -> None:
    with pytest.raises(FileNameError, match="matches no known file name"):
        filenames.timestamp_from_filename("whatever.root", ZURICH)
    with pytest.raises(FileNameError, match="stored file name"):
        filenames.parse_stored_name("EMChists.2015.root", ZURICH)


def test_unknown_zone() -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        filenames.zone("Mars/Olympus")


def test_run_dirs() -> None:
    assert filenames.parse_run_dir("Run99999") == 99999
    assert filenames.parse_run_dir("ReplayData") is None
    assert filenames.parse_run_dir("Run12a") is None
