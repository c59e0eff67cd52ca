"""Episodes and endings (outcomes issue): the rules of sql/episodes/*.sql, checked through
outcomes.episode_outcomes."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analytics import outcomes
from analytics.settings import Settings
from tests.builders import S, clinic


def rows(sessions, settings: Settings | None = None, **clinic_kw) -> list[dict]:
    con = clinic(sessions, **clinic_kw)
    return outcomes.episode_outcomes(con, settings or Settings()).to_dict("records")


def one(sessions, settings: Settings | None = None, **clinic_kw) -> dict:
    found = rows(sessions, settings, **clinic_kw)
    assert len(found) == 1, found
    return found[0]


def test_one_session_is_one_active_unfinished_episode():
    frame = outcomes.episode_outcomes(clinic([S("p1", "2024-01-01", phq9=12, gad7=9)]), Settings())
    ep = frame.to_dict("records")[0]
    assert ep["status"] == "active" and ep["ended"] == 0 and ep["finished_treatment"] == 0
    assert ep["sessions"] == 1 and ep["attended_sessions"] == 1
    assert (ep["phq9_first"], ep["phq9_last"], ep["phq9_change"], ep["phq9_scored_sessions"]) == (12, 12, 0, 1)
    # not applicable (not paired): a missing value in the frame (nullable Int64), None in records,
    # null in the CLI's JSON and an empty cell in its CSV -- never 0, which would read as "not recovered"
    assert ep["paired"] == 0 and ep["at_caseness"] == 1
    assert str(frame["recovered"].dtype) == "Int64" and pd.isna(frame.loc[0, "recovered"])
    for flag in ("recovered", "reliable_improvement", "reliable_deterioration", "reliable_recovery"):
        assert ep[flag] is None, flag


@pytest.mark.parametrize("gap_days, episodes", [(180, 1), (181, 2)])
def test_gap_of_more_than_180_days_starts_a_new_episode(gap_days, episodes):
    second = date.fromordinal(date(2024, 1, 1).toordinal() + gap_days)
    found = rows([S("p1", "2024-01-01"), S("p1", second)])
    assert [r["episode_id"] for r in found] == (["p1#1"] if episodes == 1 else ["p1#1", "p1#2"])


def test_episodes_split_by_a_long_gap_have_their_own_outcomes():
    found = rows([
        S("p1", "2023-01-02", phq9=20, gad7=15), S("p1", "2023-01-09", phq9=5, gad7=3, discharge_reason="planned"),
        S("p1", "2023-09-01", phq9=14, gad7=10), S("p1", "2023-09-08", phq9=16, gad7=12),
    ])
    first, second = found
    assert (first["episode_id"], first["phq9_first"], first["phq9_last"], first["ending"]) == ("p1#1", 20, 5, "planned")
    assert (second["episode_id"], second["phq9_first"], second["phq9_last"], second["status"]) == ("p1#2", 14, 16, "active")


def test_the_gap_is_configurable():
    sessions = [S("p1", "2024-01-01"), S("p1", "2024-03-15")]  # 74 days apart
    assert len(rows(sessions)) == 1
    assert [r["episode_id"] for r in rows(sessions, Settings(episode_gap_days=60))] == ["p1#1", "p1#2"]


def test_export_episode_id_is_used_instead_of_the_gap_rule():
    found = rows([S("p1", "2023-01-01", episode_id="E1"), S("p1", "2024-06-01", episode_id="E1"),
                  S("p1", "2024-06-08", episode_id="E2")])
    assert [(r["episode_id"], r["sessions"]) for r in found] == [("E1", 2), ("E2", 1)]


@pytest.mark.parametrize("days_before_as_of, status, ending", [(90, "active", None), (91, "ended", "dropout")])
def test_lost_contact_after_more_than_90_days_is_a_dropout(days_before_as_of, status, ending):
    last = date.fromordinal(date(2024, 6, 30).toordinal() - days_before_as_of)
    ep = one([S("p1", "2024-01-01"), S("p1", last)], Settings(as_of=date(2024, 6, 30)))
    assert ep["status"] == status
    assert (ep["ending"] if isinstance(ep["ending"], str) else None) == ending
    assert ep["lost_contact"] == (1 if ending else 0) and ep["dropout"] == (1 if ending else 0)
    assert ep["end_date"] == (last.isoformat() if ending else None)


def test_lost_contact_days_are_configurable():
    ep = one([S("p1", "2024-01-01"), S("p1", "2024-05-01")], Settings(as_of=date(2024, 6, 30), lost_contact_days=30))
    assert ep["ending"] == "dropout"


def test_lost_contact_counts_a_session_of_any_status():
    # the latest session is a cancellation 10 days before as-of: contact is not lost
    ep = one([S("p1", "2024-01-01"), S("p1", "2024-06-20", status="cancelled")], Settings(as_of=date(2024, 6, 30)))
    assert ep["status"] == "active"


def test_discharge_reason_ends_the_episode_and_the_latest_one_is_its_ending():
    ep = one([S("p1", "2024-01-01", discharge_reason="transferred"), S("p1", "2024-01-08"),
              S("p1", "2024-01-15", discharge_reason="planned"), S("p1", "2024-01-16")])
    assert (ep["status"], ep["ending"], ep["lost_contact"], ep["end_date"]) == ("ended", "planned", 0, "2024-01-16")


def test_a_dropout_discharge_reason_is_a_dropout_without_lost_contact():
    ep = one([S("p1", "2024-01-01"), S("p1", "2024-01-08", discharge_reason="dropout")])
    assert (ep["dropout"], ep["lost_contact"]) == (1, 0)


def test_as_of_defaults_to_the_latest_session_in_the_data():
    found = rows([S("p1", "2024-01-01"), S("p2", "2024-04-10")])
    # p1's last session is 100 days before the latest session in the data (2024-04-10)
    assert [(r["patient_id"], r["status"]) for r in found] == [("p1", "ended"), ("p2", "active")]


def test_sessions_after_the_as_of_date_are_ignored():
    ep = one([S("p1", "2024-01-01", phq9=15, gad7=10), S("p1", "2024-01-08", phq9=12, gad7=9),
              S("p1", "2024-02-01", phq9=4, gad7=2, discharge_reason="planned")],
             Settings(as_of=date(2024, 1, 10)))
    assert (ep["sessions"], ep["status"], ep["phq9_last"], ep["last_session_date"]) == (2, "active", 12, "2024-01-08")


def test_an_episode_entirely_after_the_as_of_date_does_not_exist_yet():
    found = rows([S("p1", "2024-01-01"), S("p2", "2024-03-01")], Settings(as_of=date(2024, 2, 1)))
    assert [r["patient_id"] for r in found] == ["p1"]


@pytest.mark.parametrize("sessions, finished", [
    ([S("p1", "2024-01-01"), S("p1", "2024-01-08", discharge_reason="planned")], 1),
    ([S("p1", "2024-01-01", discharge_reason="planned")], 0),
    ([S("p1", "2024-01-01"), S("p1", "2024-01-08", status="no_show", discharge_reason="planned")], 0),
    ([S("p1", "2024-01-01", session_type="assessment"), S("p1", "2024-01-08", session_type="treatment"),
      S("p1", "2024-01-15", session_type="treatment", discharge_reason="planned")], 1),
    ([S("p1", "2024-01-01", session_type="assessment"),
      S("p1", "2024-01-08", session_type="treatment", discharge_reason="planned")], 0),
    ([S("p1", "2024-01-01", session_type="Initial assessment"),
      S("p1", "2024-01-08", session_type="Treatment", discharge_reason="planned")], 0),
    ([S("p1", "2024-01-01"), S("p1", "2024-01-08")], 0),  # two sessions but still active
], ids=["two-attended", "one-attended", "second-missed", "assessment-plus-two", "assessment-plus-one",
        "initial-assessment", "not-ended"])
def test_finished_treatment_needs_an_ending_and_two_attended_treatment_sessions(sessions, finished):
    assert one(sessions)["finished_treatment"] == finished


def test_main_clinician_is_the_one_with_most_attended_sessions_across_sites():
    # c1 saw the patient twice at site A and twice at site B; c2 three times at site A
    sessions = [S("p1", f"2024-01-{d:02d}", clinician_id="c1", site="A") for d in (1, 2)]
    sessions += [S("p1", f"2024-01-{d:02d}", clinician_id="c1", site="B") for d in (3, 4)]
    sessions += [S("p1", f"2024-01-{d:02d}", clinician_id="c2", site="A") for d in (5, 6, 7)]
    ep = one(sessions)
    assert (ep["clinician_id"], ep["site"]) == ("c1", "A")


def test_two_scores_of_a_scale_at_one_session_are_one_scored_session():
    # a session log's PHQ-9 and a measurement file's PHQ-9 for the same patient and date: the file's
    # score is matched to that attended session, so the session is scored once, not twice
    con = clinic([S("p1", "2024-01-01", phq9=15), S("p1", "2024-01-08", phq9=11), S("p1", "2024-01-15")])
    con.execute("INSERT INTO measurements VALUES ('p1|2024-01-15|phq9', NULL, 'p1', DATE '2024-01-15', 'phq9', 9, 0),"
                " ('p1|2024-01-08|phq9', NULL, 'p1', DATE '2024-01-08', 'phq9', 12, 0)")
    ep = outcomes.episode_outcomes(con, Settings()).to_dict("records")[0]
    assert (ep["phq9_first"], ep["phq9_last"], ep["phq9_scored_sessions"]) == (15, 9, 3)


def test_the_columns_have_the_same_types_with_rows_and_without():
    # a view with no episodes (a period before the clinic opened) gives the same columns, typed the
    # same, as one with episodes: an export or a chart never meets a different kind of column
    con = clinic([S("p1", "2024-01-01", phq9=15, gad7=12), S("p1", "2024-01-08", phq9=9, gad7=7)])
    full = outcomes.episode_outcomes(con, Settings())
    empty = outcomes.episode_outcomes(con, Settings(date_from=date(2020, 1, 1), date_to=date(2020, 2, 1)))
    assert len(full) == 1 and len(empty) == 0
    assert dict(empty.dtypes.astype(str)) == dict(full.dtypes.astype(str))
