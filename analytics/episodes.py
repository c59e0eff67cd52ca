"""Episodes of care, the as-of date, and the work tables every figure is computed from.

Episodes are assigned when data are imported (:func:`assign_episodes`, stored in
``sessions.episode_id`` and the ``episodes`` table). Each analysis then calls :func:`prepare`,
which builds three temporary tables for its connection from ``sql/episodes/``:

- ``w_sessions``  sessions on or before the as-of date, with ``is_treatment``, ``session_number``
                  and ``booked_number``
- ``w_episodes``  one row per episode: dates, counts, clinician, ``ended``, ``ending``,
  ``lost_contact``, ``end_date``, ``finished_treatment``
- ``w_scores``    scale scores at attended sessions, with episode and session number

plus ``scale_registry`` (the registry as a table). Use a connection (or ``con.cursor()``) per
thread: temporary tables belong to one connection.
"""
from __future__ import annotations

from datetime import date

import duckdb

from . import workcache
from .db import WRITE_LOCK, scalar
from .scales import load_registry, registry_frame
from .settings import Settings
from .sqlfiles import read_sql

ATTENDED_LIKE = ("attended", "no_show", "late_cancel")


def assign_episodes(con: duckdb.DuckDBPyConnection, gap_days: int = 180) -> None:
    """(Re)assign every session to an episode and rebuild the ``episodes`` table.

    Runs inside the caller's transaction when there is one.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _episode_assignment AS " + read_sql("episodes/assign_episodes.sql"),
        {"gap_days": gap_days},
    )
    con.execute(
        """UPDATE sessions SET episode_id = a.episode_id
           FROM _episode_assignment a
           WHERE sessions.session_key = a.session_key
             AND sessions.episode_id IS DISTINCT FROM a.episode_id"""
    )
    con.execute("DELETE FROM episodes")
    con.execute(
        """INSERT INTO episodes
           SELECT episode_id, min(patient_id), min(source), min(session_date), max(session_date)
           FROM _episode_assignment
           GROUP BY episode_id"""
    )
    con.execute("DROP TABLE _episode_assignment")
    con.execute(
        "INSERT OR REPLACE INTO meta VALUES ('episode_gap_days', ?)", [str(gap_days)]
    )
    workcache.bump(con)


def ensure_episodes(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Re-derive episodes when the configured gap differs from the one they were built with.

    A reader may get here while another thread imports: the write takes its turn (db.WRITE_LOCK)
    and is one transaction, so no reader ever sees the episodes half rebuilt.
    """
    def stale() -> bool:
        gap = scalar(con, "SELECT value FROM meta WHERE key = 'episode_gap_days'")
        return gap is None or int(gap) != settings.episode_gap_days

    if not stale():
        return
    if not isinstance(con, duckdb.DuckDBPyConnection):  # another engine (spark): no transactions
        assign_episodes(con, settings.episode_gap_days)
        return
    with WRITE_LOCK:
        con.execute("BEGIN TRANSACTION")
        try:
            if stale():
                assign_episodes(con, settings.episode_gap_days)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def resolve_as_of(con: duckdb.DuckDBPyConnection, settings: Settings, version: tuple | None = None) -> date | None:
    """The as-of date: settings.as_of, else the latest date of a session that took place
    (attended, no-show or late cancel), else the latest session date of any status.
    Never the clock: the same data always give the same figures. Worked out once per data
    version (workcache.remembered): it reads every session."""
    if settings.as_of is not None:
        return settings.as_of
    return workcache.remembered(
        con, "as_of",
        """SELECT coalesce(max(CASE WHEN status IN ('attended', 'no_show', 'late_cancel') THEN session_date END),
                          max(session_date))
           FROM sessions""", version)


def prepare(con: duckdb.DuckDBPyConnection, settings: Settings) -> date | None:
    """Make the work tables readable on this connection; returns the as-of date used (None: no data).

    Built once per data version, as-of date and settings that shape them, then kept
    (analytics/workcache.py): a second call with the same context only points views at them.
    """
    version = workcache.data_version(con) if workcache.enabled(con) else None
    found = resolve_as_of(con, settings, version)
    as_of = found if found is not None else date(1900, 1, 1)  # empty database: empty work tables
    registry = registry_frame()
    con.register("_scale_registry_df", registry)
    con.execute("CREATE OR REPLACE TEMP TABLE scale_registry AS SELECT * FROM _scale_registry_df")
    con.unregister("_scale_registry_df")
    workcache.begin(con, "episodes", as_of, settings.scope_clinician_id, settings.episode_gap_days,
                    settings.lost_contact_days, settings.min_treatment_sessions,
                    repr(load_registry()), version=version)
    workcache.table(con, "w_sessions", read_sql("episodes/w_sessions.sql"),
                    {"as_of": as_of, "scope_clinician_id": settings.scope_clinician_id})
    workcache.table(con, "w_episodes", read_sql("episodes/w_episodes.sql"),
                    {"as_of": as_of, "lost_contact_days": settings.lost_contact_days,
                     "min_treatment_sessions": settings.min_treatment_sessions},
                    cluster_by="patient_id, episode_id")                 # one patient's episodes
    # stored by patient, episode and session number, which its SQL orders by itself
    workcache.table(con, "w_scores", read_sql("episodes/w_scores.sql"))
    return found
