"""The work tables of a clinic in a file are kept beside it (``<database>.work``) for the next
process — the next CLI command, a restarted dashboard — and started afresh whenever they could
hold data the clinic no longer has. A work file that cannot be used never stops a figure."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from analytics import backup, outcomes, workcache
from analytics.db import connect
from analytics.ingest import undo_import
from analytics.settings import Settings
from analytics.sqlfiles import sql_dir
from tests.ingest_helpers import csv_file, ingest
from tests.test_workcache import FIRST, HEADER, LATER   # the same small clinic

ROOT = Path(__file__).resolve().parents[1]


def kept_tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                                      [workcache.CATALOG]).fetchall()}


def work_catalog_path(con) -> str | None:
    return con.execute("SELECT path FROM duckdb_databases() WHERE database_name = ?",
                       [workcache.CATALOG]).fetchall()[0][0]


def attended(con) -> int:
    return outcomes.kpis(con, Settings())["attendance"]["attended"]


@pytest.fixture
def clinic(tmp_path) -> Path:
    path = tmp_path / "clinic.duckdb"
    con = connect(path)
    ingest(con, csv_file(tmp_path, HEADER + "\n" + FIRST, "first.csv"))
    con.close()
    return path


def mark(path: Path, expected: int = 4) -> None:
    """Figures built in one process, and a table of our own in the work file: if the file is
    started afresh, the marker goes with it."""
    con = connect(path)
    assert attended(con) == expected
    con.execute(f"CREATE TABLE {workcache.CATALOG}.marker AS SELECT 1 AS x")
    con.close()


def test_the_next_process_finds_the_work_tables_built_and_builds_none(clinic):
    con = connect(clinic)
    first = outcomes.kpis(con, Settings())
    built = kept_tables(con)
    con.close()
    assert workcache.work_path(clinic).is_file()
    script = (
        "import json, sys\n"
        "from analytics import outcomes, workcache\nfrom analytics.db import connect\n"
        "from analytics.settings import Settings\n"
        f"con = connect({str(clinic)!r})\n"
        "kpis = outcomes.kpis(con, Settings())\n"
        "tables = [r[0] for r in con.execute('SELECT table_name FROM duckdb_tables() WHERE database_name = ?', "
        "[workcache.CATALOG]).fetchall()]\n"
        "print(json.dumps({'kpis': kpis, 'tables': tables}, default=str))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    later = json.loads(out.stdout)
    assert set(later["tables"]) == built              # every table was there: nothing built again
    assert later["kpis"] == json.loads(json.dumps(first, default=str))


@pytest.mark.parametrize("change", ["an import", "an undo"])
def test_a_change_to_the_data_starts_the_work_file_afresh(clinic, tmp_path, change):
    con = connect(clinic)
    later = ingest(con, csv_file(tmp_path, HEADER + "\n" + LATER, "later.csv")).batch_id
    con.close()
    mark(clinic, expected=5)
    con = connect(clinic)
    if change == "an import":
        ingest(con, csv_file(tmp_path, HEADER + "\n" + LATER.replace("late_cancel", "attended"), "fixed.csv"))
    else:
        undo_import(con, later)
    con.close()
    con = connect(clinic)
    assert attended(con) == (6 if change == "an import" else 4)
    assert "marker" not in kept_tables(con)           # nothing built from the earlier data is left


def test_figures_after_an_import_in_the_same_process_are_not_kept_for_the_next(clinic, tmp_path):
    """A dashboard shows figures, takes an upload and shows them again: the file then holds both
    versions' tables, and the next process starts it afresh rather than keep the old ones."""
    con = connect(clinic)
    assert attended(con) == 4
    con.execute(f"CREATE TABLE {workcache.CATALOG}.marker AS SELECT 1 AS x")
    ingest(con, csv_file(tmp_path, HEADER + "\n" + LATER, "later.csv"))
    assert attended(con) == 5
    con.close()
    con = connect(clinic)
    assert attended(con) == 5
    assert "marker" not in kept_tables(con)


