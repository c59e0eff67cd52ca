"""Keys given more than once in a file are found by a number hashed from the key, then decided by
the key's text (sql/ingest/classify_sessions.sql, classify_measurements.sql): two different
sessions or scores whose keys happened to share a hash must still be two. A real collision of
64-bit hashes cannot be written down, so these tests also run the import with every key given the
same hash, where only the text can tell the keys apart, and expect the same outcome line for line."""
from __future__ import annotations

import pytest

from analytics import ingest as ingest_module
from tests.ingest_helpers import HEADER, csv_file, fresh, ingest, rejects, scores, sessions

KEY_HASHES = {"ingest/classify_sessions.sql": "hash(s.session_key) AS key_hash",
              "ingest/classify_measurements.sql": "hash(measurement_key) AS key_hash"}

# line 2-3: exact copies; 4, 6: a conflict (same key, other scores); 5: a key alone; 7-9: three
# copies; 10: an invalid row with line 5's key; 11: another key alone
FILE = (f"{HEADER}\n"
        "p1,c1,2025-01-06,attended,18,12\n"
        "p1,c1,2025-01-06,attended,18,12\n"
        "p2,c1,2025-01-06,attended,11,7\n"
        "p3,c2,2025-01-08,attended,20,15\n"
        "p2,c1,2025-01-06,attended,12,7\n"
        "p4,c2,2025-01-09,no_show,,\n"
        "p4,c2,2025-01-09,no_show,,\n"
        "p4,c2,2025-01-09,no_show,,\n"
        "p3,c2,2025-01-08,attended,99,15\n"
        "p5,c3,2025-01-10,attended,5,4\n")
# the same clinic's next export: line 2's scores changed, line 4 as before, one new session
LATER = (f"{HEADER}\n"
         "p1,c1,2025-01-06,attended,16,12\n"
         "p3,c2,2025-01-08,attended,20,15\n"
         "p6,c3,2025-01-11,attended,9,9\n")


@pytest.fixture(params=["as shipped", "one hash for every key"])
def key_hash(request, monkeypatch):
    if request.param == "one hash for every key":
        read_sql = ingest_module.read_sql

        def every_key_one_hash(name: str) -> str:
            sql = read_sql(name)
            if name in KEY_HASHES:
                assert KEY_HASHES[name] in sql
                sql = sql.replace(KEY_HASHES[name], "CAST(0 AS UBIGINT) AS key_hash")
            return sql

        monkeypatch.setattr(ingest_module, "read_sql", every_key_one_hash)
    return request.param


def test_copies_and_conflicts_are_told_apart_by_the_key_itself(tmp_path, key_hash):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, FILE))
    assert (result.rows_read, result.new_rows, result.duplicates, result.rejected) == (10, 4, 3, 3)
    assert rejects(con, result.batch_id) == [
        (4, "conflicts with line 6: same patient, clinician, date and time but different values"),
        (6, "conflicts with line 4: same patient, clinician, date and time but different values"),
        (10, "PHQ-9 99 is outside 0–27"),
    ]
    assert sessions(con) == [("p1", "c1", "2025-01-06", "attended"), ("p3", "c2", "2025-01-08", "attended"),
                             ("p4", "c2", "2025-01-09", "no_show"), ("p5", "c3", "2025-01-10", "attended")]


def test_a_later_export_is_matched_key_by_key(tmp_path, key_hash):
    con = fresh()
    ingest(con, csv_file(tmp_path, FILE))
    result = ingest(con, csv_file(tmp_path, LATER, name="later.csv"))
    assert (result.new_rows, result.updated_rows, result.unchanged, result.rejected) == (1, 1, 1, 0)
    assert ("p1", "2025-01-06", "phq9", 16) in scores(con)
    assert ("p3", "2025-01-08", "phq9", 20) in scores(con)


# a long measurement file: 2-3 copies; 4, 5 a conflict; 6 and 7 keys alone (7: line 2's patient and
# day, another scale); 8 invalid
MEASURES = ("patient_id,date,measure,score\n"
            "p1,2025-01-06,PHQ-9,7\n"
            "p1,2025-01-06,PHQ-9,7\n"
            "p2,2025-01-06,PHQ-9,9\n"
            "p2,2025-01-06,PHQ-9,11\n"
            "p3,2025-01-07,GAD-7,5\n"
            "p1,2025-01-06,GAD-7,4\n"
            "p4,2025-01-08,PHQ-9,99\n")
LATER_MEASURES = ("patient_id,date,measure,score\n"
                  "p1,2025-01-06,PHQ-9,8\n"
                  "p3,2025-01-07,GAD-7,5\n"
                  "p5,2025-01-09,PHQ-9,3\n")


def test_a_measurement_files_copies_and_conflicts_are_told_apart_by_the_key_itself(tmp_path, key_hash):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, MEASURES))
    assert (result.rows_read, result.new_rows, result.duplicates, result.rejected) == (7, 3, 1, 3)
    rows = rejects(con, result.batch_id)
    assert rows[:2] == [
        (4, "conflicts with line 5: same patient, date and measure but a different score"),
        (5, "conflicts with line 4: same patient, date and measure but a different score"),
    ]
    assert [line for line, _ in rows] == [4, 5, 8]
    assert sorted(scores(con)) == [("p1", "2025-01-06", "gad7", 4), ("p1", "2025-01-06", "phq9", 7),
                                   ("p3", "2025-01-07", "gad7", 5)]
    later = ingest(con, csv_file(tmp_path, LATER_MEASURES, name="later.csv"))
    assert (later.new_rows, later.updated_rows, later.unchanged, later.rejected) == (1, 1, 1, 0)
    assert ("p1", "2025-01-06", "phq9", 8) in scores(con)
