"""Episodes: the export's episode_id when given, else a new one after a gap of more than 180 days."""
from __future__ import annotations

from tests.builders import S, clinic


def episodes(con) -> list[tuple]:
    return con.execute("SELECT patient_id, CAST(session_date AS VARCHAR), episode_id FROM sessions "
                       "ORDER BY patient_id, session_date").fetchall()


def test_a_gap_of_more_than_180_days_starts_a_new_episode():
    con = clinic([S("p1", "2024-01-01"), S("p1", "2024-06-29"), S("p1", "2024-12-27"), S("p1", "2024-12-28")])
    # 2024-01-01 -> 2024-06-29 is 180 days (same episode); 2024-06-29 -> 2024-12-27 is 181 days (new)
    assert [e for _, _, e in episodes(con)] == ["p1#1", "p1#1", "p1#2", "p1#2"]


def test_the_exports_episode_id_is_used_and_a_shared_one_is_told_apart_by_patient():
    con = clinic([S("p1", "2024-01-01", episode_id="E1"), S("p1", "2024-01-08", episode_id="E1"),
                  S("p2", "2024-01-02", episode_id="1"), S("p3", "2024-01-03", episode_id="1"),
                  S("p3", "2024-02-03")])
    assert episodes(con) == [("p1", "2024-01-01", "E1"), ("p1", "2024-01-08", "E1"),
                             ("p2", "2024-01-02", "p2:1"), ("p3", "2024-01-03", "p3:1"),
                             ("p3", "2024-02-03", "p3#1")]
    assert con.execute("SELECT count(*) FROM episodes").fetchall() == [(4,)]
