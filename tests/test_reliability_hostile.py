"""Hostile and broken files: each either imports every valid row exactly, or stops with one clear
line (WaypointError) — never another exception, never a partial write.

A hand-made corpus covers what clinics (and attackers) actually upload; a hypothesis property
checks that any valid rows, written as CSV in any of the layouts Waypoint accepts, come back
exactly.
"""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import db
from analytics.errors import WaypointError
from analytics.ingest import ingest_files, preview
from tests.ingest_helpers import TODAY, ingest, rejects, snapshot

HEADER = b"patient_id,clinician_id,session_date,status,phq9\n"
EARLIER = b"patient_id,clinician_id,session_date,status\nold1,c0,2024-01-02,attended\n"


@pytest.fixture
def con(tmp_path):
    """A database that already holds one import, to show a failed file leaves it untouched."""
    con = db.connect(":memory:")
    (tmp_path / "earlier.csv").write_bytes(EARLIER)
    ingest(con, tmp_path / "earlier.csv")
    yield con
    con.close()


def write(tmp_path: Path, data: bytes, name: str = "upload.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(con, path: Path, match: str) -> str:
    """The import stops with one line naming the file, and nothing is written."""
    before = snapshot(con), db.scalar(con, "SELECT count(*) FROM imports")
    with pytest.raises(WaypointError) as info:
        ingest(con, path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(path.name + ":")
    assert match in message
    assert (snapshot(con), db.scalar(con, "SELECT count(*) FROM imports")) == before
    return message


def xlsx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData/></worksheet>")
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# files that cannot be read at all: one line, nothing written
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, match", [
    (b"", "the file is empty"),
    (b"\n\r\n  \n", "the file is empty"),
    (bytes(range(256)) * 8, "binary file"),
    (b"\x1f\x8b\x08\x00" + bytes(200), "gzip-compressed file"),            # gzip
    (HEADER.decode().encode("utf-16-le"), "binary file"),                   # UTF-16 without its BOM
    (HEADER + b"p1,c1,2025-01-06,attended,\x81\x8d\x8f\x90\x9d\n", "neither UTF-8 nor Windows-1252"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "one column only"),
    (b"<!DOCTYPE html><html><body><table><tr><td>p1</td></tr></table></body></html>\n", "one column only"),
    (b"patient_id,clinician_id,session_date,status," + b"y" * 10_000_000 + b"\np1,c1,2025-01-06,attended,z\n",
     "not a row of column names"),                                          # a 10 MB header
    (b",,,,\n1,2,3,4,5\n", "no patient ID column"),
])
def test_a_file_that_is_not_a_session_log_stops_with_one_line_and_writes_nothing(con, tmp_path, data, match):
    refused(con, write(tmp_path, data), match)


def test_an_excel_workbook_renamed_csv_says_how_to_save_it_as_csv(con, tmp_path):
    message = refused(con, write(tmp_path, xlsx_bytes(), "sessions.csv"), "Excel workbook (.xlsx)")
    assert "Save As" in message


def test_a_message_names_the_uploaded_file_not_a_temporary_copy(con, tmp_path):
    # Windows-1252 text is transcoded to a temporary file; messages must still name the user's file
    refused(con, write(tmp_path, "Notes about Renée\n".encode("cp1252"), "renee.csv"), "one column only")


@pytest.mark.parametrize("mapping, match", [
    (b'[dates]\nformat = "%Q/%m/%Y"\n', 'format "%Q/%m/%Y" is not a date pattern'),
    (b'[dates]\nformat = "%d/%m/%"\n', "Trailing format character"),
    (bytes(range(256)), r"not a mapping file \(not UTF-8 text\)"),
    (b"[columns\npatient_id = 'x'\n", "not valid TOML"),
])
def test_a_broken_mapping_file_stops_with_one_line_and_writes_nothing(con, tmp_path, mapping, match):
    data = write(tmp_path, b"patient_id,clinician_id,session_date,status\np1,c1,06/01/2025,attended\n")
    before = snapshot(con)
    with pytest.raises(WaypointError, match=match) as info:
        ingest(con, data, mapping=write(tmp_path, mapping, "map.toml"))
    assert "\n" not in str(info.value)
    assert snapshot(con) == before


