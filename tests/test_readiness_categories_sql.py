"""Each active episode's category is decided in SQL (sql/readiness/categories.sql, which the
overview's chart counts without reading a score), and the rules in analytics/readiness.py write
its reasons. The two must agree on every episode, whatever the thresholds: the rules, tried in
order without SQL's answer, are the reference."""
from __future__ import annotations

from collections import Counter

import pytest

from analytics import readiness
from analytics.settings import Settings
from tests.builders import demo_clinic

VARIANTS = {
    "defaults": {},
    "longer trend, 80 % interval": dict(trend_scores=5, trend_confidence=0.8),
    "shortest trend": dict(trend_scores=2),
    "two stable scores over four weeks": dict(stable_scores=2, stable_min_weeks=4),
    "band at the 60th percentile, five reference episodes": dict(expected_percentile=60.0, min_reference_episodes=5),
    "fallback after three sessions, half the score": dict(fallback_min_attended=3, fallback_min_fall=0.5),
    "stuck after four sessions, three scores": dict(stuck_min_attended=4, stuck_scores=3),
    "two scored sessions suffice": dict(min_scored_sessions=2),
}


@pytest.fixture(scope="module", params=[7, 23])
def con(request):
    # about 330 active episodes, every category among them
    con = demo_clinic(patients=1500, clinicians=20, seed=request.param)
    yield con
    con.close()


def _decided_and_reference(con, settings: Settings, th: readiness.ReadinessThresholds):
    """(episode, SQL's category, SQL's category apart from risk, the rules' category, the rules'
    category apart from risk) for every active episode in scope."""
    th, params, cells = readiness._rules_ready(con, settings, th)
    rows = []
    for ep in readiness._facts(con, params):
        category = readiness.classify(ep, cells, th)[0]
        other = readiness.classify(ep, cells, th, skip=("safety",))[0] if category == "safety" else None
        rows.append((ep.episode_id, ep.category, ep.other_category, category, other))
    return rows


@pytest.mark.parametrize("variant", VARIANTS)
def test_sql_decides_every_episode_as_the_rules_do(con, variant):
    th = readiness.load_thresholds().with_(**VARIANTS[variant])
    rows = _decided_and_reference(con, Settings(), th)
    assert len(rows) > 300
    disagree = [r for r in rows if (r[1], r[2]) != (r[3], r[4])]
    assert disagree == []


def test_the_demo_clinics_reach_every_category(con):
    rows = _decided_and_reference(con, Settings(), readiness.load_thresholds())
    reached = Counter(r[1] for r in rows)
    assert set(reached) == {c.id for c in readiness.CATEGORIES}
    assert Counter(r[2] for r in rows if r[1] == "safety")            # safety with what else applies


@pytest.fixture(scope="module")
def clinic_seven():
    con = demo_clinic(patients=1500, clinicians=20, seed=7)
    yield con
    con.close()


def test_some_episodes_improve_by_their_trend_alone(clinic_seven):
    # the Theil-Sen branch of the SQL decides: improving with no scale reliably improved
    th, params, cells = readiness._rules_ready(clinic_seven, Settings(), readiness.load_thresholds())
    by_trend = [ep for ep in readiness._facts(clinic_seven, params)
                if ep.category == "improving" and not any(sc.reliably_improved for sc in ep.scales)]
    assert by_trend
    assert all(any(readiness.improving_trend(sc, th) for sc in ep.scales) for ep in by_trend)


@pytest.mark.parametrize("settings", [Settings(clinician_id="c01"), Settings(scope_clinician_id="c02"),
                                      Settings(site="Riverside")],
                         ids=["one clinician", "a clinician's own scope", "one site"])
def test_a_caseload_is_decided_as_in_the_whole_clinic(con, settings):
    clinic = {r[0]: r[1:3] for r in _decided_and_reference(con, Settings(), None)}
    caseload = _decided_and_reference(con, settings, None)
    assert caseload and all(r[1:3] == r[3:5] for r in caseload)
    assert all(clinic[r[0]] == r[1:3] for r in caseload)


def test_the_records_are_those_of_the_rules_tried_in_order(con, monkeypatch):
    decided = readiness.readiness(con, Settings())
    plain = readiness.classify

    def in_order(ep, cells, th, *, skip=(), decided=None):
        return plain(ep, cells, th, skip=skip)

    monkeypatch.setattr(readiness, "classify", in_order)
    assert readiness.readiness(con, Settings()) == decided


def test_a_category_that_does_not_apply_falls_back_to_the_rules_in_order(con):
    th, params, cells = readiness._rules_ready(con, Settings(), readiness.load_thresholds())
    ep = next(e for e in readiness._facts(con, params) if e.category == "too_early")
    assert readiness.classify(ep, cells, th, decided="ready_for_review") == readiness.classify(ep, cells, th)
