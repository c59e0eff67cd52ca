"""The scores' work table is stored in patient order: by patient, episode and session number, so
that one patient's page reads the few row groups holding that patient's scores at any clinic size
(sql/episodes/w_scores.sql orders it itself). The rows, read as stored, must come in that order
whatever order the export listed them in."""
from __future__ import annotations

import random
from pathlib import Path

from analytics import ingest, outcomes
from analytics.db import connect
from analytics.settings import Settings


def _clinic(tmp_path: Path, seed: int):
    """Fourteen patients whose ids sort differently as text and as numbers (p2 after p10), and two
    whose episodes' ids sort apart from the patients' ("p1 b#1" before "p1#1", though "p1" comes
    before "p1 b"), each with two episodes (a gap of half a year), PHQ-9 and GAD-7 at most
    attended sessions; the export's rows shuffled."""
    rng = random.Random(seed)
    rows = []
    for p in [*range(1, 13), "1 b", "12 b"]:
        for start in ("2024", "2025"):
            for week in range(6):
                day = f"{start}-{1 + week // 4:02d}-{1 + 7 * (week % 4):02d}"
                status = "no_show" if rng.random() < 0.2 else "attended"
                phq9 = str(rng.randint(0, 27)) if status == "attended" and rng.random() < 0.8 else ""
                gad7 = str(rng.randint(0, 21)) if status == "attended" and rng.random() < 0.6 else ""
                rows.append(f"p{p},c{len(str(p)) % 3 + 1},{day},{status},{phq9},{gad7}")
    rng.shuffle(rows)
    (tmp_path / "sessions.csv").write_text("patient_id,clinician_id,session_date,status,phq9,gad7\n"
                                           + "\n".join(rows) + "\n")
    con = connect(tmp_path / "clinic.duckdb")
    ingest.ingest_files(con, [tmp_path / "sessions.csv"], imported_by="test")
    outcomes.kpis(con, Settings())       # builds the work tables
    return con


def test_scores_are_stored_by_patient_then_episode_then_session(tmp_path):
    con = _clinic(tmp_path, seed=8)
    stored = con.execute("SELECT patient_id, episode_id, session_number FROM w_scores").fetchall()
    assert len({episode for _, episode, _ in stored}) == 28
    assert {"p1 b#1", "p1#1"} <= {episode for _, episode, _ in stored}
    assert len(stored) > 150
    assert stored == sorted(stored)


def test_the_order_holds_in_a_later_process_that_finds_the_table_kept(tmp_path):
    con = _clinic(tmp_path, seed=9)
    con.close()
    con = connect(tmp_path / "clinic.duckdb")
    outcomes.kpis(con, Settings())
    stored = con.execute("SELECT patient_id, episode_id, session_number FROM w_scores").fetchall()
    assert stored and stored == sorted(stored)
