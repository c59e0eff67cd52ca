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

Access (``dashboard/auth.py``, ``analytics/access.py``): every analytics call here runs with the
signed-in viewer's scope (:func:`_scoped`), whatever settings a page passes, so a clinician's pages,
downloads and hand-edited URLs reach only their own patients; writes need an admin; patient views,
exports, undo and refused sign-ins are written to the audit log (:func:`audit`).
"""
from __future__ import annotations

import contextvars
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

from analytics.access import Viewer
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


# The viewer of work that is not a browser session's: the server's warm-up (dashboard/warmup.py)
# computes the whole clinic's default figures as a director would see them. Set only by
# :func:`acting_as` in that thread (a new thread starts with no value), so no page can widen its
# own scope with it.
_ACTING_VIEWER: contextvars.ContextVar = contextvars.ContextVar("waypoint_acting_viewer", default=None)


@contextmanager
def acting_as(viewer: Any) -> Iterator[None]:
    """Run the block's calls as ``viewer`` (an ``analytics.access.Viewer``) instead of the browser
    session's signed-in viewer; for work outside a session (the warm-up)."""
    token = _ACTING_VIEWER.set(viewer)
    try:
        yield
    finally:
        _ACTING_VIEWER.reset(token)


def _viewer():
    acting = _ACTING_VIEWER.get()
    if acting is not None:
        return acting
    from dashboard.auth import require_viewer

    return require_viewer()


def _scoped(settings: Settings) -> Settings:
    """``settings`` with the current viewer's scope (always replacing any scope they carried)."""
    return _viewer().scoped(settings)


def _require_admin(what: str) -> None:
    from analytics.errors import WaypointError

    if not _viewer().is_admin:
        raise WaypointError(f"only an admin may {what}.")


def compute(function: str, settings: Settings, **kwargs: Any) -> Any:
    """``analytics.<module>.<func>(con, settings, **kwargs)``, cached until the data change, in the
    current viewer's scope.

    ``function`` is ``"module.func"``, e.g. ``compute("outcomes.kpis", settings)``.
    """
    return _compute(data_version(), function, _scoped(settings), _freeze(kwargs))


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
    """Forget every cached figure (the data changed), and let the server compute the default
    views again in the background (``dashboard/warmup.py``; nothing happens outside a server)."""
    from dashboard import warmup

    _compute.clear()
    _derived.clear()
    _options.clear()
    warmup.start()


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

    _require_admin("import data")
    with _as_files(uploads) as paths, cursor() as cur:
        return ingest.preview(cur, paths, mapping=mapping, settings=base_settings())


def import_uploads(uploads: list[tuple[str, bytes]], mapping: Any = None, imported_by: str = "dashboard") -> list:
    """Write the uploads to the database; returns the ingest results (one per file)."""
    from analytics import ingest

    _require_admin("import data")
    viewer = _viewer()
    if imported_by == "dashboard" and not viewer.demo:
        imported_by = viewer.user
    with _as_files(uploads) as paths, cursor() as cur:
        results = ingest.ingest_files(cur, paths, mapping=mapping, imported_by=imported_by, settings=base_settings())
    _invalidate()
    return results


def list_imports() -> pd.DataFrame:
    from analytics import ingest

    with cursor() as cur:
        return ingest.list_imports(cur)


def undo_import(batch_id: int) -> str:
    from analytics import audit

    _require_admin("undo an import")
    viewer = _viewer()
    with cursor() as cur:
        message = audit.undo_import(cur, int(batch_id), user=viewer.user, role=viewer.role, settings=base_settings())
    _invalidate()
    return message


def load_demo() -> Any:
    """Generate the demo clinic (the CLI's defaults) and import it."""
    from analytics import demo

    _require_admin("load the demo clinic")
    with cursor() as cur:
        result = demo.build_demo(cur, demo.DemoConfig())
    _invalidate()
    return result


def sample_export_path() -> Path:
    return Path(__file__).resolve().parent.parent / "sample_data" / "demo_clinic.csv"


