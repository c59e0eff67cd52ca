"""Severity at intake (the overview's chart): episodes that started in the period, by the severity
band of their first score on a scale (PHQ-9 bands: Kroenke, Spitzer & Williams 2001), counted in SQL
and the same as grouping the episode outcomes."""
from __future__ import annotations

from datetime import date

import pytest

from analytics import outcomes
from analytics.settings import Settings
from tests.builders import S, clinic

PHQ9_BANDS = ["minimal", "mild", "moderate", "moderately severe", "severe"]


def mix(con, settings: Settings | None = None, scale: str = "phq9") -> dict[str, int]:
    frame = outcomes.intake_mix(con, settings or Settings(), scale)
    return dict(zip(frame["band"], frame["episodes"]))


@pytest.mark.parametrize("first, band", [(4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
                                         (15, "moderately severe"), (19, "moderately severe"), (20, "severe")])
def test_the_first_phq9_places_the_episode_in_its_band(first, band):
    con = clinic([S("p1", "2024-01-01", phq9=first), S("p1", "2024-01-08", phq9=3)])
    assert mix(con) == {b: int(b == band) for b in PHQ9_BANDS}


def test_every_band_is_listed_in_order_with_zeros_and_shares_that_add_up():
    con = clinic([S("p1", "2024-01-01", phq9=12), S("p2", "2024-01-01", phq9=22), S("p3", "2024-01-01", phq9=13)])
    frame = outcomes.intake_mix(con, Settings())
    assert list(frame["band"]) == PHQ9_BANDS
    assert list(frame["episodes"]) == [0, 0, 2, 0, 1]
    assert list(frame["share"]) == [0.0, 0.0, 0.6667, 0.0, 0.3333]


def test_an_episode_without_the_scale_is_not_scored():
    con = clinic([S("p1", "2024-01-01", phq9=12), S("p2", "2024-01-01", gad7=9)])
    assert mix(con)["not scored"] == 1
    assert "not scored" not in mix(clinic([S("p1", "2024-01-01", phq9=12)]))


def test_only_episodes_that_started_in_the_period_count():
    con = clinic([S("p1", "2023-11-01", phq9=12), S("p1", "2024-02-01", phq9=12),   # started before
                  S("p2", "2024-01-15", phq9=22), S("p2", "2024-02-01", phq9=20)])  # started in it
    january_on = Settings(date_from=date(2024, 1, 1), date_to=date(2024, 3, 31))
    assert mix(con, january_on) == {"minimal": 0, "mild": 0, "moderate": 0, "moderately severe": 0, "severe": 1}


def test_another_scale_uses_its_own_bands():
    con = clinic([S("p1", "2024-01-01", gad7=16), S("p2", "2024-01-01", gad7=3)])
    assert mix(con, scale="gad7") == {"minimal": 1, "mild": 0, "moderate": 0, "severe": 1}


def test_the_same_counts_as_grouping_the_episode_outcomes():
    sessions = [S(f"p{i}", f"2024-0{1 + i % 3}-0{1 + i % 7}", phq9=(i * 7) % 28, clinician_id=f"c{i % 2}")
                for i in range(1, 40)] + [S("p99", "2024-02-02", gad7=5)]
    con = clinic(sessions)
    for settings in (Settings(), Settings(date_from=date(2024, 2, 1), date_to=date(2024, 3, 31)),
                     Settings(clinician_id="c1")):
        frame = outcomes.episode_outcomes(con, settings)
        start = frame["start_date"].astype(str)
        started = frame[(start >= str(settings.date_from or "0000")) & (start <= str(settings.date_to or "9999"))]
        expected = started["intake_band"].fillna("not scored").value_counts().to_dict()
        assert {k: v for k, v in mix(con, settings).items() if v} == expected
