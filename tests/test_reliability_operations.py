"""Operations: a database written by an earlier schema version opens, migrates and keeps every row;
backups restore to identical figures; uploads have a size limit.
"""
from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from analytics import cli, db, engagement, outcomes
from analytics.backup import backup, restore
from analytics.demo import DemoConfig, build_demo
from analytics.ingest import ingest_files, list_imports, undo_import
from analytics.settings import Settings
from tests.ingest_helpers import csv_file, snapshot

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TODAY = date(2025, 6, 30)

# A clinic as version 1 stored it: two sessions with scores, one item score, its import log entry
# and one row of the v1 undo history (row_history, which version 2 replaced).
V1_ROWS = """
INSERT INTO schema_version VALUES (1, TIMESTAMP '2025-01-01 09:00:00');
INSERT INTO meta VALUES ('episode_gap_days', '180');
INSERT INTO clinicians VALUES ('c1');
INSERT INTO patients VALUES ('p1');
INSERT INTO sessions VALUES
  ('p1|c1|2025-01-06|', 'p1', 'c1', DATE '2025-01-06', NULL, 'attended', NULL, NULL, NULL, 'North', NULL, NULL,
   'p1#1', 'v1hash-a', 1),
  ('p1|c1|2025-01-13|', 'p1', 'c1', DATE '2025-01-13', NULL, 'attended', NULL, NULL, NULL, 'North', NULL, NULL,
   'p1#1', 'v1hash-b', 1);
INSERT INTO episodes VALUES ('p1#1', 'p1', 'derived', DATE '2025-01-06', DATE '2025-01-13');
INSERT INTO measurements VALUES
  ('p1|c1|2025-01-06||phq9', 'p1|c1|2025-01-06|', 'p1', DATE '2025-01-06', 'phq9', 18, 1),
  ('p1|c1|2025-01-13||phq9', 'p1|c1|2025-01-13|', 'p1', DATE '2025-01-13', 'phq9', 11, 1);
INSERT INTO item_scores VALUES ('p1|c1|2025-01-06||phq9', 9, 1, 1);
INSERT INTO imports VALUES (1, 'january.csv', 'ab12', 'sessions', 2, 2, 0, 0, 0, 0, 'local',
                            TIMESTAMP '2025-01-14 10:00:00', NULL);
INSERT INTO row_history VALUES (1, 'sessions', 'p1|c1|2025-01-06|', 'insert', NULL);
"""
KEPT = ("clinicians", "patients", "sessions", "episodes", "measurements", "item_scores", "imports")


def v1_database(path: Path) -> Path:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute((FIXTURES / "schema_v1.sql").read_text(encoding="utf-8"))
    con.execute(V1_ROWS)
    con.close()
    return path


def rows(con, table: str) -> list[tuple]:
    return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = 'main'").fetchall()}


# ---------------------------------------------------------------------------------------------
# upgrades
# ---------------------------------------------------------------------------------------------
def test_a_version_1_database_opens_migrates_to_the_latest_version_and_keeps_every_row(tmp_path):
    path = v1_database(tmp_path / "v1.duckdb")
    import duckdb

    old = duckdb.connect(str(path), read_only=True)
    before = {t: rows(old, t) for t in KEPT}
    old.close()

    con = db.connect(path)
    assert db.schema_version(con) == db.latest_version() >= 2
    assert [v for v, in con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()] == \
        list(range(1, db.latest_version() + 1))
    assert {t: rows(con, t) for t in KEPT} == before
    assert {"replaced_sessions", "replaced_measurements", "replaced_item_scores"} <= tables(con)
    assert "row_history" not in tables(con)
    con.close()
    # opening again changes nothing more
    again = db.connect(path)
    assert db.scalar(again, "SELECT count(*) FROM schema_version") == db.latest_version()
    assert {t: rows(again, t) for t in KEPT} == before
    again.close()


def test_a_migrated_database_imports_updates_and_undoes_like_a_new_one(tmp_path):
    path = v1_database(tmp_path / "v1.duckdb")
    con = db.connect(path)
    v1_sessions = rows(con, "sessions")
    v1_scores = rows(con, "measurements")
    update = csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9,site\n"
                                "p1,c1,2025-01-13,attended,9,North\n"      # changes a v1 row's score
                                "p1,c1,2025-01-20,attended,7,North\n")     # a new session
    result = ingest_files(con, [update], today=TODAY)[0]
    assert (result.batch_id, result.new_rows, result.updated_rows, result.rejected) == (2, 1, 1, 0)
    assert con.execute("SELECT measure_date, score FROM measurements ORDER BY measure_date").fetchall() == [
        (date(2025, 1, 6), 18), (date(2025, 1, 13), 9), (date(2025, 1, 20), 7)]
    assert db.scalar(con, "SELECT count(*) FROM episodes") == 1

    message = undo_import(con, 2)
    assert "put back 1 earlier version" in message
    assert rows(con, "sessions") == v1_sessions
    assert rows(con, "measurements") == v1_scores
    assert list_imports(con)["undone_at"].notna().tolist() == [False, True]
    # the v1 batch itself can be undone too: its rows go, nothing else is touched
    undo_import(con, 1)
    assert db.scalar(con, "SELECT count(*) FROM sessions") == 0
    assert db.scalar(con, "SELECT count(*) FROM item_scores") == 0
    con.close()