# ---------------------------------------------------------------------------------------------
# files that import: every valid row exactly, every bad row set aside with its line
# ---------------------------------------------------------------------------------------------
def rows(con) -> list[tuple]:
    return con.execute(
        "SELECT patient_id, clinician_id, CAST(session_date AS VARCHAR), status FROM sessions "
        "WHERE patient_id <> 'old1' ORDER BY patient_id").fetchall()


def test_a_header_only_file_imports_nothing_and_says_so(con, tmp_path):
    result = ingest(con, write(tmp_path, b"\xef\xbb\xbf" + HEADER.replace(b"\n", b"\r\n")))
    assert result.counts() == {"rows_read": 0, "new_rows": 0, "updated_rows": 0, "unchanged": 0,
                               "duplicates": 0, "rejected": 0}
    assert rows(con) == []


def test_an_unbalanced_quote_sets_its_row_aside_and_keeps_the_others(con, tmp_path):
    data = HEADER + b'p1,c1,2025-01-06,attended,5\np2,c1,2025-01-07,"attended,6\n'
    result = ingest(con, write(tmp_path, data))
    assert (result.rows_read, result.new_rows, result.rejected) == (2, 1, 1)
    assert rows(con) == [("p1", "c1", "2025-01-06", "attended")]
    assert [line for line, _ in rejects(con, result.batch_id)] == [3]
    assert result.reasons[0].startswith("line 3: ")          # a whole line number, not "line 3.0"


def test_a_quote_opened_and_never_closed_swallows_the_rest_of_the_file_into_one_rejected_row(con, tmp_path):
    data = HEADER + b'p1,c1,2025-01-06,"attended,5\np2,c1,2025-01-07,attended,6\n'
    result = ingest(con, write(tmp_path, data))
    assert (result.new_rows, result.rejected) == (0, 1)
    assert rows(con) == []
    assert result.reasons == ("line 2: a quote in the middle of a field; a quote opened in this row is never closed, "
                              "so the 1 line(s) after it were read into it (they are in this row's raw line): fix "
                              "the quote and import the file again",)


def test_embedded_newlines_and_a_10_mb_field_arrive_exactly(con, tmp_path):
    big = "x" * 10_000_000
    note = 'Line one\r\nline "two", with a comma'
    data = ("patient_id,clinician_id,session_date,status,site\n"
            f"p1,c1,2025-01-06,attended,{big}\n"
            f'p2,c1,2025-01-07,attended,"{note.replace(chr(34), 2 * chr(34))}"\n'
            "p3,c1,2025-01-08,attended,North\n").encode()
    result = ingest(con, write(tmp_path, data))
    assert (result.rows_read, result.new_rows, result.rejected) == (3, 3, 0)
    sites = dict(con.execute("SELECT patient_id, site FROM sessions WHERE patient_id <> 'old1'").fetchall())
    assert sites == {"p1": big, "p2": note, "p3": "North"}


def test_thousands_of_columns_import_with_the_known_ones_used_and_the_rest_listed(con, tmp_path):
    extra = [f"extra_column_number_{i:05d}" for i in range(3000)]   # a header of more than 64 KB
    header = "patient_id,clinician_id,session_date,status,phq9," + ",".join(extra)
    data = (header + "\n" + "p1,c1,2025-01-06,attended,5," + ",".join(str(i) for i in range(3000)) + "\n"
            + "p2,c1,2025-01-07,attended,6," + ",".join(str(i) for i in range(3000)) + "\n").encode()
    assert len(header) > 65_536
    result = ingest(con, write(tmp_path, data))
    assert (result.rows_read, result.new_rows, result.rejected) == (2, 2, 0)
    assert len(result.ignored_columns) == 3000 and result.ignored_columns[-1] == "extra_column_number_02999"
    assert con.execute("SELECT patient_id, score FROM measurements ORDER BY 1").fetchall() == [("p1", 5), ("p2", 6)]


