"""The dashboard's one door to the database: a cached connection and cached calls into analytics/.

- One DuckDB connection per database file (``st.cache_resource``), opened with
  ``analytics.db.connect()``; every call works on its own ``con.cursor()``, because the work tables
  that ``analytics.episodes.prepare`` builds are temporary and belong to one connection, and
  Streamlit runs each browser session in its own thread.
- Every figure comes from an ``analytics`` function, cached with ``st.cache_data`` and keyed by the
  *data version* (the import log's latest batch, the number of undone batches and the session
  count), so an import, an undo or a demo load invalidates every cached figure at once.
- Writes (import, undo, demo) go through here too and clear the caches.

Pages never open the database or compute a figure themselves: they call these functions.
"""
from __future__ import annotations

import importlib
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd
import streamlit as st

from analytics.db import connect, is_empty, resolve_path
from analytics.settings import Settings, load_settings

DataVersion = tuple[str, int, int, int]


# ---------------------------------------------------------------------------------------------
# connection
# ---------------------------------------------------------------------------------------------
def db_path() -> str:
    """The database the dashboard shows: ``WAYPOINT_DB`` (set by ``waypoint serve``), else the default."""
    return resolve_path(None)


@st.cache_resource(show_spinner=False)
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    return connect(path)


@contextmanager
def cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh cursor (its own temp tables) on the shared connection, closed afterwards."""
    cur = _connection(db_path()).cursor()
    try:
        yield cur
    finally:
        cur.close()


def _rows(sql: str, params: list | None = None) -> list[tuple]:
    with cursor() as cur:
        return cur.execute(sql, params or []).fetchall()


def data_version() -> DataVersion:
    """Changes whenever an import lands, is undone, or the demo clinic is loaded (and names the
    database, so two databases never share cached figures)."""
    row = _rows(
        """SELECT coalesce(max(batch_id), 0), CAST(count(undone_at) AS INTEGER),
                  (SELECT CAST(count(*) AS INTEGER) FROM sessions)
           FROM imports"""
    )[0]
    return (db_path(), int(row[0]), int(row[1]), int(row[2]))


def database_is_empty() -> bool:
    with cursor() as cur:
        return is_empty(cur)


@st.cache_resource(show_spinner=False)
def base_settings() -> Settings:
    """The clinic's thresholds: ``WAYPOINT_CONFIG`` (a clinic TOML file) when set, else the defaults."""
    return load_settings(os.environ.get("WAYPOINT_CONFIG"))


# ---------------------------------------------------------------------------------------------
# what the filters can offer
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    first_date: date | None
    last_date: date | None         # the latest session that took place: the default as-of date
    clinicians: tuple[str, ...]
    sites: tuple[str, ...]
    scales: tuple[str, ...]        # scales with at least one score, in registry order


@st.cache_data(show_spinner=False, max_entries=8)
def _options(version: DataVersion) -> Options:
    from analytics.scales import load_registry

    first, last = _rows(
        """SELECT min(session_date),
                  coalesce(max(CASE WHEN status IN ('attended', 'no_show', 'late_cancel') THEN session_date END),
                           max(session_date))
           FROM sessions"""
    )[0]
    clinicians = tuple(r[0] for r in _rows("SELECT DISTINCT clinician_id FROM sessions ORDER BY 1"))
    sites = tuple(r[0] for r in _rows("SELECT DISTINCT site FROM sessions WHERE site IS NOT NULL ORDER BY 1"))
    present = {r[0] for r in _rows("SELECT DISTINCT scale FROM measurements")}
    scales = tuple(s for s in load_registry() if s in present)
    return Options(first, last, clinicians, sites, scales)


def options() -> Options:
    return _options(data_version())


# ---------------------------------------------------------------------------------------------
# cached analytics calls
# ---------------------------------------------------------------------------------------------
def _freeze(kwargs: dict[str, Any]) -> tuple:
    return tuple(sorted(kwargs.items()))


@st.cache_data(show_spinner="Computing…", max_entries=512)
def _compute(version: DataVersion, function: str, settings: Settings, kwargs: tuple) -> Any:
    module_name, func_name = function.rsplit(".", 1)
    func = getattr(importlib.import_module(f"analytics.{module_name}"), func_name)
    with cursor() as cur:
        return func(cur, settings, **dict(kwargs))


def compute(function: str, settings: Settings, **kwargs: Any) -> Any:
    """``analytics.<module>.<func>(con, settings, **kwargs)``, cached until the data change.

    ``function`` is ``"module.func"``, e.g. ``compute("outcomes.kpis", settings)``.
    """
    return _compute(data_version(), function, settings, _freeze(kwargs))


@st.cache_data(show_spinner=False, max_entries=64)
def sql_for(name: str) -> str | None:
    """The SQL behind a figure (``analytics.outcomes.sql_for``), or None when not offered."""
    try:
        from analytics import outcomes

        return outcomes.sql_for(name)
    except Exception:  # noqa: BLE001 - an unknown name simply has no SQL to show
        return None


def scale_registry() -> dict:
    from analytics.scales import load_registry

    return load_registry()


# ---------------------------------------------------------------------------------------------
# writes: import, undo, demo (never cached; each clears the cached figures)
# ---------------------------------------------------------------------------------------------
def _invalidate() -> None:
    _compute.clear()
    _options.clear()


@contextmanager
def _as_files(uploads: list[tuple[str, bytes]]) -> Iterator[list[Path]]:
    """Uploaded (name, bytes) pairs as files under their own names in a private temp folder,
    removed afterwards (the import log records the file name and its hash)."""
    with tempfile.TemporaryDirectory(prefix="waypoint-upload-") as folder:
        paths = []
        for i, (name, content) in enumerate(uploads):
            sub = Path(folder) / str(i)
            sub.mkdir()
            path = sub / Path(name).name
            path.write_bytes(content)
            paths.append(path)
        yield paths


def preview_uploads(uploads: list[tuple[str, bytes]], mapping: Any = None) -> Any:
    """The no-write preview of an import: detected mapping, first rows, validation report."""
    from analytics import ingest

    with _as_files(uploads) as paths, cursor() as cur:
        return ingest.preview(cur, paths, mapping=mapping, settings=base_settings())


def import_uploads(uploads: list[tuple[str, bytes]], mapping: Any = None, imported_by: str = "dashboard") -> list:
    """Write the uploads to the database; returns the ingest results (one per file)."""
    from analytics import ingest

    with _as_files(uploads) as paths, cursor() as cur:
        results = ingest.ingest_files(cur, paths, mapping=mapping, imported_by=imported_by, settings=base_settings())
    _invalidate()
    return results


def list_imports() -> pd.DataFrame:
    from analytics import ingest

    with cursor() as cur:
        return ingest.list_imports(cur)


def undo_import(batch_id: int) -> str:
    from analytics import ingest

    with cursor() as cur:
        message = ingest.undo_import(cur, int(batch_id), settings=base_settings())
    _invalidate()
    return message


def load_demo() -> Any:
    """Generate the demo clinic (the CLI's defaults) and import it."""
    from analytics import demo

    with cursor() as cur:
        result = demo.build_demo(cur, demo.DemoConfig())
    _invalidate()
    return result


def sample_export_path() -> Path:
    return Path(__file__).resolve().parent.parent / "sample_data" / "demo_clinic.csv"
