"""The command line's patient-level output is in the audit log, as the dashboard's downloads are:
who (cli:<user>), what, how many rows and whose patients. Aggregate figures are not logged."""
from __future__ import annotations

import pytest

from analytics import audit
from analytics.cli import main
from analytics.db import connect
from tests.builders import two_clinicians


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "clinic.duckdb"
    two_clinicians(path)
    return str(path)


def exports(db: str) -> list[tuple[str, str]]:
    con = connect(db)
    try:
        log = audit.read_log(con, action="export")
        return list(zip(log["user_id"], log["detail"]))
    finally:
        con.close()


@pytest.mark.parametrize("argv, detail", [
    (["outcomes", "--format", "csv"], "episode outcomes all clinicians: 2 row(s) (command line, csv)"),
    (["outcomes", "--clinician", "c1", "--format", "json"], "episode outcomes clinician c1: 1 row(s) (command line, json)"),
    (["readiness", "--format", "json"], "readiness all clinicians: 2 row(s) (command line, json)"),
    (["readiness", "--clinician", "c2"], "readiness clinician c2: 1 row(s) (command line, table)"),
    (["attendance", "--format", "json"], "attendance watch list all clinicians: 0 row(s) (command line, json)"),
])
def test_output_that_names_patients_is_logged_with_who_what_and_whose(db, capsys, argv, detail):
    assert main([*argv, "--db", db]) == 0
    capsys.readouterr()
    [(user, logged)] = exports(db)
    assert user.startswith("cli:") and logged == detail


@pytest.mark.parametrize("argv", [["kpis", "--format", "json"], ["attendance"]])
def test_output_without_patients_is_not_logged(db, capsys, argv):
    # kpis are clinic figures; the attendance table gives the watch list's length, not its names
    assert main([*argv, "--db", db]) == 0
    capsys.readouterr()
    assert exports(db) == []

