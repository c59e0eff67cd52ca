"""Readiness categories (readiness issue): one small patient history per category and per boundary,
asserting the category and the numbers in its reasons.

Dates: the first session is Monday 3 Feb 2025; ``w(n)`` is n weeks later. Clinician c1 unless said.
"""
from datetime import date, timedelta

import pytest

from analytics.readiness import readiness
from analytics.settings import Settings
from tests.builders import S, clinic

START = date(2025, 2, 3)


def w(weeks: float) -> date:
    return START + timedelta(days=round(weeks * 7))


def history(patient: str, scores: list[tuple[date, int]], scale: str = "phq9", **extra) -> list[S]:
    return [S(patient, day, **{scale: score}, **extra) for day, score in scores]


def weekly(patient: str, scores: list[int], scale: str = "phq9") -> list[S]:
    return history(patient, [(w(i), s) for i, s in enumerate(scores)], scale)


def run(rows: list[S], as_of: date | None = None, **settings) -> list[dict]:
    return readiness(clinic(rows), Settings(as_of=as_of, **settings))


def one(rows: list[S], as_of: date | None = None) -> dict:
    records = run(rows, as_of)
    assert len(records) == 1, records
    return records[0]


# --- 1. safety -------------------------------------------------------------------------------
@pytest.mark.parametrize("item9, category", [(0, "ready_for_review"), (1, "safety"), (3, "safety")])
def test_latest_item_9_of_one_or_more_is_safety_and_zero_is_not(item9, category):
    rows = history("p1", [(w(0), 18), (w(2), 12), (w(4), 6), (w(7), 5)]) + [S("p1", w(10), phq9=6, phq9_items={9: item9})]
    record = one(rows)
    assert record["category"] == category
    if category == "safety":
        assert record["reasons"][0] == (
            f"PHQ-9 item 9 (thoughts of being better off dead or of hurting oneself) was {item9} on 14 Apr 2025, "
            "the latest time it was recorded; 1 or more calls for a risk review.")
        assert record["other_category"] == "ready_for_review"
        assert record["reasons"][1] == "Apart from risk: Ready for review."


def test_safety_reads_the_latest_recorded_item_not_an_earlier_one():
    rows = [S("p1", w(0), phq9=18, phq9_items={9: 2}), S("p1", w(1), phq9=17, phq9_items={9: 0})]
    assert one(rows)["category"] == "too_early"


def test_a_latest_score_without_item_9_leaves_the_last_recorded_item_in_force():
    rows = [S("p1", w(0), phq9=18, phq9_items={9: 0}), S("p1", w(1), phq9=17, phq9_items={9: 1}),
            S("p1", w(2), phq9=16)]
    record = one(rows)
    assert record["category"] == "safety"
    assert "was 1 on 10 Feb 2025, the latest time it was recorded" in record["reasons"][0]


def test_a_risk_item_recorded_after_the_as_of_date_is_not_seen():
    rows = [S("p1", w(0), phq9=18, phq9_items={9: 0}), S("p1", w(1), phq9=17),
            S("p1", w(3), phq9=16, phq9_items={9: 2})]
    assert one(rows, as_of=w(2))["category"] == "too_early"
    assert one(rows, as_of=w(3))["category"] == "safety"


def test_safety_sorts_first_whatever_else_applies():
    ready = history("a1", [(w(0), 18), (w(2), 12), (w(4), 6), (w(7), 5), (w(10), 6)])
    early = [S("b1", w(9), phq9=14)]
    risky = [S("z9", w(9), phq9=4, phq9_items={9: 1}), S("z9", w(10), phq9=4)]   # maintenance apart from risk
    records = run(ready + early + risky)
    assert [(r["patient_id"], r["category"]) for r in records] == [
        ("z9", "safety"), ("a1", "ready_for_review"), ("b1", "too_early")]
    assert records[0]["other_category"] == "maintenance"


# --- 2. deteriorating --------------------------------------------------------------------------
@pytest.mark.parametrize("last, category", [(17, "on_track"), (18, "deteriorating")])
def test_a_rise_of_exactly_the_reliable_change_is_deteriorating(last, category):
    record = one(weekly("p1", [12, 14, last]))
    assert record["category"] == category
    if category == "deteriorating":
        assert record["reasons"][0] == ("PHQ-9 12 → 18 since 3 Feb 2025 (latest 17 Feb 2025): 6 points worse, "
                                        "reliably worse (the reliable change is 6).")


