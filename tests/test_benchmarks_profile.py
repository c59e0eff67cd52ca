"""benchmarks/profile_full_set.py: the full set's rounds to record with py-spy, and the summary of
py-spy's raw output by part of the full set (issue 8's "profile (py-spy, ...)")."""
from __future__ import annotations

import re

import pytest

from analytics.db import connect
from benchmarks import profile_full_set as prof
from benchmarks import run
from tests.builders import S, clinic

# py-spy's raw format: frames root first, ';' between them, then a space and the samples
RAW = """\
<module> (benchmarks/profile_full_set.py:150);main (benchmarks/profile_full_set.py:131);run (benchmarks/profile_full_set.py:108);_timed (benchmarks/run.py:164);readiness (analytics/readiness.py:1101);_record (analytics/readiness.py:1017) 6
<module> (benchmarks/profile_full_set.py:150);_timed (/work/main/benchmarks/run.py:164);readiness (/work/main/analytics/readiness.py:1101);_series.<locals>.<listcomp> (analytics/readiness.py:511) 2
Thread._bootstrap (threading.py:1002);_worker (concurrent/futures/thread.py:83);_fetch_group (analytics/readiness.py:435);duckdb::Executor::WaitForTask (_duckdb.cpython-311-x86_64-linux-gnu.so) 4
<module> (benchmarks/profile_full_set.py:150);_timed (/work/main/benchmarks/run.py:164);episode_outcomes (analytics/outcomes.py:387);duckdb::JoinHashTable::GetRowPointers (_duckdb.cpython-311-x86_64-linux-gnu.so) 3
<module> (benchmarks/profile_full_set.py:150);_timed (/work/main/benchmarks/run.py:164) 4
<module> (benchmarks/profile_full_set.py:150);connect (analytics/db.py:95) 1
"""


def test_the_parts_are_the_benchmarks_full_set():
    assert prof.PARTS == tuple(name for name, _ in run._full_set())
    for name, fn in run._full_set():                      # each part's frame is recognised
        assert prof.part_of([f"{fn.__name__} (analytics/{fn.__module__.split('.')[-1]}.py:1)"]) == name


def test_each_stack_is_counted_in_its_part_of_the_full_set():
    text = prof.summarise(RAW.splitlines(keepends=True))
    assert text.startswith("20 samples\n")
    rows = {m.group(1).strip(): (int(m.group(2)), m.group(3))
            for m in re.finditer(r"^(.{52}) +(\d+) +([\d.]+%)$", text, re.M)}
    assert rows == {
        "readiness": (8, "40.0%"),
        "readiness, another thread": (4, "20.0%"),
        prof.BETWEEN: (4, "20.0%"),
        "episode_outcomes": (3, "15.0%"),
        prof.OTHER: (1, "5.0%"),
    }


def test_a_part_lists_the_frames_most_often_on_top_of_its_stacks():
    text = prof.summarise(RAW.splitlines(), top=1)
    section = text.split("readiness: the frames most often on top (8 samples)\n")[1].split("\n\n")[0]
    assert section.split() == ["6", "75.0%", "_record"]          # top=1: only the first frame
    assert "duckdb::JoinHashTable::GetRowPointers" in text.split("episode_outcomes: ")[1]


def test_a_line_not_in_py_spys_raw_format_is_named():
    with pytest.raises(ValueError, match=r"line 2: expected py-spy's raw format"):
        prof.summarise(["a (x.py:1);b (x.py:2) 3\n", "not a stack\n"])


def test_no_samples_says_so():
    assert prof.summarise(["\n"]) == "no samples\n"


def test_run_prints_the_first_call_and_each_round_with_its_four_parts(tmp_path, capsys):
    db = tmp_path / "clinic.duckdb"
    con = connect(str(db))
    clinic([S("p1", "2025-01-06", phq9=18, gad7=12), S("p1", "2025-01-13", phq9=9, gad7=7),
            S("p2", "2025-01-08", clinician_id="c2", phq9=20, gad7=15)], con=con)
    con.close()
    assert prof.main(["run", "--db", str(db), "--rounds", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["first call", "round 1", "round 2"]
    for line in lines:
        assert re.fullmatch(r"[a-z0-9 ]+: \d+\.\d\d s \(kpis \d+\.\d\d s, episode_outcomes \d+\.\d\d s, "
                            r"attendance_report \d+\.\d\d s, readiness \d+\.\d\d s\)", line), line


def test_summary_of_a_missing_file_is_an_error_naming_it(tmp_path, capsys):
    missing = tmp_path / "nothing.txt"
    assert prof.main(["summary", str(missing)]) == 1
    assert str(missing) in capsys.readouterr().err


def test_a_negative_number_of_rounds_is_refused(tmp_path, capsys):
    db = tmp_path / "clinic.duckdb"
    connect(str(db)).close()
    with pytest.raises(SystemExit) as exit_:
        prof.main(["run", "--db", str(db), "--rounds", "-1"])
    assert exit_.value.code == 2
    assert "--rounds -1: expected 0 or more" in capsys.readouterr().err


def test_run_without_the_database_names_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        prof.main(["run", "--db", str(tmp_path / "none.duckdb")])
    assert exit_.value.code == 2
    assert "none.duckdb: no such database file" in capsys.readouterr().err
