"""Files a person has put together by hand: two exports joined into one (the header again in the
middle), and two columns that both hold the same scale. Nothing is read into the wrong column,
and no score is dropped without a word."""
from __future__ import annotations

import pytest

from analytics.errors import WaypointError
from tests.ingest_helpers import HEADER, csv_file, fresh, ingest, rejects, scores


def test_a_header_repeated_in_the_same_order_is_set_aside_and_every_session_kept(tmp_path):
    text = (f"{HEADER}\np1,c1,2025-01-06,attended,18,12\n"
            f"{HEADER}\np2,c1,2025-01-07,attended,9,3\n")
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert (result.rows_read, result.new_rows, result.rejected) == (3, 2, 1)
    assert rejects(con, result.batch_id) == [
        (3, "the header again (two exports joined into one file?): not a session")]
    assert ("p2", "2025-01-07", "phq9", 9) in scores(con)


def test_a_header_repeated_in_another_column_order_stops_before_any_score_lands_in_the_wrong_scale(tmp_path):
    text = ("patient_id,clinician_id,session_date,status,phq9,gad7\np1,c1,2025-01-06,attended,20,3\n"
            "patient_id,clinician_id,session_date,status,gad7,phq9\np2,c1,2025-01-07,attended,3,20\n")
    con = fresh()
    with pytest.raises(WaypointError) as info:
        ingest(con, csv_file(tmp_path, text, "joined.csv"))
    message = str(info.value)
    assert message.startswith("joined.csv, line 3: the header again, with its columns in another order")
    assert '"gad7" under "phq9"' in message and "Split the file at line 3" in message
    assert con.execute("SELECT count(*) FROM sessions").fetchall() == [(0,)]


def test_two_columns_holding_the_same_scale_stop_and_name_both(tmp_path):
    text = ("patient_id,clinician_id,session_date,status,phq9,PHQ-9 Total\n"
            "p1,c1,2025-01-06,attended,18,\np2,c1,2025-01-07,attended,,9\n")
    con = fresh()
    with pytest.raises(WaypointError) as info:
        ingest(con, csv_file(tmp_path, text, "two.csv"))
    assert str(info.value) == (
        'two.csv: two columns hold PHQ-9: "phq9" and "PHQ-9 Total". Name the one to use in a mapping file: '
        '[columns] phq9 = "PHQ-9 Total" (the other is then not used), and run again with --mapping MAP.toml.')


def test_naming_one_of_two_same_scale_columns_in_the_mapping_imports_that_one(tmp_path):
    text = ("patient_id,clinician_id,session_date,status,phq9,PHQ-9 Total\n"
            "p1,c1,2025-01-06,attended,18,17\n")
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text), mapping={"columns": {"phq9": "PHQ-9 Total"}})
    assert result.new_rows == 1 and "phq9" in result.ignored_columns
    assert scores(con) == [("p1", "2025-01-06", "phq9", 17)]