def test_gad7_deteriorates_at_a_rise_of_four():
    rows = [S("p1", w(i), phq9=p, gad7=g) for i, (p, g) in enumerate([(12, 9), (12, 11), (11, 13)])]
    record = one(rows)
    assert record["category"] == "deteriorating"
    assert record["reasons"][0].startswith("GAD-7 9 → 13 since 3 Feb 2025 (latest 17 Feb 2025): 4 points worse")


def test_a_scale_without_a_published_threshold_uses_one_derived_for_the_clinic():
    # WSAS first scores 12 and 20: SD 5.657; Jacobson & Truax 1.96 * sqrt(2) * 5.657 * sqrt(1 - 0.83) = 6.46
    rows = weekly("p1", [12, 16, 19], scale="wsas") + [S("p2", w(0), wsas=20), S("p2", w(1), wsas=20)]
    record = run(rows)[0]
    assert (record["patient_id"], record["category"]) == ("p1", "deteriorating")
    assert record["reasons"][0] == (
        "WSAS 12 → 19 since 3 Feb 2025 (latest 17 Feb 2025): 7 points worse, reliably worse (the reliable change "
        "is 6.5, derived for this clinic with Jacobson & Truax from the SD 5.7 of 2 first scores and reliability "
        "0.83).")
    rows[2].scores["wsas"] = 18     # 6 points: less than 6.46
    assert {r["patient_id"]: r["category"] for r in run(rows)}["p1"] == "on_track"


def test_deteriorating_comes_before_not_on_track():
    record = one(weekly("p1", [12, 13, 14, 15, 16, 18]))    # six sessions, no fall: also off track
    assert record["category"] == "deteriorating"


# --- 3. not on track: the fallback rule (too few reference episodes) ---------------------------
def test_fallback_six_sessions_and_less_than_a_quarter_fall_is_not_on_track():
    record = one(weekly("p1", [16, 15, 15, 14, 14, 13]))
    assert record["category"] == "not_on_track"
    assert record["reasons"][0] == (
        "PHQ-9 16 → 13 since 3 Feb 2025: a 18.8 % fall after 6 attended sessions, less than the 25 % expected "
        "by now (no finished episodes at this clinic that started moderately severe have a PHQ-9 score at "
        "session 6; the expected band needs 20).")


def test_fallback_waits_for_six_attended_sessions():
    rows = weekly("p1", [16, 15, 15, 14, 14]) + [S("p1", w(5), "no_show")]
    record = one(rows)
    assert record["attended_sessions"] == 5
    assert record["category"] == "on_track"
    assert record["reasons"][0].startswith("PHQ-9 16 → 14 since 3 Feb 2025: a 12.5 % fall after 5 attended "
                                           "sessions; the 25 % rule applies from 6")


def test_a_fall_of_exactly_a_quarter_is_not_behind_and_with_no_movement_is_stuck():
    record = one(weekly("p1", [16, 14, 13, 12, 12, 12]))
    assert record["category"] == "stuck"


def test_fallback_is_not_applied_to_a_scale_that_started_below_the_cutoff():
    rows = [S("p1", w(i), phq9=p, gad7=g) for i, (p, g) in enumerate(
        [(16, 6), (14, 6), (13, 6), (12, 6), (12, 6), (12, 6)])]     # GAD-7 flat at 6: not expected to fall
    assert one(rows)["category"] == "stuck"


# --- 4. ready for review -----------------------------------------------------------------------
READY = [(w(0), 18), (w(2), 12), (w(4), 6), (w(7), 5)]


def test_ready_for_review_when_the_last_three_scores_span_exactly_six_weeks():
    record = one(history("p1", READY + [(w(10), 6)]))
    assert record["category"] == "ready_for_review"
    assert record["reasons"] == [
        "PHQ-9 18 → 6 since 3 Feb 2025, reliably improved by 12 points (the reliable change is 6); the last three "
        "scores 6, 5, 6 over 6 weeks (3 Mar 2025 – 14 Apr 2025), all below the cutoff of 10 and within 1 point "
        "of each other.",
        "Stable below the cutoff for at least 6 weeks: time to talk about ending or stepping down."]
    assert record["first_scores"] == {"phq9": 18} and record["last_scores"] == {"phq9": 6}
    assert record["last_session"] == "2025-04-14" and record["attended_sessions"] == 5


def test_a_span_of_41_days_is_not_yet_stable_so_improving():
    record = one(history("p1", READY + [(w(10) - timedelta(days=1), 6)]))
    assert record["category"] == "improving"
    assert record["reasons"] == [
        "PHQ-9 18 → 6 since 3 Feb 2025: reliably improved by 12 points (the reliable change is 6).",
        "Not yet stable below the cutoff: the last three PHQ-9 scores span 5.9 weeks (3 Mar 2025 – 13 Apr 2025), "
        "less than 6 weeks."]


