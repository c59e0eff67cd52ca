"""Two-digit years are read as this century's, never as the year 26: DuckDB's %Y takes "26" as a
year, so a layout with %Y must not fit them, and a mapping that says %Y for such a file gets each
row set aside with what to write instead."""
from __future__ import annotations

from tests.ingest_helpers import HEADER, csv_file, fresh, ingest, rejects, scores, sessions

TWO_DIGIT = f"{HEADER}\np1,c1,31/08/24,attended,12,9\np1,c1,07/09/24,attended,10,8\n"


def test_two_digit_years_read_as_this_century_without_a_mapping(tmp_path):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, TWO_DIGIT))
    assert (result.new_rows, result.rejected) == (2, 0)
    assert [s[2] for s in sessions(con)] == ["2024-08-31", "2024-09-07"]


def test_a_mapping_that_says_four_digit_years_sets_two_digit_ones_aside_and_says_what_to_write(tmp_path):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, TWO_DIGIT), mapping={"dates": {"format": "%d/%m/%Y"}})
    assert (result.new_rows, result.rejected) == (0, 2)
    assert rejects(con, result.batch_id)[0] == (
        2, "session date '31/08/24' is not a real date: read as DD/MM/YYYY it falls before 1900 "
           "(for two-digit years, say %y in [dates] format)")
    assert sessions(con) == []


def test_a_long_measurement_file_with_a_year_before_1900_is_set_aside(tmp_path):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, "patient_id,date,measure,score\np1,0024-08-31,PHQ-9,12\n"
                                            "p1,2024-09-07,PHQ-9,10\n"))
    assert (result.new_rows, result.rejected) == (1, 1)
    assert scores(con) == [("p1", "2024-09-07", "phq9", 10)]
