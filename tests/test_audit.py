"""The audit log: who viewed which patient, who exported what, who imported or undid which batch,
and when; `waypoint audit` reads it."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from analytics import audit
from analytics.cli import main
from analytics.db import connect
from tests.ingest_helpers import HEADER, csv_file, ingest

T = datetime(2025, 6, 1, 9, 30)


def test_views_and_exports_are_recorded_with_who_what_and_when():
    con = connect(":memory:")
    audit.record(con, user="anna@clinic.example", role="clinician", action="view_patient", patient_id="P7", when=T)
    audit.record(con, user="dir@clinic.example", role="director", action="export", detail="Recovery by clinician",
                 when=datetime(2025, 6, 1, 10, 0))
    log = audit.read_log(con)
    assert list(log.columns) == audit.COLUMNS
    assert log.to_dict("records")[0] | {"batch_id": None} == {
        "logged_at": datetime(2025, 6, 1, 10, 0), "user_id": "dir@clinic.example", "role": "director",
        "action": "export", "patient_id": None, "batch_id": None, "detail": "Recovery by clinician"}
    assert log.loc[1, ["user_id", "action", "patient_id"]].tolist() == ["anna@clinic.example", "view_patient", "P7"]
    assert list(audit.read_log(con, patient_id="P7")["user_id"]) == ["anna@clinic.example"]
    assert list(audit.read_log(con, since=date(2025, 6, 2))["user_id"]) == []


def test_an_unknown_action_is_refused():
    con = connect(":memory:")
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(con, user="x", action="delete_everything")


def test_an_import_and_its_undo_appear_with_batch_and_user(tmp_path):
    db = str(tmp_path / "clinic.duckdb")
    con = connect(db)
    ingest(con, csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,12,9\n"), imported_by="admin@clinic.example")
    con.close()
    assert main(["undo-import", "1", "--db", db]) == 0
    con = connect(db)
    log = audit.read_log(con)
    assert list(log["action"]) == ["undo", "import"]
    assert log.loc[0, "batch_id"] == 1 and log.loc[0, "user_id"].startswith("cli:")
    assert log.loc[1, "batch_id"] == 1 and log.loc[1, "user_id"] == "admin@clinic.example"
    assert log.loc[1, "detail"].startswith("export.csv (1 new")
    con.close()


def test_waypoint_audit_lists_the_log_as_json_filtered(tmp_path, capsys):
    db = str(tmp_path / "clinic.duckdb")
    con = connect(db)
    audit.record(con, user="anna@clinic.example", role="clinician", action="view_patient", patient_id="P7", when=T)
    audit.record(con, user="ben@clinic.example", role="clinician", action="view_patient", patient_id="P8", when=T)
    con.close()
    assert main(["audit", "--db", db, "--user", "ben@clinic.example", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["user_id"], r["action"], r["patient_id"]) for r in rows] == [("ben@clinic.example", "view_patient", "P8")]
    assert rows[0]["logged_at"].startswith("2025-06-01T09:30")


def test_waypoint_audit_csv_neutralises_formulas(tmp_path, capsys):
    db = str(tmp_path / "clinic.duckdb")
    con = connect(db)
    audit.record(con, user="x@clinic.example", action="export", detail="=HYPERLINK(\"http://evil\")", when=T)
    con.close()
    assert main(["audit", "--db", db, "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "'=HYPERLINK" in out and ",=HYPERLINK" not in out
