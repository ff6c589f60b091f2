"""SPEC §2: the core never imports the web stack, and importing it does no work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).parents[2] / "overwatch_core"


def test_core_imports_no_web_modules() -> None:
    modules = sorted(p.stem for p in CORE.glob("*.py") if p.stem != "__init__")
    code = (
        "import sys\n"
        + "".join(f"import overwatch_core.{m}\n" for m in modules)
        + "web = {'dash', 'flask', 'flask_login', 'dashboard', 'ROOT', 'cppyy'}\n"
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in web)\n"
        + "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"overwatch_core pulled in: {result.stdout.strip()}"
    assert len(modules) >= 8


def test_the_product_never_imports_root() -> None:
    """Real ROOT is a test-only extra that writes fixtures; neither package may load it."""
    code = (
        "import sys, dashboard.factory, overwatch_core.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'ROOT', 'cppyy'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    sources = [*CORE.rglob("*.py"), *(CORE.parent / "dashboard").rglob("*.py")]
    assert not [p for p in sources if "import ROOT" in p.read_text(encoding="utf-8")]


def test_test_file_names_are_unique() -> None:
    """tests/ holds no packages, so two test files with one basename stop pytest's collection."""
    names = [p.name for p in (CORE.parent / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
