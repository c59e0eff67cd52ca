"""Each readiness record's score series (readiness issue: the patient's course beside the flag):
every outcome score of that episode, by scale, in session order, with its date and session number,
and none of another episode's. The series are read for a whole clinic at once, so the clinic here
interleaves patients, scales that are not scored at every session, and a second episode."""
from datetime import date, timedelta

from analytics.readiness import readiness
from analytics.settings import Settings
from tests.builders import S, clinic

START = date(2025, 2, 3)


def day(weeks: int) -> str:
    return str(START + timedelta(weeks=weeks))


def soon(weeks: int) -> str:
    """A session in the current treatment: a year and more after START."""
    return day(58 + weeks)


def points(*rows: tuple[int, int, int]) -> list[dict]:
    return [{"date": day(weeks), "session_number": n, "score": score} for weeks, n, score in rows]


def test_each_record_has_its_own_scores_by_scale_in_session_order():
    rows = [
        S("b", soon(0), phq9=20, gad7=15), S("a", soon(0), phq9=12),
        S("b", soon(1), status="no_show"), S("a", soon(1), phq9=11, gad7=9),
        S("b", soon(2), gad7=14), S("a", soon(2), phq9=9, clinician_id="c2"),
        S("b", soon(3), phq9=18, gad7=13),
        # patient c: an episode that ended, more than a year's gap, then the one in treatment
        S("c", day(0), phq9=25), S("c", day(1), phq9=5),
        S("c", soon(0), phq9=16, gad7=11), S("c", soon(1), phq9=14),
    ]
    records = {r["patient_id"]: r for r in readiness(clinic(rows), Settings(as_of=date.fromisoformat(soon(4))))}
    assert records["a"]["series"] == {"phq9": points((58, 1, 12), (59, 2, 11), (60, 3, 9)),
                                      "gad7": points((59, 2, 9))}
    assert records["b"]["series"] == {"phq9": points((58, 1, 20), (61, 3, 18)),
                                      "gad7": points((58, 1, 15), (60, 2, 14), (61, 3, 13))}
    assert records["c"]["episode_id"] == "c#2"
    assert records["c"]["series"] == {"phq9": points((58, 1, 16), (59, 2, 14)), "gad7": points((58, 1, 11))}
    assert {p: (r["first_scores"], r["last_scores"]) for p, r in records.items()} == {
        "a": ({"phq9": 12, "gad7": 9}, {"phq9": 9, "gad7": 9}),
        "b": ({"phq9": 20, "gad7": 15}, {"phq9": 18, "gad7": 13}),
        "c": ({"phq9": 16, "gad7": 11}, {"phq9": 14, "gad7": 11}),
    }


def test_scales_come_in_registry_order_not_by_id():
    """PHQ-9 before GAD-7 (the registry's order, which the JSON keeps), though "gad7" sorts first."""
    rows = [S("a", soon(0), gad7=12), S("a", soon(1), phq9=14, gad7=11), S("a", soon(2), phq9=13, gad7=10)]
    (record,) = readiness(clinic(rows), Settings(as_of=date.fromisoformat(soon(4))))
    assert list(record["series"]) == ["phq9", "gad7"]
    assert list(record["first_scores"]) == list(record["last_scores"]) == ["phq9", "gad7"]
