"""`waypoint attendance` reads every breakdown's counts in one query (attendance_all.sql): each of
its by_* tables and its overall figures are exactly what the one-dimension functions give, in every
scope, including the groups a dimension leaves out or keeps apart (no time, no modality)."""
from datetime import date

import pytest

from analytics.engagement import DIMENSIONS, attendance_by, attendance_overall, attendance_report, records
from analytics.settings import Settings
from tests.builders import S, clinic


def mixed_clinic():
    return clinic([
        S("p1", "2024-01-01", clinician_id="c1", session_time="09:00", modality="video", site="north"),  # Mon
        S("p1", "2024-01-08", "no_show", clinician_id="c1", session_time="09:30", modality="video", site="north"),
        S("p1", "2024-01-15", clinician_id="c1", session_time="14:00", modality="in person", site="north"),
        S("p1", "2024-01-22", "late_cancel", clinician_id="c1", site="north"),              # no time, no modality
        S("p1", "2024-01-29", "cancelled", clinician_id="c1", site="north"),
        S("p2", "2024-02-06", clinician_id="c2", session_time="10:00", site="south"),       # Tue
        S("p2", "2024-02-13", "no_show", clinician_id="c2", session_time="10:00", site="south"),
        S("p2", "2024-02-20", clinician_id="c2", modality="phone", site="south"),
        S("p3", "2024-02-24", clinician_id="c1", session_time="17:00", modality="phone"),   # Sat, no site
        S("p3", "2024-03-02", "no_show", clinician_id="c2", session_time="08:00"),          # another clinician
        S("p2", "2024-03-05", "scheduled", clinician_id="c2", site="south"),                # counted nowhere
    ])


SCOPES = [
    Settings(),
    Settings(clinician_id="c1"),
    Settings(clinician_id="c2"),
    Settings(site="north"),
    Settings(date_from=date(2024, 1, 10), date_to=date(2024, 2, 24)),
    Settings(as_of=date(2024, 1, 20)),
    Settings(clinician_id="nobody"),                       # nothing in scope
]


@pytest.mark.parametrize("settings", SCOPES, ids=lambda s: repr(s)[:80])
def test_every_breakdown_in_the_report_is_the_one_dimension_figure(settings):
    con = mixed_clinic()
    report = attendance_report(con, settings)
    for dimension in DIMENSIONS:
        key = "by_clinician" if dimension == "clinician_id" else f"by_{dimension}"
        expected = records(attendance_by(con, settings, dimension))
        if dimension == "clinician_id":      # the report adds endings to each clinician's row
            assert [{k: r[k] for k in e} for r, e in zip(report[key], expected)] == expected
            assert len(report[key]) == len(expected)
        else:
            assert report[key] == expected, dimension
    assert report["overall"] == attendance_overall(con, settings)


def test_the_report_keeps_sessions_without_a_time_out_of_the_hours_only():
    report = attendance_report(mixed_clinic(), Settings())
    assert [r["hour"] for r in report["by_hour"]] == [8, 9, 10, 14, 17]
    assert sum(r["attended"] + r["no_show"] + r["late_cancel"] + r["cancelled"] for r in report["by_hour"]) == 7
    assert [r["modality"] for r in report["by_modality"]] == ["in person", "phone", "video", None]
    assert [r["site"] for r in report["by_site"]] == ["north", "south", None]
    assert report["overall"]["attended"] == 5 and report["overall"]["cancelled"] == 1


def test_nothing_in_scope_gives_zero_counts_and_empty_breakdowns():
    report = attendance_report(mixed_clinic(), Settings(clinician_id="nobody"))
    assert report["overall"] == {"attended": 0, "no_show": 0, "late_cancel": 0, "cancelled": 0,
                                 "attendance_rate": None, "no_show_rate": None}
    assert all(report[f"by_{d}"] == [] for d in DIMENSIONS[1:])
