"""A clinician's scope is applied in SQL: through the Python API they reach only patients they
have seen (any session with them); a director or admin reaches the whole clinic."""
from __future__ import annotations

import pandas as pd
import pytest

from analytics import engagement, outcomes, readiness
from analytics.access import DEMO_VIEWER, Viewer
from analytics.episodes import prepare
from analytics.errors import WaypointError
from analytics.settings import Settings, load_settings
from tests.builders import S, clinic

ANNA = Viewer(user="anna@clinic.example", role="clinician", clinician_id="c1")
BEN = Viewer(user="ben@clinic.example", role="clinician", clinician_id="c2")
DIRECTOR = Viewer(user="dir@clinic.example", role="director")


def _clinic():
    # p1: only c1; p2: only c2; p3: assessed by c2, then treated by c1 (both have seen p3)
    return clinic([
        S("p1", "2024-01-01", clinician_id="c1", phq9=18, gad7=12),
        S("p1", "2024-01-08", clinician_id="c1", phq9=15),
        S("p1", "2024-01-15", clinician_id="c1", phq9=8),
        S("p2", "2024-01-02", clinician_id="c2", phq9=20, gad7=15, phq9_items={9: 2}),
        S("p2", "2024-01-09", clinician_id="c2", phq9=19),
        S("p2", "2024-01-16", clinician_id="c2", status="no_show"),
        S("p3", "2024-01-03", clinician_id="c2", phq9=14, session_type="Assessment"),
        S("p3", "2024-01-10", clinician_id="c1", phq9=12),
        S("p3", "2024-01-17", clinician_id="c1", phq9=9),
    ])


@pytest.fixture
def con():
    c = _clinic()
    yield c
    c.close()


def _patients(frame: pd.DataFrame) -> set[str]:
    return set(frame["patient_id"]) if len(frame) else set()


def test_work_tables_hold_only_patients_the_clinician_has_seen(con):
    prepare(con, ANNA.scoped(Settings()))
    assert {r[0] for r in con.execute("SELECT DISTINCT patient_id FROM w_sessions").fetchall()} == {"p1", "p3"}
    assert {r[0] for r in con.execute("SELECT DISTINCT patient_id FROM w_episodes").fetchall()} == {"p1", "p3"}
    assert {r[0] for r in con.execute("SELECT DISTINCT patient_id FROM w_scores").fetchall()} == {"p1", "p3"}
    # the shared patient's whole record stays, including the other clinician's assessment
    assert con.execute("SELECT count(*) FROM w_sessions WHERE patient_id = 'p3'").fetchone()[0] == 3


def test_director_and_demo_admin_see_the_whole_clinic(con):
    for viewer in (DIRECTOR, DEMO_VIEWER):
        prepare(con, viewer.scoped(Settings()))
        assert con.execute("SELECT count(DISTINCT patient_id) FROM w_sessions").fetchone()[0] == 3


def test_trajectories_of_another_clinicians_patient_are_empty(con):
    assert outcomes.trajectories(con, ANNA.scoped(Settings()), patient_id="p2").empty
    assert not outcomes.trajectories(con, BEN.scoped(Settings()), patient_id="p2").empty
    assert _patients(outcomes.trajectories(con, ANNA.scoped(Settings()))) == {"p1", "p3"}


def test_episode_outcomes_hold_only_the_clinicians_patients(con):
    assert _patients(outcomes.episode_outcomes(con, ANNA.scoped(Settings()))) == {"p1", "p3"}
    assert _patients(outcomes.episode_outcomes(con, BEN.scoped(Settings()))) == {"p2", "p3"}
    assert _patients(outcomes.episode_outcomes(con, DIRECTOR.scoped(Settings()))) == {"p1", "p2", "p3"}


def test_readiness_never_lists_another_clinicians_patient(con):
    records = readiness.readiness(con, ANNA.scoped(Settings()))
    assert {r["patient_id"] for r in records} == {"p1", "p3"}
    # asking for the other clinician's caseload through the ordinary filter still gives nothing of theirs
    records = readiness.readiness(con, ANNA.scoped(Settings(clinician_id="c2")))
    assert {r["patient_id"] for r in records} <= {"p3"}


def test_engagement_watch_list_and_access_are_scoped(con):
    assert "p2" not in _patients(engagement.access_by_episode(con, ANNA.scoped(Settings())))
    assert "p2" not in _patients(engagement.watch_list(con, ANNA.scoped(Settings())))
    assert "p2" in _patients(engagement.access_by_episode(con, BEN.scoped(Settings())))


def test_kpis_count_only_the_clinicians_episodes(con):
    mine = outcomes.kpis(con, ANNA.scoped(Settings()))
    assert mine["episodes"] == 2
    assert mine["attendance"]["attended"] == 6 and mine["attendance"]["no_show"] == 0  # p2's no-show is not hers
    assert outcomes.kpis(con, DIRECTOR.scoped(Settings()))["episodes"] == 3


def test_scoped_always_overrides_a_scope_the_settings_carried():
    forged = Settings(scope_clinician_id=None)
    assert ANNA.scoped(forged).scope_clinician_id == "c1"
    assert DIRECTOR.scoped(Settings(scope_clinician_id="c1")).scope_clinician_id is None


def test_a_config_file_cannot_set_a_scope(tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text('[settings]\nscope_clinician_id = "c9"\n')
    with pytest.raises(WaypointError, match="unknown setting.s. scope_clinician_id"):
        load_settings(path)


def test_a_clinicians_patient_is_judged_against_the_whole_clinics_expected_band():
    """Readiness reads the expected band of the clinic (an aggregate), so a clinician sees the same
    category and reasons for their patient as the director does."""
    from datetime import date, timedelta

    rows = []
    for i in range(20):  # twenty finished reference episodes, all another clinician's
        for k in range(6):
            rows.append(S(f"r{i:02d}", date(2024, 1, 1) + timedelta(days=7 * k + i), clinician_id="c2",
                          phq9=16 if k == 0 else i, discharge_reason="planned" if k == 5 else None))
    rows += [S("p1", date(2025, 2, 3) + timedelta(weeks=k), clinician_id="c1", phq9=s) for k, s in enumerate([16, 15, 18])]
    con = clinic(rows)
    mine = readiness.readiness(con, ANNA.scoped(Settings()))
    clinic_view = [r for r in readiness.readiness(con, DIRECTOR.scoped(Settings())) if r["patient_id"] == "p1"]
    assert [r["patient_id"] for r in mine] == ["p1"]
    assert mine[0]["category"] == clinic_view[0]["category"] == "not_on_track"
    assert mine[0]["reasons"] == clinic_view[0]["reasons"]
    assert "among the clinic's 20 finished episodes" in mine[0]["reasons"][0]