# ---------------------------------------------------------------------------------------------
# thin views over analytics results (selection, grouping and joins of figures analytics computed;
# no clinical rule is applied here)
# ---------------------------------------------------------------------------------------------
def readiness_settings(settings: Settings) -> Settings:
    """Readiness is as on the as-of date: the period does not change it (one cache entry)."""
    return settings.with_(date_from=None, date_to=None)


def patient_settings() -> Settings:
    """A patient's record is shown whole: no period, clinician or site filter."""
    return base_settings()


def patient_standing(patient_id: str) -> pd.DataFrame:
    """``analytics.readiness.readiness_frame`` for one patient's active episodes (whole record)."""
    return compute("readiness.readiness_frame", readiness_settings(patient_settings()), patient_id=patient_id)


# The patient picker lists this many patients in treatment (safety first); any other is typed.
PICKER_PATIENTS = 2000


def active_patients(settings: Settings) -> list[str]:
    """The first PICKER_PATIENTS patients in treatment in the view of ``settings``, in the
    caseload's order (``analytics.readiness.active_patients``)."""
    return compute("readiness.active_patients", readiness_settings(settings), limit=PICKER_PATIENTS)


def intake_scale(scale: str) -> str:
    """The scale the overview's severity-at-intake chart uses: ``scale`` when the registry gives
    it severity bands, else PHQ-9."""
    registry = scale_registry()
    return scale if scale in registry and registry[scale].severity else "phq9"


# A view a page draws from a large cached figure is kept in the cache as itself: Streamlit hands
# out a copy of a cached value on every read, and copying the whole clinic's readiness records out
# of the cache to lay them out again took most of a page run (0.5 of 0.7 s at a million sessions).
@st.cache_data(show_spinner=False, max_entries=256)
def _derived(version: DataVersion, name: str, settings: Settings, args: tuple) -> Any:
    return _DERIVED[name](settings, *args)


def _kept(name: str, settings: Settings, *args: Any) -> Any:
    """``_DERIVED[name](settings, *args)`` in the viewer's scope, kept until the data change."""
    return _derived(data_version(), name, _scoped(settings), args)


def readiness_counts(settings: Settings) -> pd.DataFrame:
    """Active episodes in each readiness category, every category listed in its order (zeros too):
    category, label, description, patients (``analytics.readiness.category_counts``)."""
    return compute("readiness.category_counts", readiness_settings(settings))


def intake_mix(settings: Settings, scale: str = "phq9") -> pd.DataFrame:
    """Episodes that started in the period by the severity band of their first score on ``scale``
    (``analytics.outcomes.intake_mix``): band, episodes, share."""
    return compute("outcomes.intake_mix", settings, scale=scale)


def sessions_by_month(settings: Settings) -> pd.DataFrame:
    """Attended sessions per month (``analytics.engagement.sessions_delivered`` summed over
    clinicians): month, attended_sessions."""
    return _kept("sessions_by_month", settings)


def _sessions_by_month(settings: Settings) -> pd.DataFrame:
    frame = compute("engagement.sessions_delivered", settings)
    if frame.empty:
        return pd.DataFrame(columns=["month", "attended_sessions"])
    out = frame.groupby("month", as_index=False, sort=True)["attended_sessions"].sum()
    out["attended_sessions"] = out["attended_sessions"].astype("int64")
    return out


def clinician_comparison(settings: Settings) -> pd.DataFrame:
    """``analytics.outcomes.clinicians_compared``: every clinician of the view (whatever the
    clinician filter says), those with no episode ended in the period too."""
    return compute("outcomes.clinicians_compared", settings.with_(clinician_id=None))


def ratio_beyond_chance(comparison: pd.DataFrame) -> pd.Series:
    """``analytics.outcomes.ratio_beyond_chance``: the case-mix rows whose interval does not cross 1."""
    from analytics.outcomes import ratio_beyond_chance

    return ratio_beyond_chance(comparison)


