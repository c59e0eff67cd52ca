"""The clinic database: created at the latest schema version, migrated when older, refused when
newer, path rules."""
from pathlib import Path

import duckdb
import pytest

from analytics import db
from analytics.errors import WaypointError


def test_new_database_has_canonical_tables_and_latest_version(tmp_path):
    con = db.connect(tmp_path / "clinic.duckdb")
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"clinicians", "patients", "episodes", "sessions", "measurements", "item_scores",
            "imports", "rejected_rows", "schema_version"} <= tables
    assert db.schema_version(con) == db.latest_version()


def test_reopening_does_not_reapply_the_schema(tmp_path):
    path = tmp_path / "clinic.duckdb"
    db.connect(path).close()
    con = db.connect(path)
    assert con.execute("SELECT count(*) FROM schema_version").fetchall() == [(1,)]


def test_older_database_is_migrated_on_open(tmp_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "002_add_note.sql").write_text("ALTER TABLE sessions ADD COLUMN note VARCHAR;")
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    db.migrate(con, folder=tmp_path / "none")           # a version-1 database
    assert db.schema_version(con) == 1
    assert db.migrate(con, folder=migrations) == 2
    columns = [r[0] for r in con.execute("DESCRIBE sessions").fetchall()]
    assert "note" in columns
    assert db.migrate(con, folder=migrations) == 2       # idempotent


def test_failed_migration_leaves_the_database_as_it_was(tmp_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "002_broken.sql").write_text("ALTER TABLE sessions ADD COLUMN note VARCHAR; SELECT * FROM no_such_table;")
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    db.migrate(con, folder=tmp_path / "none")
    with pytest.raises(duckdb.Error):
        db.migrate(con, folder=migrations)
    assert db.schema_version(con) == 1
    assert "note" not in [r[0] for r in con.execute("DESCRIBE sessions").fetchall()]


def test_path_comes_from_argument_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("WAYPOINT_DB", raising=False)
    assert db.resolve_path(None) == str(Path("data") / "waypoint.duckdb")
    monkeypatch.setenv("WAYPOINT_DB", "/srv/clinic.duckdb")
    assert db.resolve_path(None) == "/srv/clinic.duckdb"
    assert db.resolve_path("mine.duckdb") == "mine.duckdb"


def test_memory_database_works_for_tests():
    con = db.connect(":memory:")
    assert db.is_empty(con)


@pytest.mark.parametrize("read_only", [False, True])
def test_a_database_from_a_newer_waypoint_is_refused_and_left_unchanged(tmp_path, read_only):
    path = tmp_path / "clinic.duckdb"
    con = db.connect(path)
    newer = db.latest_version() + 1
    con.execute("INSERT INTO schema_version VALUES (?, TIMESTAMP '2030-01-01 00:00:00')", [newer])
    con.close()
    before = path.read_bytes()
    with pytest.raises(WaypointError, match=rf"schema version {newer}, written by a newer Waypoint.*"
                                            rf"up to {db.latest_version()}.*Install the newer Waypoint"):
        db.connect(path, read_only=read_only)
    assert path.read_bytes() == before
    again = duckdb.connect(str(path))           # and the file is not left locked
    assert again.execute("SELECT max(version) FROM schema_version").fetchone() == (newer,)
    again.close()
