"""Every session, score and item score is stored once under its key. The keys have no index (an
index's entries would hold an import's memory until it commits: migration 004), so the import keeps
them unique itself, and checks before it commits."""
from __future__ import annotations

import pytest

from analytics import ingest
from analytics.ingest import KeysRepeated
from tests.ingest_helpers import csv_file, fresh
from tests.ingest_helpers import ingest as import_file

HEADER = "patient_id,clinician_id,session_date,status,phq9,gad7,phq9_item9"


def repeated_keys(con) -> dict[str, int]:
    return {
        "sessions": con.execute("SELECT count(*) - count(DISTINCT session_key) FROM sessions").fetchone()[0],
        "measurements": con.execute("SELECT count(*) - count(DISTINCT measurement_key) FROM measurements").fetchone()[0],
        "item_scores": con.execute(
            "SELECT count(*) - count(DISTINCT (measurement_key, item)) FROM item_scores").fetchone()[0],
    }


def test_reimports_updates_and_repeats_in_a_file_store_each_key_once(tmp_path):
    con = fresh()
    first = csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,18,12,1\np1,c1,2025-01-13,attended,15,11,0\n",
                     name="jan.csv")
    import_file(con, first)
    import_file(con, first)                                             # the same file again
    changed = csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-13,attended,14,11,0\n"   # a changed score
                                 "p1,c1,2025-01-13,attended,14,11,0\n"              # repeated in the file
                                 "p1,c1,2025-01-20,attended,12,9,0\n", name="feb.csv")
    result = import_file(con, changed)
    assert (result.new_rows, result.updated_rows, result.duplicates) == (1, 1, 1)
    assert repeated_keys(con) == {"sessions": 0, "measurements": 0, "item_scores": 0}
    assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 3
    assert con.execute("SELECT score FROM measurements WHERE measure_date = DATE '2025-01-13' AND scale = 'phq9'"
                       ).fetchall() == [(14,)]


def test_an_import_that_would_store_a_key_twice_is_rolled_back_whole(tmp_path, monkeypatch):
    con = fresh()
    import_file(con, csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,18,12,1\n", name="jan.csv"))
    before = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
              for t in ("sessions", "measurements", "item_scores", "imports", "episodes")}
    real = ingest._statements

    def sessions_inserted_twice(script: str) -> list[str]:         # a fault in the write step
        statements = real(script)
        at = next((i for i, s in enumerate(statements) if s.startswith("INSERT INTO sessions (session_key")), None)
        return statements if at is None else statements[:at + 1] + statements[at:]   # the write script only

    monkeypatch.setattr(ingest, "_statements", sessions_inserted_twice)
    feb = csv_file(tmp_path, f"{HEADER}\np1,c1,2025-02-03,attended,12,9,0\n", name="feb.csv")
    with pytest.raises(KeysRepeated, match=r"would have stored a key twice \(sessions 'p1\|c1\|2025-02-03\|'\)"
                                           r".*nothing was imported.*fault in Waypoint"):
        import_file(con, feb)
    after = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in before}
    assert after == before


def test_the_check_names_each_kind_of_repeated_key(tmp_path):
    con = fresh()
    import_file(con, csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,18,12,1\n"))
    con.execute("INSERT INTO sessions SELECT * FROM sessions")
    con.execute("INSERT INTO measurements SELECT * FROM measurements")
    con.execute("INSERT INTO item_scores SELECT * FROM item_scores")
    with pytest.raises(KeysRepeated) as caught:
        ingest.check_unique_keys(con, 1)
    message = str(caught.value)
    assert "sessions 'p1|c1|2025-01-06|'" in message
    assert "measurements 'p1|c1|2025-01-06||gad7'" in message and "measurements 'p1|c1|2025-01-06||phq9'" in message
    assert "item_scores 'p1|c1|2025-01-06||phq9 item 9'" in message
    ingest.check_unique_keys(con, 2)                                    # another batch's keys: nothing to say


def test_the_check_finds_a_key_another_import_already_wrote(tmp_path):
    con = fresh()
    import_file(con, csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,18,12,1\n"))
    con.execute("INSERT INTO sessions SELECT * REPLACE (2 AS batch_id) FROM sessions")
    with pytest.raises(KeysRepeated, match=r"\(sessions 'p1\|c1\|2025-01-06\|'\)"):
        ingest.check_unique_keys(con, 2)


@pytest.fixture
def one_hash_for_every_key(monkeypatch):
    """The check first groups the batch's keys by a number hashed from them; two keys can share a
    hash. With every key given the same hash, only the keys themselves can tell them apart."""
    import re

    read_sql = ingest.read_sql

    def every_key_one_hash(name: str) -> str:
        sql = read_sql(name)
        if name == "ingest/check_unique_keys.sql":
            sql, n = re.subn(r"\bhash\([^()]*\)", "CAST(0 AS UBIGINT)", sql)
            assert n == 6
        return sql

    monkeypatch.setattr(ingest, "read_sql", every_key_one_hash)


def test_keys_that_share_a_hash_are_not_taken_for_repeats(tmp_path, one_hash_for_every_key):
    con = fresh()
    result = import_file(con, csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,18,12,1\n"
                                                 "p1,c1,2025-01-13,attended,15,11,0\n"
                                                 "p2,c2,2025-01-06,attended,9,8,0\n"))
    assert result.new_rows == 3
    con.execute("INSERT INTO sessions SELECT * FROM sessions WHERE patient_id = 'p2'")
    with pytest.raises(KeysRepeated) as caught:
        ingest.check_unique_keys(con, 1)
    assert "sessions 'p2|c2|2025-01-06|'" in str(caught.value)
    assert "p1" not in str(caught.value)
