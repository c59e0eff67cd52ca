"""Which session a score belongs to (sql/episodes/w_scores.sql): a score from a session log belongs
to its own session; one from a long measurement file to the patient's attended session on its
date — the first by clinician when two clinicians saw the patient that day — and to none when no
session was attended that day."""
from pathlib import Path

from analytics import ingest, outcomes
from analytics.db import connect
from analytics.settings import Settings

SESSIONS = """patient_id,clinician_id,session_date,status,phq9
p1,c2,2025-01-06,attended,
p1,c1,2025-01-06,attended,
p1,c1,2025-01-13,attended,
p1,c1,2025-01-20,no_show,
p2,c1,2025-01-06,attended,21
"""
MEASURES = """Client ID,Date,Measure,Score
p1,2025-01-06,PHQ-9,18
p1,2025-01-13,PHQ-9,14
p1,2025-01-20,PHQ-9,10
p1,2025-01-27,PHQ-9,9
"""


def scores(tmp_path: Path) -> list[tuple]:
    (tmp_path / "sessions.csv").write_text(SESSIONS)
    (tmp_path / "measures.csv").write_text(MEASURES)
    con = connect(tmp_path / "clinic.duckdb")
    ingest.ingest_files(con, [tmp_path / "sessions.csv", tmp_path / "measures.csv"], imported_by="test")
    outcomes.kpis(con, Settings())           # builds the work tables
    return sorted(con.execute("SELECT patient_id, clinician_id, CAST(session_date AS VARCHAR), session_number, "
                              "score FROM w_scores").fetchall())


def test_each_score_belongs_to_one_attended_session(tmp_path):
    assert scores(tmp_path) == [
        ("p1", "c1", "2025-01-06", 1, 18),   # two clinicians that day: c1 comes first
        ("p1", "c1", "2025-01-13", 3, 14),
        ("p2", "c1", "2025-01-06", 1, 21),   # from the session log: its own session
    ]                                        # 20 Jan was missed and 27 Jan had no session: no match
