"""Backups: the whole clinic database to a folder of Parquet files, and back.

`backup` uses DuckDB's EXPORT DATABASE (schema.sql + load.sql + one Parquet file per table), which
is also the form `--engine spark --source DIR` reads. `restore` builds a new database file from such a
folder next to the target and moves it into place only when complete, so a failed restore leaves
the existing database untouched.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

from .db import connect, resolve_path, scalar
from .errors import WaypointError

MARKER = "load.sql"


def backup(con: duckdb.DuckDBPyConnection, folder: str | os.PathLike) -> str:
    target = Path(folder)
    if target.exists() and any(target.iterdir()):
        raise WaypointError(f"{target}: the folder is not empty. Choose a new folder for each backup "
                            f"(e.g. backups/$(date +%F)) so that no earlier backup is overwritten.")
    target.mkdir(parents=True, exist_ok=True)
    con.execute(f"EXPORT DATABASE '{_quote(target)}' (FORMAT parquet)")
    sessions = scalar(con, "SELECT count(*) FROM sessions")
    return f"Backed up {sessions} sessions to {target}/ (Parquet). Restore with: waypoint restore {target}"


def restore(folder: str | os.PathLike, db: str | os.PathLike | None = None, *, replace: bool = False) -> str:
    source = Path(folder)
    if not (source / MARKER).is_file():
        raise WaypointError(f"{source}: not a Waypoint backup (no {MARKER}). Make one with: waypoint backup DIR")
    target = Path(resolve_path(db))
    if target.exists() and not replace:
        existing = connect(target, read_only=True)
        try:
            has_data = scalar(existing, "SELECT count(*) FROM sessions")
        finally:
            existing.close()
        if has_data:
            raise WaypointError(f"{target} already holds {has_data} sessions. Use --replace to replace it "
                                f"with the backup, or --db NEW.duckdb to restore beside it.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restoring")
    partial.unlink(missing_ok=True)
    con = duckdb.connect(str(partial))
    try:
        con.execute(f"IMPORT DATABASE '{_quote(source)}'")
        sessions = scalar(con, "SELECT count(*) FROM sessions")
        con.close()
        connect(partial).close()  # migrate a backup made by an older version
        os.replace(partial, target)
    except duckdb.Error as exc:
        con.close()
        partial.unlink(missing_ok=True)
        first = str(exc).splitlines()[0]
        raise WaypointError(f"{source}: the backup cannot be read ({first}); nothing was restored and {target} "
                            "is as it was. Restore from another backup folder.") from None
    except Exception:
        con.close()
        partial.unlink(missing_ok=True)
        raise
    return f"Restored {sessions} sessions from {source}/ into {target}."


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