def test_a_file_wider_than_5000_columns_is_refused_before_it_is_read(con, tmp_path):
    header = "patient_id,clinician_id,session_date,status," + ",".join(f"x{i}" for i in range(5_000))
    data = (header + "\np1,c1,2025-01-06,attended," + ",".join("1" for _ in range(5_000)) + "\n").encode()
    refused(con, write(tmp_path, data), "the file has 5,004 columns; Waypoint reads at most 5,000")


def test_formulas_and_html_are_stored_as_plain_text_and_neutralised_in_the_rejects_file(con, tmp_path):
    data = ("patient_id,clinician_id,session_date,status,site\n"
            "=cmd|' /C calc'!A0,+c1,2025-01-06,attended,<script>alert(1)</script>\n"
            "<img src=x onerror=alert(1)>,@SUM(A1),2025-01-07,attended,-2+3\n"
            "p3,c1,2025-01-08,=HYPERLINK(\"http://x\"),North\n").encode()
    out = tmp_path / "rejected.csv"
    result = ingest_files(con, [write(tmp_path, data)], rejects=out, today=TODAY)[0]
    assert (result.new_rows, result.rejected) == (2, 1)
    assert con.execute("SELECT patient_id, clinician_id, site FROM sessions WHERE patient_id <> 'old1' "
                       "ORDER BY session_date").fetchall() == [
        ("=cmd|' /C calc'!A0", "+c1", "<script>alert(1)</script>"),
        ("<img src=x onerror=alert(1)>", "@SUM(A1)", "-2+3")]
    written = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert [r["status"] for r in written] == ["'=HYPERLINK(\"http://x\")"]


@pytest.mark.parametrize("score, reason", [
    ("99999999999999999999999", "PHQ-9 99999999999999999999999 is outside 0–27"),
    ("1e300", "PHQ-9 1e300 is outside 0–27"),
    ("-1e20", "PHQ-9 -1e20 is outside 0–27"),
    ("inf", "PHQ-9 'inf' is not a number"),
    ("NaN", "PHQ-9 'NaN' is not a number"),
])
def test_a_score_too_large_for_any_integer_is_rejected_with_its_reason(con, tmp_path, score, reason):
    data = HEADER + f"p1,c1,2025-01-06,attended,{score}\np2,c1,2025-01-07,attended,7\n".encode()
    result = ingest(con, write(tmp_path, data))
    assert (result.new_rows, result.rejected) == (1, 1)
    assert rejects(con, result.batch_id) == [(2, reason)]


def test_a_huge_score_in_a_long_measurement_file_is_rejected_too(con, tmp_path):
    data = b"patient_id,date,measure,score\np1,2025-01-06,PHQ-9,1e23\np1,2025-01-13,PHQ-9,12\n"
    result = ingest(con, write(tmp_path, data))
    assert (result.new_rows, result.rejected) == (1, 1)
    assert rejects(con, result.batch_id) == [(2, "PHQ-9 1e23 is outside 0–27")]


def test_a_utf8_bom_over_windows_1252_text_sets_the_undecodable_row_aside(con, tmp_path):
    data = b"\xef\xbb\xbf" + HEADER + "Renée,c1,2025-01-06,attended,5\n".encode("cp1252") + b"p2,c1,2025-01-07,no_show,\n"
    result = ingest(con, write(tmp_path, data))
    assert (result.rows_read, result.new_rows, result.rejected) == (2, 1, 1)
    assert rows(con) == [("p2", "c1", "2025-01-07", "no_show")]