def outcome_episodes(settings: Settings) -> pd.DataFrame:
    """The episodes behind the headline rates: those that ended in the period (``in_rates``)."""
    frame = compute("outcomes.episode_outcomes", settings)
    return frame[frame["in_rates"].fillna(0).astype(int) == 1].reset_index(drop=True)


def patient_episodes(patient_id: str) -> pd.DataFrame:
    """Every episode of one patient (``analytics.outcomes.episode_outcomes``, whole record), latest first.
    Opening a patient is written to the audit log (once per browser session and patient)."""
    audit_patient_view(patient_id)
    mine = compute("outcomes.episode_outcomes", patient_settings(), patient_id=patient_id)
    return mine.sort_values("start_date", ascending=False, kind="stable").reset_index(drop=True)


def patient_trajectories(patient_id: str) -> pd.DataFrame:
    """``analytics.outcomes.trajectories`` for one patient (whole record)."""
    return compute("outcomes.trajectories", patient_settings(), patient_id=patient_id)


@st.cache_data(show_spinner=False, max_entries=256)
def _patient_sessions(version: DataVersion, settings: Settings, patient_id: str) -> pd.DataFrame:
    from analytics.episodes import prepare

    with cursor() as cur:
        prepare(cur, settings)
        return cur.execute(
            """SELECT episode_id, session_date, session_time, status, clinician_id, session_type, session_number
               FROM w_sessions WHERE patient_id = ? ORDER BY session_date, session_time, session_key""",
            [patient_id],
        ).df()


def patient_sessions(patient_id: str) -> pd.DataFrame:
    """One patient's booked sessions up to the as-of date (the work table of
    ``analytics.episodes.prepare``): episode_id, session_date, session_time, status, clinician_id,
    session_type, session_number (attended sessions only)."""
    return _patient_sessions(data_version(), _scoped(patient_settings()), patient_id)


def min_reference_episodes() -> int:
    """Readiness uses an expected-band cell only with this many reference episodes (clinic config)."""
    from analytics.readiness import load_thresholds

    return load_thresholds(os.environ.get("WAYPOINT_CONFIG")).min_reference_episodes


def expected_band(scale: str, severity_band: str | None) -> pd.DataFrame:
    """The cells of ``analytics.readiness.expected_band`` for one scale and intake severity band that
    readiness itself uses (enough reference episodes): session_number, n_episodes, p10, p50, p90."""
    if severity_band is None:
        return pd.DataFrame(columns=["session_number", "n_episodes", "p10", "p50", "p90"])
    frame = compute("readiness.expected_band", readiness_settings(patient_settings()), scale=scale)
    cells = frame[(frame["severity_band"] == severity_band) & (frame["n_episodes"] >= min_reference_episodes())]
    return cells[["session_number", "n_episodes", "p10", "p50", "p90"]].reset_index(drop=True)


CASELOAD_COLUMNS = ["category", "label", "patient_id", "episode_id", "clinician_id", "trend", "first", "latest",
                    "change", "attended_sessions", "last_session", "next_booked", "reason", "reasons",
                    "disengagement"]


# The caseload table lists at most this many patients (the first in its order, safety first): a
# network of thousands of clinicians has a quarter of a million patients in treatment, too many
# to lay out in a browser or to read through. The page says how many more there are.
CASELOAD_ROWS = 1000


def caseload(settings: Settings, scale: str = "phq9", categories: tuple[str, ...] | None = None,
             limit: int | None = None) -> pd.DataFrame:
    """The active patients of ``settings``'s clinician (all when none) in ``categories`` (all when
    None), the first ``limit`` of them (all when None; the page asks for CASELOAD_ROWS), from
    ``analytics.readiness.readiness_frame`` in its order (safety first), one row each, with
    ``scale``'s scores laid out for a table: trend (the scores in order; None with a single score,
    which a sparkline would draw as a flat line, as if the patient had scored it again and again),
    first, latest, change (latest − first; empty without two scores), reasons joined into one line."""
    return _kept("caseload", readiness_settings(settings), scale, categories, limit)


