"""Duplicates, conflicts, re-import, cumulative exports, undo, and all-or-nothing files."""
from __future__ import annotations

import pytest

from analytics import ingest as ingest_module
from analytics.cli import main
from analytics.db import connect
from analytics.ingest import ingest_files, list_imports, undo_import
from tests.ingest_helpers import HEADER, TODAY, csv_file, fresh, ingest, rejects, scores, sessions, snapshot

FIRST = (f"{HEADER}\n"
         "p1,c1,2025-01-06,attended,18,12\n"
         "p1,c1,2025-01-13,attended,15,10\n"
         "p2,c2,2025-01-07,no_show,,\n")
# A later, cumulative export: one row changed (score 15 -> 14), one new row, the rest as before.
SECOND = (f"{HEADER}\n"
          "p1,c1,2025-01-06,attended,18,12\n"
          "p1,c1,2025-01-13,attended,14,10\n"
          "p2,c2,2025-01-07,no_show,,\n"
          "p2,c2,2025-01-14,attended,9,6\n")


def test_exact_duplicate_rows_import_once_and_are_counted(tmp_path):
    text = f"{HEADER}\np1,c1,2025-01-06,attended,18,12\np1,c1,2025-01-06,attended,18,12\np1,c1,2025-01-13,attended,15,10\n"
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert (result.rows_read, result.new_rows, result.duplicates, result.rejected) == (3, 2, 1, 0)
    assert len(sessions(con)) == 2


def test_same_key_with_different_values_rejects_both_rows_as_a_conflict(tmp_path):
    text = f"{HEADER}\np1,c1,2025-01-06,attended,18,12\np1,c1,2025-01-13,attended,15,10\np1,c1,2025-01-06,attended,17,12\n"
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert (result.new_rows, result.rejected) == (1, 2)
    assert rejects(con, result.batch_id) == [
        (2, "conflicts with line 4: same patient, clinician, date and time but different values"),
        (4, "conflicts with line 2: same patient, clinician, date and time but different values")]
    assert sessions(con) == [("p1", "c1", "2025-01-13", "attended")]


def test_a_session_time_makes_two_sessions_on_one_day_distinct(tmp_path):
    text = ("patient_id,clinician_id,session_date,session_time,status\n"
            "p1,c1,2025-01-06,09:00,attended\np1,c1,2025-01-06,14:00,no_show\n")
    con = fresh()
    assert ingest(con, csv_file(tmp_path, text)).new_rows == 2


def test_importing_the_same_file_again_changes_nothing(tmp_path):
    con = fresh()
    path = csv_file(tmp_path, FIRST)
    ingest(con, path)
    before = snapshot(con)
    again = ingest(con, path)
    assert (again.new_rows, again.updated_rows, again.unchanged, again.rejected) == (0, 0, 3, 0)
    assert snapshot(con) == before


def test_a_cumulative_export_adds_what_is_new_and_updates_what_changed(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, FIRST, "jan.csv"))
    result = ingest(con, csv_file(tmp_path, SECOND, "feb.csv"))
    assert (result.new_rows, result.updated_rows, result.unchanged) == (1, 1, 2)
    assert scores(con) == [("p1", "2025-01-06", "gad7", 12), ("p1", "2025-01-06", "phq9", 18),
                           ("p1", "2025-01-13", "gad7", 10), ("p1", "2025-01-13", "phq9", 14),
                           ("p2", "2025-01-14", "gad7", 6), ("p2", "2025-01-14", "phq9", 9)]
    log = list_imports(con)
    assert log[["file_name", "new_rows", "updated_rows", "unchanged"]].values.tolist() == [
        ["jan.csv", 3, 0, 0], ["feb.csv", 1, 1, 2]]


def test_undo_takes_back_what_a_batch_added_and_restores_what_it_changed(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, FIRST, "jan.csv"))
    after_first = snapshot(con)
    second = ingest(con, csv_file(tmp_path, SECOND, "feb.csv"))
    message = undo_import(con, second.batch_id)
    assert message == ("Undid batch 2 (feb.csv): took back 2 session(s) it wrote, and put back 1 earlier "
                       "version(s) it had replaced.")
    assert snapshot(con) == after_first
    assert list_imports(con)["undone_at"].notna().tolist() == [False, True]


