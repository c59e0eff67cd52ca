"""The audit log: who viewed which patient, who exported what, who imported or undid which batch,
and when (access issue). Read by admins on the dashboard's Audit page and with ``waypoint audit``.

- ``audit_log`` (sql/schema.sql, migration 003) holds the rows written by :func:`record`: patient
  views and exports (the dashboard; on the command line, the commands whose output names patients:
  :func:`record_cli_export`), undo (dashboard and command line), refused sign-ins. Rows are
  only ever added; nothing in Waypoint updates or deletes them.
- Imports are read from the ``imports`` table the import engine writes in the same transaction as
  the data (``imported_by``, ``imported_at``), so an import can never be missing from the log.

:func:`read_log` returns both, newest first.
"""
from __future__ import annotations

import getpass
import threading
from datetime import date, datetime, timezone

import duckdb
import pandas as pd

ACTIONS = ("view_patient", "export", "import", "undo", "refused")
COLUMNS = ["logged_at", "user_id", "role", "action", "patient_id", "batch_id", "detail"]

_LOCK = threading.Lock()


def cli_user() -> str:
    """The identity of a command-line user: ``cli:<operating-system user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name (e.g. a container without one)
        return "cli:unknown"


def record(con: duckdb.DuckDBPyConnection, *, user: str, action: str, role: str | None = None,
           patient_id: str | None = None, batch_id: int | None = None, detail: str | None = None,
           when: datetime | None = None) -> None:
    """Add one row to the audit log (UTC time; ``when`` only for tests)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; one of {', '.join(ACTIONS)}")
    logged_at = (when or datetime.now(timezone.utc)).replace(tzinfo=None)
    with _LOCK:  # one writer at a time: audit ids stay 1, 2, 3, ...
        con.execute(
            """INSERT INTO audit_log (audit_id, logged_at, user_id, role, action, patient_id, batch_id, detail)
               SELECT coalesce(max(audit_id), 0) + 1, ?, ?, ?, ?, ?, ?, ? FROM audit_log""",
            [logged_at, user, role, action, patient_id, batch_id, detail],
        ).fetchall()


def record_cli_export(con: duckdb.DuckDBPyConnection, what: str, rows: int, clinician_id: str | None,
                      fmt: str, *, patient_id: str | None = None) -> None:
    """The audit row of a command whose output names patients (``waypoint outcomes``, ``readiness``,
    ``attendance``'s watch list): who (:func:`cli_user`), what, how many rows, whose patients
    (``patient_id``: the one patient asked for, as the row's patient)."""
    scope = f"clinician {clinician_id}" if clinician_id else "all clinicians"
    if patient_id is not None:
        scope = f"patient {patient_id}" + (f" of clinician {clinician_id}" if clinician_id else "")
    record(con, user=cli_user(), action="export", patient_id=patient_id,
           detail=f"{what} {scope}: {rows:,} row(s) (command line, {fmt})")


def read_log(con: duckdb.DuckDBPyConnection, *, user: str | None = None, action: str | None = None,
             patient_id: str | None = None, since: date | None = None, limit: int | None = None) -> pd.DataFrame:
    """The audit log, newest first: logged_at, user_id, role, action, patient_id, batch_id, detail.
    Filters: exact user, action, patient; ``since`` a date (inclusive)."""
    sql = """
        WITH log AS (
            SELECT audit_id AS seq, logged_at, user_id, role, action, patient_id, batch_id, detail
            FROM audit_log
            UNION ALL
            SELECT 0 AS seq, imported_at AS logged_at, imported_by AS user_id, CAST(NULL AS VARCHAR) AS role,
                   'import' AS action, CAST(NULL AS VARCHAR) AS patient_id, batch_id,
                   file_name || ' (' || CAST(new_rows AS VARCHAR) || ' new, ' || CAST(updated_rows AS VARCHAR)
                       || ' updated, ' || CAST(rejected AS VARCHAR) || ' rejected)' AS detail
            FROM imports
            WHERE imported_by <> 'preview'
        )
        SELECT logged_at, user_id, role, action, patient_id, batch_id, detail
        FROM log
        WHERE ($user IS NULL OR user_id = $user)
          AND ($action IS NULL OR action = $action)
          AND ($patient_id IS NULL OR patient_id = $patient_id)
          AND ($since IS NULL OR logged_at >= CAST($since AS TIMESTAMP))
        ORDER BY logged_at DESC, seq DESC
    """
    params = {"user": user, "action": action, "patient_id": patient_id, "since": since}
    frame = con.execute(sql, params).df()
    if limit is not None:
        frame = frame.head(limit)
    frame = frame.reset_index(drop=True)
    for col in ("user_id", "role", "action", "patient_id", "detail"):  # missing: None, never NaN
        frame[col] = pd.Series([None if pd.isna(v) else str(v) for v in frame[col]], index=frame.index, dtype="object")
    frame["batch_id"] = pd.array([None if pd.isna(v) else int(v) for v in frame["batch_id"]], dtype="Int64")
    return frame[COLUMNS]


def undo_import(con: duckdb.DuckDBPyConnection, batch_id: int, *, user: str, role: str | None = None,
                settings=None) -> str:
    """``analytics.ingest.undo_import`` and its audit row (who undid which batch)."""
    from .ingest import undo_import as _undo

    message = _undo(con, batch_id, settings=settings)
    record(con, user=user, role=role, action="undo", batch_id=batch_id, detail=message)
    return message
