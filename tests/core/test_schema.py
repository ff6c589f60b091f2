"""Schema migrations (Alembic): new catalogs at the newest revision, old ones refused until upgraded."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from overwatch_core import cli, schema
from overwatch_core.catalog import Catalog, make_engine, metadata

TZ = ZoneInfo("Europe/Zurich")


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def at_revision(path: Path, revision: str, *, versioned: bool = True) -> sa.Engine:
    """A catalog migrated up to ``revision``; unversioned: as code from before migrations left it."""
    engine = make_engine(url(path))
    with engine.begin() as conn:
        command.upgrade(schema._config(conn), revision)
        if not versioned:
            conn.execute(sa.text(f"DROP TABLE {schema.VERSION_TABLE}"))
    return engine


def test_the_migrations_build_exactly_the_schema_of_the_code(catalog_url: str) -> None:
    engine = make_engine(catalog_url)
    with engine.begin() as conn:
        command.upgrade(schema._config(conn), "head")
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_a_new_catalog_starts_at_the_newest_revision(catalog_url: str) -> None:
    catalog = Catalog.connect(catalog_url, TZ)
    with catalog.engine.connect() as conn:
        assert schema.current(conn) == schema.head()
    Catalog.connect(catalog_url, TZ)  # and opens again


def fill_today(engine: sa.Engine) -> None:
    """Rows of every kind a catalog of the first revision holds."""
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO runs VALUES (300000, 'C')"))
        conn.execute(sa.text("INSERT INTO subsystems VALUES (300000, 'EMC', 'EMC')"))
        conn.execute(
            sa.text(
                "INSERT INTO files (run_number, location, path, timestamp, size, n_events) "
                "VALUES (300000, 'EMC', 'Run300000/EMC/EMChists.2015_11_24_18_05_10.root', 1448384710, 10, 5)"
            )
        )
        conn.execute(sa.text("INSERT INTO histograms VALUES (300000, 'EMC', 'EMCTRQA_histFastORL0', 'TH1F')"))
        conn.execute(
            sa.text("INSERT INTO trend_values VALUES (300000, 'EMC', 'maxFastORL0', 1448384710, 3.5, NULL)")
        )
        conn.execute(sa.text("INSERT INTO users VALUES ('shirley', 'x', 'shifter', 0)"))


@pytest.mark.parametrize("versioned", [True, False], ids=["revision-0001", "before-migrations"])
def test_an_old_catalog_is_refused_until_upgraded_and_keeps_every_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, versioned: bool
) -> None:
    path = tmp_path / "data" / "overwatch.sqlite"
    path.parent.mkdir()
    fill_today(at_revision(path, schema.FIRST, versioned=versioned))
    with pytest.raises(schema.SchemaError, match="run `overwatch db upgrade`"):
        Catalog.connect(url(path), TZ)
    base = ["--data-folder", str(path.parent)]
    assert cli.main([*base, "runs"]) == 2  # every command refuses, with the message
    assert "overwatch db upgrade" in capsys.readouterr().err
    assert cli.main([*base, "db", "current"]) == 0
    assert "out of date" in capsys.readouterr().out
    assert cli.main([*base, "db", "upgrade"]) == 0
    assert f"to revision {schema.head()}" in capsys.readouterr().out

    catalog = Catalog.connect(url(path), TZ)
    run = catalog.run(300000)
    assert [f.path for f in run.subsystem("EMC").files] == ["Run300000/EMC/EMChists.2015_11_24_18_05_10.root"]
    assert catalog.histogram_index(300000, "EMC") == {"EMCTRQA_histFastORL0": "TH1F"}
    with catalog.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM trend_values")).scalar_one() == 3.5
        assert conn.execute(sa.text("SELECT username FROM users")).scalar_one() == "shirley"
    assert catalog.pending_paths() == []  # files of older code are not processed again
    assert catalog.file_reports(300000) == {}
    assert cli.main([*base, "db", "current"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert cli.main([*base, "db", "upgrade"]) == 0  # idempotent


def test_a_catalog_from_the_commits_before_migrations_with_later_tables_upgrades(tmp_path: Path) -> None:
    """Code of the days just before migrations created revision 0002's tables without a version table."""
    path = tmp_path / "c.sqlite"
    fill_today(at_revision(path, "0002", versioned=False))
    before, after = schema.upgrade(make_engine(url(path)))
    assert (before, after) == ("0002 (a catalog from before migrations)", schema.head())
    assert Catalog.connect(url(path), TZ).run(300000).subsystem("EMC").files


def test_a_catalog_of_newer_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    Catalog.connect(url(path), TZ)
    with make_engine(url(path)).begin() as conn:
        conn.execute(sa.text(f"UPDATE {schema.VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(schema.SchemaError, match="revision 9999"):
        Catalog.connect(url(path), TZ)
