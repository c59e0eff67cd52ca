"""A dry run (and the upload page's preview) of several files checks them as the import would: each
after the files before it, then takes everything back. A row the first file adds is 'unchanged'
in a second file that repeats it, not 'new' twice; the dry run's counts are the import's."""
from __future__ import annotations

import pytest

from analytics.errors import WaypointError
from analytics.ingest import ingest_files, list_imports, preview
from tests.ingest_helpers import HEADER, TODAY, csv_file, fresh, snapshot

FIRST = HEADER + "\np1,c1,2025-03-03,attended,14,9\np1,c1,2025-03-10,attended,12,8\np2,c2,2025-03-04,no_show,,\n"
# the cumulative export a week later: the same three rows (p2's no-show now recorded as a late
# cancellation) and one new session
SECOND = (HEADER + "\np1,c1,2025-03-03,attended,14,9\np1,c1,2025-03-10,attended,12,8\n"
          "p2,c2,2025-03-04,late_cancel,,\np1,c1,2025-03-17,attended,10,7\n")


def counts(result) -> tuple[int, int, int]:
    return result.new_rows, result.updated_rows, result.unchanged


@pytest.fixture
def files(tmp_path):
    return [csv_file(tmp_path, FIRST, "week1.csv"), csv_file(tmp_path, SECOND, "week2.csv")]


def test_a_dry_run_of_two_files_checks_the_second_after_the_first(files):
    con = fresh()
    first, second = ingest_files(con, files, dry_run=True, today=TODAY)
    assert counts(first) == (3, 0, 0)
    assert counts(second) == (1, 1, 2)        # not (4, 0, 0): the first file's rows are there
    assert (first.batch_id, second.batch_id, first.dry_run, second.dry_run) == (None, None, True, True)


def test_the_dry_runs_counts_are_what_the_import_does(files):
    con = fresh()
    planned = [counts(r) for r in ingest_files(con, files, dry_run=True, today=TODAY)]
    assert [counts(r) for r in ingest_files(con, files, today=TODAY)] == planned


def test_a_dry_run_of_several_files_leaves_the_database_as_it_was(files, tmp_path):
    con = fresh()
    ingest_files(con, [files[0]], today=TODAY)
    before = snapshot(con)
    log = list_imports(con)
    version = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchall()
    results = ingest_files(con, files, dry_run=True, today=TODAY)
    assert [counts(r) for r in results] == [(0, 0, 3), (1, 1, 2)]
    assert snapshot(con) == before
    assert list_imports(con).equals(log)
    assert con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchall() == version
    assert con.execute("SELECT count(*) FROM rejected_rows").fetchall() == [(0,)]


def test_a_dry_run_that_stops_at_an_unreadable_file_leaves_the_database_as_it_was(files, tmp_path):
    con = fresh()
    before = snapshot(con)
    broken = csv_file(tmp_path, "name,when\nx,y\n", "notes.csv")
    with pytest.raises(WaypointError, match="notes.csv"):
        ingest_files(con, [files[0], broken], dry_run=True, today=TODAY)
    assert snapshot(con) == before and list_imports(con).empty
    # and the connection is usable: no transaction left open
    assert counts(ingest_files(con, [files[0]], today=TODAY)[0]) == (3, 0, 0)


def test_the_preview_of_two_files_counts_them_together_and_writes_nothing(files):
    con = fresh()
    shown = preview(con, files, today=TODAY)
    assert [counts(r) for r in shown.results] == [(3, 0, 0), (1, 1, 2)]
    assert (shown.report.counts["new_rows"], shown.report.counts["updated_rows"],
            shown.report.counts["unchanged"]) == (4, 1, 2)
    assert snapshot(con) == snapshot(fresh()) and list_imports(con).empty


def test_a_measurement_file_is_matched_to_the_sessions_file_before_it(tmp_path):
    sessions = csv_file(tmp_path, HEADER + "\np1,c1,2025-03-03,attended,,\np1,c1,2025-03-10,attended,,\n",
                        "sessions.csv")
    scores = csv_file(tmp_path, "patient_id,date,measure,score\np1,2025-03-03,PHQ-9,14\np1,2025-03-10,PHQ-9,12\n",
                      "scores.csv")
    alone = ingest_files(fresh(), [scores], dry_run=True, today=TODAY)[0]
    together = ingest_files(fresh(), [sessions, scores], dry_run=True, today=TODAY)[1]
    imported = ingest_files(fresh(), [sessions, scores], today=TODAY)[1]
    assert together.notes == imported.notes
    assert together.notes != alone.notes      # alone, no session to match the scores to
