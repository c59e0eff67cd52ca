"""A server killed mid-import: the database is as it was before that file, opens again, and the
same import run again completes with exactly the file's rows.

The import runs as `python -m analytics.cli ingest BIG.csv --db F` in a child process that gets
SIGKILL (no clean-up of any kind can run) at two moments: while it is still reading and checking
the file, and once DuckDB has started writing the file's rows into the database file.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analytics import db
from analytics.demo import DemoConfig, write_csv
from analytics.ingest import ingest_files
from tests.ingest_helpers import csv_file, snapshot

ROOT = Path(__file__).resolve().parent.parent
BIG_PATIENTS = 30_000          # about 240,000 sessions, 20 MB
STARTED_TIMEOUT = 90           # seconds to wait for the child to start writing (a slow CI machine)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


@pytest.fixture(scope="module")
def big_export(tmp_path_factory) -> tuple[Path, int]:
    path = write_csv(DemoConfig(patients=BIG_PATIENTS, clinicians=10, seed=7),
                     tmp_path_factory.mktemp("big") / "big_export.csv")
    with open(path, "rb") as fh:
        rows = sum(1 for _ in fh) - 1
    assert rows > 200_000
    return path, rows


def clinic_with_one_import(folder: Path) -> Path:
    """A database that already holds an earlier import (ids that the demo export never uses)."""
    path = folder / "clinic.duckdb"
    con = db.connect(path)
    ingest_files(con, [csv_file(folder, "patient_id,clinician_id,session_date,status,phq9,phq9_item9\n"
                                        "x1,dr-x,2024-03-04,attended,17,1\n"
                                        "x1,dr-x,2024-03-11,no_show,,\n"
                                        "x2,dr-x,2024-03-05,attended,9,0\n", name="earlier.csv")])
    con.close()
    return path


def state(path: Path) -> dict:
    con = db.connect(path)
    try:
        out = snapshot(con)
        for table in ("imports", "rejected_rows", "replaced_sessions", "replaced_measurements"):
            out[table] = sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
        return out
    finally:
        con.close()


def kill_import(csv: Path, database: Path, *, when: str) -> None:
    """Start the CLI import and SIGKILL it: 'reading' (after half a second, while it reads and
    checks the file) or 'writing' (as soon as the database file grows: rows are being written)."""
    size = database.stat().st_size
    proc = subprocess.Popen([sys.executable, "-m", "analytics.cli", "ingest", str(csv), "--db", str(database)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started = time.monotonic()
    try:
        while time.monotonic() - started < STARTED_TIMEOUT and proc.poll() is None:
            wal = database.with_name(database.name + ".wal")
            writing = database.stat().st_size > size or (wal.exists() and wal.stat().st_size > 0)
            if when == "writing" and writing:
                break
            if when == "reading" and time.monotonic() - started >= 0.5:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the import finished before it could be killed: use a bigger file"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert b"rows" not in out  # it never printed a summary


@pytest.mark.parametrize("when", ["reading", "writing"])
def test_an_import_killed_part_way_leaves_the_database_as_before_and_a_rerun_completes_it(
        tmp_path, big_export, when):
    csv, rows = big_export
    database = clinic_with_one_import(tmp_path)
    before = state(database)

    kill_import(csv, database, when=when)

    assert state(database) == before                     # reopening works, and nothing of the file arrived
    con = db.connect(database)
    try:
        assert db.schema_version(con) == db.latest_version()
        result = ingest_files(con, [csv])[0]
        assert (result.rows_read, result.new_rows, result.rejected) == (rows, rows, 0)
        assert db.scalar(con, "SELECT count(*) FROM sessions") == rows + 3
        assert db.scalar(con, "SELECT count(*) FROM sessions WHERE batch_id = ?", [result.batch_id]) == rows
        assert db.scalar(con, "SELECT count(*) FROM imports") == 2
        earlier = con.execute("SELECT * FROM sessions WHERE patient_id IN ('x1', 'x2')").fetchall()
        assert sorted(earlier, key=repr) == before["sessions"]
    finally:
        con.close()
