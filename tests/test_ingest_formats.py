"""Files as clinics really have them: encodings, delimiters, line endings, quoting, header
spellings, date layouts, mapping files, and long measurement files."""
from __future__ import annotations

from datetime import date

import pytest

from analytics.errors import WaypointError
from tests.ingest_helpers import HEADER, csv_file, fresh, ingest, rejects, scores, sessions

ROWS = [("p1", "c1", "2025-01-06", "attended"), ("p2", "c1", "2025-01-07", "no_show")]


@pytest.mark.parametrize("encoding, bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b"")])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_encodings_delimiters_and_line_endings(tmp_path, encoding, bom, delimiter, newline):
    text = HEADER + "\nRenée,c1,2025-01-06,attended,12,9\np2,c1,2025-01-07,no_show,,\n"
    path = tmp_path / "export.csv"
    path.write_bytes(bom + text.replace(",", delimiter).replace("\n", newline).encode(encoding))
    con = fresh()
    result = ingest(con, path)
    assert (result.rows_read, result.new_rows, result.rejected) == (2, 2, 0)
    assert result.delimiter == delimiter
    assert sessions(con) == [("Renée", "c1", "2025-01-06", "attended"), ("p2", "c1", "2025-01-07", "no_show")]
    assert scores(con) == [("Renée", "2025-01-06", "gad7", 9), ("Renée", "2025-01-06", "phq9", 12)]


def test_windows_1252_punctuation_arrives_as_written(tmp_path):
    text = "patient_id,clinician_id,session_date,status,site\np1,Dr O’Brien,2025-01-06,attended,Café – North\n"
    con = fresh()
    ingest(con, csv_file(tmp_path, text, encoding="cp1252"))
    assert con.execute("SELECT clinician_id, site FROM sessions").fetchall() == [("Dr O’Brien", "Café – North")]


def test_quoted_fields_with_embedded_newlines_and_commas(tmp_path):
    text = ('patient_id,clinician_id,session_date,status,site\n'
            'p1,c1,2025-01-06,attended,"North, ""Main""\nbuilding"\n'
            'p2,c1,2025-01-07,attended,South\n'
            'p3,c1,2025-01-08,maybe,South\n')
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text, newline="\r\n"))
    assert (result.rows_read, result.new_rows) == (3, 2)
    assert con.execute("SELECT site FROM sessions ORDER BY patient_id").fetchall() == [
        ('North, "Main"\r\nbuilding',), ("South",)]
    assert [line for line, _ in rejects(con, result.batch_id)] == [4]  # the header is line 1, one line per row


def test_common_header_spellings_need_no_mapping(tmp_path):
    text = ("Client ID,Therapist,Date of Service,Attendance,PHQ-9 Total,GAD-7 Score,PHQ-9 Item 9,Program,Notes\n"
            "A-1,Dr Lee,2025-01-06,Show,14,9,1,Adult,first visit\n"
            "A-1,Dr Lee,2025-01-13,No Show,,,,Adult,\n"
            "A-1,Dr Lee,2025-01-20,Late Cancellation,,,,Adult,\n"
            "A-1,Dr Lee,2025-01-27,DNA,,,,Adult,\n")
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert result.ignored_columns == ("Notes",)
    assert sessions(con) == [("A-1", "Dr Lee", "2025-01-06", "attended"), ("A-1", "Dr Lee", "2025-01-13", "no_show"),
                             ("A-1", "Dr Lee", "2025-01-20", "late_cancel"), ("A-1", "Dr Lee", "2025-01-27", "no_show")]
    assert scores(con) == [("A-1", "2025-01-06", "gad7", 9), ("A-1", "2025-01-06", "phq9", 14)]
    assert con.execute("SELECT item, score FROM item_scores").fetchall() == [(9, 1)]
    assert con.execute("SELECT DISTINCT site FROM sessions").fetchall() == [("Adult",)]


MAPPED = ("Kunde,Behandler,Termin,Ergebnis,PHQ,Ende\n"
          "k1,b1,06/01/2025,Da,15,\n"
          "k1,b1,13/01/2025,Nicht da,,\n"
          "k1,b1,20/01/2025,Da,8,Abschluss\n")
