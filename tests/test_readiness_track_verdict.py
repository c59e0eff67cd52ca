"""The not-on-track rule first asks each scale for its verdict alone (no words: most scales are on
track and their sentences would be thrown away); the verdict must be the one the worded check gives,
on every scale of every active episode, under thresholds that move scales across the lines."""
from __future__ import annotations

import pytest

from analytics import readiness
from analytics.db import connect
from analytics.demo import DemoConfig, build_demo
from analytics.settings import Settings


@pytest.fixture(scope="module")
def facts():
    con = connect(":memory:")
    build_demo(con, DemoConfig(patients=150, seed=11))
    th, params, cells = readiness._rules_ready(con, Settings(), None)
    episodes = readiness._facts(con, params)
    yield episodes, cells
    con.close()


@pytest.mark.parametrize("change", [
    {},
    dict(expected_percentile=55.0),             # more scales behind the band
    dict(min_reference_episodes=10**6),         # no usable band: the fallback rule everywhere
    dict(fallback_min_attended=1, fallback_min_fall=0.9),
    dict(min_scored_sessions=1),
])
def test_the_verdict_without_words_is_the_worded_verdict(facts, change):
    episodes, cells = facts
    th = readiness.load_thresholds().with_(**change)
    rules, offs = set(), 0
    for ep in episodes:
        for sc in ep.scales:
            worded = readiness.track_check(sc, ep, cells, th)
            bare = readiness.track_check(sc, ep, cells, th, words=False)
            assert (bare.rule, bare.off_track) == (worded.rule, worded.off_track), (ep.episode_id, sc.scale)
            assert bare.text == "" and worded.text
            rules.add(worded.rule)
            offs += worded.off_track
    assert offs > 0 and len(rules) >= 2, "the clinic should exercise more than one way of judging"
