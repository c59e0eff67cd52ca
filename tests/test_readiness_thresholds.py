"""Readiness thresholds: the issue's defaults in analytics/readiness.toml, overridden by a clinic
config's [readiness] table (or $WAYPOINT_CONFIG), checked with one clear error."""
from datetime import date, timedelta

import pytest

from analytics.errors import WaypointError
from analytics.readiness import CATEGORIES, ReadinessThresholds, load_thresholds, readiness
from analytics.settings import Settings
from tests.builders import S, clinic

START = date(2025, 2, 3)
# ready for review with the last three scores spanning exactly 6 weeks
READY = [S("p1", START + timedelta(weeks=k), phq9=s) for k, s in [(0, 18), (2, 12), (4, 6), (7, 5), (10, 6)]]


def test_the_builtin_defaults_are_the_issues():
    th = load_thresholds(None)
    assert th == ReadinessThresholds()
    assert (th.min_scored_sessions, th.expected_percentile, th.min_reference_episodes, th.fallback_min_attended,
            th.fallback_min_fall, th.stable_scores, th.stable_min_weeks, th.trend_scores, th.trend_confidence,
            th.stuck_min_attended, th.stuck_scores) == (3, 90, 20, 6, 0.25, 3, 6, 4, 0.95, 6, 4)


def test_categories_are_in_the_issues_order():
    assert [c.id for c in CATEGORIES] == ["safety", "deteriorating", "not_on_track", "ready_for_review",
                                          "improving", "stuck", "maintenance", "too_early", "on_track"]


def test_a_clinic_config_overrides_a_threshold(tmp_path):
    config = tmp_path / "clinic.toml"
    config.write_text("[settings]\nlost_contact_days = 90\n\n[readiness]\nstable_min_weeks = 8\n")
    th = load_thresholds(config)
    assert th.stable_min_weeks == 8 and th.stable_scores == 3
    record = readiness(clinic(READY), Settings(), th)[0]
    assert record["category"] == "improving"
    assert record["reasons"][-1] == ("Not yet stable below the cutoff: the last three PHQ-9 scores span 6 weeks "
                                     "(3 Mar 2025 – 14 Apr 2025), less than 8 weeks.")


def test_readiness_reads_the_config_named_by_waypoint_config(tmp_path, monkeypatch):
    config = tmp_path / "clinic.toml"
    config.write_text("[readiness]\nstable_min_weeks = 8\n")
    monkeypatch.setenv("WAYPOINT_CONFIG", str(config))
    assert readiness(clinic(READY), Settings())[0]["category"] == "improving"
    monkeypatch.delenv("WAYPOINT_CONFIG")
    assert readiness(clinic(READY), Settings())[0]["category"] == "ready_for_review"


def test_a_missing_config_file_leaves_the_defaults(tmp_path):
    assert load_thresholds(tmp_path / "absent.toml") == ReadinessThresholds()


def test_an_unknown_threshold_is_named(tmp_path):
    config = tmp_path / "clinic.toml"
    config.write_text("[readiness]\nstable_weeks = 8\n")
    with pytest.raises(WaypointError, match="unknown \\[readiness\\] threshold\\(s\\) stable_weeks"):
        load_thresholds(config)


@pytest.mark.parametrize("line, message", [
    ("expected_percentile = 100", "expected_percentile must be a percentile above 50 and below 100"),
    ("fallback_min_fall = 25", "fallback_min_fall must be a fraction above 0 and below 1"),
    ("stable_scores = 1", "stable_scores must be at least 2"),
    ("min_reference_episodes = 0", "min_reference_episodes must be a whole number of at least 1"),
    ("stuck_min_attended = 6.5", "stuck_min_attended must be a whole number of at least 1"),
])
def test_an_impossible_threshold_is_refused_with_a_clear_message(tmp_path, line, message):
    config = tmp_path / "clinic.toml"
    config.write_text(f"[readiness]\n{line}\n")
    with pytest.raises(WaypointError, match=message):
        load_thresholds(config)


def test_a_config_that_is_not_toml_is_refused(tmp_path):
    config = tmp_path / "clinic.toml"
    config.write_text("[readiness\n")
    with pytest.raises(WaypointError, match="not valid TOML"):
        load_thresholds(config)


@pytest.mark.parametrize("threshold, value, category", [
    ("min_scored_sessions", 4, "too_early"),
    ("fallback_min_fall", 0.15, "stuck"),
    ("trend_scores", 3, "improving"),
])
def test_other_thresholds_change_the_category(threshold, value, category):
    rows = {
        "min_scored_sessions": [S("p1", START + timedelta(weeks=k), phq9=s) for k, s in enumerate([16, 15, 15])],
        "fallback_min_fall": [S("p1", START + timedelta(weeks=k), phq9=s)
                              for k, s in enumerate([16, 15, 15, 14, 13, 13])],   # 18.8 % fall
        "trend_scores": [S("p1", START + timedelta(weeks=k), phq9=s) for k, s in enumerate([16, 15, 14])],
    }[threshold]
    assert readiness(clinic(rows), Settings(), ReadinessThresholds())[0]["category"] != category
    th = ReadinessThresholds().with_(**{threshold: value})
    assert readiness(clinic(rows), Settings(), th)[0]["category"] == category
