"""For the whole clinic, readiness reads the facts a group of clinicians at a time, and DuckDB
reads the next group while Python makes the records of the one before: the records are those of
reading everything at once, an error in a read reaches the caller, and no read is left running
on the connection when readiness returns, however it ends."""
from __future__ import annotations

import threading

import duckdb
import pytest

from analytics import readiness
from analytics.db import connect
from analytics.demo import DemoConfig, build_demo
from analytics.settings import Settings


@pytest.fixture(scope="module")
def con():
    con = connect(":memory:")
    build_demo(con, DemoConfig(patients=60, seed=11))
    yield con
    con.close()


@pytest.fixture
def small_groups(monkeypatch):
    monkeypatch.setattr(readiness, "FACT_GROUP_EPISODES", 2)


def _clinicians(con) -> int:
    return con.execute("SELECT count(DISTINCT clinician_id) FROM readiness_active").fetchone()[0]


def test_the_next_group_is_read_while_the_records_of_one_are_made(con, monkeypatch, small_groups):
    expected = readiness.readiness(con, Settings())
    assert _clinicians(con) >= 3
    second_read = threading.Event()
    reads, make = [], readiness._make_facts
    fetch = readiness._fetch_group

    def fetch_group(con_, within):
        reads.append(within["low"])
        if len(reads) == 2:
            second_read.set()
        return fetch(con_, within)

    def make_facts(columns):
        if len(reads) == 1:
            # the first group's facts are not made until the second group's read has begun
            assert second_read.wait(timeout=10), "the second group was not read while the first was made"
        return make(columns)

    monkeypatch.setattr(readiness, "_fetch_group", fetch_group)
    monkeypatch.setattr(readiness, "_make_facts", make_facts)
    assert readiness.readiness(con, Settings()) == expected
    assert reads == sorted(reads) and len(reads) == len(set(reads)) >= 3


def test_an_error_in_a_read_reaches_the_caller_and_the_connection_still_works(con, monkeypatch, small_groups):
    expected = readiness.readiness(con, Settings())
    fetch, reads = readiness._fetch_group, []

    def failing(con_, within):
        reads.append(within["low"])
        if len(reads) == 2:
            con_.execute("SELECT * FROM no_such_table")
        return fetch(con_, within)

    monkeypatch.setattr(readiness, "_fetch_group", failing)
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        readiness.readiness(con, Settings())
    monkeypatch.setattr(readiness, "_fetch_group", fetch)
    assert readiness.readiness(con, Settings()) == expected


def test_a_caller_that_stops_early_leaves_no_read_running(con, monkeypatch, small_groups):
    fetch, running, finished = readiness._fetch_group, [], []

    def slow(con_, within):
        running.append(within["low"])
        out = fetch(con_, within)
        threading.Event().wait(0.2)        # the read of the next group is still going when the caller stops
        finished.append(within["low"])
        return out

    monkeypatch.setattr(readiness, "_fetch_group", slow)
    _th, params, _cells = readiness._rules_ready(con, Settings(), None)
    groups = readiness._facts_in_groups(con, params, 2)
    assert next(groups)
    groups.close()
    assert len(running) == 2 and finished == running
    assert con.execute("SELECT 42").fetchone() == (42,)
