"""sql/readiness stays portable: every file parses as DuckDB SQL and translates to Spark SQL with
SQLGlot without an unsupported construct."""
from pathlib import Path

import pytest

import sqlglot  # noqa: E402  installed by `make test` (the spark extra)

SQL = Path(__file__).resolve().parent.parent / "sql" / "readiness"
FILES = sorted(SQL.glob("*.sql"))


def test_the_readiness_sql_files_are_there():
    assert [f.name for f in FILES] == ["active_episodes.sql", "categories.sql", "episode_scores.sql", "expected_band.sql",
                                       "reliable_change.sql", "risk_items.sql", "scale_status.sql", "trend.sql"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_translates_to_spark_sql(path):
    spark = sqlglot.transpile(path.read_text(), read="duckdb", write="spark", comments=False,
                              unsupported_level=sqlglot.ErrorLevel.RAISE)
    assert len(spark) == 1 and spark[0].upper().startswith(("WITH", "SELECT"))


def test_expected_band_percentiles_are_exact_in_spark_too():
    # percentile_cont would become Spark's approximate percentile; the file interpolates itself
    spark = sqlglot.transpile((SQL / "expected_band.sql").read_text(), read="duckdb", write="spark",
                              comments=False)[0]
    assert "PERCENTILE_APPROX" not in spark.upper() and "PERCENTILE_CONT" not in spark.upper()
    assert "COUNT(*) AS K" in spark.upper() and "SUM(K) OVER" in spark.upper()   # from each cell's histogram