def test_only_the_last_three_scores_count_for_stability():
    # 18 is four scores back: the last three 9, 6, 6 are all below the cutoff
    record = one(history("p1", [(w(0), 18), (w(4), 9), (w(7), 6), (w(10), 6)]))
    assert record["category"] == "ready_for_review"
    assert "the last three scores 9, 6, 6 over 6 weeks" in record["reasons"][0]


def test_a_score_at_the_cutoff_among_the_last_three_is_not_below_it():
    record = one(history("p1", [(w(0), 18), (w(4), 10), (w(7), 6), (w(10), 5)]))
    assert record["category"] == "improving"
    assert record["reasons"][-1] == ("Not yet stable below the cutoff: the last three PHQ-9 scores (10, 6, 5) "
                                     "are not all below the cutoff of 10.")


def test_last_three_differing_by_the_reliable_change_are_not_stable():
    record = one(history("p1", [(w(0), 18), (w(4), 9), (w(7), 3), (w(10), 4)]))
    assert record["category"] == "improving"
    assert record["reasons"][-1] == ("Not yet stable below the cutoff: the last three PHQ-9 scores (9, 3, 4) "
                                     "differ by 6 points, as much as the reliable change of 6.")


def test_every_scale_needs_three_stable_scores():
    rows = [S("p1", day, phq9=p) for day, p in READY + [(w(10), 6)]]
    rows[3].scores["gad7"], rows[4].scores["gad7"] = 5, 4      # GAD-7 scored twice only
    record = one(rows)
    assert record["category"] == "improving"
    assert record["reasons"][-1] == ("Not yet stable below the cutoff: GAD-7 has two scores; three are needed "
                                     "to judge stability.")


def test_ready_needs_caseness_at_the_start():
    # reliably improved from 9 (below the cutoff): improving, not ready for review
    record = one(history("p1", [(w(0), 9), (w(4), 3), (w(7), 2), (w(10), 3)]))
    assert record["category"] == "improving"
    assert record["reasons"][-1] == "Started below the cutoff on every scale."


# --- 5. improving ------------------------------------------------------------------------------
@pytest.mark.parametrize("last, category", [(13, "on_track"), (12, "improving")])
def test_improving_by_exactly_the_reliable_change(last, category):
    record = one(weekly("p1", [18, 15, last]))
    assert record["category"] == category
    if category == "improving":
        assert record["reasons"] == [
            "PHQ-9 18 → 12 since 3 Feb 2025: reliably improved by 6 points (the reliable change is 6).",
            "Not yet stable below the cutoff: the last three PHQ-9 scores (18, 15, 12) are not all below the "
            "cutoff of 10."]


def test_improving_by_theil_sen_when_the_last_four_scores_fall():
    record = one(weekly("p1", [16, 15, 14, 12]))    # 4 points: not a reliable change
    assert record["category"] == "improving"
    assert record["reasons"][0] == (
        "The last four PHQ-9 scores 16, 15, 14, 12 (3 Feb 2025 – 24 Feb 2025) fall by 1.2 points a week "
        "(Theil–Sen slope; 95 % interval −2 to −1 points a week).")


def test_a_tie_among_the_last_four_puts_zero_in_the_interval_so_not_improving():
    record = one(weekly("p1", [16, 15, 15, 12]))
    assert record["category"] == "on_track"


def test_theil_sen_reads_only_the_last_four_scores():
    record = one(weekly("p1", [14, 16, 15, 14, 13]))    # five scores; the last four fall
    assert record["category"] == "improving"
    assert record["reasons"][0].startswith("The last four PHQ-9 scores 16, 15, 14, 13 (10 Feb 2025 – 3 Mar 2025) "
                                           "fall by 1 point a week")


# --- 6. stuck ------------------------------------------------------------------------------------
def test_stuck_six_sessions_at_caseness_with_no_movement():
    record = one(weekly("p1", [16, 14, 13, 12, 12, 12]))
    assert record["category"] == "stuck"
    assert record["reasons"] == [
        "6 attended sessions; PHQ-9 still at caseness (16 → 12 since 3 Feb 2025, cutoff 10); the last four "
        "scores 13, 12, 12, 12 (17 Feb 2025 – 10 Mar 2025) lie within 1 point of each other, less than the "
        "reliable change of 6: no movement.",
        "Consider a change of approach or a supervision review."]


def test_not_stuck_before_six_attended_sessions():
    assert one(weekly("p1", [16, 14, 13, 12, 12]))["category"] == "on_track"


