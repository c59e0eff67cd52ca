"""Kept work tables (analytics/workcache.py): figures are never served from data that changed,
from another as-of date or settings, or from another viewer's scope; a repeated call builds nothing."""
from __future__ import annotations

from datetime import date

import pytest

from analytics import engagement, outcomes, readiness, workcache
from analytics.db import connect
from analytics.ingest import undo_import
from analytics.settings import Settings
from tests.ingest_helpers import csv_file, ingest

HEADER = "patient_id,clinician_id,session_date,status,phq9,gad7"
FIRST = """p1,c1,2025-01-06,attended,18,12
p1,c1,2025-01-13,no_show,,
p1,c1,2025-01-20,attended,11,9
p2,c2,2025-01-07,attended,15,10
p2,c2,2025-01-14,attended,9,6
"""
LATER = """p3,c1,2025-02-03,attended,20,15
p3,c1,2025-02-10,late_cancel,,
"""


def kept_tables(con) -> int:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ?",
                       [workcache.CATALOG]).fetchall()[0][0]


@pytest.fixture
def con(tmp_path):
    con = connect(":memory:")
    ingest(con, csv_file(tmp_path, HEADER + "\n" + FIRST, "first.csv"))
    return con


def test_a_new_import_shows_at_once_and_its_undo_too(con, tmp_path):
    assert engagement.attendance_overall(con, Settings())["attended"] == 4
    batch = ingest(con, csv_file(tmp_path, HEADER + "\n" + LATER, "later.csv")).batch_id
    after = engagement.attendance_overall(con, Settings())
    assert (after["attended"], after["late_cancel"]) == (5, 1)
    undo_import(con, batch)
    assert engagement.attendance_overall(con, Settings())["late_cancel"] == 0


def test_a_corrected_status_is_seen_though_every_count_stays_the_same(con, tmp_path):
    assert engagement.attendance_overall(con, Settings())["no_show"] == 1
    ingest(con, csv_file(tmp_path, HEADER + "\n" + FIRST.replace("no_show", "attended"), "fixed.csv"))
    assert con.execute("SELECT count(*) FROM sessions").fetchall()[0][0] == 5
    now = engagement.attendance_overall(con, Settings())
    assert (now["attended"], now["no_show"]) == (5, 0)


def test_each_as_of_date_gets_its_own_tables(con):
    early = Settings(as_of=date(2025, 1, 8))
    assert engagement.attendance_overall(con, early)["attended"] == 2
    assert engagement.attendance_overall(con, Settings())["attended"] == 4
    assert engagement.attendance_overall(con, early)["attended"] == 2


def test_settings_that_shape_episodes_get_their_own_tables(con):
    def ended(days: int) -> int:
        frame = outcomes.episode_outcomes(con, Settings(as_of=date(2025, 6, 30), lost_contact_days=days))
        return int(frame["ended"].sum())

    assert ended(90) == 2          # 5 months without a session: lost contact
    assert ended(365) == 0
    assert ended(90) == 2


@pytest.mark.parametrize("order", ["clinic first", "scoped first"])
def test_a_clinicians_scope_is_never_served_the_clinics_tables(con, order):
    scoped = Settings(scope_clinician_id="c2")
    calls = [Settings(), scoped] if order == "clinic first" else [scoped, Settings()]
    seen = {s.scope_clinician_id: {r["patient_id"] for r in readiness.readiness(con, s)} for s in calls}
    assert seen == {None: {"p1", "p2"}, "c2": {"p2"}}


def test_a_repeated_call_builds_nothing_and_cursors_share_the_tables(con):
    outcomes.kpis(con, Settings())
    built = kept_tables(con)
    assert built > 0
    outcomes.kpis(con, Settings())
    cur = con.cursor()
    outcomes.kpis(cur, Settings())
    assert kept_tables(con) == built


def as_of_dates(n: int) -> list[date]:
    return [date(2025, 1, 8 + i) for i in range(n)]


def test_idle_contexts_beyond_the_newest_are_dropped(con, monkeypatch):
    monkeypatch.setattr(workcache, "GRACE_SECONDS", -1.0)
    for day in as_of_dates(workcache.KEEP_CONTEXTS + 3):
        engagement.attendance_overall(con, Settings(as_of=day))
    contexts = con.execute(f"SELECT count(*) FROM {workcache.CATALOG}.contexts").fetchall()[0][0]
    assert contexts == workcache.KEEP_CONTEXTS
    assert engagement.attendance_overall(con, Settings(as_of=date(2025, 1, 8)))["attended"] == 2


def test_contexts_used_within_the_grace_period_are_kept_however_many(con):
    for day in as_of_dates(workcache.KEEP_CONTEXTS + 3):
        engagement.attendance_overall(con, Settings(as_of=day))
    contexts = con.execute(f"SELECT count(*) FROM {workcache.CATALOG}.contexts").fetchall()[0][0]
    assert contexts == workcache.KEEP_CONTEXTS + 3


def used(con) -> list[tuple]:
    return con.execute(f"SELECT context, used FROM {workcache.CATALOG}.contexts ORDER BY context").fetchall()


def test_a_context_in_use_is_recorded_again_only_once_its_minute_has_passed(con, monkeypatch):
    outcomes.kpis(con, Settings())
    first = used(con)
    assert first                                   # recorded when first used
    outcomes.kpis(con, Settings())
    assert used(con) == first                      # within the minute: no write to the work file
    monkeypatch.setattr(workcache, "TOUCH_SECONDS", 0.0)
    outcomes.kpis(con, Settings())
    again = used(con)
    assert [c for c, _ in again] == [c for c, _ in first]
    assert all(later > earlier for (_, later), (_, earlier) in zip(again, first))


def test_a_read_only_database_is_served_too(tmp_path):
    path = tmp_path / "clinic.duckdb"
    writer = connect(path)
    ingest(writer, csv_file(tmp_path, HEADER + "\n" + FIRST))
    writer.close()
    reader = connect(path, read_only=True)
    assert engagement.attendance_overall(reader, Settings())["attended"] == 4
    assert engagement.attendance_overall(reader, Settings())["attended"] == 4


def test_threads_starting_cold_on_one_connection_agree_with_one_thread(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "clinic.duckdb"
    writer = connect(path)
    ingest(writer, csv_file(tmp_path, HEADER + "\n" + FIRST + LATER))
    asks = [Settings(), Settings(scope_clinician_id="c1"), Settings(scope_clinician_id="c2"),
            Settings(clinician_id="c1")]
    expected = [readiness.readiness(writer, s) for s in asks]
    writer.close()
    workcache.work_path(path).unlink()               # and the tables it kept for the next process
    shared = connect(path)
    with ThreadPoolExecutor(max_workers=4) as pool:  # every thread starts with nothing kept
        got = list(pool.map(lambda s: readiness.readiness(shared.cursor(), s), asks * 3))
    assert got == expected * 3
