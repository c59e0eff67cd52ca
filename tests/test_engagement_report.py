"""`waypoint attendance`: the report's contract (keys and shapes) and its JSON output."""
import json
from datetime import date

from analytics.cli import main
from analytics.db import connect
from analytics.engagement import attendance_overall, attendance_report
from analytics.settings import Settings
from tests.builders import S, clinic

BY_CLINICIAN_KEYS = ["clinician_id", "attended", "no_show", "late_cancel", "cancelled", "attendance_rate",
                     "no_show_rate", "ended", "dropout", "dropout_rate"]


def rows():
    return [
        S("p1", "2024-01-01", phq9=18), S("p1", "2024-01-08", "no_show"), S("p1", "2024-01-15", phq9=12),
        S("p1", "2024-01-22", "late_cancel"), S("p1", "2024-01-29", "no_show"),
        S("p2", "2024-01-02", clinician_id="c2"), S("p2", "2024-01-09", clinician_id="c2", discharge_reason="dropout"),
        S("p3", "2024-01-03", clinician_id="c2", discharge_reason="planned"),
        S("p4", "2024-01-03", "cancelled", clinician_id="c3"),
        S("p1", "2024-02-05", "scheduled"),
    ]


def test_overall_is_the_same_object_as_attendance_overall():
    con = clinic(rows())
    assert attendance_report(con, Settings())["overall"] == attendance_overall(con, Settings())


def test_by_clinician_joins_attendance_and_endings():
    report = attendance_report(clinic(rows()), Settings())
    assert [list(r) for r in report["by_clinician"]] == [BY_CLINICIAN_KEYS] * 3
    assert report["by_clinician"] == [
        {"clinician_id": "c1", "attended": 2, "no_show": 2, "late_cancel": 1, "cancelled": 0,
         "attendance_rate": 0.4, "no_show_rate": 0.4, "ended": 0, "dropout": 0, "dropout_rate": None},
        {"clinician_id": "c2", "attended": 3, "no_show": 0, "late_cancel": 0, "cancelled": 0,
         "attendance_rate": 1.0, "no_show_rate": 0.0, "ended": 2, "dropout": 1, "dropout_rate": 0.5},
        {"clinician_id": "c3", "attended": 0, "no_show": 0, "late_cancel": 0, "cancelled": 1,
         "attendance_rate": None, "no_show_rate": None, "ended": 0, "dropout": 0, "dropout_rate": None},
    ]


def test_retention_lists_sessions_1_to_20_with_survival_and_band():
    retention = attendance_report(clinic(rows()), Settings())["retention"]
    assert [r["sessions"] for r in retention] == list(range(1, 21))
    assert all(list(r) == ["sessions", "survival", "ci_low", "ci_high"] for r in retention)
    # p2 (2 sessions) drops out; p1 (2, active), p3 (1, planned), p4 (0, active) are censored
    assert [r["survival"] for r in retention[:3]] == [1.0, round(1 - 1 / 2, 4), None]


def test_watch_list_in_the_report():
    watch = attendance_report(clinic(rows()), Settings())["watch_list"]
    assert [(w["patient_id"], w["missed_in_a_row"], w["next_booked_date"]) for w in watch] == [
        ("p1", 2, date(2024, 2, 5))]


def test_report_has_every_figure_family():
    report = attendance_report(clinic(rows()), Settings())
    assert {"as_of", "overall", "by_clinician", "retention", "watch_list", "by_month", "by_weekday", "by_hour",
            "by_modality", "by_site", "by_session_number", "frequency", "intervals", "access", "endings",
            "dropout_funnel", "retention_by_clinician", "retention_by_intake_severity", "capacity",
            "sessions_delivered"} <= set(report)
    assert report["as_of"] == date(2024, 1, 29)


def test_cli_json_output(tmp_path, capsys):
    path = tmp_path / "clinic.duckdb"
    con = clinic(rows(), con=connect(path))
    con.close()
    assert main(["attendance", "--db", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["overall"] == {"attended": 5, "no_show": 2, "late_cancel": 1, "cancelled": 1,
                               "attendance_rate": 0.625, "no_show_rate": 0.25}
    assert data["watch_list"][0]["next_booked_date"] == "2024-02-05"


def test_cli_as_of_and_table_output(tmp_path, capsys):
    path = tmp_path / "clinic.duckdb"
    clinic(rows(), con=connect(path)).close()
    assert main(["attendance", "--db", str(path), "--as-of", "2024-01-08"]) == 0
    out = capsys.readouterr().out
    assert "attendance_rate" in out and "watch_list" in out


def test_report_rows_are_plain_python_whatever_the_column_types():
    import datetime

    import numpy as np
    import pandas as pd

    from analytics.engagement import records

    frame = pd.DataFrame({
        "n": np.array([1, 2], dtype="int64"), "flag": [True, False], "rate": [0.5, np.nan],
        "limit": np.array([np.inf, 1.25], dtype="float32"), "count": pd.array([None, 3], dtype="Int64"),
        "share": pd.array([0.25, None], dtype="Float64"), "who": ["c1", None],
        "label": pd.array([None, "x"], dtype="string"), "day": pd.to_datetime(["2025-01-06", None]),
        "seen": [datetime.date(2025, 1, 6), pd.NaT],
    })
    rows = records(frame)
    assert rows == [
        {"n": 1, "flag": True, "rate": 0.5, "limit": None, "count": None, "share": 0.25, "who": "c1", "label": None,
         "day": datetime.date(2025, 1, 6), "seen": datetime.date(2025, 1, 6)},
        {"n": 2, "flag": False, "rate": None, "limit": 1.25, "count": 3, "share": None, "who": None, "label": "x",
         "day": None, "seen": None},
    ]
    assert [type(v) for v in rows[0].values()] == [int, bool, float, type(None), type(None), float, str, type(None),
                                                   datetime.date, datetime.date]
    assert type(rows[1]["count"]) is int and type(rows[1]["limit"]) is float
    assert records(frame.iloc[:0]) == []
