"""Readiness reasons that name what the category alone would hide. A patient drifting away is
named whatever their readiness category: the disengagement watch list's rule (two missed in a row,
or no attended session for more than 28 days) adds the last reason and the record's
``disengagement``, the category stays as it is. A patient not on track who has still improved
reliably is told so."""
from datetime import date, timedelta

from analytics import engagement
from analytics.db import connect
from analytics.demo import DemoConfig, build_demo
from analytics.readiness import readiness
from analytics.settings import Settings
from tests.builders import S, clinic

START = date(2025, 2, 3)


def w(weeks: int) -> date:
    return START + timedelta(days=weeks * 7)


def improving_then(*after: S) -> list[S]:
    scores = [20, 17, 15, 13]
    return [S("p1", w(i), phq9=s) for i, s in enumerate(scores)] + list(after)


def _one(rows, as_of) -> dict:
    [record] = readiness(clinic(rows), Settings(as_of=as_of))
    return record


def test_two_missed_in_a_row_with_nothing_booked_is_named_last_and_the_category_kept():
    record = _one(improving_then(S("p1", w(4), "no_show"), S("p1", w(5), "late_cancel")), as_of=w(5))
    assert record["category"] == "improving"
    assert record["disengagement"] == "2 missed in a row; nothing booked"
    assert record["reasons"][-1] == ("Drifting away (2 missed in a row; nothing booked): on the disengagement "
                                     "watch list; a call now may keep them in treatment.")


def test_a_long_gap_since_the_last_attended_session_is_named_with_the_next_booking():
    rows = improving_then(S("p1", w(10), "scheduled"))
    record = _one(rows, as_of=w(3) + timedelta(days=29))
    assert record["disengagement"] == "no attended session for 29 days; next booked 14 Apr 2025"


def test_exactly_the_threshold_is_not_yet_drifting():
    record = _one(improving_then(S("p1", w(4), "no_show")), as_of=w(3) + timedelta(days=28))
    assert record["disengagement"] is None
    assert not any(r.startswith("Drifting away") for r in record["reasons"])


def test_the_caseload_names_exactly_the_episodes_of_the_watch_list(tmp_path):
    con = connect(tmp_path / "demo.duckdb")
    build_demo(con, DemoConfig(patients=120, clinicians=4, years=1.0, seed=3))
    settings = Settings()
    drifting = {r["episode_id"] for r in readiness(con, settings) if r["disengagement"]}
    watched = set(engagement.watch_list(con, settings)["episode_id"])
    assert drifting and drifting == watched


def test_not_on_track_says_so_when_the_patient_has_reliably_improved_only_more_slowly(tmp_path):
    con = connect(tmp_path / "demo.duckdb")
    build_demo(con, DemoConfig())                         # the demo clinic: enough finished episodes for bands
    behind = [r for r in readiness(con, Settings()) if r["category"] == "not_on_track"]
    slow = [r for r in behind if any("It has reliably improved by" in reason for reason in r["reasons"])]
    assert slow, "the demo clinic has a patient who improved reliably but slowly"
    for r in slow:
        assert r["first_scores"]["phq9"] - r["last_scores"]["phq9"] >= 6 or \
            r["first_scores"].get("gad7", 0) - r["last_scores"].get("gad7", 0) >= 4
        assert any(reason.endswith("more slowly than expected.") for reason in r["reasons"])
