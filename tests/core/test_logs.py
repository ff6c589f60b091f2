"""JSON logs (``log_format = "json"``): one object per line with time, level, logger, message and exception,
from the formatter and from a real `overwatch process`."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from overwatch_core.errors import ConfigError
from overwatch_core.logs import JsonFormatter
from overwatch_core.settings import load_settings

KEYS = {"time", "level", "logger", "message"}


def test_a_record_is_one_line_of_json_with_its_exception() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = logging.LogRecord(
            "overwatch.x", logging.ERROR, __file__, 1, "file %s: %s", ("a", 2), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "overwatch.x"
    assert entry["message"] == "file a: 2"
    assert entry["time"].endswith("+00:00")
    assert "Traceback" in entry["exception"]
    assert "ValueError: bad\nvalue" in entry["exception"]


def test_the_format_is_checked() -> None:
    assert load_settings(None, env={}).log_format == "text"
    assert load_settings(None, env={"OVERWATCH_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(ConfigError, match="log_format"):
        load_settings(None, env={"OVERWATCH_LOG_FORMAT": "xml"})


def test_process_logs_json_lines(demo_data: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(demo_data, data, ignore=lambda _folder, _names: ["cache"])
    (data / "not-a-run.root").write_bytes(b"not ROOT")  # a quarantined file: a WARNING record
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERWATCH_")}
    env.update(OVERWATCH_DATA_FOLDER=str(data), OVERWATCH_LOG_FORMAT="json", OVERWATCH_SETTLE_SECONDS="0")
    done = subprocess.run(
        [sys.executable, "-m", "overwatch_core.cli", "process"], env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert entries, "process logged nothing"
    assert all(set(entry) >= KEYS for entry in entries)
    assert any(e["logger"] == "overwatch_core.ingest" and "ingest pass" in e["message"] for e in entries)
    assert any(e["level"] == "WARNING" and "not-a-run.root" in e["message"] for e in entries)
