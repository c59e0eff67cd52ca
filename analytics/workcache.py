"""Work tables kept between calls, so a figure does not rebuild the whole clinic each time.

Every analysis reads work tables (``w_sessions``, ``w_episodes``, ``w_scores``, then the outcome
and readiness tables) that are built from the whole clinic. They depend only on the data, the
as-of date and a few settings, yet each public function used to rebuild them: at 100,000 sessions
that was about half a second per call, for a clinician's caseload as much as for the clinic.

Now each table is built once per *context* into ``waypoint_work``, a database attached to the
DuckDB instance (shared by every cursor of a connection, stored compressed), and each call points a
temporary view of the usual name at it. The SQL files do not change: they read ``w_sessions``
whether it is a table or a view.

For a clinic database in a file, ``waypoint_work`` is a second file beside it
(``waypoint.duckdb.work``, :func:`work_path`), so that the next process — the next CLI command, a
restarted dashboard — finds the tables built and does not build them again (at ten million
sessions that build is most of a minute). It holds only what can be built again from the clinic's
database: delete it at any time. It is started afresh when it holds anything built from other data
(after an import or an undo, what it holds may no longer be in the clinic) or by other code (after
an upgrade of Waypoint, :func:`code_version`), is
given the clinic file's permissions, and is left out of backups. When it cannot be used (another
process holds it, the folder is read-only) and for an in-memory clinic, ``waypoint_work`` is in
memory, gone when the connection closes; beyond the memory limit DuckDB spills it to
``<database>.tmp/``.

Tables may be stored in the order a query filters them (``cluster_by``), so that DuckDB's zone
maps skip the row groups of other patients or clinicians: a caseload or a patient then costs the
same in a clinic of ten million sessions as in one of a hundred thousand.

- context: the data version, the as-of date and every setting that shapes the episode tables
  (:func:`begin`, from ``episodes.prepare``). The data version is ``meta.data_version``, a fresh
  token written by every change to the data (``episodes.assign_episodes`` ends every import, undo
  and re-derivation of episodes), with the row counts of sessions and measurements beside it.
- a table's key: the context, the table's name, its SQL text and its parameters (:func:`table`).
- at most :data:`KEEP_CONTEXTS` contexts are kept; older ones are dropped once unused for
  :data:`GRACE_SECONDS` (so a call still reading them is not cut off).

Another engine (``--engine spark``) gets plain temporary tables, as before.
"""
from __future__ import annotations

import functools
import hashlib
import math
import os
import stat
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import duckdb

from .sqlfiles import sql_dir

CATALOG = "waypoint_work"
# beside the clinic's database file: waypoint.duckdb -> waypoint.duckdb.work
WORK_SUFFIX = ".work"
# A dashboard holds one context for the clinic per as-of date and one per signed-in clinician's
# scope (small). Under the memory limit (db.DEFAULT_MEMORY_LIMIT) idle kept tables go to disk, so
# keeping several costs little; dropping one that a long call is still reading would break that
# call (a cold full set took 219 s at 1e7 sessions), hence a generous grace.
KEEP_CONTEXTS = 8
GRACE_SECONDS = 900.0
_VARIABLE = "waypoint_work_context"
# Builds take turns (reads do not): two cursors asking for the same missing table build it once.
BUILD_LOCK = threading.RLock()
# Each cursor's context as begin() set it (the DuckDB variable above), so that table() need not
# ask DuckDB for it: a caseload makes ten tables, and the question took a tenth of its time.
_CURSOR_CONTEXT: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()
# When this process last recorded each context as used (begin()): recorded again at most once a
# minute, and never less often than GRACE_SECONDS, so that a context in use is never taken for
# idle. Recorded on every call, it wrote to the work file three times a call: 5 of a caseload's
# 75 ms at ten million sessions.
TOUCH_SECONDS = 60.0
_TOUCHED: dict[str, float] = {}


def enabled(con: Any) -> bool:
    return isinstance(con, duckdb.DuckDBPyConnection)


def data_version(con: duckdb.DuckDBPyConnection) -> tuple:
    """What changes whenever the data do: meta.data_version (written by assign_episodes) and the
    row counts of sessions and measurements."""
    return tuple(con.execute(
        """SELECT (SELECT max(value) FROM meta WHERE key = 'data_version'),
                  (SELECT count(*) FROM sessions), (SELECT count(*) FROM measurements)"""
    ).fetchall()[0])


def _digest(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:16]


