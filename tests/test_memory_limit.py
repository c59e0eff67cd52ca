"""Figures and imports run under a memory limit (DuckDB spills beyond it; the keys an import writes
have no index, whose entries could not spill), and an import leaves the limit as it found it, also
when it fails."""
from __future__ import annotations

import duckdb
import pytest

from analytics import db
from analytics.errors import WaypointError
from analytics.ingest import ingest_files
from tests.ingest_helpers import TODAY, csv_file


def limit(con) -> str:
    return db.scalar(con, "SELECT current_setting('memory_limit')")


def duckdb_shows(value: str) -> str:
    plain = duckdb.connect()
    plain.execute(f"SET memory_limit = '{value}'")
    return limit(plain)


def test_figures_run_under_three_gigabytes_by_default(monkeypatch):
    monkeypatch.delenv(db.MEMORY_LIMIT_ENV, raising=False)
    assert limit(db.connect(":memory:")) == duckdb_shows("3GB")


def test_the_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(db.MEMORY_LIMIT_ENV, "512MB")
    assert limit(db.connect(":memory:")) == duckdb_shows("512MB")


@pytest.mark.parametrize("value", ["lots", "3", "-1GB", "3GB; DROP TABLE sessions"])
def test_a_limit_that_is_not_a_size_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(db.MEMORY_LIMIT_ENV, value)
    with pytest.raises(WaypointError, match=rf"{db.MEMORY_LIMIT_ENV}=.*expected a number and a unit, e.g. 3GB"):
        db.connect(":memory:")


def test_an_import_runs_under_the_limit(monkeypatch, tmp_path):
    from analytics import ingest

    monkeypatch.setenv(db.MEMORY_LIMIT_ENV, "512MB")
    con = db.connect(":memory:")
    during = []
    real = ingest._write
    monkeypatch.setattr(ingest, "_write", lambda c, kind, batch: (during.append(limit(c)), real(c, kind, batch)))
    ingest_files(con, [csv_file(tmp_path, "patient_id,clinician_id,session_date,status\np1,c1,2025-01-06,attended\n")],
                 today=TODAY)
    assert during == [duckdb_shows("512MB")]


def test_a_failed_import_puts_the_limit_back(monkeypatch, tmp_path):
    monkeypatch.setenv(db.MEMORY_LIMIT_ENV, "512MB")
    con = db.connect(":memory:")
    # fails inside the import's transaction: day and month cannot be told apart
    ambiguous = csv_file(tmp_path, "patient_id,clinician_id,session_date,status\n"
                                   "p1,c1,01/02/2025,attended\np1,c1,03/04/2025,attended\n")
    with pytest.raises(WaypointError, match="could be"):
        ingest_files(con, [ambiguous], today=TODAY)
    assert limit(con) == duckdb_shows("512MB")


def test_an_import_puts_the_limit_back(monkeypatch, tmp_path):
    monkeypatch.setenv(db.MEMORY_LIMIT_ENV, "512MB")
    con = db.connect(":memory:")
    ingest_files(con, [csv_file(tmp_path, "patient_id,clinician_id,session_date,status\np1,c1,2025-01-06,attended\n")],
                 today=TODAY)
    assert limit(con) == duckdb_shows("512MB")
