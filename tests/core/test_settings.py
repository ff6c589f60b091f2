"""Settings: layering, validation messages, and the example config documenting every key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from overwatch_core.errors import ConfigError
from overwatch_core.settings import Settings, load_settings, setting_help

EXAMPLE = Path(__file__).parents[2] / "config" / "overwatch.example.toml"


def test_defaults() -> None:
    settings = load_settings(None, env={})
    assert settings == Settings()
    assert settings.timezone == "Europe/Zurich"
    assert settings.subsystems == ["EMC", "TPC", "HLT"]
    assert settings.catalog_url.endswith("data/overwatch.sqlite")


def test_every_setting_is_documented_in_the_example() -> None:
    text = EXAMPLE.read_text()
    documented = set(re.findall(r"^#?\s*([a-z_]+)\s*=", text, flags=re.MULTILINE))
    missing = set(setting_help()) - documented
    assert not missing, f"undocumented settings in {EXAMPLE.name}: {sorted(missing)}"
    unknown = set(tomllib.loads(text)) - set(setting_help())
    assert not unknown


def test_example_loads_to_the_defaults() -> None:
    assert load_settings(EXAMPLE, env={}) == Settings()


def test_every_setting_has_help() -> None:
    assert all(help_text.strip() for help_text in setting_help().values())


def test_layers_toml_then_env_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('data_folder = "/srv/ow"\nongoing_minutes = 7\ntimezone = "UTC"\n')
    env = {
        "OVERWATCH_CONFIG": str(config),
        "OVERWATCH_TIMEZONE": "Asia/Tokyo",
        "OVERWATCH_SUBSYSTEMS": "EMC, HLT",
    }
    settings = load_settings(None, env=env, cumulative=False)
    assert settings.data_folder == "/srv/ow"
    assert settings.ongoing_minutes == 7.0
    assert settings.timezone == "Asia/Tokyo"
    assert settings.subsystems == ["EMC", "HLT"]
    assert settings.cumulative is False


def test_unknown_key_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("data_foldr = 'x'\n")
    with pytest.raises(ConfigError, match="data_foldr"):
        load_settings(config, env={})


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("ongoing_minutes = 'soon'", "ongoing_minutes"),
        ("subsystems = 'EMC'", "subsystems"),
        ("cumulative = 1", "cumulative"),
        ("histogram_cache_mb = true", "histogram_cache_mb"),
        ("subsystems = ['EMC', 3]", r"subsystems\[1\]"),
        ("process_lease_seconds = 0", "process_lease_seconds: must be positive"),
    ],
)
def test_wrong_type_names_the_key(tmp_path: Path, line: str, key: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(line + "\n")
    with pytest.raises(ConfigError, match=key):
        load_settings(config, env={})


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="OVERWATCH_SETTLE_SECONDS"):
        load_settings(None, env={"OVERWATCH_SETTLE_SECONDS": "abc"})
    with pytest.raises(ConfigError, match="OVERWATCH_CUMULATIVE"):
        load_settings(None, env={"OVERWATCH_CUMULATIVE": "maybe"})


def test_invalid_values() -> None:
    with pytest.raises(ConfigError, match="HLT"):
        load_settings(None, env={}, subsystems=["EMC"])
    with pytest.raises(ConfigError, match="settle_seconds"):
        load_settings(None, env={}, settle_seconds=-1)
    with pytest.raises(ConfigError, match="live_refresh_seconds: must be positive"):
        load_settings(None, env={}, live_refresh_seconds=0)
    with pytest.raises(ConfigError, match="log_level"):
        load_settings(None, env={}, log_level="LOUD")


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})
    broken = tmp_path / "b.toml"
    broken.write_text("data_folder = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, env={})
