"""The Spark engine (issue 10): the same sql/ files, translated by SQLGlot, give the same figures.

One Spark session for the whole run (local[2], no UI, 4 shuffle partitions) and one small demo
clinic; every command runs through both engines and the JSON must be identical, character for
character. The Spark comparison is one test on purpose: under `pytest -n 2` a second test could
land on the other worker and start a second JVM.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from analytics import cli
from analytics.backup import backup
from analytics.db import connect
from analytics.demo import DemoConfig, build_demo
from analytics.errors import WaypointError

ROOT = Path(__file__).resolve().parent.parent
DEMO = DemoConfig(patients=60, clinicians=4, years=1.5, seed=7)


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------
# the DuckDB path stays free of Spark
# ---------------------------------------------------------------------------------------------
def test_duckdb_path_never_imports_pyspark_or_sqlglot(tmp_path):
    code = (
        "import sys, io, contextlib\n"
        "import analytics.cli, analytics.outcomes, analytics.engagement, analytics.readiness, analytics.db\n"
        f"db = {str(tmp_path / 'empty.duckdb')!r}\n"
        "analytics.db.connect(db).close()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    for cmd in ('kpis', 'outcomes', 'attendance', 'readiness'):\n"
        "        assert analytics.cli.main([cmd, '--db', db, '--format', 'json']) == 0, cmd\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'sqlglot', 'py4j')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_engine_spark_without_a_source_is_one_clear_error(capsys):
    code, out, err = run_cli(capsys, ["kpis", "--engine", "spark"])
    assert code == 2
    assert err.strip() == "Error: --engine spark needs --source DIR: a folder written by `waypoint backup DIR`"


def test_source_without_engine_spark_is_refused(capsys, tmp_path):
    code, out, err = run_cli(capsys, ["kpis", "--db", str(tmp_path / "x.duckdb"), "--source", str(tmp_path)])
    assert code == 2
    assert "--source and --spark-master go with --engine spark" in err


# ---------------------------------------------------------------------------------------------
# translation (SQLGlot only: no Spark session)
# ---------------------------------------------------------------------------------------------
def test_named_parameters_become_spark_literals_and_strings_stay_untouched():
    from analytics.spark import to_spark

    sql = ("SELECT count(*) FROM w_sessions WHERE session_date <= $as_of "
           "AND ($clinician_id IS NULL OR clinician_id = $clinician_id) AND share > $share AND note <> '$as_of'")
    assert to_spark(sql, {"as_of": date(2025, 3, 31), "clinician_id": "o'brien", "share": 0.9}) == [
        "SELECT COUNT(*) FROM w_sessions WHERE session_date <= CAST('2025-03-31' AS DATE) "
        "AND ('o\\'brien' IS NULL OR clinician_id = 'o\\'brien') AND share > CAST(0.9 AS DOUBLE) "
        "AND note <> '$as_of'"
    ]


def test_positional_parameters_bind_in_order_and_none_is_null():
    from analytics.spark import to_spark

    assert to_spark("SELECT 1 FROM t WHERE a = ? AND b = ?", [None, 3]) == ["SELECT 1 FROM t WHERE a = NULL AND b = 3"]


def test_a_missing_named_parameter_is_an_error_not_a_null():
    from analytics.spark import to_spark

    with pytest.raises(KeyError, match=r"\$as_of"):
        to_spark("SELECT 1 FROM t WHERE d <= $as_of", {})


def test_every_sql_file_translates_to_spark():
    """Parsing is what the engine does first; a construct SQLGlot cannot read fails here by name."""
    import sqlglot

    failures = []
    for path in sorted((ROOT / "sql").glob("*/*.sql")):
        if path.parent.name == "migrations":
            continue
        try:
            for statement in sqlglot.parse(path.read_text(encoding="utf-8"), read="duckdb"):
                if statement is not None:
                    statement.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
        except Exception as exc:  # noqa: BLE001 - collect every failing file
            failures.append(f"{path.relative_to(ROOT)}: {exc}")
    assert failures == []


# ---------------------------------------------------------------------------------------------
# both engines, one demo clinic
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def spark():
    from analytics.spark import spark_session

    session = spark_session("local[2]", conf={
        "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
        # a short-lived test JVM: the quick JIT tier only halves the CPU the many small queries take;
        # with it the JVM reserves only 48 MB for compiled code, which the generated code of the
        # many queries filled in CI ("CodeCache is full", then the JVM died): reserve more
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=256m",
    })
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def demo_clinic(tmp_path_factory):
    """(database path, backup folder) of one small demo clinic."""
    folder = tmp_path_factory.mktemp("spark-demo")
    db = folder / "demo.duckdb"
    con = connect(db)
    build_demo(con, DEMO)
    backup(con, folder / "backup")
    con.close()
    return db, folder / "backup"


COMMANDS = [
    ["kpis"],
    ["kpis", "--clinician", "c02", "--from", "2025-11-01", "--to", "2026-08-31"],  # text and date parameters
    ["outcomes"],
    ["attendance"],
    ["readiness"],
    ["readiness", "--category", "not_on_track", "--category", "too_early", "--limit", "3"],  # chosen in SQL
]


def test_every_command_gives_identical_figures_on_duckdb_and_spark_and_leaves_the_source_unchanged(spark, demo_clinic, capsys):
    db, source = demo_clinic
    differences = []
    outputs = {}

    def compare(command: list[str]) -> None:
        name = " ".join(command)
        code, on_duckdb, err = run_cli(capsys, [*command, "--db", str(db), "--format", "json"])
        assert code == 0, f"{name} on DuckDB: {err}"
        code, on_spark, err = run_cli(capsys, [*command, "--engine", "spark", "--source", str(source),
                                               "--spark-master", "local[2]", "--format", "json"])
        assert code == 0, f"{name} on Spark: {err}"
        outputs[name] = json.loads(on_duckdb)
        if on_spark != on_duckdb:
            differences.append(name)

    for command in COMMANDS:
        compare(command)
    one_patient = outputs["readiness"][-1]["patient_id"]
    compare(["readiness", "--patient", one_patient])
    assert differences == []
    # the comparison is of real figures, not of empty results
    kpis = outputs["kpis"]
    assert kpis["episodes"] > 40 and kpis["paired"] > 10 and kpis["attendance"]["attended"] > 200
    assert kpis["recovery_rate"] is not None and kpis["phq9_pre_post_d"] is not None
    scoped = outputs[" ".join(COMMANDS[1])]
    assert 0 < scoped["episodes"] < kpis["episodes"]
    assert len(outputs["outcomes"]) == kpis["episodes"]
    attendance = outputs["attendance"]
    assert len(attendance["by_clinician"]) == 4 and len(attendance["retention"]) == 20
    assert attendance["watch_list"] and attendance["retention_by_intake_severity"]
    assert len(outputs["readiness"]) > 3
    chosen = outputs[" ".join(COMMANDS[-1])]
    assert len(chosen) == 3 and {r["category"] for r in chosen} <= {"not_on_track", "too_early"}
    assert outputs[f"readiness --patient {one_patient}"] == [
        r for r in outputs["readiness"] if r["patient_id"] == one_patient]

    # and it reads its source without changing it (no UPDATE / INSERT of canonical tables)
    from analytics.spark import SparkConnection

    con = SparkConnection(spark, source)
    with pytest.raises(WaypointError, match="does not change it"):
        con.execute("UPDATE sessions SET status = 'attended'")
    with pytest.raises(WaypointError, match="does not change it"):
        con.execute("INSERT INTO meta VALUES ('k', 'v')")