def test_undo_of_an_earlier_batch_keeps_a_later_batchs_values(tmp_path):
    con = fresh()
    first = ingest(con, csv_file(tmp_path, FIRST, "jan.csv"))
    ingest(con, csv_file(tmp_path, SECOND, "feb.csv"))
    undo_import(con, first.batch_id)
    # The row feb.csv changed keeps feb's values; the rows only jan.csv wrote are gone.
    assert sessions(con) == [("p1", "c1", "2025-01-13", "attended"), ("p2", "c2", "2025-01-14", "attended")]
    assert ("p1", "2025-01-13", "phq9", 14) in scores(con)


def test_undo_twice_or_of_an_unknown_batch_is_refused(tmp_path):
    from analytics.errors import WaypointError

    con = fresh()
    batch = ingest(con, csv_file(tmp_path, FIRST)).batch_id
    undo_import(con, batch)
    with pytest.raises(WaypointError, match="batch 1 .* was already undone"):
        undo_import(con, batch)
    with pytest.raises(WaypointError, match="there is no import batch 9"):
        undo_import(con, 9)


def test_a_failure_mid_file_leaves_the_database_exactly_as_before(tmp_path, monkeypatch):
    con = fresh()
    ingest(con, csv_file(tmp_path, FIRST, "jan.csv"))
    before = snapshot(con)
    log_before = list_imports(con)
    real = ingest_module.assign_episodes

    def crash(*args, **kwargs):  # after the rows are written, before the file's transaction ends
        raise RuntimeError("power cut")

    monkeypatch.setattr(ingest_module, "assign_episodes", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        ingest(con, csv_file(tmp_path, SECOND, "feb.csv"))
    assert snapshot(con) == before
    assert list_imports(con).equals(log_before)
    monkeypatch.setattr(ingest_module, "assign_episodes", real)
    assert ingest(con, csv_file(tmp_path, SECOND, "feb.csv")).new_rows == 1


def test_dry_run_reports_and_writes_nothing(tmp_path):
    con = fresh()
    result = ingest_files(con, [csv_file(tmp_path, FIRST)], dry_run=True, today=TODAY)[0]
    assert (result.new_rows, result.dry_run, result.batch_id) == (3, True, None)
    assert snapshot(con)["sessions"] == [] and len(list_imports(con)) == 0


def test_each_file_is_its_own_transaction(tmp_path):
    con = fresh()
    good = csv_file(tmp_path, FIRST, "good.csv")
    bad = csv_file(tmp_path, f"{HEADER}\np1,c1,03/04/2025,attended,1,1\n", "bad.csv")
    from analytics.errors import WaypointError
    with pytest.raises(WaypointError, match=r"(?s)bad.csv: .*\(Already imported: good.csv.\)"):
        ingest_files(con, [good, bad], today=TODAY)
    assert len(sessions(con)) == 3


def test_episodes_are_assigned_on_import(tmp_path):
    text = f"{HEADER}\np1,c1,2024-01-01,attended,18,12\np1,c1,2024-01-08,attended,15,10\np1,c1,2024-09-01,attended,12,9\n"
    con = fresh()
    ingest(con, csv_file(tmp_path, text))
    assert con.execute("SELECT patient_id, start_date::VARCHAR, last_date::VARCHAR FROM episodes ORDER BY start_date"
                       ).fetchall() == [("p1", "2024-01-01", "2024-01-08"), ("p1", "2024-09-01", "2024-09-01")]


# --- the command line: exit status 0 when the file imported, 2 when it could not be read -------
def test_cli_exit_zero_with_rejected_rows_and_a_summary(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    path = csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,31,9\np1,c1,2025-01-13,attended,12,9\n")
    assert main(["ingest", str(path), "--db", str(db), "--rejects", str(tmp_path / "r.csv")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == [
        "export.csv: read 2 rows — 1 new, 0 updated, 0 unchanged, 0 duplicates, 1 rejected (batch 1)",
        "  line 2: PHQ-9 31 is outside 0–27"]
    assert (tmp_path / "r.csv").exists()


@pytest.mark.parametrize("content, fragment", [
    (AMBIGUOUS := f"{HEADER}\np1,c1,03/04/2025,attended,12,9\n", "could be DD/MM/YYYY or MM/DD/YYYY"),
    ("Name,Date,Status\nx,2025-01-06,attended\n", "no patient ID column"),
    ("\x00\x01binary", "binary file"),
])
def test_cli_exit_two_with_one_clear_line_when_the_file_cannot_be_read(tmp_path, capsys, content, fragment):
    db = tmp_path / "w.duckdb"
    path = csv_file(tmp_path, content)
    assert main(["ingest", str(path), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: export.csv: ") and fragment in err and err.count("\n") == 1
    assert "Traceback" not in err
    assert connect(str(db)).execute("SELECT count(*) FROM sessions").fetchall() == [(0,)]


def test_cli_missing_file_exits_two(tmp_path, capsys):
    assert main(["ingest", str(tmp_path / "nope.csv"), "--db", str(tmp_path / "w.duckdb")]) == 2
    assert "nope.csv: file not found." in capsys.readouterr().err


def test_cli_imports_and_undo(tmp_path, capsys):
    db = str(tmp_path / "w.duckdb")
    main(["ingest", str(csv_file(tmp_path, FIRST)), "--db", db])
    capsys.readouterr()
    assert main(["imports", "--db", db, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("1,export.csv,sessions,3,3,0,0,0,0,")
    assert main(["undo-import", "1", "--db", db]) == 0
    assert "Undid batch 1 (export.csv): took back 3 session(s) it wrote." in capsys.readouterr().out
    assert main(["undo-import", "1", "--db", db]) == 2


def test_row_hashes_are_those_earlier_versions_stored(tmp_path):
    # A re-import finds unchanged rows by the hash stored when they were first imported, so the
    # hash of a row must not change from one version of Waypoint to the next: these are the values
    # Waypoint stored before the session classification was rewritten for large files.
    text = ("patient_id,clinician_id,session_date,session_time,status,modality,phq9,gad7,phq9_item9\n"
            "p1,c1,2025-01-06,09:30,attended,video,18,12,2\n"
            "p1,c1,2025-01-13,,attended,,15,,\n"
            "p2,c2,2025-01-07,,no_show,,,,\n")
    con = fresh()
    ingest(con, csv_file(tmp_path, text))
    assert con.execute("SELECT session_key, row_hash FROM sessions ORDER BY session_key").fetchall() == [
        ("p1|c1|2025-01-06|09:30", "30aa070751600392c90e77e40c22cb74"),
        ("p1|c1|2025-01-13|", "1b8e2e2be63e01a3a5d171929c3993a6"),
        ("p2|c2|2025-01-07|", "f6c0d26898d196fc592ef28c28f3a8df"),
    ]
    again = ingest(con, csv_file(tmp_path, text, name="again.csv"))
    assert (again.new_rows, again.updated_rows, again.unchanged) == (0, 0, 3)


@pytest.mark.parametrize("later", [
    ["p1,c1,2025-01-13,attended,12,10\n", "p1,c1,2025-01-13,attended,11,10\n"],
    # later exports without the GAD-7 column
    ["p1,c1,2025-01-13,attended,12\n", "p1,c1,2025-01-13,attended,11\n"],
])
def test_undoing_batches_out_of_order_brings_back_what_was_there_before_them(tmp_path, later):
    con = fresh()
    ingest(con, csv_file(tmp_path, FIRST, "first.csv"))
    before = snapshot(con)
    header = HEADER if later[0].count(",") == 5 else "patient_id,clinician_id,session_date,status,phq9"
    second = ingest(con, csv_file(tmp_path, f"{header}\n{later[0]}", "second.csv"))
    third = ingest(con, csv_file(tmp_path, f"{header}\n{later[1]}", "third.csv"))
    undo_import(con, second.batch_id)              # the earlier one first: the third's values stay
    assert ("p1", "2025-01-13", "phq9", 11) in scores(con)
    undo_import(con, third.batch_id)
    assert snapshot(con) == before


def test_undoing_measurement_batches_out_of_order_brings_back_the_first_score(tmp_path):
    con = fresh()
    long = "patient_id,date,measure,score\np1,2025-01-06,PHQ-9,{}\n"
    ingest(con, csv_file(tmp_path, long.format(18), "m1.csv"))
    before = snapshot(con)
    second = ingest(con, csv_file(tmp_path, long.format(12), "m2.csv"))
    third = ingest(con, csv_file(tmp_path, long.format(10), "m3.csv"))
    undo_import(con, second.batch_id)
    undo_import(con, third.batch_id)
    assert snapshot(con) == before