def test_a_failing_migration_leaves_the_database_at_its_version_with_its_rows(tmp_path):
    path = v1_database(tmp_path / "v1.duckdb")
    folder = tmp_path / "migrations"
    folder.mkdir()
    for src in sorted((ROOT / "sql" / "migrations").glob("0*.sql")):
        (folder / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    broken = db.latest_version() + 1
    (folder / f"{broken:03d}_broken.sql").write_text(
        "ALTER TABLE sessions ADD COLUMN note VARCHAR; SELECT * FROM no_such_table;", encoding="utf-8")
    import duckdb

    con = duckdb.connect(str(path))
    before = snapshot(con)
    with pytest.raises(duckdb.Error):
        db.migrate(con, folder)
    assert db.schema_version(con) == 1
    assert snapshot(con) == before
    assert "note" not in {c for c, in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'sessions'").fetchall()}
    con.close()


def test_a_backup_made_by_version_1_restores_into_the_latest_version_with_its_rows(tmp_path):
    import duckdb

    old = duckdb.connect(str(v1_database(tmp_path / "v1.duckdb")))
    before = {t: rows(old, t) for t in KEPT}
    old.execute(f"EXPORT DATABASE '{tmp_path / 'v1_backup'}' (FORMAT parquet)")
    old.close()
    assert restore(tmp_path / "v1_backup", tmp_path / "restored.duckdb").startswith("Restored 2 sessions")
    con = db.connect(tmp_path / "restored.duckdb")
    assert db.schema_version(con) == db.latest_version()
    assert {t: rows(con, t) for t in KEPT} == before
    con.close()


# ---------------------------------------------------------------------------------------------
# backups
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_clinic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    con = db.connect(folder / "clinic.duckdb")
    build_demo(con, DemoConfig(patients=120, clinicians=4, seed=11))
    yield con, folder
    con.close()


def figures(con) -> dict:
    s = Settings()
    return {
        "kpis": outcomes.kpis(con, s),
        "attendance": engagement.attendance_report(con, s),
        "episodes": outcomes.episode_outcomes(con, s).to_dict("records"),
        "imports": list_imports(con).to_dict("records"),
    }


def test_backup_then_restore_gives_identical_figures_on_a_demo_clinic(demo_clinic, tmp_path):
    con, _ = demo_clinic
    assert outcomes.kpis(con, Settings())["episodes"] > 50
    expected = figures(con)
    backup(con, tmp_path / "backup")
    assert restore(tmp_path / "backup", tmp_path / "restored.duckdb").startswith("Restored ")
    restored = db.connect(tmp_path / "restored.duckdb")
    assert figures(restored) == expected
    assert snapshot(restored) == snapshot(con)
    restored.close()


def test_the_backup_and_restore_commands_round_trip_through_the_cli(demo_clinic, tmp_path, capsys):
    con, folder = demo_clinic
    expected = outcomes.kpis(con, Settings())
    source = tmp_path / "copy.duckdb"
    backup(con, tmp_path / "seed")                      # a closed copy the CLI can open
    restore(tmp_path / "seed", source)
    stamp = "2026-11-23"                                # as in: waypoint backup backups/$(date +%F)
    assert cli.main(["backup", str(tmp_path / "backups" / stamp), "--db", str(source)]) == 0
    assert cli.main(["restore", str(tmp_path / "backups" / stamp), "--db", str(tmp_path / "new.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "Backed up" in out and "Restored" in out
    restored = db.connect(tmp_path / "new.duckdb")
    assert outcomes.kpis(restored, Settings()) == expected
    restored.close()
    # a second backup into the same folder is refused, so no earlier backup is overwritten
    assert cli.main(["backup", str(tmp_path / "backups" / stamp), "--db", str(source)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_a_restore_that_fails_part_way_leaves_the_existing_database_untouched(demo_clinic, tmp_path):
    con, _ = demo_clinic
    backup(con, tmp_path / "backup")
    target = tmp_path / "clinic.duckdb"
    existing = db.connect(target)
    ingest_files(existing, [csv_file(tmp_path, "patient_id,clinician_id,session_date,status\n"
                                               "q1,c1,2025-01-06,attended\n")], today=TODAY)
    before = snapshot(existing)
    existing.close()
    damaged = next((tmp_path / "backup").glob("sessions*.parquet"))
    damaged.write_bytes(b"PAR1 this is not parquet any more")
    with pytest.raises(Exception):
        restore(tmp_path / "backup", target, replace=True)
    assert not target.with_name(target.name + ".restoring").exists()
    after = db.connect(target)
    assert snapshot(after) == before
    after.close()


# ---------------------------------------------------------------------------------------------
# uploads
# ---------------------------------------------------------------------------------------------
def test_the_dashboard_limits_uploads_to_a_sensible_size():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    limit = config.get("server", {}).get("maxUploadSize")
    # megabytes: room for years of a large clinic's session log (a million rows is 40-90 MB), small
    # enough that one upload cannot exhaust a small server's memory
    assert isinstance(limit, int) and 50 <= limit <= 1000


def _shape(con, table: str) -> tuple:
    columns = con.execute(f"SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                          f"WHERE table_schema = 'main' AND table_name = '{table}' ORDER BY ordinal_position").fetchall()
    constraints = sorted(con.execute("SELECT constraint_type, constraint_column_names FROM duckdb_constraints() "
                                     "WHERE schema_name = 'main' AND table_name = ?", [table]).fetchall(), key=repr)
    return columns, constraints


def test_a_migrated_database_has_the_same_tables_as_a_new_one(tmp_path):
    migrated = db.connect(v1_database(tmp_path / "v1.duckdb"))
    new = db.connect(tmp_path / "new.duckdb")
    assert tables(migrated) == tables(new)
    for table in sorted(tables(new)):
        assert _shape(migrated, table) == _shape(new, table), table
