"""Concurrent use of one clinic database.

Inside one server process (as Streamlit runs it) every session gets its own cursor of one shared
DuckDB connection: two imports and several readers at once must never raise, never lose or double
a row, and readers only ever see whole imports. A second process (a CLI import while the dashboard
runs) is told plainly that the database is busy, and nothing changes.
"""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from analytics import db, engagement, outcomes
from analytics.demo import DemoConfig, write_csv
from analytics.ingest import ingest_files, undo_import
from analytics.settings import Settings
from tests.ingest_helpers import snapshot

CONTENT = {"patients": "*", "clinicians": "*", "episodes": "*", "sessions": "* EXCLUDE (batch_id)",
           "measurements": "* EXCLUDE (batch_id)", "item_scores": "* EXCLUDE (batch_id)"}

ROOT = Path(__file__).resolve().parent.parent
READERS = 3


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    a = write_csv(DemoConfig(patients=60, clinicians=3, seed=1), folder / "clinic_a.csv")
    b = write_csv(DemoConfig(patients=60, clinicians=3, seed=2), folder / "clinic_b.csv")
    return a, b


def rows_in(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh) - 1


def content(con) -> dict[str, list[tuple]]:
    """Every canonical row, without the batch number (which depends on which import went first)."""
    return {t: sorted(con.execute(f"SELECT {cols} FROM {t}").fetchall(), key=repr) for t, cols in CONTENT.items()}


def sequential(paths) -> dict:
    con = db.connect(":memory:")
    for p in paths:
        ingest_files(con, [p])
    return {"tables": content(con), "kpis": outcomes.kpis(con, Settings()),
            "attendance": engagement.attendance_overall(con, Settings())}


def test_two_imports_and_readers_at_once_lose_nothing_and_readers_see_whole_imports(tmp_path, exports):
    a, b = exports
    na, nb = rows_in(a), rows_in(b)
    # the two demo clinics share no session key (their patients differ by seed): totals simply add up
    con = db.connect(tmp_path / "clinic.duckdb")
    errors: list[BaseException] = []
    results: dict[str, object] = {}
    seen_counts: list[int] = []
    imports_done = threading.Event()
    reader_rounds = [0] * READERS

    def run_import(name: str, path: Path) -> None:
        cur = con.cursor()
        try:
            results[name] = ingest_files(cur, [path])[0]
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)
        finally:
            cur.close()

    def run_reader(i: int) -> None:
        cur = con.cursor()
        try:
            # at least two rounds each, and keep reading until both imports are done
            while reader_rounds[i] < 2 or not imports_done.is_set():
                outcomes.kpis(cur, Settings())
                engagement.attendance_overall(cur, Settings())
                seen_counts.append(db.scalar(cur, "SELECT count(*) FROM sessions"))
                reader_rounds[i] += 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            imports_done.wait(60)
        finally:
            cur.close()

    readers = [threading.Thread(target=run_reader, args=(i,)) for i in range(READERS)]
    writers = [threading.Thread(target=run_import, args=("a", a)), threading.Thread(target=run_import, args=("b", b))]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(120)
    imports_done.set()
    for t in readers:
        t.join(120)

    assert errors == []
    assert results["a"].new_rows == na and results["b"].new_rows == nb
    assert results["a"].rejected == results["b"].rejected == 0
    assert db.scalar(con, "SELECT count(*) FROM sessions") == na + nb
    assert db.scalar(con, "SELECT count(DISTINCT session_key) FROM sessions") == na + nb
    # a reader sees none, one or both imports — never part of one
    assert set(seen_counts) <= {0, na, nb, na + nb}
    assert seen_counts.count(na + nb) >= 1
    # the same figures as importing the two files one after the other
    expected = sequential([a, b])
    assert content(con) == expected["tables"]
    assert outcomes.kpis(con, Settings()) == expected["kpis"]
    assert engagement.attendance_overall(con, Settings()) == expected["attendance"]
    assert sorted(db.scalar(con, "SELECT list(file_name ORDER BY file_name) FROM imports")) == [
        "clinic_a.csv", "clinic_b.csv"]
    con.close()


