"""Attendance counts and rates: overall (the `attendance` part of `waypoint kpis`) and by dimension."""
from datetime import date

import pytest

from analytics.engagement import attendance_by, attendance_overall
from analytics.errors import WaypointError
from analytics.settings import Settings
from tests.builders import S, clinic


def small_clinic():
    return clinic([
        S("p1", "2024-01-01", clinician_id="c1", session_time="09:00", modality="video", site="north"),   # Mon
        S("p1", "2024-01-08", "no_show", clinician_id="c1", session_time="09:30", modality="video", site="north"),
        S("p1", "2024-01-15", clinician_id="c1", session_time="14:00", modality="in person", site="north"),
        S("p1", "2024-01-22", "late_cancel", clinician_id="c1", site="north"),
        S("p1", "2024-01-29", "cancelled", clinician_id="c1", site="north"),
        S("p2", "2024-02-06", clinician_id="c2", session_time="10:00", site="south"),                   # Tue
        S("p2", "2024-02-13", "no_show", clinician_id="c2", session_time="10:00", site="south"),
        S("p2", "2024-02-20", clinician_id="c2", site="south"),
        S("p2", "2024-03-05", "scheduled", clinician_id="c2", site="south"),   # after as-of
    ])


def test_overall_counts_and_rates_over_attended_no_show_and_late_cancel():
    con = small_clinic()
    assert attendance_overall(con, Settings()) == {
        "attended": 4, "no_show": 2, "late_cancel": 1, "cancelled": 1,
        "attendance_rate": round(4 / 7, 4), "no_show_rate": round(2 / 7, 4),
    }


def test_overall_returns_plain_ints():
    result = attendance_overall(small_clinic(), Settings())
    assert all(type(result[k]) is int for k in ("attended", "no_show", "late_cancel", "cancelled"))


def test_overall_rates_are_none_when_nothing_took_place():
    con = clinic([S("p1", "2024-01-01", "cancelled"), S("p1", "2024-01-02", "scheduled")])
    assert attendance_overall(con, Settings()) == {
        "attended": 0, "no_show": 0, "late_cancel": 0, "cancelled": 1,
        "attendance_rate": None, "no_show_rate": None,
    }


def test_overall_on_an_empty_database_is_all_zero():
    con = clinic([])
    assert attendance_overall(con, Settings()) == {
        "attended": 0, "no_show": 0, "late_cancel": 0, "cancelled": 0,
        "attendance_rate": None, "no_show_rate": None,
    }


def test_sessions_after_the_as_of_date_are_not_counted():
    result = attendance_overall(small_clinic(), Settings(as_of=date(2024, 1, 15)))
    assert (result["attended"], result["no_show"], result["late_cancel"], result["cancelled"]) == (2, 1, 0, 0)


def test_clinician_filter_uses_the_sessions_clinician():
    result = attendance_overall(small_clinic(), Settings(clinician_id="c2"))
    assert result == {"attended": 2, "no_show": 1, "late_cancel": 0, "cancelled": 0,
                      "attendance_rate": round(2 / 3, 4), "no_show_rate": round(1 / 3, 4)}


@pytest.mark.parametrize("date_from, date_to, expected_attended", [
    (date(2024, 1, 15), None, 3),              # from is inclusive
    (None, date(2024, 1, 15), 2),              # to is inclusive
    (date(2024, 1, 16), date(2024, 2, 6), 1),
])
def test_date_range_filters_by_session_date_inclusive(date_from, date_to, expected_attended):
    result = attendance_overall(small_clinic(), Settings(date_from=date_from, date_to=date_to))
    assert result["attended"] == expected_attended


def test_by_clinician():
    frame = attendance_by(small_clinic(), Settings(), "clinician_id")
    assert frame.to_dict("records") == [
        {"clinician_id": "c1", "attended": 2, "no_show": 1, "late_cancel": 1, "cancelled": 1,
         "attendance_rate": 0.5, "no_show_rate": 0.25},
        {"clinician_id": "c2", "attended": 2, "no_show": 1, "late_cancel": 0, "cancelled": 0,
         "attendance_rate": round(2 / 3, 4), "no_show_rate": round(1 / 3, 4)},
    ]


def test_by_month():
    frame = attendance_by(small_clinic(), Settings(), "month")
    assert list(frame["month"]) == ["2024-01", "2024-02"]
    assert list(frame["attended"]) == [2, 2]
    assert list(frame["cancelled"]) == [1, 0]


def test_by_weekday_is_iso_numbered_from_monday():
    frame = attendance_by(small_clinic(), Settings(), "weekday")
    assert list(frame["weekday"]) == [1, 2]   # 2024-01-01 was a Monday, 2024-02-06 a Tuesday
    assert list(frame["no_show"]) == [1, 1]


def test_by_hour_leaves_out_sessions_without_a_time():
    frame = attendance_by(small_clinic(), Settings(), "hour")
    assert frame[["hour", "attended", "no_show"]].to_dict("records") == [
        {"hour": 9, "attended": 1, "no_show": 1},
        {"hour": 10, "attended": 1, "no_show": 1},
        {"hour": 14, "attended": 1, "no_show": 0},
    ]


def test_by_modality_keeps_unrecorded_modality_as_its_own_group_last():
    frame = attendance_by(small_clinic(), Settings(), "modality")
    assert list(frame["modality"].astype(object).where(frame["modality"].notna(), None)) == ["in person", "video", None]
    assert list(frame["attended"]) == [1, 1, 2]


def test_by_site():
    frame = attendance_by(small_clinic(), Settings(), "site")
    assert list(frame["site"]) == ["north", "south"]
    assert list(frame["late_cancel"]) == [1, 0]


def test_by_session_number_gives_missed_sessions_the_number_of_the_session_they_delayed():
    frame = attendance_by(small_clinic(), Settings(), "session_number")
    # p1: attended #1, no-show (would-be #2), attended #2, late cancel (#3), cancelled (#3)
    # p2: attended #1, no-show (#2), attended #2
    assert frame[["session_number", *("attended", "no_show", "late_cancel", "cancelled")]].to_dict("records") == [
        {"session_number": 1, "attended": 2, "no_show": 0, "late_cancel": 0, "cancelled": 0},
        {"session_number": 2, "attended": 2, "no_show": 2, "late_cancel": 0, "cancelled": 0},
        {"session_number": 3, "attended": 0, "no_show": 0, "late_cancel": 1, "cancelled": 1},
    ]


def test_session_number_is_counted_over_the_whole_episode_even_when_filtered_by_clinician():
    con = clinic([
        S("p1", "2024-01-01", clinician_id="c1"),
        S("p1", "2024-01-08", clinician_id="c2"),
        S("p1", "2024-01-15", "no_show", clinician_id="c2"),
    ])
    frame = attendance_by(con, Settings(clinician_id="c2"), "session_number")
    assert frame[["session_number", "attended", "no_show"]].to_dict("records") == [
        {"session_number": 2, "attended": 1, "no_show": 0},
        {"session_number": 3, "attended": 0, "no_show": 1},
    ]


def test_unknown_dimension_is_a_user_error():
    with pytest.raises(WaypointError, match="weather"):
        attendance_by(small_clinic(), Settings(), "weather")
