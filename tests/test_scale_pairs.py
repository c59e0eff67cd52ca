"""Each scale's first and last score in each episode (sql/outcomes/scale_pairs.sql), as the
definition has them: the scores ordered by attended-session number, two scores of one scale at one
session by measurement key; scored_sessions counts the sessions, not the scores. The table is
found in one pass of grouping for the episodes' scales with one score per session, and score by
score for those with two at one session: both ways must give what the definition gives."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from analytics import ingest, outcomes
from analytics.db import connect
from analytics.settings import Settings


def _clinic(tmp_path: Path, seed: int):
    """Six patients seen weekly by two clinicians, some sessions missed; PHQ-9 and GAD-7 in the
    session log at some sessions; then scores from a measurement file (as a database imported into
    before 2 Dec 2026 may hold them beside the session log's): on days with a session-log score
    of that scale (two scores at one session), on attended days without one, and on days with no
    attended session (matched to none)."""
    rng = random.Random(seed)
    lines = ["patient_id,clinician_id,session_date,status,phq9,gad7"]
    attended = []
    for p in range(6):
        clinician = f"c{p % 2 + 1}"
        for week in range(12):
            day = f"2025-{1 + week // 4:02d}-{1 + 7 * (week % 4):02d}"
            status = "no_show" if rng.random() < 0.15 else "attended"
            phq9 = str(rng.randint(0, 27)) if status == "attended" and rng.random() < 0.6 else ""
            gad7 = str(rng.randint(0, 21)) if status == "attended" and rng.random() < 0.4 else ""
            lines.append(f"p{p},{clinician},{day},{status},{phq9},{gad7}")
            if status == "attended":
                attended.append((f"p{p}", day))
    (tmp_path / "sessions.csv").write_text("\n".join(lines) + "\n")
    con = connect(tmp_path / "clinic.duckdb")
    ingest.ingest_files(con, [tmp_path / "sessions.csv"], imported_by="test")
    older = []
    for patient, day in rng.sample(attended, len(attended) // 2) + [("p0", "2025-06-30"), ("p3", "2025-07-07")]:
        for scale, top in (("phq9", 27), ("gad7", 21)):
            if rng.random() < 0.5:
                older.append((f"{patient}|{day}|{scale}", patient, day, scale, rng.randint(0, top)))
    con.executemany("INSERT INTO measurements VALUES (?, NULL, ?, ?, ?, ?, 1)", older)
    outcomes.kpis(con, Settings())       # builds the work tables
    return con


def _by_definition(con) -> dict[tuple, tuple]:
    rows = con.execute(
        "SELECT episode_id, scale, session_number, tie_key, score, session_date FROM w_scores").fetchall()
    scores: dict[tuple, list] = {}
    for episode, scale, number, tie, score, day in rows:
        scores.setdefault((episode, scale), []).append((number, tie is None, tie or "", score, day))
    pairs = {}
    for key, found in scores.items():
        found.sort()                      # by session number, then measurement key (none last)
        first, last = found[0], found[-1]
        pairs[key] = (len({f[0] for f in found}), first[3], first[4], first[0], last[3], last[4], last[0])
    return pairs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_first_and_last_scores_and_scored_sessions_are_as_defined(tmp_path, seed):
    con = _clinic(tmp_path, seed)
    ties = con.execute("""SELECT count(*) FROM (SELECT episode_id, scale, session_number FROM w_scores
                          GROUP BY ALL HAVING count(*) > 1)""").fetchone()[0]
    untied_with_keys = con.execute(
        """SELECT count(*) FROM (SELECT episode_id, scale FROM w_scores GROUP BY ALL
           HAVING count(tie_key) > 0 AND count(*) = count(DISTINCT session_number))""").fetchone()[0]
    assert ties >= 3 and untied_with_keys >= 1      # both kinds of episode scale are in the clinic
    table = {(r[0], r[1]): tuple(r[2:]) for r in con.execute(
        """SELECT episode_id, scale, scored_sessions, first_score, first_date, first_session,
                  last_score, last_date, last_session FROM w_scale_pairs""").fetchall()}
    assert table == _by_definition(con)
