"""NHS Talking Therapies definitions (outcomes issue, "Scores and definitions"), each on a hand-worked
episode: caseness at exactly 10 / 8, reliable change at exactly 6 / 4, recovery, reliable recovery,
deterioration, pairing (missing GAD-7, same-day scores), and the rates of `kpis` built on them.

Unless a test says otherwise an episode is two attended sessions a week apart, the second with a
planned discharge: ended, finished treatment, and paired when both scales are scored at both.
"""
from __future__ import annotations

from datetime import date

import pytest

from analytics import outcomes
from analytics.settings import Settings
from tests.builders import S, clinic


def course(first: dict, last: dict, patient: str = "p1", clinician: str = "c1", start: str = "2024-01-01",
           end: str = "2024-01-08", reason: str | None = "planned") -> list[S]:
    return [S(patient, start, "attended", clinician, **first),
            S(patient, end, "attended", clinician, discharge_reason=reason, **last)]


def episode(sessions, settings: Settings | None = None) -> dict:
    found = outcomes.episode_outcomes(clinic(sessions), settings or Settings()).to_dict("records")
    assert len(found) == 1, found
    return found[0]


def flags(ep: dict) -> tuple:
    return (ep["paired"], ep["at_caseness"], ep["recovered"], ep["reliable_improvement"],
            ep["reliable_deterioration"], ep["reliable_recovery"])


# --- caseness --------------------------------------------------------------------------------
@pytest.mark.parametrize("phq9, gad7, caseness", [
    (10, 0, 1),   # PHQ-9 exactly 10 is caseness
    (9, 8, 1),    # GAD-7 exactly 8 is caseness
    (9, 7, 0),    # just below both
    (27, 21, 1),
])
def test_caseness_at_start_is_phq9_at_least_10_or_gad7_at_least_8(phq9, gad7, caseness):
    ep = episode(course({"phq9": phq9, "gad7": gad7}, {"phq9": 0, "gad7": 0}))
    assert ep["at_caseness"] == caseness
    # recovery applies only to cases: 0 -> 0 is recovered for a case, not applicable otherwise
    assert ep["recovered"] == (1 if caseness else None)


def test_caseness_is_judged_on_the_first_score_not_a_later_one():
    ep = episode([S("p1", "2024-01-01", phq9=9, gad7=7), S("p1", "2024-01-08", phq9=16, gad7=12),
                  S("p1", "2024-01-15", phq9=4, gad7=3, discharge_reason="planned")])
    assert (ep["phq9_first"], ep["at_caseness"], ep["recovered"]) == (9, 0, None)


# --- recovery --------------------------------------------------------------------------------
@pytest.mark.parametrize("last_phq9, last_gad7, recovered", [
    (9, 7, 1),    # both below caseness at the end
    (10, 7, 0),   # PHQ-9 still exactly at caseness
    (9, 8, 0),    # GAD-7 still exactly at caseness
])
def test_recovered_needs_last_phq9_below_10_and_last_gad7_below_8(last_phq9, last_gad7, recovered):
    ep = episode(course({"phq9": 18, "gad7": 14}, {"phq9": last_phq9, "gad7": last_gad7}))
    assert (ep["at_caseness"], ep["recovered"]) == (1, recovered)


def test_recovered_without_reliable_change_is_not_reliable_recovery():
    # 10 -> 9 and 8 -> 7: no longer at caseness, but changes of 1 are not reliable
    ep = episode(course({"phq9": 10, "gad7": 8}, {"phq9": 9, "gad7": 7}))
    assert flags(ep) == (1, 1, 1, 0, 0, 0)


def test_recovered_and_reliably_improved_is_reliable_recovery():
    ep = episode(course({"phq9": 15, "gad7": 10}, {"phq9": 9, "gad7": 6}))
    assert flags(ep) == (1, 1, 1, 1, 0, 1)


def test_reliable_improvement_still_at_caseness_is_not_recovery():
    ep = episode(course({"phq9": 22, "gad7": 18}, {"phq9": 16, "gad7": 14}))
    assert flags(ep) == (1, 1, 0, 1, 0, 0)


def test_not_at_caseness_at_start_recovery_does_not_apply_but_reliable_change_does():
    ep = episode(course({"phq9": 9, "gad7": 7}, {"phq9": 3, "gad7": 3}))
    assert flags(ep) == (1, 0, None, 1, 0, None)


