"""Run the ROOT-written fixture corpus generator (``write_corpus.py`` beside this file) from tests.

The generator needs real ROOT (the PyPI package ``root``); the product never imports ROOT. It runs in a
subprocess with this interpreter, so a test session never loads ROOT itself. No pytest here: wire
``write_corpus`` into a session fixture and skip when ``root_available()`` is False.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().with_name("write_corpus.py")
TIMEOUT_SECONDS = 600
EXPECTED = "expected.json"
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def root_available() -> bool:
    """Whether this interpreter can import ROOT (without importing it here)."""
    return importlib.util.find_spec("ROOT") is not None


def write_corpus(out_dir: Path) -> dict[str, Any]:
    """Write the corpus into ``out_dir`` and return its parsed ``expected.json``.

    Raises RuntimeError with the generator's stderr when it fails or takes longer than 600 s.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [sys.executable, str(SCRIPT), str(out_dir)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
        raise RuntimeError(f"{SCRIPT.name} took more than {TIMEOUT_SECONDS} s:\n{stderr or ''}") from exc
    if done.returncode != 0:
        raise RuntimeError(f"{SCRIPT.name} {out_dir} exited with {done.returncode}:\n{done.stderr}")
    return load_expected(out_dir)


def load_expected(out_dir: Path) -> dict[str, Any]:
    """The parsed ``expected.json`` of a corpus already written into ``out_dir``."""
    parsed: dict[str, Any] = json.loads((Path(out_dir) / EXPECTED).read_text(encoding="utf-8"))
    return parsed


def number(value: float | int | str) -> float:
    """A number from expected.json as a float: the strings "nan", "inf" and "-inf" stand for themselves."""
    if isinstance(value, str):
        return _NON_FINITE[value]
    return float(value)
