"""Shared fixtures: settings pointing at a temporary data folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from overwatch_core.settings import Settings, load_settings


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a fresh data folder below tmp_path; keyword arguments override any setting."""

    def make(**overrides: Any) -> Settings:
        overrides.setdefault("data_folder", str(tmp_path / "data"))
        overrides.setdefault("settle_seconds", 0.0)
        return load_settings(None, env={}, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()
