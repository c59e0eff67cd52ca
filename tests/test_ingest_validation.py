"""Every row is checked; a row with any invalid field is set aside whole, with every reason,
and every valid row imports."""
from __future__ import annotations

import pytest

from tests.ingest_helpers import HEADER, csv_file, fresh, ingest, rejects, scores, sessions, snapshot


def one_bad_row(tmp_path, row: str, header: str = HEADER) -> tuple[object, list[tuple]]:
    good = "p0,c1,2025-01-06,attended,12,9" + "," * (header.count(",") - HEADER.count(","))
    text = f"{header}\n{good}\n{row}\n"
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    return result, rejects(con, result.batch_id)


@pytest.mark.parametrize("row, reason", [
    (",c1,2025-01-06,attended,12,9", "patient ID is missing"),
    ("p1,,2025-01-06,attended,12,9", "clinician ID is missing"),
    ("p1,c1,,attended,12,9", "session date is missing"),
    ("p1,c1,2025-02-30,attended,12,9", "session date '2025-02-30' is not a real date (expected YYYY-MM-DD)"),
    ("p1,c1,2025-01-06,,12,9", "status is missing"),
    ("p1,c1,2025-01-06,Showed up,12,9", "status 'Showed up' is not one of attended, no_show, late_cancel, "
                                        "cancelled, scheduled (map it under [values.status])"),
    ("p1,c1,2025-01-06,attended,28,9", "PHQ-9 28 is outside 0–27"),
    ("p1,c1,2025-01-06,attended,-1,9", "PHQ-9 -1 is outside 0–27"),
    ("p1,c1,2025-01-06,attended,12.5,9", "PHQ-9 12.5 is not a whole number"),
    ("p1,c1,2025-01-06,attended,twelve,9", "PHQ-9 'twelve' is not a number"),
    ("p1,c1,2025-01-06,attended,12,22", "GAD-7 22 is outside 0–21"),
    ("p1,c1,2025-07-01,attended,12,9", "session on 2025-07-01 is marked attended but is in the future"),
    ("p1,c1,2025-07-01,no_show,,", "session on 2025-07-01 is marked no_show but is in the future"),
    ("p1,c1,2025-07-01,late_cancel,,", "session on 2025-07-01 is marked late_cancel but is in the future"),
])
def test_an_invalid_field_rejects_the_row_with_its_reason(tmp_path, row, reason):
    result, rows = one_bad_row(tmp_path, row)
    assert (result.rows_read, result.new_rows, result.rejected) == (2, 1, 1)
    assert rows == [(3, reason)]
    assert result.reasons == (f"line 3: {reason}",)


@pytest.mark.parametrize("row", [
    "p1,c1,2025-07-01,scheduled,,",      # booked sessions may be in the future
    "p1,c1,2025-07-01,cancelled,,",
    "p1,c1,2025-06-30,attended,0,0",     # today is not the future; 0 is in range
    "p1,c1,2025-06-30,attended,27,21",   # the top of each range
    "p1,c1,2025-06-30,attended,12.0,9",  # Excel writes whole numbers as 12.0
])
def test_valid_edge_rows_import(tmp_path, row):
    result, rows = one_bad_row(tmp_path, row)
    assert (result.new_rows, result.rejected, rows) == (2, 0, [])


def test_every_reason_of_a_row_is_kept(tmp_path):
    result, rows = one_bad_row(tmp_path, ",c1,2025-13-01,maybe,31,99")
    assert rows == [(3, "patient ID is missing; session date '2025-13-01' is not a real date (expected "
                        "YYYY-MM-DD); status 'maybe' is not one of attended, no_show, late_cancel, cancelled, "
                        "scheduled (map it under [values.status]); GAD-7 99 is outside 0–21; PHQ-9 31 is "
                        "outside 0–27")]


def test_item_scores_are_checked_against_the_item_range(tmp_path):
    header = HEADER + ",phq9_item9"
    result, rows = one_bad_row(tmp_path, "p1,c1,2025-01-06,attended,12,9,4", header)
    assert rows == [(3, "PHQ-9 item 9 score 4 is outside 0–3")]
    con = fresh()
    ok = ingest(con, csv_file(tmp_path, f"{header}\np1,c1,2025-01-06,attended,12,9,3\n"))
    assert ok.new_rows == 1
    assert con.execute("SELECT measurement_key, item, score FROM item_scores").fetchall() == [
        ("p1|c1|2025-01-06||phq9", 9, 3)]


def test_unknown_discharge_reason_and_bad_optional_fields_are_rejected(tmp_path):
    header = "patient_id,clinician_id,session_date,session_time,status,referral_date,discharge_reason"
    text = (f"{header}\n"
            "p1,c1,2025-01-06,25:00,attended,2024-12-01,\n"
            "p1,c1,2025-01-13,10:00,attended,2024-12-40,\n"
            "p1,c1,2025-01-20,10:00,attended,,went to Spain\n"
            "p1,c1,2025-01-27,10:00,attended,2024-12-01,Completed treatment\n")
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert rejects(con, result.batch_id) == [
        (2, "session time '25:00' is not a time of day (expected hh:mm)"),
        (3, "referral date '2024-12-40' is not a real date (expected YYYY-MM-DD)"),
        (4, "discharge reason 'went to Spain' is not one of planned, dropout, transferred, other "
            "(map it under [values.discharge_reason])"),
    ]
    assert con.execute("SELECT discharge_reason, CAST(session_time AS VARCHAR) FROM sessions").fetchall() == [
        ("planned", "10:00:00")]


