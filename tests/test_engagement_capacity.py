"""Capacity: active caseload, and active patients below caseness on every scale for remitted_weeks
(12) weeks or more who are still attending, with the share of recent sessions they take."""
from datetime import date, timedelta

import pytest

from analytics.engagement import capacity, remitted_attending
from analytics.settings import Settings
from tests.builders import S, clinic

AS_OF = date(2024, 6, 30)


def day(days_before: int) -> str:
    return str(AS_OF - timedelta(days=days_before))


def patient(pid, below_from, last, *, intake=None, below=None, latest=None, clinician="c1"):
    """Intake at caseness a week before `below_from`, below caseness from `below_from`, and a last
    attended session `last` days before the as-of date (scores given as dicts of scale: score)."""
    intake = intake or {"phq9": 15, "gad7": 12}
    below = below or {"phq9": 8, "gad7": 5}
    latest = below if latest is None else latest
    return [S(pid, day(below_from + 7), clinician_id=clinician, **intake),
            S(pid, day(below_from), clinician_id=clinician, **below),
            S(pid, day(last), clinician_id=clinician, **latest)]


def remitted(rows) -> dict[str, int]:
    frame = remitted_attending(clinic(rows), Settings(as_of=AS_OF))
    return dict(zip(frame["patient_id"], frame["remitted_attending"]))


@pytest.mark.parametrize("below_from, last, expected", [
    (112, 28, 1),   # 84 days (12 weeks) below caseness, attended 28 days ago
    (111, 28, 0),   # 83 days
    (113, 29, 0),   # 84 days below, but no attended session for 29 days: not still attending
    (150, 0, 1),
])
def test_twelve_weeks_below_caseness_and_still_attending_at_the_edges(below_from, last, expected):
    assert remitted(patient("p1", below_from, last)) == {"p1": expected}


def test_remitted_since_and_days():
    frame = remitted_attending(clinic(patient("p1", 112, 28)), Settings(as_of=AS_OF))
    assert frame.loc[0, "remitted_since"].date() == AS_OF - timedelta(days=112)
    assert frame.loc[0, "remitted_days"] == 84


def test_one_scale_at_caseness_at_the_latest_score_keeps_the_patient_out():
    rows = patient("p1", 150, 7, latest={"phq9": 4, "gad7": 8})   # GAD-7 8 is caseness (>= 8)
    assert remitted(rows) == {"p1": 0}


def test_a_scale_last_measured_at_caseness_keeps_the_patient_out():
    rows = patient("p1", 150, 7, below={"phq9": 6}, latest={"phq9": 4})   # GAD-7 only at intake, 12
    assert remitted(rows) == {"p1": 0}


def test_the_run_starts_after_the_latest_score_at_caseness():
    rows = patient("p1", 150, 7) + [S("p1", day(100), phq9=11), S("p1", day(80), phq9=7)]
    frame = remitted_attending(clinic(rows), Settings(as_of=AS_OF))
    assert frame.loc[0, "remitted_since"].date() == AS_OF - timedelta(days=80)
    assert frame.loc[0, "remitted_attending"] == 0   # 73 days below caseness


def test_ors_of_exactly_25_is_not_clinical():
    rows = patient("p1", 112, 28, intake={"ors": 20}, below={"ors": 25})
    assert remitted(rows) == {"p1": 1}


def test_a_patient_never_at_caseness_is_below_it_from_the_first_score():
    rows = patient("p1", 112, 28, intake={"phq9": 7}, below={"phq9": 6})
    frame = remitted_attending(clinic(rows), Settings(as_of=AS_OF))
    assert frame.loc[0, "remitted_since"].date() == AS_OF - timedelta(days=119)


def test_remitted_weeks_is_configurable():
    frame = remitted_attending(clinic(patient("p1", 80, 10)), Settings(as_of=AS_OF, remitted_weeks=10))
    assert list(frame["remitted_attending"]) == [1]


def test_ended_episodes_are_not_counted():
    rows = patient("p1", 112, 28)
    rows[-1] = S("p1", day(28), discharge_reason="planned", phq9=8, gad7=5)
    assert remitted(rows) == {}


def test_capacity_by_clinician():
    rows = [
        *patient("r", 112, 28),                                                    # c1, remitted
        S("n", day(84), phq9=16), S("n", day(83), phq9=15), S("n", day(10), phq9=14),   # c1, not remitted
        S("o", day(20), "no_show"),                                                # c1, no attended session
        S("q", day(5), clinician_id="c2"),                                         # c2
        S("x", day(40), clinician_id="c3", discharge_reason="planned"),            # c3, ended
    ]
    frame = capacity(clinic(rows), Settings(as_of=AS_OF))
    assert frame.to_dict("records") == [
        # recent = attended in the 84 days up to the as-of date: r's session 28 days ago, n's 83 and 10
        {"clinician_id": "c1", "active_caseload": 3, "remitted_attending": 1, "recent_sessions": 3,
         "recent_sessions_remitted": 1, "remitted_share": round(1 / 3, 4)},
        {"clinician_id": "c2", "active_caseload": 1, "remitted_attending": 0, "recent_sessions": 1,
         "recent_sessions_remitted": 0, "remitted_share": 0.0},
        {"clinician_id": "c3", "active_caseload": 0, "remitted_attending": 0, "recent_sessions": 1,
         "recent_sessions_remitted": 0, "remitted_share": 0.0},
    ]


def test_capacity_for_one_clinician():
    rows = [*patient("r", 112, 28), S("q", day(5), clinician_id="c2")]
    frame = capacity(clinic(rows), Settings(as_of=AS_OF, clinician_id="c2"))
    assert list(frame["clinician_id"]) == ["c2"]
