"""Disengagement watch list: active patients with consecutive_missed (2) or more missed sessions in
a row at their latest appointments, or no attended session for more than disengaged_days (28)."""
from datetime import date, timedelta

import pytest

from analytics.engagement import watch_list
from analytics.settings import Settings
from tests.builders import S, clinic

AS_OF = date(2024, 6, 30)


def day(days_before: int) -> str:
    return str(AS_OF - timedelta(days=days_before))


def listed(rows, **settings) -> list[str]:
    frame = watch_list(clinic(rows), Settings(as_of=AS_OF, **settings))
    return list(frame["patient_id"])


@pytest.mark.parametrize("days, expected", [(27, []), (28, []), (29, ["p1"])])
def test_no_attended_session_for_more_than_28_days(days, expected):
    assert listed([S("p1", day(days + 14)), S("p1", day(days))]) == expected


@pytest.mark.parametrize("statuses, expected", [
    (["no_show"], []),
    (["no_show", "no_show"], ["p1"]),
    (["late_cancel", "no_show"], ["p1"]),
    (["no_show", "attended", "no_show"], []),                    # an attended session breaks the run
    (["no_show", "cancelled", "late_cancel"], ["p1"]),           # a cancellation neither breaks nor extends it
    (["no_show", "cancelled", "cancelled"], []),
])
def test_consecutive_missed_sessions_at_the_latest_appointments(statuses, expected):
    rows = [S("p1", day(20))] + [S("p1", day(10 - i), status) for i, status in enumerate(statuses)]
    assert listed(rows) == expected


def test_missed_sessions_after_the_as_of_date_are_not_counted():
    rows = [S("p1", day(20)), S("p1", day(10), "no_show"), S("p1", day(-7), "no_show")]
    assert listed(rows) == []


@pytest.mark.parametrize("setting, value, expected", [
    ("consecutive_missed", 3, []),
    ("consecutive_missed", 2, ["p1"]),
    ("disengaged_days", 20, ["p1"]),
    ("disengaged_days", 21, []),
])
def test_thresholds_are_configurable(setting, value, expected):
    rows = [S("p1", day(21)), S("p1", day(14), "no_show"), S("p1", day(7), "no_show")]
    other = {"consecutive_missed": 9} if setting == "disengaged_days" else {"disengaged_days": 99}
    assert listed(rows, **{setting: value}, **other) == expected


def test_ended_episodes_are_not_watched():
    planned = [S("p1", day(40), discharge_reason="planned")]
    lost = [S("p2", day(100)), S("p2", day(91))]   # no session for more than 90 days: ended
    assert listed(planned + lost) == []


def test_row_has_last_attended_next_booked_and_reasons():
    rows = [
        S("p1", day(35)), S("p1", day(30), "no_show"), S("p1", day(23), "late_cancel"),
        S("p1", day(-3), "cancelled"), S("p1", day(-10), "scheduled"), S("p1", day(-17), "scheduled"),
    ]
    frame = watch_list(clinic(rows), Settings(as_of=AS_OF))
    row = frame.iloc[0]
    assert row["last_attended_date"].date() == AS_OF - timedelta(days=35)
    assert row["days_since_attended"] == 35
    assert row["missed_in_a_row"] == 2
    assert row["next_booked_date"].date() == AS_OF + timedelta(days=10)
    assert row["reasons"] == "2 missed in a row; no attended session for 35 days"


def test_no_next_booking_is_empty():
    frame = watch_list(clinic([S("p1", day(29))]), Settings(as_of=AS_OF))
    assert frame["next_booked_date"].isna().all()
    assert list(frame["reasons"]) == ["no attended session for 29 days"]


def test_a_patient_who_never_attended_counts_from_their_first_appointment():
    frame = watch_list(clinic([S("p1", day(40), "no_show"), S("p2", day(20), "cancelled")]), Settings(as_of=AS_OF))
    assert list(frame["patient_id"]) == ["p1"]
    assert frame["last_attended_date"].isna().all()
    assert list(frame["reasons"]) == ["never attended, first booked 40 days ago"]


def test_longest_without_a_session_comes_first_and_clinician_setting_scopes():
    rows = [S("p1", day(30)), S("p2", day(50), clinician_id="c2"), S("p3", day(40))]
    assert listed(rows) == ["p2", "p3", "p1"]
    assert listed(rows, clinician_id="c1") == ["p3", "p1"]
