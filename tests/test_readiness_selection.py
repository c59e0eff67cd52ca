"""readiness() for part of a clinic: one patient, some categories, the first rows. The episodes
are chosen in SQL before any fact is read (the patient page and a long caseload cost the same at
any clinic size), and the records are exactly those of the whole list, in the same order."""
from __future__ import annotations

import pytest

from analytics import readiness
from analytics.errors import WaypointError
from analytics.settings import Settings
from tests.builders import demo_clinic


@pytest.fixture(scope="module")
def con():
    # about 150 active episodes over 12 clinicians, safety flags among them
    con = demo_clinic(patients=700, clinicians=12, seed=11)
    yield con
    con.close()


@pytest.fixture(scope="module")
def everyone(con):
    records = readiness.readiness(con, Settings())
    assert len(records) > 100 and {r["category"] for r in records} >= {"safety", "improving"}
    return records


@pytest.mark.parametrize("limit", [1, 7, 60, 10_000])
def test_the_first_rows_are_the_head_of_the_whole_list(con, everyone, limit):
    assert readiness.readiness(con, Settings(), limit=limit) == everyone[:limit]


@pytest.mark.parametrize("categories", [("safety",), ("improving", "safety"), ("stuck", "on_track", "too_early"), ()])
def test_chosen_categories_are_those_rows_of_the_whole_list(con, everyone, categories):
    wanted = [r for r in everyone if r["category"] in categories]
    assert readiness.readiness(con, Settings(), categories=categories) == wanted
    assert readiness.readiness(con, Settings(), categories=categories, limit=3) == wanted[:3]


def test_one_clinicians_first_rows_in_chosen_categories(con, everyone):
    clinician = everyone[0]["clinician_id"]
    mine = [r for r in everyone if r["clinician_id"] == clinician and r["category"] != "safety"]
    assert readiness.readiness(con, Settings(clinician_id=clinician),
                               categories=[c.id for c in readiness.CATEGORIES if c.id != "safety"], limit=4) == mine[:4]


def test_one_patients_records_are_theirs_from_the_whole_list(con, everyone):
    for patient in {r["patient_id"] for r in everyone[::15]}:
        assert readiness.readiness(con, Settings(), patient_id=patient) == [
            r for r in everyone if r["patient_id"] == patient]


def test_a_patient_not_in_treatment_has_no_record(con):
    assert readiness.readiness(con, Settings(), patient_id="no-such-patient") == []


def test_active_patients_come_in_the_lists_order_each_once(con, everyone):
    in_order = list(dict.fromkeys(r["patient_id"] for r in everyone))
    assert readiness.active_patients(con, Settings()) == in_order
    assert readiness.active_patients(con, Settings(), limit=5) == in_order[:5]


def test_an_unknown_category_is_named_with_the_choices(con):
    with pytest.raises(WaypointError, match=r"unknown readiness category 'recovered'; choose from safety, "):
        readiness.readiness(con, Settings(), categories=["recovered"])


@pytest.mark.parametrize("limit", [0, -1, 2.5])
def test_a_limit_below_one_is_refused(con, limit):
    with pytest.raises(WaypointError, match="limit must be a whole number of 1 or more"):
        readiness.readiness(con, Settings(), limit=limit)


def test_a_patient_with_two_active_episodes_is_listed_where_their_first_comes():
    """pa is stuck with c2 and too early to tell with c1; pb is stuck with c1. In the caseload's
    order (category, then clinician) pb's record comes before any of pa's, so pb is listed first,
    though pa also sees c1 and comes first by name."""
    from datetime import date, timedelta

    from tests.builders import S, clinic

    def episode(patient, clinician, eid, scores):
        return [S(patient, (date(2024, 1, 1) + timedelta(days=7 * k)).isoformat(), clinician_id=clinician,
                  episode_id=eid, phq9=score) for k, score in enumerate(scores)]

    stuck = [16, 15, 14, 13, 12, 12, 11, 11]
    con = clinic(episode("pa", "c2", "pa-1", stuck) + episode("pa", "c1", "pa-2", [15, 15])
                 + episode("pb", "c1", "pb-1", stuck))
    records = readiness.readiness(con, Settings())
    assert [(r["episode_id"], r["category"]) for r in records] == [
        ("pb-1", "stuck"), ("pa-1", "stuck"), ("pa-2", "too_early")]
    assert readiness.active_patients(con, Settings()) == ["pb", "pa"]