@functools.cache
def code_version() -> str:
    """A digest of Waypoint's own SQL and Python. A kept table's key holds its SQL, so after an
    upgrade that changes a query the new code builds its table afresh, but the old one would stay
    in the work file until the next import: at ten million sessions the scores' table alone is
    hundreds of megabytes. A work file built by other code is started afresh instead."""
    digest = hashlib.sha256()
    for root, pattern in ((sql_dir(), "*.sql"), (Path(__file__).resolve().parent, "*.py")):
        for path in sorted(root.rglob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode("utf-8"))
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _file_version(version: tuple) -> str:
    """What the work file records it was built from: the data version and the code."""
    return _digest(version, code_version())


def work_path(database: str | os.PathLike) -> Path:
    """Where the work tables of the clinic database at ``database`` are kept between processes."""
    return Path(f"{database}{WORK_SUFFIX}")


def _attach(con: duckdb.DuckDBPyConnection, version: tuple) -> None:
    """Attach the work catalog once per DuckDB instance: the clinic's work file when the clinic is
    a file (kept for the next process), else — or when the file cannot be used — memory."""
    if con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [CATALOG]).fetchall()[0][0]:
        return
    database = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    if not database or not _attach_file(con, work_path(database), _file_version(version), Path(database)):
        # READ_WRITE: an in-memory database may not inherit a read-only clinic file's mode
        # COMPRESS: kept tables are stored with DuckDB's lightweight compression once checkpointed
        # (_compress), as in a database file: at 1e6 sessions 570 MB of work tables take 105 MB
        con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {CATALOG} (READ_WRITE, COMPRESS)")
    con.execute(f"CREATE TABLE IF NOT EXISTS {CATALOG}.contexts (context VARCHAR PRIMARY KEY, used DOUBLE)")
    con.execute(f"CREATE TABLE IF NOT EXISTS {CATALOG}.versions (version VARCHAR PRIMARY KEY)")
    con.execute(f"INSERT OR IGNORE INTO {CATALOG}.versions VALUES (?)", [_file_version(version)])


def _attach_file(con: duckdb.DuckDBPyConnection, path: Path, version: str, database: Path) -> bool:
    """Attach the work file at ``path``, starting it afresh when it holds anything built from other
    data (an import or an undo since: what it holds may no longer be in the clinic,
    so the whole file goes, not only its tables) or cannot be read (damaged, another DuckDB's
    format). False when it cannot be used at all: another process holds it (a second read-only
    reader of the clinic) or the folder is not writable."""
    for attempt in (1, 2):
        try:
            con.execute(f"ATTACH '{_quoted(path)}' AS {CATALOG} (READ_WRITE)")
        except duckdb.Error as exc:
            held = any(word in str(exc).lower() for word in ("lock", "already attached", "conflict"))
            if held or attempt == 2 or not _remove(path):
                return False
            continue
        try:
            versions = con.execute(
                f"SELECT version FROM {CATALOG}.versions").fetchall() if _has_versions(con) else []
        except duckdb.Error:
            versions = [("unreadable",)]
        if all(v == version for (v,) in versions):
            _same_mode(path, database)
            return True
        con.execute(f"DETACH {CATALOG}")
        if attempt == 2 or not _remove(path):
            return False
    return False


def _has_versions(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'versions'",
                            [CATALOG]).fetchall()[0][0])


def _remove(path: Path) -> bool:
    try:
        for stale in (path, Path(f"{path}.wal")):
            stale.unlink(missing_ok=True)
    except OSError:
        return False
    return True


def _same_mode(path: Path, database: Path) -> None:
    """The work file holds figures derived from health records: readable by whoever may read the
    clinic's database, and no one else."""
    try:
        os.chmod(path, stat.S_IMODE(database.stat().st_mode))
    except OSError:
        pass


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def remembered(con: Any, name: str, sql: str, version: tuple | None = None) -> Any:
    """The first value of ``sql`` (a query of the clinic's tables), worked out once per data
    version and kept (e.g. the default as-of date: a scan of every session)."""
    if not enabled(con):
        rows = con.execute(sql).fetchall()
        return rows[0][0] if rows else None
    version = version if version is not None else data_version(con)
    kept = f'{CATALOG}."v{_digest(version, sql)}_{name}"'
    try:
        return con.execute(f"SELECT * FROM {kept}").fetchall()[0][0]
    except duckdb.CatalogException:
        pass
    with BUILD_LOCK:
        _attach(con, version)
        con.execute(f"CREATE TABLE IF NOT EXISTS {kept} AS SELECT ({sql}) AS value")
    return con.execute(f"SELECT * FROM {kept}").fetchall()[0][0]


