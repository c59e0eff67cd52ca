"""Which session a score belongs to (sql/episodes/w_scores.sql): a score from a session log belongs
to its own session; one from a long measurement file to the patient's attended session on its
date — the first by clinician when two clinicians saw the patient that day — and to none when no
session was attended that day."""
from pathlib import Path

import pytest

from analytics import ingest, outcomes, readiness
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


# Two scores of one scale at one session: the session log's (measurement key
# "p1|<clinician>|2025-01-06||phq9") and a measurement file's of the same date ("p1|2025-01-06|phq9").
# An import no longer stores both (a session log's score replaces a measurement file's of that
# patient, day and scale), but a database imported into before that rule may hold them. They are
# ordered by measurement key, so which comes first depends on the clinician id: "c1" sorts after
# the date's "2", "1" before it.
TIED_SESSIONS = """patient_id,clinician_id,session_date,status,phq9
p1,{clinician},2025-01-06,attended,20
p1,{clinician},2025-01-13,attended,
p1,{clinician},2025-01-20,attended,16
"""
FROM_AN_OLDER_MEASUREMENT_FILE = [("p1|2025-01-06|phq9", "2025-01-06", 12), ("p1|2025-01-20|phq9", "2025-01-20", 9)]


@pytest.mark.parametrize("clinician, in_order", [("c1", [12, 20, 9, 16]), ("1", [20, 12, 16, 9])])
def test_two_scores_of_a_scale_at_one_session_are_ordered_by_measurement_key(tmp_path, clinician, in_order):
    (tmp_path / "sessions.csv").write_text(TIED_SESSIONS.format(clinician=clinician))
    con = connect(tmp_path / "clinic.duckdb")
    ingest.ingest_files(con, [tmp_path / "sessions.csv"], imported_by="test")
    con.executemany("INSERT INTO measurements VALUES (?, NULL, 'p1', ?, 'phq9', ?, 1)", FROM_AN_OLDER_MEASUREMENT_FILE)
    settings = Settings()
    trajectory = outcomes.trajectories(con, settings, patient_id="p1")
    assert trajectory["score"].tolist() == in_order
    assert trajectory["session_number"].tolist() == [1, 1, 3, 3]
    # the episode's first score is the first of its first session, its last the last of its last
    [episode] = outcomes.episode_outcomes(con, settings, patient_id="p1").to_dict("records")
    assert (episode["phq9_first"], episode["phq9_last"]) == (in_order[0], in_order[-1])
    assert episode["phq9_scored_sessions"] == 2
    # readiness reads the scores in the same order
    [record] = readiness.readiness(con, settings, patient_id="p1")
    assert [p["score"] for p in record["series"]["phq9"]] == in_order
    assert (record["first_scores"]["phq9"], record["last_scores"]["phq9"]) == (in_order[0], in_order[-1])
    # and each of the two sessions counts as scored once in the data-quality figures
    quality = outcomes.data_quality(con, settings, by_month=False)
    scored = quality[quality["measure"] == "sessions_scored"].iloc[0]
    assert (scored["numerator"], scored["denominator"]) == (2, 3)