MAPPING = '''
[columns]
patient_id = "Kunde"
clinician_id = "Behandler"
session_date = "Termin"
status = "Ergebnis"
phq9 = "PHQ"
discharge_reason = "Ende"
[dates]
format = "%d/%m/%Y"
[values.status]
"Da" = "attended"
"Nicht da" = "no_show"
[values.discharge_reason]
"Abschluss" = "planned"
'''


def test_a_mapping_file_names_columns_date_format_and_values(tmp_path):
    mapping = tmp_path / "map.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    con = fresh()
    result = ingest(con, csv_file(tmp_path, MAPPED), mapping=mapping)
    assert (result.new_rows, result.rejected) == (3, 0)
    assert con.execute("SELECT CAST(session_date AS VARCHAR), status, discharge_reason FROM sessions "
                       "ORDER BY session_date").fetchall() == [
        ("2025-01-06", "attended", None), ("2025-01-13", "no_show", None), ("2025-01-20", "attended", "planned")]
    assert scores(con) == [("k1", "2025-01-06", "phq9", 15), ("k1", "2025-01-20", "phq9", 8)]


def test_without_the_mapping_the_same_file_stops_with_what_to_do(tmp_path):
    with pytest.raises(WaypointError, match=r"no patient ID column.*\[columns\] patient_id = \"Your header\""):
        ingest(fresh(), csv_file(tmp_path, MAPPED))


def test_a_mapping_naming_a_missing_column_says_so(tmp_path):
    with pytest.raises(WaypointError, match=r'maps patient_id to the column "Client", but the file has no such column'):
        ingest(fresh(), csv_file(tmp_path, MAPPED), mapping={"columns": {"patient_id": "Client"}})


def test_a_mapping_value_must_be_canonical(tmp_path):
    with pytest.raises(WaypointError, match=r'\[values.status\] "Da" = "came": expected one of attended'):
        ingest(fresh(), csv_file(tmp_path, MAPPED), mapping={"values": {"status": {"Da": "came"}}})


AMBIGUOUS = f"{HEADER}\np1,c1,03/04/2025,attended,12,9\np1,c1,05/06/2025,attended,10,8\n"


def test_ambiguous_day_and_month_stop_with_an_example_and_never_guess(tmp_path):
    con = fresh()
    with pytest.raises(WaypointError) as info:
        ingest(con, csv_file(tmp_path, AMBIGUOUS))
    message = str(info.value)
    assert "'03/04/2025' could be DD/MM/YYYY or MM/DD/YYYY" in message
    assert '[dates] format = "%d/%m/%Y" (or "%m/%d/%Y")' in message and "\n" not in message
    assert con.execute("SELECT count(*) FROM sessions").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM imports").fetchall() == [(0,)]


def test_the_mapping_date_format_settles_ambiguity(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, AMBIGUOUS), mapping={"dates": {"format": "%m/%d/%Y"}})
    assert [s[2] for s in sessions(con)] == ["2025-03-04", "2025-05-06"]


def test_a_day_above_twelve_shows_the_layout_so_it_is_not_a_guess(tmp_path):
    text = f"{HEADER}\np1,c1,03/04/2025,attended,12,9\np1,c1,25/04/2025,attended,10,8\n"
    con = fresh()
    ingest(con, csv_file(tmp_path, text))
    assert [s[2] for s in sessions(con)] == ["2025-04-03", "2025-04-25"]


def test_dates_with_a_time_part_in_iso_form_are_read(tmp_path):
    text = f"{HEADER}\np1,c1,2025-01-06T10:00:00,attended,12,9\np1,c1,2025-01-13 09:30,attended,10,8\n"
    con = fresh()
    ingest(con, csv_file(tmp_path, text))
    assert [s[2] for s in sessions(con)] == ["2025-01-06", "2025-01-13"]