def test_valid_rows_arrive_exactly_as_given(tmp_path):
    text = (f"{HEADER}\n"
            "p1,c1,2025-01-06,attended,18,12\n"
            "p1,c1,2025-01-13,no_show,,\n"
            "p2,c2,2025-01-07,late_cancel,,\n"
            "p2,c2,2025-01-14,attended,7,\n")
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert (result.rows_read, result.new_rows, result.rejected) == (4, 4, 0)
    assert sessions(con) == [("p1", "c1", "2025-01-06", "attended"), ("p1", "c1", "2025-01-13", "no_show"),
                             ("p2", "c2", "2025-01-07", "late_cancel"), ("p2", "c2", "2025-01-14", "attended")]
    assert scores(con) == [("p1", "2025-01-06", "gad7", 12), ("p1", "2025-01-06", "phq9", 18),
                           ("p2", "2025-01-14", "phq9", 7)]


def test_rows_with_the_wrong_number_of_fields_are_rejected_not_lost(tmp_path):
    text = f"{HEADER}\np1,c1,2025-01-06,attended,12,9\np2,c1,2025-01-06\np3,c1,2025-01-06,attended,12,9,extra\n" \
           "p4,c1,2025-01-06,attended,10,8\n"
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert (result.rows_read, result.new_rows, result.rejected) == (4, 2, 2)
    assert [line for line, _ in rejects(con, result.batch_id)] == [3, 4]
    assert rejects(con, result.batch_id) == [(3, "too few fields: the header has 6 columns, this row 3"),
                                             (4, "too many fields: the header has 6 columns, this row 7")]
    assert [s[0] for s in sessions(con)] == ["p1", "p4"]


def test_rejects_file_has_the_rows_as_given_with_line_and_reasons(tmp_path):
    import pandas as pd

    text = f"{HEADER}\np1,c1,2025-01-06,attended,31,9\np2,c1,2025-01-06,attended,12,9\n=cmd(),c1,2025-01-06,maybe,,\n"
    con = fresh()
    out = tmp_path / "rejected.csv"
    from analytics.ingest import ingest_files
    from tests.ingest_helpers import TODAY
    ingest_files(con, [csv_file(tmp_path, text)], rejects=out, today=TODAY)
    frame = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(frame.columns) == ["file", "line", "reasons", "patient_id", "clinician_id", "session_date",
                                   "status", "phq9", "gad7"]
    assert frame[["line", "patient_id", "phq9", "reasons"]].values.tolist() == [
        ["2", "p1", "31", "PHQ-9 31 is outside 0–27"],
        ["4", "'=cmd()", "", "status 'maybe' is not one of attended, no_show, late_cancel, cancelled, scheduled "
                             "(map it under [values.status])"],
    ]


@pytest.mark.parametrize("word", ["n/a", "N/A", "NA", "#N/A", "-", "NULL", "not done", "."])
def test_a_score_cell_that_says_no_score_in_words_is_blank_and_the_session_kept(tmp_path, word):
    text = f"{HEADER}\np1,c1,2025-01-06,attended,{word},9\np1,c1,2025-01-13,attended,12,{word}\n"
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert (result.new_rows, result.rejected) == (2, 0)
    assert scores(con) == [("p1", "2025-01-06", "gad7", 9), ("p1", "2025-01-13", "phq9", 12)]
    assert f"  2 score cell(s) read as blank, e.g. {word!r} on line 2 (no score taken)" in result.summary().splitlines()


def test_ids_a_spreadsheet_turned_into_decimals_are_imported_as_written_and_named(tmp_path):
    text = f"{HEADER}\n123.0,7.0,2025-01-06,attended,12,9\n123.0,7.0,2025-01-13,attended,10,8\n"
    result = ingest(fresh(), csv_file(tmp_path, text))
    lines = result.summary().splitlines()
    assert ("  1 patient ID(s) look like numbers a spreadsheet rewrote (e.g. '123.0' on line 2): to Waypoint "
            "'123.0' and '123' are different patients; keep the column as text when the export is opened in a "
            "spreadsheet") in lines
    assert any(line.startswith("  1 clinician ID(s) look like numbers") for line in lines)


def test_ids_in_decomposed_unicode_are_imported_as_written_and_named(tmp_path):
    import unicodedata

    nfd = unicodedata.normalize("NFD", "José")
    text = f"{HEADER}\n{nfd},c1,2025-01-06,attended,12,9\nAnn,c1,2025-01-06,attended,12,9\n"
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert f"  1 patient ID(s) are written in decomposed Unicode (NFD) (e.g. {nfd!r} on line 2): the same name " \
           "typed on another machine (NFC) will not match them" in result.summary().splitlines()
    assert [s[0] for s in sessions(con)] == ["Ann", nfd]
    plain = ingest(fresh(), csv_file(tmp_path, f"{HEADER}\nJosé,c1,2025-01-06,attended,12,9\n", "nfc.csv"))
    assert plain.notes == ()


