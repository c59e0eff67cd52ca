"""A session's key includes its time when the export gives one. An export that leaves the time
out no longer stores each session again: a row without a time is the one stored session of that
patient, clinician and day that has a time. An export that adds times is set aside with what to do."""
from __future__ import annotations

from analytics.ingest import undo_import
from tests.ingest_helpers import csv_file, fresh, ingest, rejects, scores, snapshot

WITH_TIME = ("patient_id,clinician_id,session_date,session_time,status,phq9\n"
             "p1,c1,2025-01-06,10:00,attended,18\n"
             "p1,c1,2025-01-13,10:00,attended,15\n")
WITHOUT_TIME = ("patient_id,clinician_id,session_date,status,phq9\n"
                "p1,c1,2025-01-06,attended,18\n"
                "p1,c1,2025-01-13,attended,14\n")


def _sessions(con):
    return con.execute("SELECT session_key, CAST(session_time AS VARCHAR) FROM sessions ORDER BY 1").fetchall()


def test_an_export_without_times_matches_the_sessions_stored_with_times(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, WITH_TIME, "with.csv"))
    result = ingest(con, csv_file(tmp_path, WITHOUT_TIME, "without.csv"))
    assert (result.new_rows, result.updated_rows, result.unchanged, result.rejected) == (0, 1, 1, 0)
    assert _sessions(con) == [("p1|c1|2025-01-06|10:00", "10:00:00"), ("p1|c1|2025-01-13|10:00", "10:00:00")]
    assert ("p1", "2025-01-13", "phq9", 14) in scores(con)


def test_undoing_the_export_without_times_puts_back_what_it_changed(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, WITH_TIME, "with.csv"))
    before = snapshot(con)
    result = ingest(con, csv_file(tmp_path, WITHOUT_TIME, "without.csv"))
    undo_import(con, result.batch_id)
    assert snapshot(con) == before


def test_two_sessions_on_one_day_are_not_guessed_between(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,session_time,status,phq9\n"
                                   "p1,c1,2025-01-06,10:00,attended,18\n"
                                   "p1,c1,2025-01-06,15:00,no_show,\n", "two.csv"))
    result = ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9\n"
                                            "p1,c1,2025-01-06,attended,18\n", "one.csv"))
    assert (result.new_rows, result.rejected) == (0, 1)
    assert rejects(con, result.batch_id) == [(2, "no session time, and 2 sessions are stored for this patient, "
                                                 "clinician and day (at 10:00, 15:00): which one this is cannot "
                                                 "be told. Give the time")]
    assert len(_sessions(con)) == 2


def test_an_export_that_adds_times_is_set_aside_with_what_to_do_not_stored_twice(tmp_path):
    con = fresh()
    first = ingest(con, csv_file(tmp_path, WITHOUT_TIME, "without.csv"))
    result = ingest(con, csv_file(tmp_path, WITH_TIME, "with.csv"))
    assert (result.new_rows, result.rejected) == (0, 2)
    assert rejects(con, result.batch_id)[0] == (
        2, f"this session is stored without a time (batch {first.batch_id}), and this file gives 10:00: a file "
           f"that adds times cannot be matched to it. Undo batch {first.batch_id} and import this file again, "
           "or leave the time column out")
    assert len(_sessions(con)) == 2
    undo_import(con, first.batch_id)
    assert ingest(con, csv_file(tmp_path, WITH_TIME, "with_again.csv")).new_rows == 2


def test_a_time_written_in_the_date_column_tells_two_sessions_of_one_day_apart(tmp_path):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9\n"
                                            "p1,c1,2025-01-06T10:00:00,attended,18\n"
                                            "p1,c1,2025-01-06 14:30,no_show,\n"))
    assert (result.new_rows, result.rejected) == (2, 0)
    assert _sessions(con) == [("p1|c1|2025-01-06|10:00", "10:00:00"), ("p1|c1|2025-01-06|14:30", "14:30:00")]


def test_midnight_in_the_date_column_is_a_date_without_a_time(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9\n"
                                   "p1,c1,2025-01-06 00:00:00,attended,18\n"))
    assert _sessions(con) == [("p1|c1|2025-01-06|", None)]


def test_sessions_stored_before_times_in_the_date_were_read_still_match_that_export(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, WITHOUT_TIME, "old.csv"))   # as such an export was stored before
    result = ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9\n"
                                            "p1,c1,2025-01-06T10:00,attended,18\n"
                                            "p1,c1,2025-01-13T10:00,attended,14\n"
                                            "p1,c1,2025-01-20T10:00,attended,12\n", "stamped.csv"))
    assert (result.new_rows, result.updated_rows, result.unchanged, result.rejected) == (1, 0, 2, 0)
    assert _sessions(con) == [("p1|c1|2025-01-06|", None), ("p1|c1|2025-01-13|", None),
                              ("p1|c1|2025-01-20|10:00", "10:00:00")]


def test_one_day_with_and_without_a_time_in_one_file_is_not_two_sessions(tmp_path):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, "patient_id,clinician_id,session_date,session_time,status,phq9\n"
                                            "p1,c1,2025-01-06,10:00,attended,7\n"
                                            "p1,c1,2025-01-06,,attended,7\n"
                                            "p1,c1,2025-01-13,,attended,6\n"))
    assert (result.new_rows, result.rejected) == (2, 1)
    assert rejects(con, result.batch_id) == [
        (3, "no session time, and line 2 has this patient, clinician and day at 10:00: the same session? Give "
            "its time, or remove the row if it repeats line 2")]
    assert _sessions(con) == [("p1|c1|2025-01-06|10:00", "10:00:00"), ("p1|c1|2025-01-13|", None)]