def test_windows_1252_after_the_first_64_kb_is_still_read_as_windows_1252(con, tmp_path):
    filler = b"".join(b"p%05d,c1,2025-01-06,attended,5\n" % i for i in range(3000))
    data = HEADER + filler + "Renée,c1,2025-01-07,attended,5\n".encode("cp1252")
    assert len(HEADER + filler) > 65_536
    result = ingest(con, write(tmp_path, data))
    assert (result.new_rows, result.rejected) == (3001, 0)
    assert db.scalar(con, "SELECT count(*) FROM sessions WHERE patient_id = 'Renée'") == 1


@pytest.mark.parametrize("data, head_rows, counts", [
    (HEADER + b'p1,c1,2025-01-06,"attended,5\np2,c1,2025-01-07,attended,6\n', 1, (1, 0, 1)),   # unclosed quote
    (HEADER + b'p1,c1,2025-01-06,attended,5\np2,c1,2025-01-07,"attended,6\n', 2, (2, 1, 1)),
    (HEADER + b"p1,c1,2025-01-06,attended,5,extra,fields\np2,c1,2025-01-07,attended\n", 2, (2, 0, 2)),  # ragged
    (b"\xef\xbb\xbf" + HEADER + "Renée,c1,2025-01-06,attended,5\n".encode("cp1252"), 1, (1, 0, 1)),
    (b"patient_id,clinician_id,session_date,status,site\np1,c1,2025-01-06,attended," + b"x" * 200_000 + b"\n",
     0, (1, 1, 0)),     # a field over the csv module's 128 KB: the preview shows no row, the checks still run
])
def test_the_preview_of_a_broken_file_shows_what_it_can_and_reports_the_checks(con, tmp_path, data, head_rows,
                                                                                counts):
    before = snapshot(con)
    shown = preview(con, [write(tmp_path, data)], today=TODAY)
    assert len(shown.head) == head_rows and list(shown.head.columns)[:4] == [
        "patient_id", "clinician_id", "session_date", "status"]
    c = shown.report.counts
    assert (c["rows_read"], c["new_rows"], c["rejected"]) == counts
    assert snapshot(con) == before