# --- reliable change ---------------------------------------------------------------------------
@pytest.mark.parametrize("first, last, improvement, deterioration", [
    ({"phq9": 16, "gad7": 5}, {"phq9": 10, "gad7": 5}, 1, 0),   # PHQ-9 fell by exactly 6
    ({"phq9": 16, "gad7": 5}, {"phq9": 11, "gad7": 5}, 0, 0),   # PHQ-9 fell by 5
    ({"phq9": 5, "gad7": 12}, {"phq9": 5, "gad7": 8}, 1, 0),    # GAD-7 fell by exactly 4
    ({"phq9": 5, "gad7": 12}, {"phq9": 5, "gad7": 9}, 0, 0),    # GAD-7 fell by 3
    ({"phq9": 10, "gad7": 5}, {"phq9": 16, "gad7": 5}, 0, 1),   # PHQ-9 rose by exactly 6
    ({"phq9": 10, "gad7": 5}, {"phq9": 15, "gad7": 5}, 0, 0),   # PHQ-9 rose by 5
    ({"phq9": 5, "gad7": 8}, {"phq9": 5, "gad7": 12}, 0, 1),    # GAD-7 rose by exactly 4
    ({"phq9": 5, "gad7": 8}, {"phq9": 5, "gad7": 11}, 0, 0),    # GAD-7 rose by 3
    ({"phq9": 20, "gad7": 5}, {"phq9": 14, "gad7": 9}, 0, 0),   # PHQ-9 fell 6 but GAD-7 rose 4: neither
    ({"phq9": 20, "gad7": 15}, {"phq9": 14, "gad7": 18}, 1, 0), # PHQ-9 fell 6, GAD-7 rose only 3
    ({"phq9": 8, "gad7": 15}, {"phq9": 14, "gad7": 11}, 0, 0),  # PHQ-9 rose 6 but GAD-7 fell 4: neither
    ({"phq9": 20, "gad7": 15}, {"phq9": 12, "gad7": 10}, 1, 0), # both fell reliably
], ids=["phq9-fell-6", "phq9-fell-5", "gad7-fell-4", "gad7-fell-3", "phq9-rose-6", "phq9-rose-5",
        "gad7-rose-4", "gad7-rose-3", "fell-and-rose", "fell-and-rose-3", "rose-and-fell", "both-fell"])
def test_reliable_change_is_a_change_of_at_least_6_on_phq9_or_4_on_gad7(first, last, improvement, deterioration):
    ep = episode(course(first, last))
    assert ep["paired"] == 1
    assert (ep["reliable_improvement"], ep["reliable_deterioration"]) == (improvement, deterioration)


# --- pairing and first/last scores ---------------------------------------------------------------
def test_missing_gad7_means_not_paired_and_no_outcome_flags():
    ep = episode(course({"phq9": 18}, {"phq9": 6}))
    assert (ep["finished_treatment"], ep["phq9_scored_sessions"], ep["gad7_scored_sessions"]) == (1, 2, 0)
    assert ep["gad7_first"] is None and ep["gad7_change"] is None
    assert flags(ep) == (0, 1, None, None, None, None)  # PHQ-9 18 alone makes it a case


def test_missing_gad7_with_phq9_below_cutoff_leaves_caseness_unknown():
    ep = episode(course({"phq9": 8}, {"phq9": 3}))
    assert (ep["paired"], ep["at_caseness"]) == (0, None)


def test_gad7_scored_at_one_session_only_is_not_paired():
    ep = episode(course({"phq9": 18, "gad7": 12}, {"phq9": 6}))
    assert (ep["gad7_scored_sessions"], ep["gad7_first"], ep["gad7_last"], ep["paired"]) == (1, 12, 12, 0)


def test_first_and_last_at_two_sessions_on_the_same_day_are_paired():
    ep = episode([S("p1", "2024-01-01", session_time="09:00", phq9=15, gad7=10),
                  S("p1", "2024-01-01", session_time="15:00", phq9=8, gad7=5, discharge_reason="planned")])
    assert (ep["phq9_first"], ep["phq9_last"], ep["phq9_first_date"], ep["phq9_last_date"]) == \
        (15, 8, "2024-01-01", "2024-01-01")
    assert flags(ep) == (1, 1, 1, 1, 0, 1)


def test_two_scores_on_the_same_day_at_one_session_are_not_a_pair():
    # a session-log score and a measurement-file score for the same date belong to one session
    con = clinic([S("p1", "2024-01-01", phq9=15, gad7=10),
                  S("p1", "2024-01-08", discharge_reason="planned")])
    for scale, score in (("phq9", 8), ("gad7", 5)):
        con.execute("INSERT INTO measurements VALUES (?, NULL, 'p1', DATE '2024-01-01', ?, ?, 0)",
                    [f"p1|2024-01-01|{scale}|file", scale, score])
    ep = outcomes.episode_outcomes(con, Settings()).to_dict("records")[0]
    assert (ep["phq9_scored_sessions"], ep["gad7_scored_sessions"], ep["paired"]) == (1, 1, 0)


def test_first_and_last_are_the_earliest_and_latest_attended_sessions_with_the_scale():
    ep = episode([
        S("p1", "2024-01-01", status="no_show", phq9=25, gad7=20),   # not attended: ignored
        S("p1", "2024-01-08", phq9=18, gad7=12),
        S("p1", "2024-01-15", phq9=11, gad7=9),                          # a middle score does not count
        S("p1", "2024-01-22", phq9=7, gad7=6),
        S("p1", "2024-01-29", discharge_reason="planned"),           # no scores at the last session
    ])
    assert (ep["phq9_first"], ep["phq9_last"], ep["phq9_change"], ep["phq9_scored_sessions"]) == (18, 7, -11, 3)
    assert (ep["gad7_first"], ep["gad7_last"], ep["gad7_last_date"]) == (12, 6, "2024-01-22")


