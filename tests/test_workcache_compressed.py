"""Kept work tables are stored compressed (a large clinic's work tables are several gigabytes as
built), and a compression that another cursor's transaction prevents never fails the figure."""
from __future__ import annotations

from analytics import workcache
from analytics.db import connect

ROWS = 300_000
SQL = f"SELECT range AS n, 'clinician ' || (range % 50) AS clinician_id, DATE '2025-01-01' + CAST(range % 400 AS INTEGER) AS day FROM range({ROWS})"


def _kept_compressions(con, name: str) -> set[str]:
    table = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND contains(table_name, ?)",
                        [workcache.CATALOG, f"_{name}_"]).fetchall()[0][0]
    return {r[0] for r in con.execute(
        f"SELECT DISTINCT compression FROM pragma_storage_info('{workcache.CATALOG}.main.\"{table}\"')").fetchall()}


def _begin(con):
    workcache.begin(con, "test context", version=("v1", 0, 0))


def test_a_kept_table_is_stored_compressed():
    con = connect(":memory:")
    _begin(con)
    workcache.table(con, "w_test", SQL)
    compressions = _kept_compressions(con, "w_test")
    assert compressions and "Uncompressed" not in compressions, compressions
    assert con.execute("SELECT count(*), sum(n) FROM w_test").fetchall() == [(ROWS, ROWS * (ROWS - 1) // 2)]


def test_a_checkpoint_refused_by_another_transaction_leaves_the_table_readable_and_compressed_later():
    con = connect(":memory:")
    _begin(con)
    workcache.table(con, "w_first", "SELECT 1 AS x")
    other = con.cursor()                                     # another page's query, mid-transaction
    other.execute("BEGIN")
    other.execute(f"SELECT count(*) FROM {workcache.CATALOG}.contexts").fetchall()
    workcache.table(con, "w_test", SQL)                      # builds; its checkpoint is refused
    assert con.execute("SELECT count(*) FROM w_test").fetchall() == [(ROWS,)]
    assert "Uncompressed" in _kept_compressions(con, "w_test"), (
        "DuckDB checkpointed beside another cursor's open transaction: this test no longer tests the refusal")
    other.execute("ROLLBACK")
    workcache.table(con, "w_later", "SELECT 2 AS x")        # the next build's checkpoint stores both
    assert "Uncompressed" not in _kept_compressions(con, "w_test")
