"""The command line's patient-level output is in the audit log, as the dashboard's downloads are:
who (cli:<user>), what, how many rows and whose patients. Aggregate figures are not logged."""
from __future__ import annotations

import json

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


def test_the_watch_list_logged_is_the_one_printed(tmp_path, capsys):
    from tests.builders import S, clinic

    path = tmp_path / "clinic.duckdb"
    con = connect(path)
    clinic([S("p1", "2024-01-01", clinician_id="c1", phq9=18), S("p1", "2024-01-08", "no_show", clinician_id="c1"),
            S("p1", "2024-01-15", "no_show", clinician_id="c1"),                   # 2 missed in a row: listed
            S("p2", "2024-01-02", clinician_id="c2", phq9=20), S("p2", "2024-01-16", clinician_id="c2", phq9=12)],
           con=con)
    con.close()
    assert main(["attendance", "--db", str(path), "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["patient_id"] for r in printed["watch_list"]] == ["p1"]
    [(user, logged)] = exports(str(path))
    assert logged == "attendance watch list all clinicians: 1 row(s) (command line, json)"


def test_output_cut_short_by_the_reader_is_still_logged(db, capsys, monkeypatch):
    from analytics import cli

    def reader_went_away(data, fmt):        # `waypoint outcomes | head -2`: the pipe closes mid-output
        raise BrokenPipeError

    monkeypatch.setattr(cli, "emit", reader_went_away)
    assert main(["outcomes", "--format", "json", "--db", db]) == 0
    assert [detail for _, detail in exports(db)] == ["episode outcomes all clinicians: 2 row(s) (command line, json)"]


def test_an_import_from_the_command_line_is_logged_under_the_same_name_as_its_exports(db, tmp_path, capsys):
    from tests.ingest_helpers import HEADER, csv_file

    assert main(["ingest", "--db", db, str(csv_file(tmp_path, f"{HEADER}\np9,c1,2024-02-01,attended,,\n"))]) == 0
    assert main(["outcomes", "--db", db]) == 0
    capsys.readouterr()
    con = connect(db)
    try:
        log = audit.read_log(con)
        users = dict(zip(log["action"], log["user_id"]))
    finally:
        con.close()
    assert users["import"] == users["export"] == audit.cli_user()