def test_long_measurement_file(tmp_path):
    text = ("Client ID,Date,Measure,Score\n"
            "p1,2025-01-06,PHQ-9,18\n"
            "p1,2025-01-06,GAD-7,12\n"
            "p1,2025-01-13,phq9,14\n"
            "p1,2025-01-13,BDI,30\n"
            "p1,2025-01-20,PHQ-9,28\n")
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text))
    assert (result.kind, result.rows_read, result.new_rows, result.rejected) == ("measurements", 5, 3, 2)
    assert scores(con) == [("p1", "2025-01-06", "gad7", 12), ("p1", "2025-01-06", "phq9", 18),
                           ("p1", "2025-01-13", "phq9", 14)]
    assert rejects(con, result.batch_id) == [(5, "measure 'BDI' is not in the scale registry"),
                                             (6, "PHQ-9 28 is outside 0–27")]


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"PK\x03\x04\x14\x00\x06\x00", "this is an Excel workbook (.xlsx) or another zip archive, not a CSV file"),
    (b"\x00\x01\x02\x03binary", "this is a binary file, not text"),
    (__import__("gzip").compress(b"patient_id,clinician_id\n", mtime=0), "this is a gzip-compressed file. Decompress it first"),
    (b"just one column\nvalue\n", "its first line has one column only"),
])
def test_files_that_are_not_csv_stop_with_one_clear_message(tmp_path, content, message):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(WaypointError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ingest(fresh(), path)


def test_header_only_file_imports_nothing_and_says_so(tmp_path):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, HEADER + "\n"))
    assert (result.rows_read, result.new_rows, result.rejected) == (0, 0, 0)


def test_the_summary_says_which_date_layout_was_found_and_the_value_that_decided_it(tmp_path):
    text = (f"{HEADER}\np1,c1,08/05/2025,attended,12,9\np1,c1,09/01/2025,attended,10,8\n"
            "p1,c1,13/01/2025,attended,9,7\n")
    result = ingest(fresh(), csv_file(tmp_path, text))
    assert ("  dates read as DD/MM/YYYY: line 4 has '13/01/2025', the only value that decides it; if that date "
            "is a typo, fix it or say [dates] format in a mapping") in result.summary().splitlines()


def test_iso_dates_and_a_mapping_layout_need_no_note(tmp_path):
    iso = ingest(fresh(), csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,12,9\n"))
    mapped = ingest(fresh(), csv_file(tmp_path, f"{HEADER}\np1,c1,13/01/2025,attended,12,9\n", "m.csv"),
                    mapping={"dates": {"format": "%d/%m/%Y"}})
    assert iso.notes == () and mapped.notes == ()


def test_a_fixed_rejects_file_whose_dates_are_ambiguous_is_told_the_layout_the_last_import_read(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, f"{HEADER}\np1,c1,25/04/2025,attended,12,9\np2,c1,03/04/2025,attended,99,8\n"),
           rejects=tmp_path / "rejects.csv")
    fixed = f"{HEADER}\np2,c1,03/04/2025,attended,19,8\n"          # what the rejects file holds, fixed
    with pytest.raises(WaypointError) as info:
        ingest(con, csv_file(tmp_path, fixed, "fixed.csv"))
    assert str(info.value).endswith(
        "The last import here with such dates (batch 1) read them as DD/MM/YYYY: if this file comes from the "
        'same export (its --rejects file, say), use [dates] format = "%d/%m/%Y".')
    assert "last import here" not in _ambiguous_message(tmp_path)


def _ambiguous_message(tmp_path) -> str:
    with pytest.raises(WaypointError) as info:
        ingest(fresh(), csv_file(tmp_path, f"{HEADER}\np2,c1,03/04/2025,attended,19,8\n", "alone.csv"))
    return str(info.value)


def test_a_date_and_time_in_a_day_first_layout_gives_the_date_and_the_session_time(tmp_path):
    text = f"{HEADER}\np1,c1,31/08/2025 10:30,attended,12,9\np1,c1,31/08/2025 15:00,no_show,,\n"
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text), today=date(2025, 9, 30))
    assert (result.new_rows, result.rejected) == (2, 0)
    assert con.execute("SELECT session_key FROM sessions ORDER BY 1").fetchall() == [
        ("p1|c1|2025-08-31|10:30",), ("p1|c1|2025-08-31|15:00",)]
    mapped = ingest(fresh(), csv_file(tmp_path, text, "m.csv"), mapping={"dates": {"format": "%d/%m/%Y"}},
                    today=date(2025, 9, 30))
    assert mapped.new_rows == 2