def test_a_large_file_of_rejected_rows_logs_every_one_with_its_line_and_reason(con, tmp_path):
    # e.g. an export whose status words are not mapped: every row set aside, each kept for the clinic
    n = 20_000
    days = [date.fromordinal(date(2020, 1, 6).toordinal() + d).isoformat() for d in range(1000)]
    body = "".join(f"p{b},c1,{day},Seen-ish\n" for b in range(n // 1000) for day in days)
    result = ingest(con, write(tmp_path, b"patient_id,clinician_id,session_date,status\n" + body.encode()))
    assert (result.rows_read, result.new_rows, result.rejected) == (n, 0, n)
    logged = rejects(con, result.batch_id)
    assert [line for line, _ in logged] == list(range(2, n + 2))
    assert {reason for _, reason in logged} == {
        "status 'Seen-ish' is not one of attended, no_show, late_cancel, cancelled, scheduled "
        "(map it under [values.status])"}
    assert db.scalar(con, "SELECT raw_row FROM rejected_rows WHERE line_number = 2") == (
        '{"patient_id": "p0", "clinician_id": "c1", "session_date": "2020-01-06", "status": "Seen-ish"}')


# ---------------------------------------------------------------------------------------------
# a million rows, generated in a second: bounded time, exact counts
# ---------------------------------------------------------------------------------------------
def test_a_million_row_file_imports_every_row(tmp_path):
    n = 1_000_000
    path = tmp_path / "million.csv"
    days = [date.fromordinal(date(2020, 1, 6).toordinal() + d).isoformat() for d in range(1000)]
    with open(path, "w", newline="") as fh:
        fh.write("patient_id,clinician_id,session_date,status\n")
        for block in range(n // 1000):
            fh.write("".join(f"p{block},c{block % 7},{day},attended\n" for day in days))
    con = db.connect(":memory:")
    result = ingest(con, path)
    assert (result.rows_read, result.new_rows, result.rejected) == (n, n, 0)
    assert db.scalar(con, "SELECT count(*) FROM sessions") == n
    assert db.scalar(con, "SELECT count(DISTINCT patient_id) FROM sessions") == 1000
    con.close()


# ---------------------------------------------------------------------------------------------
# property: any valid rows, in any accepted layout, come back exactly
# ---------------------------------------------------------------------------------------------
# Text a Windows-1252 export can hold, with the characters that stress a CSV reader.
SAFE_TEXT = st.lists(st.sampled_from(list("abcXYZ019 -_'.,;\t\"|éüçñØ–’€") + ["\n", "\r\n"]),
                     min_size=1, max_size=12).map("".join).map(str.strip).filter(bool)

STATUSES = ["attended", "no_show", "late_cancel", "cancelled", "scheduled"]


@st.composite
def session_rows(draw):
    n = draw(st.integers(1, 12))
    patients = draw(st.lists(SAFE_TEXT, min_size=1, max_size=4, unique_by=lambda s: s.lower()))
    out, keys = [], set()
    for _ in range(n):
        row = {
            "patient_id": draw(st.sampled_from(patients)),
            "clinician_id": draw(st.sampled_from(["c1", "Dr O’Brien", "c;3"])),
            "session_date": date.fromordinal(date(2024, 1, 1).toordinal() + draw(st.integers(0, 500))),
            "status": draw(st.sampled_from(STATUSES)),
            "phq9": draw(st.one_of(st.none(), st.integers(0, 27))),
            "site": draw(st.one_of(st.none(), SAFE_TEXT)),
        }
        key = (row["patient_id"], row["clinician_id"], row["session_date"])
        if key not in keys:            # one row per session key: the file is valid
            keys.add(key)
            out.append(row)
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(rows_=session_rows(), delimiter=st.sampled_from([",", ";", "\t"]),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]), crlf=st.booleans(),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_any_valid_rows_in_any_accepted_layout_come_back_exactly(tmp_path, rows_, delimiter, quoting, crlf, encoding):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(["patient_id", "clinician_id", "session_date", "status", "phq9", "site"])
    for r in rows_:
        writer.writerow([r["patient_id"], r["clinician_id"], r["session_date"].isoformat(), r["status"],
                         "" if r["phq9"] is None else r["phq9"], r["site"] or ""])
    path = tmp_path / "property.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    con = db.connect(":memory:")
    result = ingest(con, path)
    assert (result.rows_read, result.new_rows, result.rejected) == (len(rows_), len(rows_), 0), result.reasons
    got = con.execute("SELECT patient_id, clinician_id, session_date, status, site FROM sessions").fetchall()
    assert sorted(got, key=repr) == sorted(
        [(r["patient_id"], r["clinician_id"], r["session_date"], r["status"], r["site"]) for r in rows_], key=repr)
    got_scores = con.execute("SELECT patient_id, measure_date, score FROM measurements WHERE scale = 'phq9'").fetchall()
    assert sorted(got_scores, key=repr) == sorted(
        [(r["patient_id"], r["session_date"], r["phq9"]) for r in rows_ if r["phq9"] is not None], key=repr)
    con.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000))
def test_any_bytes_either_import_or_stop_with_one_line_and_never_half_write(tmp_path, data):
    con = db.connect(":memory:")
    path = tmp_path / "random.csv"
    path.write_bytes(data)
    try:
        result = ingest(con, path)
    except WaypointError as exc:
        assert "\n" not in str(exc)
        assert db.scalar(con, "SELECT count(*) FROM sessions") == 0
        assert db.scalar(con, "SELECT count(*) FROM imports") == 0
    else:
        assert db.scalar(con, "SELECT count(*) FROM sessions") == result.new_rows
        assert result.rows_read == result.new_rows + result.updated_rows + result.unchanged + \
            result.duplicates + result.rejected
    con.close()