def test_an_active_episode_is_never_paired():
    ep = episode(course({"phq9": 18, "gad7": 12}, {"phq9": 6, "gad7": 4}, reason=None))
    assert (ep["status"], ep["finished_treatment"], ep["paired"], ep["recovered"]) == ("active", 0, 0, None)


# --- endings ---------------------------------------------------------------------------------
def test_a_discharge_reason_wins_over_lost_contact():
    # planned discharge, then nothing for 200 days: the ending stays 'planned', not a dropout
    ep = episode(course({"phq9": 18, "gad7": 12}, {"phq9": 6, "gad7": 4}), Settings(as_of=date(2024, 7, 26)))
    assert (ep["ending"], ep["lost_contact"], ep["dropout"], ep["end_date"]) == ("planned", 0, 0, "2024-01-08")


def test_lost_contact_on_day_91_ends_a_finished_course_as_a_dropout_still_counted_in_outcomes():
    ep = episode(course({"phq9": 18, "gad7": 12}, {"phq9": 6, "gad7": 4}, reason=None),
                 Settings(as_of=date(2024, 4, 8)))  # 91 days after 2024-01-08
    assert (ep["ending"], ep["dropout"], ep["finished_treatment"]) == ("dropout", 1, 1)
    assert flags(ep) == (1, 1, 1, 1, 0, 1)


# --- rates of `kpis` -------------------------------------------------------------------------
def kpis(sessions, settings: Settings | None = None) -> dict:
    return outcomes.kpis(clinic(sessions), settings or Settings())


def test_dropout_rate_is_dropouts_over_ended_episodes():
    data = kpis([
        *course({"phq9": 18, "gad7": 12}, {"phq9": 6, "gad7": 4}, patient="p1"),           # planned
        *course({}, {}, patient="p2", reason="dropout"),                                     # dropout reason
        S("p3", "2024-01-01"),                                                               # lost contact
        S("p4", "2024-05-01"),                                                               # active
    ])
    assert (data["ended"], data["finished_treatment"], data["dropout"], data["dropout_rate"]) == (3, 2, 2, 0.6667)
    assert (data["episodes"], data["active"]) == (4, 1)


def test_rates_use_their_own_denominators():
    data = kpis([
        *course({"phq9": 18, "gad7": 12}, {"phq9": 6, "gad7": 4}, patient="p1"),   # recovered, RI, RR
        *course({"phq9": 12, "gad7": 9}, {"phq9": 12, "gad7": 9}, patient="p2"),   # case, unchanged
        *course({"phq9": 5, "gad7": 5}, {"phq9": 11, "gad7": 5}, patient="p3"),    # not a case, deteriorated
        *course({"phq9": 20}, {"phq9": 5}, patient="p4"),                          # finished, not paired
    ])
    assert {k: data[k] for k in ("finished_treatment", "paired", "paired_completeness", "at_caseness",
                                 "recovered", "recovery_rate", "reliable_improvement", "reliable_improvement_rate",
                                 "reliable_deterioration", "reliable_deterioration_rate", "reliable_recovery",
                                 "reliable_recovery_rate")} == {
        "finished_treatment": 4, "paired": 3, "paired_completeness": 0.75,
        "at_caseness": 2, "recovered": 1, "recovery_rate": 0.5,
        "reliable_improvement": 1, "reliable_improvement_rate": 0.3333,
        "reliable_deterioration": 1, "reliable_deterioration_rate": 0.3333,
        "reliable_recovery": 1, "reliable_recovery_rate": 0.5,
    }


def test_phq9_pre_post_d_uses_the_sample_sd_of_first_scores_over_paired_episodes():
    # first 20, 14, 11: mean 15, sample SD sqrt(42 / 2) = 4.5826; last 10, 8, 9: mean 9
    # d = 6 / 4.5826 = 1.309 (the population SD, 3.7417, would give 1.604). p4 is not paired
    # (no GAD-7) and is left out.
    data = kpis([
        *course({"phq9": 20, "gad7": 10}, {"phq9": 10, "gad7": 5}, patient="p1"),
        *course({"phq9": 14, "gad7": 10}, {"phq9": 8, "gad7": 5}, patient="p2"),
        *course({"phq9": 11, "gad7": 10}, {"phq9": 9, "gad7": 5}, patient="p3"),
        *course({"phq9": 27}, {"phq9": 0}, patient="p4"),
    ])
    assert data["paired"] == 3 and data["phq9_pre_post_d"] == 1.309


def test_sessions_after_the_as_of_date_change_no_figure():
    sessions = [*course({"phq9": 18, "gad7": 12}, {"phq9": 6, "gad7": 4}, patient="p1"),
                S("p2", "2024-01-03", phq9=15, gad7=10)]
    later = [S("p2", "2024-03-01", phq9=3, gad7=2, discharge_reason="planned"),
             S("p3", "2024-03-02", phq9=20, gad7=20)]
    as_of = Settings(as_of=date(2024, 2, 1))
    assert kpis(sessions + later, as_of) == kpis(sessions, as_of)
    assert kpis(sessions + later, as_of)["episodes"] == 2
