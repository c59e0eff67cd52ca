"""Mistakes at the command line get one line saying what is wrong and exit status 2, never the
zeros of an empty clinic or an "unexpected error": a mistyped --db, --clinician or --config, a
range given backwards, a batch that does not exist, a damaged backup."""
from __future__ import annotations

from pathlib import Path

import pytest

from analytics import cli
from analytics.db import connect
from analytics.ingest import ingest_files
from tests.ingest_helpers import HEADER, TODAY, csv_file


@pytest.fixture
def clinic(tmp_path) -> Path:
    db = tmp_path / "clinic.duckdb"
    con = connect(db)
    ingest_files(con, [csv_file(tmp_path, f"{HEADER}\np1,c01,2025-01-06,attended,18,12\n"
                                          "p2,c02,2025-01-07,attended,9,3\n")], today=TODAY)
    con.close()
    return db


def _error(argv, capsys) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("command", ["kpis", "outcomes", "attendance", "readiness", "imports", "audit", "backup"])
def test_a_database_that_does_not_exist_is_named_not_created(command, tmp_path, capsys):
    missing = tmp_path / "typo" / "clinc.duckdb"
    argv = [command, "--db", str(missing)] + ([str(tmp_path / "bk")] if command == "backup" else [])
    assert f"there is no clinic database at {missing} (--db)" in _error(argv, capsys)
    assert not missing.exists() and not missing.parent.exists()


def test_ingest_still_makes_a_new_database(tmp_path):
    db = tmp_path / "new" / "clinic.duckdb"
    assert cli.main(["ingest", "--db", str(db), str(csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,,\n"))]) == 0
    assert db.exists()


@pytest.mark.parametrize("command", ["kpis", "outcomes", "readiness"])
def test_a_clinician_id_in_the_wrong_case_is_refused_with_the_right_one(command, clinic, capsys):
    assert "no clinician 'C01' in this database; did you mean c01?" in _error(
        [command, "--db", str(clinic), "--clinician", "C01"], capsys)


def test_an_unknown_clinician_is_refused_naming_the_clinicians_there_are(clinic, capsys):
    assert "no clinician 'c99' in this database; the database has 2 clinician(s): c01, c02." in _error(
        ["kpis", "--db", str(clinic), "--clinician", "c99"], capsys)


def test_a_range_given_backwards_is_refused(clinic, capsys):
    assert "--from 2025-12-31 is after --to 2025-01-01" in _error(
        ["kpis", "--db", str(clinic), "--from", "2025-12-31", "--to", "2025-01-01"], capsys)


def test_the_rejected_rows_of_a_batch_that_does_not_exist_are_refused(clinic, capsys):
    assert "there is no import batch 99" in _error(["imports", "--db", str(clinic), "--rejected", "99"], capsys)


def test_a_missing_clinic_config_is_named(clinic, tmp_path, capsys):
    assert f"the clinic config {tmp_path / 'nope.toml'} (--config) does not exist" in _error(
        ["kpis", "--db", str(clinic), "--config", str(tmp_path / "nope.toml")], capsys)


@pytest.mark.parametrize("text, expected", [
    ("[settings]\nlost_contact_dayz = 60\n", "[settings] has unknown setting(s) lost_contact_dayz"),
    ("[settings\n", "not valid TOML"),
])
def test_a_clinic_config_with_a_mistake_is_one_line_not_an_unexpected_error(text, expected, clinic, tmp_path, capsys):
    config = tmp_path / "clinic.toml"
    config.write_text(text)
    err = _error(["kpis", "--db", str(clinic), "--config", str(config)], capsys)
    assert expected in err and "unexpected" not in err


def test_a_damaged_backup_is_refused_and_the_target_left_alone(clinic, tmp_path, capsys):
    folder = tmp_path / "backup"
    assert cli.main(["backup", "--db", str(clinic), str(folder)]) == 0
    (folder / "sessions.parquet").unlink()
    target = tmp_path / "restored.duckdb"
    err = _error(["restore", str(folder), "--db", str(target)], capsys)
    assert f"{folder}: the backup cannot be read" in err and "nothing was restored" in err
    assert not target.exists()


def test_the_import_log_shows_a_dash_not_nan_for_a_batch_never_undone(clinic, tmp_path, capsys):
    assert cli.main(["ingest", "--db", str(clinic), str(csv_file(tmp_path, f"{HEADER}\np3,c01,2025-01-08,attended,,\n",
                                                                 "second.csv"))]) == 0
    assert cli.main(["undo-import", "--db", str(clinic), "2"]) == 0
    capsys.readouterr()
    assert cli.main(["imports", "--db", str(clinic)]) == 0
    table = capsys.readouterr().out
    assert "NaN" not in table and "—" in table


def test_a_dry_run_into_a_database_that_does_not_exist_makes_no_file(tmp_path, capsys):
    db = tmp_path / "new.duckdb"
    export = csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,,\n")
    assert cli.main(["ingest", "--db", str(db), "--dry-run", str(export)]) == 0
    assert "1 new" in capsys.readouterr().out and not db.exists()