def test_a_reader_on_a_new_database_while_an_import_runs_does_not_collide_with_it(tmp_path, exports):
    """The first reader of an empty database records how episodes were derived (a write); it
    takes its turn with the import instead of failing with a duplicate-key conflict."""
    a, _ = exports
    for attempt in range(2):
        con = db.connect(tmp_path / f"new{attempt}.duckdb")
        errors: list[BaseException] = []
        start = threading.Barrier(READERS + 1)

        def read() -> None:
            cur = con.cursor()
            try:
                start.wait()
                outcomes.kpis(cur, Settings())
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                cur.close()

        def write() -> None:
            cur = con.cursor()
            try:
                start.wait()
                ingest_files(cur, [a])
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                cur.close()

        threads = [threading.Thread(target=read) for _ in range(READERS)] + [threading.Thread(target=write)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        assert db.scalar(con, "SELECT count(*) FROM sessions") == rows_in(a)
        assert db.scalar(con, "SELECT value FROM meta WHERE key = 'episode_gap_days'") == "180"
        con.close()


def test_a_second_process_is_told_the_database_is_busy_and_changes_nothing(tmp_path, exports):
    a, b = exports
    path = tmp_path / "clinic.duckdb"
    con = db.connect(path)
    ingest_files(con, [a])
    before = snapshot(con)
    proc = subprocess.run([sys.executable, "-m", "analytics.cli", "ingest", str(b), "--db", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "open in another Waypoint process" in lines[0]
    assert "Traceback" not in proc.stderr
    assert snapshot(con) == before
    con.close()
    # once the first process lets go, the file opens and holds exactly what it held
    again = db.connect(path)
    assert snapshot(again) == before
    assert db.scalar(again, "SELECT count(*) FROM imports") == 1
    again.close()


def test_two_people_uploading_the_same_file_at_once_import_it_once(tmp_path, exports):
    a, _ = exports
    n = rows_in(a)
    con = db.connect(tmp_path / "clinic.duckdb")
    errors: list[BaseException] = []
    results = []
    start = threading.Barrier(2)

    def run() -> None:
        cur = con.cursor()
        try:
            start.wait()
            results.append(ingest_files(cur, [a])[0])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            cur.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted((r.new_rows, r.unchanged) for r in results) == [(0, n), (n, 0)]
    assert db.scalar(con, "SELECT count(*) FROM sessions") == n
    # undoing the upload that changed nothing takes nothing away
    quiet = next(r for r in results if r.new_rows == 0)
    undo_import(con, quiet.batch_id)
    assert db.scalar(con, "SELECT count(*) FROM sessions") == n
    con.close()


def test_undo_while_another_import_and_readers_run_takes_back_exactly_its_batch(tmp_path, exports):
    a, b = exports
    con = db.connect(tmp_path / "clinic.duckdb")
    first = ingest_files(con, [a])[0]
    errors: list[BaseException] = []
    done = threading.Event()

    def work(fn) -> None:
        cur = con.cursor()
        try:
            fn(cur)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            cur.close()

    def read(cur) -> None:
        while not done.is_set():
            outcomes.kpis(cur, Settings())
            assert db.scalar(cur, "SELECT count(*) FROM sessions") in {rows_in(a), 0, rows_in(b), rows_in(a) + rows_in(b)}

    readers = [threading.Thread(target=work, args=(read,)) for _ in range(2)]
    writers = [threading.Thread(target=work, args=(lambda cur: undo_import(cur, first.batch_id),)),
               threading.Thread(target=work, args=(lambda cur: ingest_files(cur, [b]),))]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(120)
    done.set()
    for t in readers:
        t.join(120)
    assert errors == []
    assert db.scalar(con, "SELECT count(*) FROM sessions") == rows_in(b)
    assert db.scalar(con, "SELECT count(*) FROM sessions WHERE batch_id = ?", [first.batch_id]) == 0
    con.close()