def test_no_change_keeps_the_work_file(clinic):
    mark(clinic)
    con = connect(clinic)
    assert attended(con) == 4
    assert "marker" in kept_tables(con)


def test_a_work_file_built_by_other_code_is_started_afresh(clinic, monkeypatch):
    """After an upgrade of Waypoint the old code's tables go, rather than stay beside the new
    code's until the next import."""
    mark(clinic)
    monkeypatch.setattr(workcache, "code_version", lambda: "another version of Waypoint")
    con = connect(clinic)
    assert attended(con) == 4
    assert "marker" not in kept_tables(con)
    con.close()
    mark(clinic)                                      # and the new code keeps what it built
    con = connect(clinic)
    assert attended(con) == 4
    assert "marker" in kept_tables(con)


def test_the_code_version_changes_with_any_query(tmp_path, monkeypatch):
    shutil.copytree(sql_dir(), tmp_path / "sql")
    monkeypatch.setattr(workcache, "sql_dir", lambda: tmp_path / "sql")
    before = workcache.code_version.__wrapped__()
    assert workcache.code_version.__wrapped__() == before
    query = tmp_path / "sql" / "episodes" / "w_scores.sql"
    query.write_text(query.read_text() + "\n-- changed\n")
    assert workcache.code_version.__wrapped__() != before


def test_a_damaged_work_file_is_replaced(clinic):
    workcache.work_path(clinic).write_bytes(b"these are not the work tables" * 100)
    con = connect(clinic)
    assert attended(con) == 4
    assert work_catalog_path(con) == str(workcache.work_path(clinic))
    con.close()
    mark(clinic)                                      # and it is a working DuckDB file now


def test_a_work_file_that_cannot_be_made_leaves_the_work_tables_in_memory(clinic):
    workcache.work_path(clinic).mkdir()               # a folder where the file would go
    con = connect(clinic)
    assert attended(con) == 4
    assert attended(con) == 4
    assert work_catalog_path(con) in (None, "", ":memory:")
    assert workcache.work_path(clinic).is_dir()      # not ours to remove


def test_a_second_reader_of_the_clinic_works_in_memory(clinic):
    """Two read-only readers may hold the clinic at once; the first keeps the work file, the
    second (another process) cannot share it and works in memory."""
    reader = connect(clinic, read_only=True)
    assert attended(reader) == 4
    assert work_catalog_path(reader) == str(workcache.work_path(clinic))
    script = (
        "from analytics import outcomes, workcache\nfrom analytics.db import connect\n"
        "from analytics.settings import Settings\n"
        f"con = connect({str(clinic)!r}, read_only=True)\n"
        "print(outcomes.kpis(con, Settings())['attendance']['attended'])\n"
        "print(con.execute('SELECT path FROM duckdb_databases() WHERE database_name = ?', "
        "[workcache.CATALOG]).fetchall()[0][0])\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    count, where = out.stdout.split("\n")[:2]
    assert count == "4"
    assert where != str(workcache.work_path(clinic))


def test_an_in_memory_clinic_writes_no_work_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    con = connect(":memory:")
    ingest(con, csv_file(tmp_path, HEADER + "\n" + FIRST))
    assert attended(con) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_the_work_file_has_the_clinic_files_permissions(clinic):
    clinic.chmod(0o600)
    con = connect(clinic)
    assert attended(con) == 4
    assert stat.S_IMODE(workcache.work_path(clinic).stat().st_mode) == 0o600


def test_a_backup_leaves_the_work_tables_out(clinic, tmp_path):
    con = connect(clinic)
    assert attended(con) == 4
    backup.backup(con, tmp_path / "backup")
    exported = " ".join(p.read_text() for p in (tmp_path / "backup").glob("*.sql"))
    assert "sessions" in exported
    assert workcache.CATALOG not in exported and "w_sessions" not in exported
