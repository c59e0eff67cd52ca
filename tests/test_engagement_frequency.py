"""Frequency: attended sessions per active patient per month, and intervals between consecutive
attended sessions (tapering)."""
from datetime import date, timedelta

import pandas as pd
import pytest

from analytics.engagement import (first_to_second_gaps, frequency, interval_summary, intervals_by_session_number,
                                  session_intervals, sessions_delivered)
from analytics.settings import Settings
from tests.builders import S, clinic


def tapering_clinic():
    return clinic([
        *[S("p1", f"2024-01-{d:02d}") for d in (1, 8, 15, 22, 29)],       # weekly
        S("p1", "2024-02-12"),                                              # fortnightly (14)
        S("p1", "2024-03-13"),                                              # monthly (30)
        S("p2", "2024-02-02", clinician_id="c2"), S("p2", "2024-02-09", "no_show", clinician_id="c2"),
        S("p2", "2024-02-16", clinician_id="c2"),
    ])


def test_sessions_per_active_patient_per_month():
    frame = frequency(tapering_clinic(), Settings())
    assert frame.to_dict("records") == [
        {"month": "2024-01", "active_patients": 1, "attended_sessions": 5, "sessions_per_patient": 5.0},
        {"month": "2024-02", "active_patients": 2, "attended_sessions": 3, "sessions_per_patient": 1.5},
        {"month": "2024-03", "active_patients": 1, "attended_sessions": 1, "sessions_per_patient": 1.0},
    ]


def test_a_patient_is_active_in_a_month_without_sessions_between_their_first_and_last():
    con = clinic([S("p1", "2024-01-10"), S("p1", "2024-03-10"), S("p2", "2024-02-10", "cancelled")])
    frame = frequency(con, Settings())
    assert frame[["month", "active_patients", "attended_sessions"]].to_dict("records") == [
        {"month": "2024-01", "active_patients": 1, "attended_sessions": 1},
        {"month": "2024-02", "active_patients": 1, "attended_sessions": 0},
        {"month": "2024-03", "active_patients": 1, "attended_sessions": 1},
    ]


def test_frequency_scoped_by_clinician_and_month_range():
    frame = frequency(tapering_clinic(), Settings(clinician_id="c2"))
    assert frame[["month", "active_patients", "attended_sessions"]].to_dict("records") == [
        {"month": "2024-02", "active_patients": 1, "attended_sessions": 2}]
    frame = frequency(tapering_clinic(), Settings(date_from=date(2024, 2, 15), date_to=date(2024, 2, 29)))
    assert list(frame["month"]) == ["2024-02"]


def test_intervals_between_consecutive_attended_sessions():
    frame = session_intervals(tapering_clinic(), Settings(clinician_id="c1"))
    assert list(frame["session_number"]) == [2, 3, 4, 5, 6, 7]
    assert list(frame["days_since_previous"]) == [7, 7, 7, 7, 14, 30]
    assert list(frame["cadence"]) == ["weekly"] * 4 + ["fortnightly", "monthly"]


def test_a_missed_session_does_not_split_the_interval():
    frame = session_intervals(tapering_clinic(), Settings(clinician_id="c2"))
    assert list(frame["days_since_previous"]) == [14]


@pytest.mark.parametrize("days, cadence", [
    (10, "weekly"), (11, "fortnightly"), (21, "fortnightly"), (22, "monthly"), (45, "monthly"), (46, "longer")])
def test_cadence_bands_at_their_edges(days, cadence):
    con = clinic([S("p1", "2024-01-01"), S("p1", date(2024, 1, 1) + timedelta(days=days))])
    assert list(session_intervals(con, Settings())["cadence"]) == [cadence]


def test_interval_summary_by_session_number():
    summary = interval_summary(session_intervals(tapering_clinic(), Settings()))
    assert summary.head(2).to_dict("records") == [
        {"session_number": 2, "intervals": 2, "median_days": 10.5, "mean_days": 10.5,   # 7 (p1) and 14 (p2)
         "weekly": 1, "fortnightly": 1, "monthly": 0, "longer": 0},
        {"session_number": 3, "intervals": 1, "median_days": 7.0, "mean_days": 7.0,
         "weekly": 1, "fortnightly": 0, "monthly": 0, "longer": 0},
    ]
    assert list(summary["session_number"]) == [2, 3, 4, 5, 6, 7]


def test_the_summary_computed_in_the_database_is_the_summary_of_the_intervals():
    con = tapering_clinic()
    for settings in (Settings(), Settings(clinician_id="c1")):
        pd.testing.assert_frame_equal(intervals_by_session_number(con, settings),
                                      interval_summary(session_intervals(con, settings)))


def test_intervals_come_in_episode_and_session_order():
    con = clinic([S("p2", "2024-03-01"), S("p2", "2024-03-05"), S("p1", "2024-01-01"), S("p1", "2024-01-09"),
                  S("p1", "2024-01-30")])
    frame = session_intervals(con, Settings())
    assert list(zip(frame["patient_id"], frame["session_number"])) == [("p1", 2), ("p1", 3), ("p2", 2)]


def gaps_clinic():
    """Second sessions 0, 6, 7, 13 and 30 days after the first (a third session, 8 days on, is not a
    gap to the second)."""
    rows = []
    for i, days in enumerate((0, 6, 7, 13, 30)):
        first = date(2024, 1, 1) + timedelta(days=i)
        rows += [S(f"p{i}", first.isoformat()), S(f"p{i}", (first + timedelta(days=days)).isoformat())]
    rows.append(S("p4", "2024-02-08"))
    return clinic(rows)


def test_first_to_second_gaps_are_counted_by_week():
    frame = first_to_second_gaps(gaps_clinic(), Settings())
    assert frame.to_dict("records") == [
        {"from_days": 0, "to_days": 6, "episodes": 2},      # 0 and 6 days
        {"from_days": 7, "to_days": 13, "episodes": 2},     # 7 and 13
        {"from_days": 28, "to_days": 34, "episodes": 1},    # 30; the empty weeks between are not listed
    ]


def test_first_to_second_gaps_are_the_second_sessions_intervals():
    con = tapering_clinic()
    for settings in (Settings(), Settings(clinician_id="c2"), Settings(date_from=date(2024, 2, 10))):
        second = session_intervals(con, settings).query("session_number == 2")["days_since_previous"]
        gaps = first_to_second_gaps(con, settings)
        assert gaps["episodes"].sum() == len(second)
        assert sorted((second // 7 * 7).tolist()) == sorted(
            d for d, n in zip(gaps["from_days"], gaps["episodes"]) for _ in range(n))


def test_sessions_delivered_per_clinician_per_month():
    frame = sessions_delivered(tapering_clinic(), Settings())
    assert frame.to_dict("records") == [
        {"month": "2024-01", "clinician_id": "c1", "attended_sessions": 5, "patients": 1},
        {"month": "2024-02", "clinician_id": "c1", "attended_sessions": 1, "patients": 1},
        {"month": "2024-02", "clinician_id": "c2", "attended_sessions": 2, "patients": 1},
        {"month": "2024-03", "clinician_id": "c1", "attended_sessions": 1, "patients": 1},
    ]