def _caseload(settings: Settings, scale: str, categories: tuple[str, ...] | None, limit: int | None) -> pd.DataFrame:
    frame = compute("readiness.readiness_frame", settings, categories=categories, limit=limit)
    rows = []
    for r in frame.itertuples(index=False):
        series = [p["score"] for p in (r.series or {}).get(scale, [])]
        first = (r.first_scores or {}).get(scale)
        latest = (r.last_scores or {}).get(scale)
        rows.append({
            "category": r.category, "label": r.label, "patient_id": r.patient_id, "episode_id": r.episode_id,
            "clinician_id": r.clinician_id, "trend": series if len(series) >= 2 else None, "first": first,
            "latest": latest,
            "change": latest - first if first is not None and latest is not None and len(series) >= 2 else None,
            "attended_sessions": r.attended_sessions, "last_session": r.last_session, "next_booked": r.next_booked,
            "reason": r.reason, "reasons": " · ".join(r.reasons or []), "disengagement": r.disengagement,
        })
    out = pd.DataFrame(rows, columns=CASELOAD_COLUMNS)
    for col in ("first", "latest", "change", "attended_sessions"):
        out[col] = pd.array([None if v is None or pd.isna(v) else int(v) for v in out[col]], dtype="Int64")
    return out


# the views kept as themselves (_kept)
_DERIVED = {"sessions_by_month": _sessions_by_month, "caseload": _caseload}


def patient_expected(patient_id: str, episode_id: str, scale: str, severity_band: str | None) -> pd.DataFrame:
    """The expected recovery band (:func:`expected_band`) placed on the dates of this episode's attended
    sessions with the same number: session_date, session_number, n_episodes, p10, p50, p90."""
    cells = expected_band(scale, severity_band)
    sessions = patient_sessions(patient_id)
    attended = sessions[(sessions["episode_id"] == episode_id) & sessions["session_number"].notna()]
    attended = attended[["session_date", "session_number"]].astype({"session_number": "int64"})
    if cells.empty or attended.empty:
        return pd.DataFrame(columns=["session_date", "session_number", "n_episodes", "p10", "p50", "p90"])
    cells = cells.astype({"session_number": "int64"})
    return attended.merge(cells, on="session_number", how="inner").sort_values("session_number").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# the audit log (analytics/audit.py)
# ---------------------------------------------------------------------------------------------
def current_viewer() -> Viewer | None:
    """The viewer of this browser session (``dashboard.auth.current_viewer``)."""
    from dashboard.auth import current_viewer as viewer_of_session

    return viewer_of_session()


def audit(action: str, *, patient_id: str | None = None, batch_id: int | None = None,
          detail: str | None = None, user: str | None = None, viewer: Viewer | None = None) -> None:
    """One audit row for the current viewer (``user`` only for a refused sign-in; ``viewer`` for
    work done outside the page's script run, where the browser session is not known)."""
    from analytics import audit as audit_log

    viewer = viewer or current_viewer()
    with cursor() as cur:
        audit_log.record(cur, user=user or (viewer.user if viewer else "unknown"),
                         role=viewer.role if viewer and not user else None, action=action,
                         patient_id=patient_id, batch_id=batch_id, detail=detail)


def audit_patient_view(patient_id: str) -> None:
    seen = st.session_state.setdefault("_waypoint_audited_patients", set())
    if patient_id in seen:
        return
    audit("view_patient", patient_id=patient_id)
    seen.add(patient_id)


def audit_export(name: str, viewer: Viewer | None = None) -> None:
    """Who exported which table (``dashboard.ui.exported_csv``, as the file is made)."""
    audit("export", detail=name, viewer=viewer)


def suppress_below() -> int:
    """Comparison figures resting on fewer episodes read "fewer than N" (``[access] suppress_below``)."""
    from dashboard.auth import access_config

    return access_config().suppress_below


def audit_log(**filters: Any) -> pd.DataFrame:
    """The audit log, newest first (admins only)."""
    from analytics import audit as audit_module

    _require_admin("read the audit log")
    with cursor() as cur:
        return audit_module.read_log(cur, **filters)
