"""The clinic database: one DuckDB file (default data/waypoint.duckdb), created and migrated on open.

Path resolution: an explicit path (``--db``), else the ``WAYPOINT_DB`` environment variable, else
``data/waypoint.duckdb``. ``":memory:"`` gives a private in-memory database (tests).
"""
from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb

from .errors import WaypointError
from .sqlfiles import read_sql, sql_dir

DEFAULT_DB = Path("data") / "waypoint.duckdb"
# The memory DuckDB may use for figures before it spills to disk (beside the database, in
# <database>.tmp/, removed by DuckDB). DuckDB's own default is 80 % of RAM, which a large clinic's
# work tables would fill on a shared machine: at 1e7 sessions one caseload held 9.3 GB without a
# limit. WAYPOINT_MEMORY_LIMIT overrides it (e.g. "8GB"). Imports run under it too.
MEMORY_LIMIT_ENV = "WAYPOINT_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "3GB"
_MEMORY_RE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
MIGRATION_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# Writes in one process take turns (imports, undo, re-deriving episodes): DuckDB lets threads share
# one database, but two transactions writing the same rows at once fail with a conflict.
WRITE_LOCK = threading.RLock()


def resolve_path(path: str | os.PathLike | None = None) -> str:
    if path:
        return str(path)
    env = os.environ.get("WAYPOINT_DB")
    return env if env else str(DEFAULT_DB)


def migrations(folder: Path | None = None) -> list[tuple[int, Path]]:
    """(version, path) of every numbered migration (sql/migrations/NNN_name.sql), in order."""
    folder = folder or sql_dir() / "migrations"
    found = []
    for p in sorted(folder.glob("*.sql")) if folder.is_dir() else []:
        m = MIGRATION_RE.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return found


def latest_version(folder: Path | None = None) -> int:
    return max([1] + [v for v, _ in migrations(folder)])


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return None
    return con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]


def migrate(con: duckdb.DuckDBPyConnection, folder: Path | None = None) -> int:
    """Create a new database at the latest version, or bring an older one up to date.

    Runs in one transaction: a failed migration leaves the file as it was.
    """
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    current = schema_version(con)
    con.execute("BEGIN TRANSACTION")
    try:
        if current is None:
            con.execute(read_sql("schema.sql"))
            con.execute("INSERT INTO schema_version VALUES (?, ?)", [latest_version(folder), now])
        else:
            for version, path in migrations(folder):
                if version > current:
                    con.execute(path.read_text(encoding="utf-8"))
                    con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, now])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return schema_version(con)  # type: ignore[return-value]


def connect(path: str | os.PathLike | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating as needed) the clinic database."""
    target = resolve_path(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(target, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusy(
                f"{target}: the database is open in another Waypoint process (a dashboard or an "
                "import). Stop it, or wait for it to finish, and try again."
            ) from exc
        raise
    _numpy_without_huge_pages()
    con.execute("SET enable_progress_bar = false")  # no progress bar in CLI output
    con.execute(f"SET memory_limit = '{memory_limit()}'")
    # Arrow text with 64-bit offsets (large_string), the layout pandas keeps its text columns in.
    # With DuckDB's default (32-bit offsets) pandas copied every text column it took from Arrow
    # into that layout: the episode table at ten million sessions took a median 3.27 s instead of
    # 2.64 s (benchmarks/RESULTS.md, twenty-third round). Rows, numbers and values are unchanged.
    con.execute("SET arrow_large_buffer_size = true")
    _refuse_newer(con, target)
    if not read_only:
        migrate(con)
    return con


# NumPy asks Linux for transparent huge pages for every array of 4 MB or more (madvise), which NumPy
# documents as usually faster. Not where it was measured (benchmarks/RESULTS.md, twelfth round: a
# 2-CPU virtual machine, THP "madvise"): building the episode table of ten million sessions spent
# 6 s of 10 s in the kernel, faulting in the pages of the large arrays it makes and frees; without
# huge pages 2.5 s of 5.7 s. Waypoint turns them off for NumPy unless NUMPY_MADVISE_HUGEPAGE (0 or
# 1, NumPy's own switch) is set in the environment, which then decides as NumPy documents.
NUMPY_HUGE_PAGES_ENV = "NUMPY_MADVISE_HUGEPAGE"


def _numpy_without_huge_pages() -> None:
    if NUMPY_HUGE_PAGES_ENV in os.environ:
        return
    try:
        from numpy._core import multiarray
    except ImportError:      # another NumPy layout: leave NumPy's default
        return
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is not None:
        setter(False)


def _refuse_newer(con: duckdb.DuckDBPyConnection, target: str) -> None:
    """An older Waypoint does not read or write a database a newer one has migrated: it would not
    know the newer tables and columns, and could write rows they do not describe."""
    found, known = schema_version(con), latest_version()
    if found is not None and found > known:
        con.close()
        raise WaypointError(
            f"{target}: this database is at schema version {found}, written by a newer Waypoint; this "
            f"Waypoint knows versions up to {known}. Install the newer Waypoint (or open a backup made "
            "before the upgrade); the database was not changed.")


def memory_limit() -> str:
    """The memory limit for figures: WAYPOINT_MEMORY_LIMIT, else DEFAULT_MEMORY_LIMIT."""
    value = os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT
    if not _MEMORY_RE.match(value):
        raise WaypointError(
            f"{MEMORY_LIMIT_ENV}={value!r} is not a memory size; expected a number and a unit, "
            f"e.g. 3GB, 512MB or 8GiB. Set it to one, or unset it for {DEFAULT_MEMORY_LIMIT}.")
    return value.strip()


class DatabaseBusy(WaypointError):
    """Another process holds the database file."""


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    return scalar(con, "SELECT count(*) FROM sessions") == 0


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    """First column of the first row (None when there is none). Fetches the whole result:
    DuckDB 2 refuses further work on a connection with an unfinished result."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None