def test_a_quote_never_closed_says_how_many_lines_it_took_into_its_row(tmp_path):
    text = (f"{HEADER}\np1,c1,2025-01-06,attended,12,9\np2,c1,2025-01-06,attended,\"unclosed,9\n"
            "p3,c1,2025-01-07,attended,10,8\np4,c1,2025-01-08,attended,10,8\n")
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert (result.new_rows, result.rejected) == (1, 1)
    [(line, reason)] = rejects(con, result.batch_id)
    assert line == 3 and reason.endswith(
        "a quote opened in this row is never closed, so the 2 line(s) after it were read into it (they are in "
        "this row's raw line): fix the quote and import the file again")


def test_a_measurement_file_does_not_store_again_a_score_the_session_log_holds(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,7,9\n", "log.csv"))
    result = ingest(con, csv_file(tmp_path, "patient_id,date,measure,score\np1,2025-01-06,PHQ-9,7\n"
                                            "p1,2025-01-06,GAD-7,8\np1,2025-01-13,PHQ-9,6\n", "long.csv"))
    assert (result.new_rows, result.unchanged, result.rejected) == (1, 1, 1)
    assert rejects(con, result.batch_id) == [
        (3, "a session log already holds gad7 9 for this patient on this date (batch 1); correct the score "
            "there, or in this file")]
    assert sorted(scores(con)) == [("p1", "2025-01-06", "gad7", 9), ("p1", "2025-01-06", "phq9", 7),
                                   ("p1", "2025-01-13", "phq9", 6)]


def test_scores_with_no_attended_session_on_their_date_are_kept_and_the_summary_says_so(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,,\np1,c1,2025-01-13,no_show,,\n", "log.csv"))
    result = ingest(con, csv_file(tmp_path, "patient_id,date,measure,score\np1,2025-01-06,PHQ-9,12\n"
                                            "p1,2025-01-13,PHQ-9,11\np9,2025-01-06,PHQ-9,20\n", "long.csv"))
    assert result.new_rows == 3
    assert ("  2 score(s) have no attended session of that patient on that date (the first on line 3): they are "
            "kept, and count in the figures once a session log has that session") in result.summary().splitlines()


def test_rows_of_delimiters_only_are_left_out_and_counted_not_rejected(tmp_path):
    text = f"{HEADER}\np1,c1,2025-01-06,attended,12,9\n,,,,,\n , ,,,,\np2,c1,2025-01-07,attended,10,8\n"
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert (result.rows_read, result.new_rows, result.rejected) == (4, 2, 0)
    assert "  2 empty row(s), only delimiters (the first on line 3), left out" in result.summary().splitlines()


def test_a_row_with_too_many_fields_before_a_blank_line_is_not_said_to_have_an_open_quote(tmp_path):
    text = (f"{HEADER}\np1,c1,2025-01-06,attended,12,9\n\np2,c1,2025-01-07,attended,12,9,extra\n\n"
            "p3,c1,2025-01-08,attended,x,1\n")
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert not any("quote" in reason for reason in result.reasons), result.reasons


def test_a_rejects_file_fixed_and_uploaded_again_arrives_without_its_formula_guard(tmp_path):
    con = fresh()
    text = "patient_id,clinician_id,session_date,status,site,phq9\np2,c1,2025-01-32,attended,+North,8\n"
    ingest(con, csv_file(tmp_path, text), rejects=tmp_path / "rejects.csv")
    written = (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig")
    assert "'+North" in written                                  # guarded against spreadsheet formulas
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(written.replace("2025-01-32", "2025-01-30"), encoding="utf-8")
    result = ingest(con, fixed)
    assert result.new_rows == 1
    assert con.execute("SELECT site FROM sessions").fetchall() == [("+North",)]


def test_a_session_log_score_replaces_the_measurement_file_score_of_that_day_and_undo_brings_it_back(tmp_path):
    from analytics.ingest import undo_import

    con = fresh()
    ingest(con, csv_file(tmp_path, f"{HEADER}\np9,c1,2025-01-06,attended,20,\np9,c1,2025-01-13,attended,,\n", "a.csv"))
    ingest(con, csv_file(tmp_path, "patient_id,date,measure,score\np9,2025-01-13,PHQ-9,5\n", "m.csv"))
    before = snapshot(con)
    later = ingest(con, csv_file(tmp_path, f"{HEADER}\np9,c1,2025-01-06,attended,20,\np9,c1,2025-01-13,attended,18,\n",
                                 "b.csv"))
    assert later.updated_rows == 1
    assert sorted(s for s in scores(con) if s[1] == "2025-01-13") == [("p9", "2025-01-13", "phq9", 18)]
    undo_import(con, later.batch_id)
    assert snapshot(con) == before