# --- 7. maintenance ------------------------------------------------------------------------------
def test_not_at_caseness_at_the_start_is_maintenance():
    rows = [S("p1", w(i), phq9=p, gad7=g) for i, (p, g) in enumerate([(8, 7), (7, 7), (8, 6)])]
    record = one(rows)
    assert record["category"] == "maintenance"
    assert record["reasons"] == [
        "Not at caseness at the start: PHQ-9 8 on 3 Feb 2025 (below the cutoff of 10), GAD-7 7 on 3 Feb 2025 "
        "(below the cutoff of 8).",
        "Symptom scales are not the goal here; review goals with the patient."]


def test_caseness_on_either_scale_at_the_start_is_not_maintenance():
    rows = [S("p1", w(i), phq9=p, gad7=g) for i, (p, g) in enumerate([(8, 8), (7, 7), (8, 7)])]
    assert one(rows)["category"] == "on_track"


# --- 8. too early --------------------------------------------------------------------------------
@pytest.mark.parametrize("scores, category", [([16, 15], "too_early"), ([16, 15, 15], "on_track")])
def test_fewer_than_three_scored_sessions_is_too_early(scores, category):
    record = one(weekly("p1", scores))
    assert record["category"] == category
    if category == "too_early":
        assert record["reasons"] == ["Two scored sessions so far (PHQ-9 16 → 15 since 3 Feb 2025 (latest "
                                     "10 Feb 2025)); progress is judged from three."]


def test_an_attended_session_without_a_score_does_not_count_as_scored():
    rows = weekly("p1", [16, 15]) + [S("p1", w(2))]
    record = one(rows)
    assert record["attended_sessions"] == 3
    assert record["category"] == "too_early"


def test_no_scores_at_all_is_too_early():
    record = one([S("p1", w(0)), S("p1", w(1))])
    assert record["category"] == "too_early"
    assert record["reasons"] == ["No outcome scores yet in this episode (2 attended sessions); progress is "
                                 "judged from three scored sessions."]
    assert record["first_scores"] == {} and record["last_session"] == "2025-02-10"


# --- 9. on track ----------------------------------------------------------------------------------
def test_on_track_states_the_check_behind_it():
    # a 25 % fall by session 6, 5 points (not reliable), the last four spread over 6 points (not stuck)
    record = one(weekly("p1", [20, 19, 12, 18, 15, 15]))
    assert record["category"] == "on_track"
    assert record["reasons"] == [
        "PHQ-9 20 → 15 since 3 Feb 2025: a 25 % fall after 6 attended sessions, at least the 25 % expected by "
        "now (no finished episodes at this clinic that started severe have a PHQ-9 score at session 6; the "
        "expected band needs 20)."]


# --- scope ----------------------------------------------------------------------------------------
def test_only_active_episodes_are_listed():
    rows = (weekly("p1", [16, 15, 14])
            + [S("p2", w(0), phq9=12), S("p2", w(1), phq9=11, discharge_reason="planned")]
            + [S("p3", w(0) - timedelta(days=200), phq9=12)])        # no session for 200 days: lost contact
    assert [r["patient_id"] for r in run(rows, as_of=w(2))] == ["p1"]


def test_clinician_filter_keeps_that_clinicians_caseload():
    rows = weekly("p1", [16, 15, 14]) + [S("p2", w(0), "attended", "c2", phq9=12)]
    assert [r["patient_id"] for r in run(rows, clinician_id="c2")] == ["p2"]


def test_an_empty_database_gives_no_records():
    from analytics.db import connect
    assert readiness(connect(":memory:"), Settings()) == []


def test_the_dashboard_frame_and_the_table_keep_safety_first_with_the_first_reason():
    from analytics.readiness import as_table, readiness_frame

    rows = (history("a1", [(w(0), 18), (w(2), 12), (w(4), 6), (w(7), 5), (w(10), 6)])
            + [S("z9", w(9), phq9=4, phq9_items={9: 1}), S("z9", w(10), phq9=4)])
    con = clinic(rows)
    frame = readiness_frame(con, Settings())
    assert frame[["patient_id", "category", "label", "category_order"]].values.tolist() == [
        ["z9", "safety", "Safety", 0], ["a1", "ready_for_review", "Ready for review", 3]]
    assert frame.loc[1, "reason"].startswith("PHQ-9 18 → 6 since 3 Feb 2025")
    assert str(frame.loc[1, "last_session"].date()) == "2025-04-14"
    table = as_table(readiness(con, Settings()))
    assert table[["patient", "category", "last session", "first → last"]].values.tolist() == [
        ["z9", "Safety", "14 Apr 2025", "PHQ-9 4→4"], ["a1", "Ready for review", "14 Apr 2025", "PHQ-9 18→6"]]
