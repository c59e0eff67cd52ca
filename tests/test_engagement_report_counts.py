"""`waypoint attendance` reads every breakdown's counts in one query (attendance_all.sql) and the
counts of its three retention curves in another (retention_counts_all.sql): each of its by_* tables,
its overall figures and its curves are exactly what the one-figure functions give, in every scope,
including the groups a breakdown leaves out or keeps apart (no time, no modality, no PHQ-9)."""
from datetime import date

import pytest

from analytics.engagement import (DIMENSIONS, attendance_by, attendance_overall, attendance_report, records,
                                  retention_curve)
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


def retention_clinic():
    """Episodes of 1 to 5 attended sessions under two clinicians at two sites, some dropping out,
    with intake PHQ-9s in four bands (22, 17, 12, 4) and one without a PHQ-9."""
    rows = []
    plan = [("p1", "c1", "north", 22, 5, "dropout"), ("p2", "c1", "north", 12, 3, "planned"),
            ("p3", "c1", "south", 4, 2, "dropout"), ("p4", "c2", "south", 22, 4, None),
            ("p5", "c2", "south", None, 1, "dropout"), ("p6", "c2", "north", 12, 5, "dropout"),
            ("p7", "c1", "north", 17, 2, None)]
    for patient, clinician, site, intake, sessions, ending in plan:
        for k in range(sessions):
            last = k == sessions - 1
            scores = {"phq9": intake - k} if intake is not None else {}
            rows.append(S(patient, f"2024-0{1 + k}-1{patient[1]}", clinician_id=clinician, site=site,
                          discharge_reason=ending if last else None, **scores))
    return clinic(rows)


@pytest.mark.parametrize("settings", [Settings(), Settings(clinician_id="c2"), Settings(site="north"),
                                      Settings(clinician_id="nobody")], ids=lambda s: repr(s)[:80])
def test_the_reports_retention_curves_are_the_one_curve_figures(settings):
    con = retention_clinic()
    report = attendance_report(con, settings)
    overall = records(retention_curve(con, settings))
    assert report["retention"] == [{k: r[k] for k in ("sessions", "survival", "ci_low", "ci_high")} for r in overall]
    assert report["retention_by_clinician"] == records(retention_curve(con, settings, "clinician_id"))
    assert report["retention_by_intake_severity"] == records(retention_curve(con, settings, "intake_severity"))


def test_the_reports_severity_curves_keep_episodes_without_a_phq9_last():
    report = attendance_report(retention_clinic(), Settings())
    groups = list(dict.fromkeys(r["group"] for r in report["retention_by_intake_severity"]))
    assert groups[-1] == "no PHQ-9" and len(groups) == 5
    assert list(dict.fromkeys(r["group"] for r in report["retention_by_clinician"])) == ["c1", "c2"]
    assert report["retention"][0]["survival"] == round(6 / 7, 4)        # p5 left after one session
