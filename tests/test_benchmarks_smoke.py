"""The benchmark script runs end to end on a 1e4-session clinic, and its pandas implementation
gives exactly Waypoint's figures (not a timed test: no time is asserted)."""
from __future__ import annotations

import json

import pytest

from analytics import engagement, outcomes
from analytics.settings import Settings
from benchmarks import pandas_impl, run
from tests.builders import S, clinic


def _waypoint(con) -> dict:
    s = Settings()
    return {"kpis": outcomes.kpis(con, s), "episode_outcomes": outcomes.episode_outcomes(con, s),
            "attendance_by_clinician": engagement.attendance_by(con, s, "clinician_id")}


@pytest.fixture
def tiny():
    return clinic([
        # p1: finished, recovered (PHQ-9 18 -> 6, GAD-7 12 -> 5), one no-show, planned ending
        S("p1", "2025-01-06", phq9=18, gad7=12, session_type="assessment", referral_date="2024-12-01"),
        S("p1", "2025-01-13", phq9=14, gad7=10),
        S("p1", "2025-01-20", "no_show"),
        S("p1", "2025-01-27", phq9=6, gad7=5, discharge_reason="planned"),
        # p2: lost contact (no session in the 90 days before as-of): dropout after one session
        S("p2", "2025-01-08", clinician_id="c2", phq9=20, gad7=15),
        S("p2", "2025-01-10", "late_cancel", clinician_id="c2"),
        # p3: active, seen by two clinicians; a cancelled and a future booking count nowhere
        S("p3", "2025-04-01", clinician_id="c2", phq9=9, gad7=9, phq9_items={9: 1}),
        S("p3", "2025-04-08", "cancelled", clinician_id="c1"),
        S("p3", "2025-04-15", clinician_id="c1", phq9=10, gad7=11),
        S("p3", "2025-05-20", "scheduled", clinician_id="c1"),
    ])


def test_pandas_gives_exactly_waypoints_figures_on_a_hand_built_clinic(tiny):
    waypoint = _waypoint(tiny)
    figures = pandas_impl.figures(pandas_impl.load(tiny))
    assert pandas_impl.compare(waypoint, figures) == []
    assert figures["kpis"]["recovered"] == 1 and figures["kpis"]["dropout"] == 1
    assert figures["kpis"]["attendance"] == {"attended": 6, "no_show": 1, "late_cancel": 1, "cancelled": 1,
                                             "attendance_rate": 0.75, "no_show_rate": 0.125}


def test_the_check_reports_a_figure_that_differs(tiny):
    waypoint = _waypoint(tiny)
    figures = pandas_impl.figures(pandas_impl.load(tiny))
    figures["kpis"]["recovered"] += 1
    figures["episode_outcomes"].loc[0, "phq9_last"] = 27
    figures["attendance_by_clinician"].loc[0, "no_show"] += 1
    problems = pandas_impl.compare(waypoint, figures)
    assert any(p.startswith("kpis['recovered']") for p in problems)
    assert any(p.startswith("episode_outcomes['phq9_last']: 1 rows differ") for p in problems)
    assert "attendance by clinician differs" in problems


