"""The overview's readiness chart counts each active episode once, in the category readiness()
gives it (readiness.category_counts counts sql/readiness/categories.sql without building the
records)."""
from __future__ import annotations

from collections import Counter

import pytest

from analytics import readiness
from analytics.db import connect
from analytics.demo import DemoConfig, build_demo
from analytics.settings import Settings


@pytest.fixture(scope="module")
def con():
    con = connect(":memory:")
    build_demo(con, DemoConfig(patients=120, seed=4))      # every category, a safety flag among them
    yield con
    con.close()


def _views(con) -> list[Settings]:
    clinician = con.execute("SELECT clinician_id FROM sessions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    site = con.execute("SELECT site FROM sessions WHERE site IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT 1").fetchone()[0]
    return [Settings(), Settings(clinician_id=clinician), Settings(site=site), Settings(scope_clinician_id=clinician)]


def test_the_counts_are_the_records_counted_by_category(con):
    for settings in _views(con):
        counted = Counter(r["category"] for r in readiness.readiness(con, settings))
        frame = readiness.category_counts(con, settings)
        assert dict(zip(frame["category"], frame["patients"])) == {c.id: counted.get(c.id, 0) for c in readiness.CATEGORIES}


def test_every_category_is_listed_in_order_with_its_words(con):
    frame = readiness.category_counts(con, Settings())
    assert list(frame["category"]) == [c.id for c in readiness.CATEGORIES]
    assert list(frame["label"]) == [c.label for c in readiness.CATEGORIES]
    assert (frame["patients"] > 0).sum() >= 5 and frame.loc[frame["category"] == "safety", "patients"].item() > 0


@pytest.mark.parametrize("change", [dict(expected_percentile=60.0), dict(stable_scores=2)])
def test_thresholds_change_the_counts_as_they_change_the_records(con, change):
    other = readiness.load_thresholds().with_(**change)
    counted = Counter(r["category"] for r in readiness.readiness(con, Settings(), other))
    frame = readiness.category_counts(con, Settings(), other)
    assert dict(zip(frame["category"], frame["patients"])) == {c.id: counted.get(c.id, 0) for c in readiness.CATEGORIES}
    assert list(frame["patients"]) != list(readiness.category_counts(con, Settings())["patients"])


def test_the_counts_read_no_scores_into_python(con, monkeypatch):
    # the chart's counts come from categories.sql: the facts are never read episode by episode
    expected = readiness.category_counts(con, Settings())

    def refused(*args, **kwargs):
        raise AssertionError("category_counts read the facts into Python")

    monkeypatch.setattr(readiness, "_read_facts", refused)
    assert list(readiness.category_counts(con, Settings())["patients"]) == list(expected["patients"])
    assert expected["patients"].sum() == con.execute(
        "SELECT count(*) FROM readiness_active").fetchone()[0]


def test_the_whole_clinics_records_are_the_same_read_a_few_clinicians_at_a_time(con, monkeypatch):
    clinic, site = Settings(), _views(con)[2]
    whole = {id(s): readiness.readiness(con, s) for s in (clinic, site)}
    monkeypatch.setattr(readiness, "FACT_GROUP_EPISODES", 2)
    for settings in (clinic, site):
        assert readiness.readiness(con, settings) == whole[id(settings)]
    assert len(whole[id(clinic)]) > 2