def begin(con: Any, *parts: Any, version: tuple | None = None) -> None:
    """Start a context for this cursor: the tables :func:`table` builds from here on are keyed by
    it (with the data version). Drops contexts beyond the newest KEEP_CONTEXTS once idle."""
    if not enabled(con):
        return
    version = version if version is not None else data_version(con)
    context = "c" + _digest(version, *parts)
    with BUILD_LOCK:
        _attach(con, version)
        now = time.time()
        if now - _TOUCHED.get(context, -math.inf) >= min(TOUCH_SECONDS, GRACE_SECONDS):
            con.execute(f"INSERT OR REPLACE INTO {CATALOG}.contexts VALUES (?, ?)", [context, now])
            con.execute(f"INSERT OR IGNORE INTO {CATALOG}.versions VALUES (?)", [_file_version(version)])
            stale = [r[0] for r in con.execute(
                f"SELECT context FROM {CATALOG}.contexts ORDER BY used DESC OFFSET {KEEP_CONTEXTS}").fetchall()]
            old = [c for c in stale if _idle(con, c, now)]
            for c in old:
                _drop_context(con, c)
            _TOUCHED[context] = now
    con.execute(f"SET VARIABLE {_VARIABLE} = ?", [context])
    _CURSOR_CONTEXT[con] = context


def _idle(con: duckdb.DuckDBPyConnection, context: str, now: float) -> bool:
    used = con.execute(f"SELECT used FROM {CATALOG}.contexts WHERE context = ?", [context]).fetchall()
    return not used or now - used[0][0] > GRACE_SECONDS


def _drop_context(con: duckdb.DuckDBPyConnection, context: str) -> None:
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND starts_with(table_name, ?)",
        [CATALOG, context + "_"],
    ).fetchall():
        con.execute(f'DROP TABLE IF EXISTS {CATALOG}."{name}"')
    con.execute(f"DELETE FROM {CATALOG}.contexts WHERE context = ?", [context])


def _context(con: duckdb.DuckDBPyConnection) -> str | None:
    known = _CURSOR_CONTEXT.get(con)
    if known is not None:
        return known
    rows = con.execute(f"SELECT getvariable('{_VARIABLE}')").fetchall()
    return rows[0][0] if rows else None


def table(con: Any, name: str, sql: str, params: dict[str, Any] | None = None, *,
          cluster_by: str | None = None, depends_on: dict[str, Any] | None = None) -> None:
    """Make ``name`` (a work table of the SQL ``sql`` with ``params``) readable on this cursor:
    a view of the kept table when this context already built it, else build it once and keep it.

    ``cluster_by``: columns to store the kept table in order of, so that a filter ``col = value``
    on the first of them reads only the row groups holding that value (DuckDB's zone maps): one
    patient's or one clinician's rows, at any clinic size. ``depends_on``: values that shape the
    work tables ``sql`` reads without being parameters of it (the key tells the tables apart)."""
    params = params or {}
    if cluster_by:
        sql = f"SELECT * FROM ({sql}) ORDER BY {cluster_by}"
    context = _context(con) if enabled(con) else None
    if context is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", params)
        return
    kept = f"{context}_{name}_{_digest(sql, sorted(params.items()), *sorted((depends_on or {}).items()))}"
    view = f'CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {CATALOG}."{kept}"'
    try:
        con.execute(view)                    # kept already: the usual case, one statement
        return
    except duckdb.CatalogException:
        pass
    with BUILD_LOCK:
        con.execute(f'CREATE TABLE IF NOT EXISTS {CATALOG}."{kept}" AS {sql}', params)
        _compress(con)
    con.execute(view)


def _compress(con: duckdb.DuckDBPyConnection) -> None:
    """Checkpoint the kept tables, which stores what was built since the last checkpoint
    compressed. Without it a large clinic's work tables stay as built: at ten million sessions
    4.7 GB, most of it spilled to disk under the memory limit, against 1 GB compressed (the build
    takes longer, about 20 s there, and every later read is cheaper). DuckDB refuses while another
    cursor has a transaction open (a page reading, say); the tables are then left as they are until
    the next build's checkpoint, which stores them compressed too."""
    try:
        con.execute(f"CHECKPOINT {CATALOG}")
    except duckdb.TransactionException:
        pass


def bump(con: duckdb.DuckDBPyConnection) -> None:
    """Record that the data changed (inside the caller's transaction): kept work tables of the
    previous version are no longer used."""
    import uuid

    con.execute("INSERT OR REPLACE INTO meta VALUES ('data_version', ?)", [uuid.uuid4().hex])