def test_the_benchmark_runs_at_1e4_and_pandas_agrees(tmp_path, capsys):
    code = run.main(["--sizes", "1e4", "--cache", str(tmp_path / "cache"), "--results", str(tmp_path / "results"),
                     "--repeat", "2", "--skip", "overview,caseload"])
    assert code == 0
    result = json.loads((tmp_path / "results" / "1e4.json").read_text())
    steps = result["steps"]
    assert 9_000 < steps["import"]["rows"] < 11_000
    assert steps["import"]["rows"] == steps["floor"]["rows"] == steps["import"]["new_rows"]
    assert steps["import"]["rejected"] == 0
    assert set(steps["analytics"]["parts"]) == {"kpis", "episode_outcomes", "attendance_report", "readiness"}
    assert set(steps["analytics"]["warm_parts"]) == set(steps["analytics"]["parts"])
    assert steps["analytics"]["subset_warm_seconds"] > 0
    assert set(steps["later"]["parts"]) == set(steps["analytics"]["parts"])   # with the work file kept
    assert steps["later"]["work_file_mb"] > 0 and steps["later"]["subset_seconds"] > 0
    assert result["clinicians"] == run.clinicians_for(10_000) == 8
    assert steps["pandas"]["identical"] is True, steps["pandas"]["differences"]
    assert steps["patient"]["repeat"] == 2 and steps["patient"]["p95_ms"] >= steps["patient"]["p50_ms"]
    assert "headline figures" in steps["warmup"]["warmup_parts"] and steps["warmup"]["seconds"] > 0
    assert steps["restart"]["page_title"] == "Clinic overview" and steps["restart"]["warmup_seconds"] > 0
    for step in ("warmup", "restart"):   # new visitors of the running server, --repeat of them
        assert steps[step]["new_sessions"] == 2, steps[step]
        assert steps[step]["new_session_p95_ms"] >= steps[step]["new_session_p50_ms"] > 0
    assert steps["patient"]["page_p95_ms"] >= steps["patient"]["page_p50_ms"] > 0
    exports = steps["exports"]["commands"]
    assert list(exports) == ["readiness_json", "readiness_one_patient", "outcomes_json", "outcomes_csv"]
    assert all(c["seconds"] > 0 and c["peak_rss_mb"] > 0 for c in exports.values())
    # the whole clinic's records are more text than one patient's
    assert exports["readiness_json"]["output_bytes"] > exports["readiness_one_patient"]["output_bytes"] > 100
    assert set(steps["pages"]["pages"]) == {"clinicians", "attendance", "caseload_all", "caseload_one", "patient"}
    assert all(seconds > 0 for seconds in steps["pages"]["pages"].values())
    for name in ("generate", "floor", "import", "analytics", "later", "pandas", "patient", "warmup", "restart", "pages"):
        assert steps[name]["peak_rss_mb"] > 0, name
    assert 0 < steps["analytics"]["full_set_peak_rss_mb"] <= steps["analytics"]["peak_rss_mb"]
    assert result["machine"]["nproc"] >= 1
    assert "1e4 sessions" in capsys.readouterr().out
    assert (tmp_path / "results" / "summary.md").read_text().startswith("Machine:")


def test_the_p95_of_forty_times_is_the_thirty_eighth_and_the_p50_their_median():
    times = [n / 1000 for n in range(40, 0, -1)]          # 40 ms down to 1 ms, in any order
    p50, p95 = run._percentiles(times)
    assert p50 == pytest.approx(20.5) and p95 == pytest.approx(38)


def test_the_table_says_why_a_new_session_of_the_overview_has_no_latency():
    warm = {"warmup_seconds": 1.5, "seconds": 0.3, "rerun_seconds": 0.1}
    steps = {"warmup": {**warm, "new_session_p50_ms": 210.4, "new_session_p95_ms": 306.0, "new_sessions": 40},
             "restart": {**warm, "new_session_error": "the overview page raised: no such table"}}
    rows = dict((r[0], r[1]) for r in run.table({"size": 10_000, "label": "1e4", "clinicians": 8, "steps": steps}))
    warmup = rows["overview after the server's warm-up (warm-up / first / rerun; a new session p50 / p95)"]
    restart = rows["overview after a restart, work file kept (warm-up / first / rerun; a new session p50 / p95)"]
    assert warmup == "1.50 s / 0.30 s / 0.10 s; 210 ms / 306 ms"
    assert restart == "1.50 s / 0.30 s / 0.10 s; error: the overview page raised: no such table"


def test_the_p95_of_one_time_is_that_time():
    assert run._percentiles([0.25]) == pytest.approx((250, 250))


@pytest.mark.parametrize("size, clinicians", [(10_000, 8), (100_000, 50), (1_000_000, 500), (10_000_000, 5_000)])
def test_the_benchmark_clinic_grows_by_clinicians_not_by_caseload(size, clinicians):
    assert run.clinicians_for(size) == clinicians
