"""A later export that leaves out a score column says nothing about that scale: the scores stored
for it stay, and a row whose other values are as before is unchanged. A column that is there but
blank does say there is no score, and an update removes it."""
from __future__ import annotations

from analytics.ingest import undo_import
from tests.ingest_helpers import HEADER, csv_file, fresh, ingest, scores, snapshot

FIRST = (f"{HEADER}\n"
         "p1,c1,2025-01-06,attended,18,12\n"
         "p1,c1,2025-01-13,attended,15,10\n")


def _items(con) -> list[tuple]:
    return con.execute("SELECT measurement_key, item, score FROM item_scores ORDER BY ALL").fetchall()


def test_an_export_without_the_gad7_column_keeps_the_stored_gad7_scores_and_changes_nothing(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, FIRST, "first.csv"))
    before = snapshot(con)
    result = ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9\n"
                                            "p1,c1,2025-01-06,attended,18\n"
                                            "p1,c1,2025-01-13,attended,15\n", "phq9_only.csv"))
    assert (result.new_rows, result.updated_rows, result.unchanged) == (0, 0, 2)
    assert snapshot(con) == before


def test_an_export_with_no_score_columns_at_all_keeps_every_stored_score(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, FIRST, "first.csv"))
    before = snapshot(con)
    result = ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status\n"
                                            "p1,c1,2025-01-06,attended\n"
                                            "p1,c1,2025-01-13,attended\n", "attendance_only.csv"))
    assert (result.updated_rows, result.unchanged) == (0, 2)
    assert snapshot(con) == before


def test_a_changed_phq9_in_an_export_without_gad7_updates_phq9_and_keeps_gad7(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, FIRST, "first.csv"))
    result = ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9\n"
                                            "p1,c1,2025-01-06,attended,18\n"
                                            "p1,c1,2025-01-13,attended,14\n", "phq9_only.csv"))
    assert (result.updated_rows, result.unchanged) == (1, 1)
    assert scores(con) == [("p1", "2025-01-06", "gad7", 12), ("p1", "2025-01-06", "phq9", 18),
                           ("p1", "2025-01-13", "gad7", 10), ("p1", "2025-01-13", "phq9", 14)]
    # the full export again, as first imported: only the changed PHQ-9 differs from what is stored
    again = ingest(con, csv_file(tmp_path, FIRST, "first_again.csv"))
    assert (again.updated_rows, again.unchanged) == (1, 1)
    assert ("p1", "2025-01-13", "phq9", 15) in scores(con)


def test_a_blank_cell_in_a_column_the_file_has_still_removes_that_score(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, FIRST, "first.csv"))
    result = ingest(con, csv_file(tmp_path, f"{HEADER}\n"
                                            "p1,c1,2025-01-06,attended,18,\n"
                                            "p1,c1,2025-01-13,attended,15,10\n", "blank.csv"))
    assert (result.updated_rows, result.unchanged) == (1, 1)
    assert ("p1", "2025-01-06", "gad7", 12) not in scores(con)


def test_undoing_an_export_without_gad7_puts_back_the_phq9_it_replaced_and_leaves_gad7(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, FIRST, "first.csv"))
    before = snapshot(con)
    result = ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9\n"
                                            "p1,c1,2025-01-13,attended,14\n", "phq9_only.csv"))
    assert result.updated_rows == 1
    undo_import(con, result.batch_id)
    assert snapshot(con) == before


def test_item_scores_in_columns_the_later_export_lacks_are_kept(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9,phq9_item9\n"
                                   "p1,c1,2025-01-06,attended,18,2\n", "items.csv"))
    kept = _items(con)
    assert kept == [("p1|c1|2025-01-06||phq9", 9, 2)]
    totals_only = ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9\n"
                                                 "p1,c1,2025-01-06,attended,17\n", "totals.csv"))
    assert totals_only.updated_rows == 1
    assert _items(con) == kept
    assert scores(con) == [("p1", "2025-01-06", "phq9", 17)]
    # an export that has the item column, blank, does remove it
    ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9,phq9_item9\n"
                                   "p1,c1,2025-01-06,attended,17,\n", "blank_item.csv"))
    assert _items(con) == []
