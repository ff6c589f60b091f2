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


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A processed demo data folder (3 short runs: 300000, 300003 with hot channels, 300004 without own
    TPC files), made once per session. Treat it as read only; copy it to change it."""
    from overwatch_core.demo import generate_demo_data
    from overwatch_core.processing import Processor, open_services

    data = tmp_path_factory.mktemp("demo") / "data"
    generate_demo_data(data, n_runs=3, files_per_run=8)
    settings = load_settings(None, env={}, data_folder=str(data), settle_seconds=0.0)
    catalog, cache = open_services(settings)
    Processor(settings, catalog, cache).run_pass()
    catalog.close()
    cache.close()
    return data
