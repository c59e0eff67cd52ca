"""Termination readiness: one category per active episode, with the reasons behind it (readiness issue).

Waypoint informs the conversation about ending or stepping down; it never decides. Every active
episode gets the first category that applies, in the order of :data:`CATEGORIES`, and a list of
reasons in plain words with the numbers and dates behind them.

The facts come from ``sql/readiness/`` over the work tables of :func:`analytics.episodes.prepare`
and ``w_scale_pairs`` (each scale's first and last score per episode, :func:`analytics.outcomes.build_scale_pairs`):

- ``active_episodes.sql``  the active episodes in scope (clinician, site)
- ``reliable_change.sql``  each scale's reliable-change threshold: the registry's, or for a scale
  without one (WSAS, K10) derived with Jacobson & Truax (1991) from the clinic's first scores
- ``episode_scores.sql``   the outcome-scale scores of those episodes, in order
- ``scale_status.sql``     per episode and scale: first/latest score, caseness, reliable change,
  the last scores' span and range, the severity band of the first score
- ``expected_band.sql``    the expected recovery band (after Lambert) from the clinic's finished episodes
- ``risk_items.sql``       the latest recorded risk item (PHQ-9 item 9, CORE-10 item 6)
- ``trend.sql``            the Theil–Sen trend of each scale's last scores (scipy's figures, bit
  for bit)
- ``categories.sql``       each active episode's category: the rules below, decided in SQL over
  the tables above (the overview's chart counts it and reads no score into Python)

Python writes the reasons: the rule of the category SQL decided, with the same tests in Python.
Were the two ever to disagree, every rule is tried in order, as before categories.sql;
tests/test_readiness_categories_sql.py holds them to agree.

Choices where the issue is silent (also in the README of the figure, the report and the tests):

- Only outcome scales count (registry ``outcome``; the SRS alliance measure is not one).
- A scale with no reliable-change threshold, neither published nor derivable, is left out of the
  reliable-change rules (and of the "within the reliable change of each other" tests).
- ``not_on_track`` checks every outcome scale with at least ``min_scored_sessions`` scores. The
  expected band is used when the scale has severity bands and the cell has enough reference
  episodes; otherwise the fallback rule, which is applied only to a scale that was at caseness at
  the start (a 25 % fall is not expected from a score already in the healthy range). The fall is
  measured toward the healthy end of the scale (for PHQ-9 and GAD-7, whose healthy end is 0, the
  plain percentage fall from the first score).
- ``ready_for_review`` needs every outcome scale scored in the episode to have its last three
  scores stable below the cutoff; a scale scored fewer than three times holds it back (said so).
- ``stuck``: a scale at caseness both at the start and at the latest score.
- ``too_early``: no outcome scale has yet been scored at ``min_scored_sessions`` sessions (counted
  per scale). It comes after ``deteriorating`` and ``improving`` in the issue's order, so two scores
  that already differ by a reliable change are shown as such, not as too early.
- The expected band's cell is (scale, severity band of the first score, attended-session number of
  the latest score); "at least 20 such episodes" counts the finished episodes of that band with a
  score at that session number. Percentiles interpolate linearly (as numpy's default), written out
  in SQL so that they are exact in any engine. A latest score exactly at the percentile is within.
- Theil–Sen runs on x = weeks since the first of the last four scores; its interval is scipy's
  (``alpha`` = 0.95), which for four scores is the range of the six pairwise slopes: the last four
  must fall at every step.
- ``maintenance`` needs at least one score (no scores at all: too_early).
- Safety reads the patient's latest recorded risk item across all their episodes, straight from
  ``measurements`` (not only scores at attended sessions): a risk answer is never dropped.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import math
import os
import re
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, Sequence

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from . import workcache
from .categories import CATEGORIES, CATEGORY_ORDER, LABELS, Category  # noqa: F401 - re-exported
from .engagement import missed_in_a_row_table
from .episodes import prepare
from .outcomes import build_scale_pairs
from .errors import WaypointError
from .scales import load_registry
from .settings import Settings
from .sqlfiles import read_sql

BUILTIN_THRESHOLDS = Path(__file__).resolve().parent / "readiness.toml"
_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


# ---------------------------------------------------------------------------------------------
# thresholds (the categories are in analytics/categories.py)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReadinessThresholds:
    """The readiness rules' thresholds; sources beside each in analytics/readiness.toml."""

    min_scored_sessions: int = 3          # too_early below this; not_on_track from this
    expected_percentile: float = 90       # expected band: worse than this percentile (Lambert)
    min_reference_episodes: int = 20      # ...when the cell has at least this many episodes
    fallback_min_attended: int = 6        # fallback: this many attended sessions...
    fallback_min_fall: float = 0.25       # ...and less than this fall from the first score
    stable_scores: int = 3                # ready_for_review: the last three scores...
    stable_min_weeks: float = 6           # ...spanning at least 6 weeks (Jakobsons 2007: ~8)
    trend_scores: int = 4                 # improving: Theil-Sen over the last four scores
    trend_confidence: float = 0.95        # ...with its 95 % interval below zero
    stuck_min_attended: int = 6           # stuck: six or more attended sessions...
    stuck_scores: int = 4                 # ...and the last four within the reliable change

    def with_(self, **changes: Any) -> "ReadinessThresholds":
        return _validated(replace(self, **changes), "thresholds")


_COUNTS = ("min_scored_sessions", "min_reference_episodes", "fallback_min_attended", "stable_scores",
           "trend_scores", "stuck_min_attended", "stuck_scores")


def _validated(th: ReadinessThresholds, origin: str) -> ReadinessThresholds:
    problems = []
    for name in _COUNTS:
        value = getattr(th, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{name} must be a whole number of at least 1 (got {value!r})")
    for name in ("stable_scores", "trend_scores", "stuck_scores"):
        if isinstance(getattr(th, name), int) and getattr(th, name) < 2:
            problems.append(f"{name} must be at least 2 (got {getattr(th, name)!r})")
    checks = (
        ("expected_percentile", 50, 100, "a percentile above 50 and below 100"),
        ("fallback_min_fall", 0, 1, "a fraction above 0 and below 1"),
        ("trend_confidence", 0, 1, "a confidence level above 0 and below 1"),
        ("stable_min_weeks", 0, math.inf, "a number of weeks above 0"),
    )
    for name, low, high, what in checks:
        value = getattr(th, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value < high:
            problems.append(f"{name} must be {what} (got {value!r})")
    if problems:
        raise WaypointError(f"{origin}: [readiness] " + "; ".join(problems))
    return th


def _read_readiness_table(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise WaypointError(f"{path}: not valid TOML ({exc})") from exc
    table = data.get("readiness", {})
    if not isinstance(table, dict):
        raise WaypointError(f"{path}: [readiness] must be a table of thresholds")
    known = {f.name for f in fields(ReadinessThresholds)}
    unknown = set(table) - known
    if unknown:
        raise WaypointError(f"{path}: unknown [readiness] threshold(s) {', '.join(sorted(unknown))}; "
                            f"known: {', '.join(sorted(known))}")
    return table


def load_thresholds(config: str | os.PathLike | None = None) -> ReadinessThresholds:
    """The defaults (analytics/readiness.toml), then a clinic config's ``[readiness]`` table.

    A config path that does not exist is ignored, as for the ``[settings]`` table.
    """
    values = _read_readiness_table(BUILTIN_THRESHOLDS)
    origin = str(BUILTIN_THRESHOLDS)
    if config is not None and Path(config).exists():
        values.update(_read_readiness_table(Path(config)))
        origin = str(config)
    return _validated(ReadinessThresholds(**values), origin)


def _thresholds(thresholds: ReadinessThresholds | None) -> ReadinessThresholds:
    return thresholds if thresholds is not None else load_thresholds(os.environ.get("WAYPOINT_CONFIG"))


# ---------------------------------------------------------------------------------------------
# the facts, from SQL
# ---------------------------------------------------------------------------------------------
class ScaleFacts(NamedTuple):
    """One outcome scale in one episode (a row of scale_status.sql plus its scores in order; a named
    tuple, as readiness builds one per scale per active episode in the clinic)."""

    scale: str
    name: str
    higher_is_worse: bool
    cutoff: float | None
    caseness_at_cutoff: bool
    n_scored: int
    first_score: int
    first_date: date
    first_at_caseness: int
    last_score: int
    last_date: date
    last_session_number: int
    last_at_caseness: int
    recent_n: int
    recent_span_days: int
    recent_range: int
    recent_at_caseness: int
    still_n: int
    still_range: int
    reliable_change: float | None
    rc_source: str | None
    reliability: float | None
    baseline_n: int
    baseline_sd: float | None
    improvement: int
    reliably_improved: int | None
    reliably_worse: int | None
    fall_fraction: float | None
    severity_band: str | None
    severity_low: int | None
    severity_high: int | None
    # the scores in order, as the record's series has them: dicts of date (ISO text), session_number
    # and score, made once (a named tuple for each score, then a dict for each in the record, was
    # twice the work: ten million sessions hold 2.8 million scores)
    series: Sequence[dict[str, Any]] = ()
    trend_slope: float | None = None   # Theil-Sen over the last trend_scores scores (trend.sql)
    trend_low: float | None = None     # ...its interval (None: fewer scores, or one date)
    trend_high: float | None = None

    def last(self, k: int) -> Sequence[dict[str, Any]]:
        """The last ``k`` scores (fewer when there are fewer)."""
        return self.series[-k:]


class RiskFacts(NamedTuple):
    scale: str
    measure_date: date
    risk_item: int
    risk_threshold: int
    item_score: int
    flagged: int


@dataclass(frozen=True)
class Cell:
    """One cell of the expected recovery band."""

    n_episodes: int
    p10: float
    p50: float
    p90: float
    p_upper: float
    p_lower: float


class EpisodeFacts(NamedTuple):
    episode_id: str
    patient_id: str
    clinician_id: str
    last_session: date | None
    attended_sessions: int
    next_booked: date | None
    scales: tuple[ScaleFacts, ...]
    risks: tuple[RiskFacts, ...]
    missed_in_a_row: int = 0           # as the disengagement watch list counts them
    days_since_attended: int = 0
    category: str | None = None        # as categories.sql decided (None: not read)
    other_category: str | None = None  # ...and for safety, the category apart from risk


def _register_bands(con: duckdb.DuckDBPyConnection) -> None:
    """The registry's severity bands as the temp table readiness_bands, in one statement (a
    statement per band took a tenth of a caseload's time)."""
    rows = [(s.id, i, b.low, b.high, b.label)
            for s in load_registry().values() for i, b in enumerate(s.severity, start=1)]
    columns = ("CAST(scale AS VARCHAR) AS scale, CAST(band_order AS INTEGER) AS band_order, "
               "CAST(low AS INTEGER) AS low, CAST(high AS INTEGER) AS high, CAST(label AS VARCHAR) AS label")
    if rows:
        values = ", ".join(["(?, ?, ?, ?, ?)"] * len(rows))
        con.execute(f"CREATE OR REPLACE TEMP TABLE readiness_bands AS SELECT {columns} "
                    f"FROM (VALUES {values}) AS v(scale, band_order, low, high, label)",
                    [x for row in rows for x in row])
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE readiness_bands "
                    "(scale VARCHAR, band_order INTEGER, low INTEGER, high INTEGER, label VARCHAR)")


def _params(settings: Settings, th: ReadinessThresholds, as_of: date | None) -> dict[str, Any]:
    return {
        "as_of": as_of,
        "clinician_id": settings.clinician_id,
        "site": settings.site,
        "stable_scores": th.stable_scores,
        "stuck_scores": th.stuck_scores,
        "upper_percentile": th.expected_percentile / 100.0,
        "lower_percentile": 1.0 - th.expected_percentile / 100.0,
        "min_scored_sessions": th.min_scored_sessions,
        "min_reference_episodes": th.min_reference_episodes,
        "fallback_min_attended": th.fallback_min_attended,
        "fallback_min_fall": th.fallback_min_fall,
        "stable_min_weeks": th.stable_min_weeks,
        "trend_scores": th.trend_scores,
        "trend_z": _trend_z(th.trend_confidence),
        "stuck_min_attended": th.stuck_min_attended,
    }


def _prepare_reference(con: duckdb.DuckDBPyConnection, settings: Settings) -> date | None:
    # The reference (expected band, derived reliable change) is the whole clinic's, in aggregate,
    # whatever the viewer's access scope (analytics/access.py); readiness() then re-prepares the
    # work tables in that scope before reading any episode.
    as_of = prepare(con, settings.with_(scope_clinician_id=None))
    build_scale_pairs(con)            # each scale's first score per episode, for both references
    _register_bands(con)
    workcache.table(con, "readiness_rc", read_sql("readiness/reliable_change.sql"))
    return as_of


def _expected(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of expected_band.sql (the whole clinic's reference, kept with the work tables)."""
    sql = read_sql("readiness/expected_band.sql")
    used = set(_PARAM_RE.findall(sql))
    workcache.table(con, "readiness_expected", sql, {k: params[k] for k in used})
    cursor = con.execute("SELECT * FROM readiness_expected ORDER BY scale, band_order, session_number")
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _cells(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> dict[tuple[str, str, int], Cell]:
    return {
        (r["scale"], r["severity_band"], r["session_number"]):
            Cell(r["n_episodes"], r["p10"], r["p50"], r["p90"], r["p_upper"], r["p_lower"])
        for r in _expected(con, params)
    }


def _scale_order() -> dict[str, int]:
    return {sid: i for i, sid in enumerate(load_registry())}


def _kept(con: duckdb.DuckDBPyConnection, table: str, name: str, params: dict[str, Any],
          cluster_by: str | None = None, depends_on: tuple[str, ...] = ()) -> None:
    sql = read_sql(f"readiness/{name}")
    used = set(_PARAM_RE.findall(sql))
    workcache.table(con, table, sql, {k: params[k] for k in used}, cluster_by=cluster_by,
                    depends_on={k: params[k] for k in depends_on})


def _in_scope(con: duckdb.DuckDBPyConnection, table: str, params: dict[str, Any], order: str,
              columns: list[str], joined: tuple[str, tuple[str, ...], list[str]] | None = None,
              as_columns: bool = False) -> Any:
    """Rows (``columns``, in that order) of a kept whole-clinic facts table for the episodes in
    scope (readiness_scope). The clinician filters also let DuckDB skip other clinicians' row
    groups (the tables are stored in clinician order). ``joined``: (another such table, the
    columns both share that match a row, its columns to add after ``columns``), left-joined, so
    that a caseload asks one query instead of two (each costs about 10 ms). ``as_columns``: the
    columns instead, as :func:`_as_lists` has them (for many rows: Python makes a list of a
    column's values faster than it makes a tuple of each row's)."""
    select = [f"x.{c}" for c in columns]
    source = f"{table} x"
    if joined is not None:
        other, keys, extra = joined
        select += [f"y.{c}" for c in extra]
        source += (f" LEFT JOIN {other} y ON y.clinician_id = x.clinician_id"
                   f"{''.join(f' AND y.{k} = x.{k}' for k in keys)}"
                   " AND ($clinician_id IS NULL OR y.clinician_id = $clinician_id)"
                   " AND ($low IS NULL OR y.clinician_id BETWEEN $low AND $high)")
    result = con.execute(
        f"""SELECT {', '.join(select)} FROM {source}
            WHERE ($clinician_id IS NULL OR x.clinician_id = $clinician_id)
              AND ($low IS NULL OR x.clinician_id BETWEEN $low AND $high)
              AND x.episode_id IN (SELECT episode_id FROM readiness_scope)
            ORDER BY {order}""", _clinician_filters(params))
    return _as_lists(result.fetchnumpy()) if as_columns else result.fetchall()


def _as_lists(columns: dict[str, np.ndarray]) -> dict[str, list]:
    """Columns of ``fetchnumpy`` as lists of the values ``fetchall`` has: dates as dates, NULL as None."""
    return {name: (values.astype("datetime64[D]") if values.dtype.kind == "M" else values).tolist()
            for name, values in columns.items()}


def _scale_order_sql(column: str) -> str:
    """ORDER BY terms that put ``column``'s scales in registry order (any other scale after them,
    by id): the order the records list each episode's scales in."""
    order = _scale_order()
    if not order:
        return column
    whens = " ".join(f"WHEN '{sid.replace(chr(39), chr(39) * 2)}' THEN {i}" for sid, i in order.items())
    return f"CASE {column} {whens} ELSE {len(order)} END, {column}"


def _clinician_filters(params: dict[str, Any]) -> dict[str, Any]:
    return {"clinician_id": params["clinician_id"], "low": params.get("low"), "high": params.get("high")}


def _facts(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> list[EpisodeFacts]:
    """The facts of every active episode in scope."""
    _keep_fact_tables(con, params)
    _scope_episodes(con, params)
    return _read_facts(con, params)


def _facts_in_groups(con: duckdb.DuckDBPyConnection, params: dict[str, Any],
                     size: int) -> Iterator[list[EpisodeFacts]]:
    """The same facts, a group of clinicians at a time (about ``size`` episodes, a clinician never
    split), so that a caller who only counts holds one group's Python objects at once: the facts
    of a quarter of a million episodes (ten million sessions) are about a gigabyte.

    While Python makes one group's facts (and the caller its records), a worker thread has DuckDB
    read the next group's columns: DuckDB lets go of the GIL while a query runs, so on two cores
    the queries run beside the records (turning their results into Python values still takes
    turns with them; benchmarks/RESULTS.md, seventeenth round). ``con`` is used by one thread at
    a time: by the worker while a read is pending, and by this generator's caller never between
    two groups (it only makes records); the last read is waited for before the generator ends,
    however it ends."""
    _keep_fact_tables(con, params)
    per_clinician = con.execute(
        """SELECT clinician_id, count(*) FROM readiness_active
           WHERE ($clinician_id IS NULL OR clinician_id = $clinician_id) AND ($site IS NULL OR site = $site)
           GROUP BY clinician_id ORDER BY clinician_id""",
        {"clinician_id": params["clinician_id"], "site": params["site"]}).fetchall()
    groups: list[dict[str, Any]] = []
    group: list[str] = []
    held = 0
    for i, (clinician, n) in enumerate(per_clinician):
        group.append(clinician)
        held += n
        if held >= size or i == len(per_clinician) - 1:
            groups.append({**params, "low": group[0], "high": group[-1]})
            group, held = [], 0
    if not groups:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="waypoint-readiness") as reader:
        pending = reader.submit(_fetch_group, con, groups[0])
        for following in [*groups[1:], None]:
            columns = pending.result()
            if following is not None:
                pending = reader.submit(_fetch_group, con, following)
            yield _make_facts(columns)


def _fetch_group(con: duckdb.DuckDBPyConnection, within: dict[str, Any]) -> _FactColumns:
    _scope_episodes(con, within)
    return _fetch_facts(con, within)


def _keep_fact_tables(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
    # The facts of every active episode in the clinic are kept with the work tables (built once per
    # data version and settings, stored in clinician order); a caseload then reads only its own
    # clinician's rows, whatever the size of the clinic.
    everyone = {**params, "clinician_id": None, "site": None}
    missed_in_a_row_table(con)
    _kept(con, "readiness_active", "active_episodes.sql", everyone, cluster_by="clinician_id, episode_id")
    _kept(con, "readiness_scores", "episode_scores.sql", everyone, cluster_by="clinician_id, episode_id, scale, seq")
    _kept(con, "readiness_status", "scale_status.sql", everyone, cluster_by="clinician_id, episode_id, scale")
    _kept(con, "readiness_risk", "risk_items.sql", everyone, cluster_by="clinician_id, episode_id, scale")
    _kept(con, "readiness_trend", "trend.sql", everyone, cluster_by="clinician_id, episode_id, scale")
    # every active episode's category, decided in SQL from the tables above and the clinic's
    # expected band (the parameters those were built with are not parameters of categories.sql,
    # hence depends_on)
    _kept(con, "readiness_category", "categories.sql", everyone, cluster_by="clinician_id, episode_id",
          depends_on=("upper_percentile", "lower_percentile", "trend_scores", "trend_z"))


def _scope_episodes(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
    """readiness_scope: the active episodes of the clinician and site asked for (and of the
    clinicians from ``params["low"]`` to ``params["high"]``, when given)."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE readiness_scope AS
           SELECT episode_id FROM readiness_active
           WHERE ($clinician_id IS NULL OR clinician_id = $clinician_id) AND ($site IS NULL OR site = $site)
             AND ($low IS NULL OR clinician_id BETWEEN $low AND $high)""",
        {**_clinician_filters(params), "site": params["site"]})


# ScaleFacts' fields from scale_status.sql: those of the scale (its registry entry, and its
# reliable change) are read once per scale, the others once per scale per episode (Python reads
# each value of a quarter of a million episodes' rows: about a second at ten million sessions).
_FIELDS = ScaleFacts._fields
_REGISTRY = _FIELDS[_FIELDS.index("name"):_FIELDS.index("n_scored")]
_RC = _FIELDS[_FIELDS.index("reliable_change"):_FIELDS.index("improvement")]
_VARYING = ("scale", *_FIELDS[_FIELDS.index("n_scored"):_FIELDS.index("reliable_change")],
            *_FIELDS[_FIELDS.index("improvement"):_FIELDS.index("series")])


def _scale_constants(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[tuple, tuple]]:
    """By scale: the values of its _REGISTRY fields and of its _RC fields, from the two small tables
    scale_status.sql took them from (the same on every row of readiness_status for that scale)."""
    rows = con.execute(
        f"""SELECT r.scale, {', '.join([f'r.{c}' for c in _REGISTRY] + [f'rc.{c}' for c in _RC])}
            FROM scale_registry r LEFT JOIN readiness_rc rc ON rc.scale = r.scale""").fetchall()
    return {r[0]: (r[1:1 + len(_REGISTRY)], r[1 + len(_REGISTRY):]) for r in rows}


def _series_columns(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every outcome score of the episodes in readiness_scope, as columns (:func:`_series` makes them
    the records' series), in the order of the episodes, then of the scales in the registry (as
    readiness_status is read).

    The episode and the scale are on the first score of each series only: read as rows, Python
    made a text for the episode and the scale of every score (about two seconds more at ten
    million sessions, where there are 2.8 million scores)."""
    return con.execute(
        f"""SELECT CASE WHEN seq = 1 THEN episode_id END AS series_episode,
                   CASE WHEN seq = 1 THEN scale END AS series_scale, session_date,
                   CAST(session_number AS INTEGER) AS session_number, CAST(score AS INTEGER) AS score
            FROM readiness_scores
            WHERE ($clinician_id IS NULL OR clinician_id = $clinician_id)
              AND ($low IS NULL OR clinician_id BETWEEN $low AND $high)
              AND episode_id IN (SELECT episode_id FROM readiness_scope)
            ORDER BY episode_id, {_scale_order_sql('scale')}, seq""", _clinician_filters(params)).fetchnumpy()


def _series(columns: dict[str, np.ndarray]) -> tuple[list[str], list[str], list[list]]:
    """The records' series from :func:`_series_columns`: the episode and the scale of each series,
    and the series (dicts of date, session_number and score). A day's ISO text is made once and
    shared by every score on that day."""
    days, at = np.unique(columns["session_date"].astype("datetime64[D]"), return_inverse=True)
    texts = np.array([_iso(d) for d in days.tolist()], dtype=object)
    points = [{"date": d, "session_number": n, "score": v}
              for d, n, v in zip(texts[at].tolist(), columns["session_number"].tolist(), columns["score"].tolist())]
    starts = np.flatnonzero(~np.ma.getmaskarray(columns["series_episode"])).tolist()
    ends = starts[1:] + [len(points)]
    return (columns["series_episode"][starts].tolist(), columns["series_scale"][starts].tolist(),
            [points[a:b] for a, b in zip(starts, ends)])


_new_scale_facts = functools.partial(tuple.__new__, ScaleFacts)       # ScaleFacts._make, without a
_new_episode_facts = functools.partial(tuple.__new__, EpisodeFacts)   # Python call per row


class _FactColumns(NamedTuple):
    """What DuckDB reads for the facts of the episodes in readiness_scope (:func:`_fetch_facts`),
    before Python makes them facts (:func:`_make_facts`)."""

    series: dict[str, np.ndarray]
    status: dict[str, list]
    constants: dict[str, tuple[tuple, tuple]]
    risk_rows: list[tuple]
    active: dict[str, list]


def _fetch_facts(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> _FactColumns:
    """The columns of the facts of the episodes in readiness_scope, each table read a column at a
    time (for the quarter of a million active episodes of ten million sessions, about 6 s against
    about 10 s a row at a time)."""
    return _FactColumns(
        series=_series_columns(con, params),
        status=_in_scope(con, "readiness_status", params, f"x.episode_id, {_scale_order_sql('x.scale')}",
                         ["episode_id", *_VARYING],
                         ("readiness_trend", ("episode_id", "scale"), ["trend_slope", "trend_low", "trend_high"]),
                         as_columns=True),
        constants=_scale_constants(con),
        risk_rows=_in_scope(con, "readiness_risk", params, f"x.episode_id, {_scale_order_sql('x.scale')}",
                            ["episode_id", "scale", "measure_date", "risk_item", "risk_threshold", "item_score",
                             "flagged"]),
        active=_in_scope(con, "readiness_active", params, "x.episode_id",
                         ["episode_id", "patient_id", "clinician_id", "last_session", "attended_sessions",
                          "next_booked", "missed_in_a_row", "days_since_attended"],
                         ("readiness_category", ("episode_id",), ["category", "other_category"]), as_columns=True))


def _read_facts(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> list[EpisodeFacts]:
    """The facts of the episodes in readiness_scope."""
    return _make_facts(_fetch_facts(con, params))


def _make_facts(columns: _FactColumns) -> list[EpisodeFacts]:
    """The facts, from the columns DuckDB read (no query: :func:`_facts_in_groups` makes one
    group's facts while DuckDB reads the next)."""
    series_episodes, series_scales, series = _series(columns.series)
    status = columns.status
    if status["episode_id"] != series_episodes or status["scale"] != series_scales:
        raise AssertionError("readiness_status and readiness_scores differ in their episodes and scales")
    # the scale's constants (registry, reliable change) on each of its rows, a column at a time
    # (numpy's take of each scale's value, instead of a Python lookup for each of nine fields on
    # each of 600,000 rows at ten million sessions: about 0.1 s less)
    constants = columns.constants
    position = {scale: i for i, scale in enumerate(constants)}
    on_rows = np.array([position[scale] for scale in status["scale"]], dtype=np.intp)
    per_scale = [(*registry, *rc) for registry, rc in constants.values()]
    for i, name in enumerate((*_REGISTRY, *_RC)):
        values = np.empty(len(per_scale), dtype=object)
        values[:] = [row[i] for row in per_scale]
        status[name] = values[on_rows].tolist()
    status["series"] = series
    facts = list(map(_new_scale_facts, zip(*(status[name] for name in _FIELDS))))
    scales = dict(_grouped(status["episode_id"], facts))
    risk_rows = columns.risk_rows
    risks = dict(_grouped([r[0] for r in risk_rows], [RiskFacts._make(r[1:]) for r in risk_rows]))
    active = columns.active
    episodes = active["episode_id"]
    return list(map(_new_episode_facts, zip(
        episodes, active["patient_id"], active["clinician_id"], active["last_session"],
        [a or 0 for a in active["attended_sessions"]], active["next_booked"],
        [scales.get(e, ()) for e in episodes], [risks.get(e, ()) for e in episodes],
        [m or 0 for m in active["missed_in_a_row"]], [d or 0 for d in active["days_since_attended"]],
        active["category"], active["other_category"])))


def _grouped(keys: list[str], values: list) -> Iterator[tuple[str, tuple]]:
    """(key, the tuple of its values) for each run of equal ``keys`` (``values`` beside them)."""
    if not keys:
        return iter(())
    column = np.array(keys, dtype=object)
    starts = [0, *(np.flatnonzero(column[1:] != column[:-1]) + 1).tolist()]
    ends = starts[1:] + [len(keys)]
    return ((keys[a], tuple(values[a:b])) for a, b in zip(starts, ends))


@functools.lru_cache(maxsize=8192)
def _from_iso(text: str) -> date:
    return date.fromisoformat(text)


# ---------------------------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8192)
def fmt_date(value: date) -> str:
    """3 Feb 2025 (cached: the same few thousand dates are written hundreds of thousands of times)."""
    return f"{value.day} {value:%b %Y}"


@functools.lru_cache(maxsize=65536)
def fmt_num(value: float, decimals: int = 1) -> str:
    """18, 15.2, -0.5 as −0.5 (whole numbers without decimals; cached: scores, cutoffs and
    percentiles repeat across episodes)."""
    rounded = round(float(value), decimals)
    text = str(int(rounded)) if rounded == int(rounded) else f"{rounded:.{decimals}f}"
    return text.replace("-", "−")


def fmt_weeks(days: int) -> str:
    weeks = days / 7
    return "1 week" if weeks == 1 else f"{fmt_num(weeks)} weeks"


def fmt_pct(fraction: float) -> str:
    return f"{fmt_num(fraction * 100)} %"


NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def fmt_count(n: int) -> str:
    """3 -> 'three' (up to ten, as in plain prose), 12 -> '12'."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def _points(n: float) -> str:
    return f"{fmt_num(n)} point" + ("" if n == 1 else "s")


def _scores(points: Sequence[dict[str, Any]]) -> str:
    return ", ".join(str(p["score"]) for p in points)


def _span(points: Sequence[dict[str, Any]]) -> str:
    return f"{fmt_date(_from_iso(points[0]['date']))} – {fmt_date(_from_iso(points[-1]['date']))}"


def _change(sc: ScaleFacts) -> str:
    """'PHQ-9 18 → 6 since 3 Feb 2025'."""
    if sc.n_scored < 2:
        return f"{sc.name} {sc.first_score} on {fmt_date(sc.first_date)} (one score so far)"
    return f"{sc.name} {sc.first_score} → {sc.last_score} since {fmt_date(sc.first_date)}"


def _rc(sc: ScaleFacts) -> str:
    """How the reliable-change threshold was arrived at."""
    if sc.rc_source == "derived":
        return (f"{fmt_num(sc.reliable_change)}, derived for this clinic with Jacobson & Truax from the SD "
                f"{fmt_num(sc.baseline_sd)} of {sc.baseline_n} first scores and reliability {sc.reliability:g}")
    return fmt_num(sc.reliable_change)


def _cutoff(sc: ScaleFacts) -> str:
    return fmt_num(sc.cutoff)


def _healthy_side(sc: ScaleFacts) -> str:
    """Where a non-clinical score lies, e.g. 'below the cutoff of 10' (PHQ-9), 'at or above the cutoff of 25' (ORS)."""
    if sc.higher_is_worse:
        side = "below" if sc.caseness_at_cutoff else "at or below"
    else:
        side = "above" if sc.caseness_at_cutoff else "at or above"
    return f"{side} the cutoff of {_cutoff(sc)}"


def _worse_word(sc: ScaleFacts) -> str:
    return "above" if sc.higher_is_worse else "below"


RISK_ITEM_WORDS = {
    # Kroenke, Spitzer & Williams (2001): PHQ-9 item 9.
    "phq9": "thoughts of being better off dead or of hurting oneself",
    # Barkham et al. (2013): CORE-10 item 6.
    "core10": "made plans to end one's life",
}


# ---------------------------------------------------------------------------------------------
# the rules, in order: each returns its reasons when it applies, else None
# ---------------------------------------------------------------------------------------------
Rule = Callable[[EpisodeFacts, dict, ReadinessThresholds], "list[str] | None"]


def _has_rc(sc: ScaleFacts) -> bool:
    return sc.reliable_change is not None


def rule_safety(ep: EpisodeFacts, cells: dict, th: ReadinessThresholds) -> list[str] | None:
    reasons = []
    for r in ep.risks:
        if r.flagged:
            name = load_registry()[r.scale].name if r.scale in load_registry() else r.scale
            about = RISK_ITEM_WORDS.get(r.scale)
            reasons.append(
                f"{name} item {r.risk_item}{f' ({about})' if about else ''} was {r.item_score} on "
                f"{fmt_date(r.measure_date)}, the latest time it was recorded; {r.risk_threshold} or more "
                "calls for a risk review.")
    return reasons or None


def rule_deteriorating(ep: EpisodeFacts, cells: dict, th: ReadinessThresholds) -> list[str] | None:
    reasons = [
        f"{_change(sc)} (latest {fmt_date(sc.last_date)}): {_points(-sc.improvement)} worse, reliably worse "
        f"(the reliable change is {_rc(sc)})."
        for sc in ep.scales if sc.reliably_worse
    ]
    if not reasons:
        return None
    return reasons + ["Worth reviewing the formulation and the plan with the patient, and in supervision."]


class TrackCheck(NamedTuple):
    rule: str | None      # 'band', 'fallback' or None (not judged)
    off_track: bool
    text: str


def track_check(sc: ScaleFacts, ep: EpisodeFacts, cells: dict, th: ReadinessThresholds,
                words: bool = True) -> TrackCheck:
    """Is this scale's latest score behind the expected recovery (band, else the fallback rule)?
    With ``words=False`` only the verdict (``text`` empty): most scales are on track, and the
    not-on-track rule writes only the others."""
    if sc.n_scored < th.min_scored_sessions:
        return TrackCheck(None, False, f"{_change(sc)}: {sc.n_scored} scored sessions, too few to judge."
                          if words else "")
    k = sc.last_session_number
    cell = cells.get((sc.scale, sc.severity_band, k)) if sc.severity_band else None
    if cell is not None and cell.n_episodes >= th.min_reference_episodes:
        edge = cell.p_upper if sc.higher_is_worse else cell.p_lower
        off = sc.last_score > edge if sc.higher_is_worse else sc.last_score < edge
        if not words:
            return TrackCheck("band", off, "")
        pct = fmt_num(th.expected_percentile if sc.higher_is_worse else 100 - th.expected_percentile)
        where = (f"the {pct}th percentile at session {k} is {fmt_num(edge)} among the clinic's "
                 f"{cell.n_episodes} finished episodes that started {sc.severity_band} "
                 f"({sc.name} {sc.severity_low}–{sc.severity_high})")
        if off:
            text = (f"{_change(sc)}: {sc.last_score} at session {k} ({fmt_date(sc.last_date)}) is "
                    f"{_worse_word(sc)} the expected range; {where}.")
        else:
            text = f"{_change(sc)}: {sc.last_score} at session {k} is within the expected range; {where}."
        return TrackCheck("band", off, text)
    if not words:
        if not sc.first_at_caseness or sc.fall_fraction is None:
            return TrackCheck(None, False, "")
        if ep.attended_sessions < th.fallback_min_attended:
            return TrackCheck("fallback", False, "")
        return TrackCheck("fallback", sc.fall_fraction < th.fallback_min_fall, "")
    if not sc.severity_band:
        why = f"{sc.name} has no severity bands, so no expected band"
    elif cell is None:
        why = (f"no finished episodes at this clinic that started {sc.severity_band} have a {sc.name} "
               f"score at session {k}; the expected band needs {th.min_reference_episodes}")
    else:
        why = (f"only {cell.n_episodes} finished episodes at this clinic that started {sc.severity_band} "
               f"have a {sc.name} score at session {k}; the expected band needs {th.min_reference_episodes}")
    if not sc.first_at_caseness or sc.fall_fraction is None:
        return TrackCheck(None, False, f"{_change(sc)}: started {_healthy_side(sc)}, so no fall is expected ({why}).")
    fall = sc.fall_fraction
    moved = f"a {fmt_pct(fall)} fall" if fall >= 0 else f"a {fmt_pct(-fall)} rise"
    if not sc.higher_is_worse:
        moved = (f"{fmt_pct(fall)} of the way to the top of the scale" if fall >= 0
                 else f"{fmt_pct(-fall)} further from the top of the scale")
    want = fmt_pct(th.fallback_min_fall)
    if ep.attended_sessions < th.fallback_min_attended:
        return TrackCheck("fallback", False,
                          f"{_change(sc)}: {moved} after {ep.attended_sessions} attended sessions; the "
                          f"{want} rule applies from {th.fallback_min_attended} ({why}).")
    off = fall < th.fallback_min_fall
    verdict = f"less than the {want} expected by now" if off else f"at least the {want} expected by now"
    return TrackCheck("fallback", off,
                      f"{_change(sc)}: {moved} after {ep.attended_sessions} attended sessions, {verdict} ({why}).")


def rule_not_on_track(ep: EpisodeFacts, cells: dict, th: ReadinessThresholds) -> list[str] | None:
    behind = [sc for sc in ep.scales if track_check(sc, ep, cells, th, words=False).off_track]
    if not behind:
        return None
    # a patient can have improved reliably and still be behind the clinic's usual pace: say both
    reasons = [track_check(sc, ep, cells, th).text
               + (f" It has {_improved(sc)}, more slowly than expected." if sc.reliably_improved else "")
               for sc in behind]
    return reasons + ["Progress is slower than expected: worth discussing with the patient and in supervision "
                      "(feedback on not-on-track progress helps most; Lambert)."]


def stability_gap(sc: ScaleFacts, th: ReadinessThresholds) -> str | None:
    """Why this scale is not (yet) stable below its cutoff; None when it is."""
    k = th.stable_scores
    if sc.n_scored < k:
        return (f"{sc.name} has {fmt_count(sc.n_scored)} score{'s' if sc.n_scored != 1 else ''}; "
                f"{fmt_count(k)} are needed to judge stability")
    if sc.recent_at_caseness:
        return f"the last {fmt_count(k)} {sc.name} scores ({_scores(sc.last(k))}) are not all {_healthy_side(sc)}"
    if sc.recent_span_days < th.stable_min_weeks * 7:
        return (f"the last {fmt_count(k)} {sc.name} scores span {fmt_weeks(sc.recent_span_days)} "
                f"({_span(sc.last(k))}), less than {fmt_num(th.stable_min_weeks)} weeks")
    if _has_rc(sc) and sc.recent_range >= sc.reliable_change:
        return (f"the last {fmt_count(k)} {sc.name} scores ({_scores(sc.last(k))}) differ by "
                f"{_points(sc.recent_range)}, as much as the reliable change of {_rc(sc)}")
    return None


def _at_caseness_at_start(ep: EpisodeFacts) -> bool:
    return any(sc.first_at_caseness for sc in ep.scales)


def _improved(sc: ScaleFacts) -> str:
    """'reliably improved by 12 points (the reliable change is 6)'."""
    return f"reliably improved by {_points(sc.improvement)} (the reliable change is {_rc(sc)})"


def rule_ready_for_review(ep: EpisodeFacts, cells: dict, th: ReadinessThresholds) -> list[str] | None:
    if not _at_caseness_at_start(ep):
        return None
    if not any(sc.reliably_improved for sc in ep.scales) or any(sc.reliably_worse for sc in ep.scales):
        return None
    if any(stability_gap(sc, th) for sc in ep.scales):
        return None
    k = th.stable_scores
    reasons = []
    for sc in ep.scales:
        recent = sc.last(k)
        improved = f", {_improved(sc)}" if sc.reliably_improved else ""
        within = (f" and within {_points(sc.recent_range)} of each other" if _has_rc(sc)
                  else " (no reliable-change threshold for this scale, so its stability is not tested)")
        reasons.append(f"{_change(sc)}{improved}; the last {fmt_count(k)} scores {_scores(recent)} over "
                       f"{fmt_weeks(sc.recent_span_days)} ({_span(recent)}), all {_healthy_side(sc)}{within}.")
    reasons.append(f"Stable below the cutoff for at least {fmt_num(th.stable_min_weeks)} weeks: time to talk "
                   "about ending or stepping down.")
    return reasons


class Trend(NamedTuple):
    slope: float
    low: float
    high: float
    points: Sequence[dict[str, Any]]


@functools.lru_cache(maxsize=16)
def _norm_ppf(q: float) -> float:
    return stats.norm.ppf(q)


def _trend_z(alpha: float) -> float:
    """The normal quantile of the Theil–Sen interval at confidence ``alpha`` (scipy's theilslopes
    takes either 0.95 or 0.05 for a 95 % interval); trend.sql gets it as $trend_z."""
    if alpha > 0.5:
        alpha = 1. - alpha
    return float(_norm_ppf(alpha / 2.))


def improving_trend(sc: ScaleFacts, th: ReadinessThresholds) -> Trend | None:
    """The Theil–Sen trend of the last trend_scores scores (sql/readiness/trend.sql: points a week,
    scipy.stats.theilslopes' figures) when its interval lies wholly on the improving side of 0."""
    if sc.n_scored < th.trend_scores or sc.trend_slope is None:
        return None
    if sc.higher_is_worse:
        improving = sc.trend_high is not None and sc.trend_high < 0
    else:
        improving = sc.trend_low is not None and sc.trend_low > 0
    return Trend(sc.trend_slope, sc.trend_low, sc.trend_high, sc.last(th.trend_scores)) if improving else None


def rule_improving(ep: EpisodeFacts, cells: dict, th: ReadinessThresholds) -> list[str] | None:
    reasons = []
    conf = fmt_pct(th.trend_confidence)
    for sc in ep.scales:
        if sc.reliably_improved:
            reasons.append(f"{_change(sc)}: {_improved(sc)}.")
        trend = improving_trend(sc, th)
        if trend is not None:
            verb = "fall" if sc.higher_is_worse else "rise"
            reasons.append(
                f"The last {fmt_count(len(trend.points))} {sc.name} scores {_scores(trend.points)} ({_span(trend.points)}) "
                f"{verb} by {_points(abs(trend.slope))} a week (Theil–Sen slope; {conf} interval "
                f"{fmt_num(trend.low)} to {fmt_num(trend.high)} points a week).")
    if not reasons:
        return None
    gaps = [g for g in (stability_gap(sc, th) for sc in ep.scales) if g]
    if gaps:
        reasons.append(f"Not yet stable below the cutoff: {'; '.join(gaps)}.")
    elif not _at_caseness_at_start(ep):
        reasons.append("Started below the cutoff on every scale.")
    return reasons


def rule_stuck(ep: EpisodeFacts, cells: dict, th: ReadinessThresholds) -> list[str] | None:
    if ep.attended_sessions < th.stuck_min_attended:
        return None
    k = th.stuck_scores
    reasons = []
    for sc in ep.scales:
        if (sc.first_at_caseness and sc.last_at_caseness and sc.n_scored >= k and _has_rc(sc)
                and sc.still_range < sc.reliable_change):
            recent = sc.last(k)
            reasons.append(
                f"{ep.attended_sessions} attended sessions; {sc.name} still at caseness ({sc.first_score} → "
                f"{sc.last_score} since {fmt_date(sc.first_date)}, cutoff {_cutoff(sc)}); the last {fmt_count(k)} scores "
                f"{_scores(recent)} ({_span(recent)}) lie within {_points(sc.still_range)} of each other, "
                f"less than the reliable change of {_rc(sc)}: no movement.")
    if not reasons:
        return None
    return reasons + ["Consider a change of approach or a supervision review."]


def rule_maintenance(ep: EpisodeFacts, cells: dict, th: ReadinessThresholds) -> list[str] | None:
    if not ep.scales or _at_caseness_at_start(ep):
        return None
    firsts = ", ".join(f"{sc.name} {sc.first_score} on {fmt_date(sc.first_date)} ({_healthy_side(sc)})"
                       for sc in ep.scales)
    return [f"Not at caseness at the start: {firsts}.",
            "Symptom scales are not the goal here; review goals with the patient."]


def rule_too_early(ep: EpisodeFacts, cells: dict, th: ReadinessThresholds) -> list[str] | None:
    most = max((sc.n_scored for sc in ep.scales), default=0)
    if most >= th.min_scored_sessions:
        return None
    if not ep.scales:
        return [f"No outcome scores yet in this episode ({ep.attended_sessions} attended sessions); progress is "
                f"judged from {fmt_count(th.min_scored_sessions)} scored sessions."]
    so_far = "; ".join(
        f"{sc.name} {sc.first_score} on {fmt_date(sc.first_date)}" if sc.n_scored < 2
        else f"{_change(sc)} (latest {fmt_date(sc.last_date)})" for sc in ep.scales)
    return [f"{fmt_count(most).capitalize()} scored session{'s' if most != 1 else ''} so far ({so_far}); "
            f"progress is judged from {fmt_count(th.min_scored_sessions)}."]


def rule_on_track(ep: EpisodeFacts, cells: dict, th: ReadinessThresholds) -> list[str]:
    return [track_check(sc, ep, cells, th).text for sc in ep.scales] or ["Nothing flagged."]


RULES: tuple[tuple[str, Rule], ...] = (
    ("safety", rule_safety),
    ("deteriorating", rule_deteriorating),
    ("not_on_track", rule_not_on_track),
    ("ready_for_review", rule_ready_for_review),
    ("improving", rule_improving),
    ("stuck", rule_stuck),
    ("maintenance", rule_maintenance),
    ("too_early", rule_too_early),
    ("on_track", rule_on_track),
)
assert tuple(c for c, _ in RULES) == tuple(c.id for c in CATEGORIES)
_RULE = dict(RULES)


def classify(ep: EpisodeFacts, cells: dict, th: ReadinessThresholds, *, skip: tuple[str, ...] = (),
             decided: str | None = None) -> tuple[str, list[str]]:
    """The first category that applies, and its reasons. ``decided``: the category categories.sql
    gave the episode; its rule alone then writes the reasons (the rules before it are not tried
    again), unless it finds that it does not apply, when every rule is tried in order."""
    if decided is not None and decided not in skip:
        reasons = _RULE[decided](ep, cells, th)
        if reasons is not None:
            return decided, reasons
    for category, rule in RULES:
        if category in skip:
            continue
        reasons = rule(ep, cells, th)
        if reasons is not None:
            return category, reasons
    raise AssertionError("on_track always applies")


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8192)
def _iso(value: date | None) -> str | None:
    """ISO text of a date (cached like the words: the series repeat a few thousand dates)."""
    return value.isoformat() if value is not None else None


class WatchRule(NamedTuple):
    """The disengagement watch list's rule (engagement issue; Settings.consecutive_missed and
    Settings.disengaged_days), repeated on the caseload so that a patient drifting away is named
    where the clinician looks, whatever their readiness category."""
    consecutive_missed: int
    disengaged_days: int


def disengagement(ep: EpisodeFacts, rule: WatchRule | None) -> str | None:
    """Why the episode is on the disengagement watch list, in words; None when it is not."""
    if rule is None:
        return None
    parts = []
    if ep.missed_in_a_row >= rule.consecutive_missed:
        parts.append(f"{ep.missed_in_a_row} missed in a row")
    if ep.days_since_attended > rule.disengaged_days:
        parts.append(f"no attended session for {ep.days_since_attended} days" if ep.last_session is not None
                     else f"never attended, first booked {ep.days_since_attended} days ago")
    if not parts:
        return None
    parts.append(f"next booked {fmt_date(ep.next_booked)}" if ep.next_booked else "nothing booked")
    return "; ".join(parts)


def _record(ep: EpisodeFacts, cells: dict, th: ReadinessThresholds, rule: WatchRule | None = None) -> dict[str, Any]:
    category, reasons = classify(ep, cells, th, decided=ep.category)
    other = None
    if category == "safety":
        other, other_reasons = classify(ep, cells, th, skip=("safety",), decided=ep.other_category)
        reasons = reasons + [f"Apart from risk: {LABELS[other]}."] + other_reasons
    drifting = disengagement(ep, rule)
    if drifting:
        reasons = reasons + [f"Drifting away ({drifting}): on the disengagement watch list; a call now may keep "
                             "them in treatment."]
    # the scales' entries in one pass, not four comprehensions over the same scales (a quarter of
    # a million records at ten million sessions)
    first_scores, last_scores, severity, series = {}, {}, {}, {}
    for sc in ep.scales:
        scale = sc.scale
        first_scores[scale] = int(sc.first_score)
        last_scores[scale] = int(sc.last_score)
        if sc.severity_band:
            severity[scale] = sc.severity_band
        series[scale] = sc.series
    return {
        "patient_id": ep.patient_id,
        "episode_id": ep.episode_id,
        "clinician_id": ep.clinician_id,
        "category": category,
        "reasons": reasons,
        "last_session": _iso(ep.last_session),
        "attended_sessions": ep.attended_sessions,
        "first_scores": first_scores,
        "last_scores": last_scores,
        # extras
        "label": LABELS[category],
        "other_category": other,
        "severity": severity,
        "next_booked": _iso(ep.next_booked),
        "risk_items": {r.scale: {"item": r.risk_item, "score": r.item_score, "date": _iso(r.measure_date)}
                       for r in ep.risks} if ep.risks else {},
        "series": series,
        "disengagement": drifting,
    }


def _sort_key(record: dict[str, Any]) -> tuple:
    return (CATEGORY_ORDER[record["category"]], record["clinician_id"] or "", record["patient_id"],
            record["episode_id"])


# For the whole clinic the facts of active episodes are read about this many at a time (whole
# clinicians): read at once they are about a gigabyte of Python objects at ten million sessions.
FACT_GROUP_EPISODES = 20_000


def readiness(con: duckdb.DuckDBPyConnection, settings: Settings,
              thresholds: ReadinessThresholds | None = None, *, patient_id: str | None = None,
              categories: Sequence[str] | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """One JSON-ready record per active episode in scope, safety first, then in category order.

    Keys: patient_id, episode_id, clinician_id, category, reasons (list of str), last_session (ISO
    date or None), attended_sessions, first_scores, last_scores (by scale id); extras: label,
    other_category (for safety: the category that applies apart from risk), severity (band of the
    first score by scale), next_booked, risk_items, series (scores by scale, in order),
    disengagement (why the episode is on the disengagement watch list, or None; its reason is the
    last of ``reasons``).

    ``patient_id``: that patient's active episodes only. ``categories`` (ids of CATEGORIES): the
    episodes in those categories only. ``limit``: the first ``limit`` records only. The episodes
    are chosen in SQL (their categories are decided there, sql/readiness/categories.sql) before
    any fact is read, so one patient, or the first rows of a clinic's caseload, cost the same at
    any clinic size.
    """
    _check_selection(categories, limit)
    th, params, cells = _rules_ready(con, settings, thresholds)
    rule = WatchRule(settings.consecutive_missed, settings.disengaged_days)
    with _no_cyclic_gc(), _word_caches_dropped():
        if patient_id is not None or categories is not None or limit is not None:
            _keep_fact_tables(con, params)
            _select_episodes(con, params, patient_id, categories, limit)
            records = [_record(ep, cells, th, rule) for ep in _read_facts(con, params)]
            wanted = set(categories) if categories is not None else None
            return sorted((r for r in records if wanted is None or r["category"] in wanted), key=_sort_key)
        if params["clinician_id"] is None and settings.scope_clinician_id is None:
            # the whole clinic (or a site): its facts a group of clinicians at a time, beside the
            # records (about a gigabyte less at ten million sessions)
            groups = _facts_in_groups(con, params, FACT_GROUP_EPISODES)
            return sorted((_record(ep, cells, th, rule) for episodes in groups for ep in episodes), key=_sort_key)
        return sorted((_record(ep, cells, th, rule) for ep in _facts(con, params)), key=_sort_key)


def active_patients(con: duckdb.DuckDBPyConnection, settings: Settings,
                    thresholds: ReadinessThresholds | None = None, *, limit: int | None = None) -> list[str]:
    """The patients with an active episode in scope, in the order of :func:`readiness`'s records
    (safety first), each once; the first ``limit`` only. Read from the kept category table
    without reading any score into Python (the dashboard's patient picker)."""
    _check_selection(None, limit)
    _th, params, _cells_unused = _rules_ready(con, settings, thresholds)
    _keep_fact_tables(con, params)
    _select_episodes(con, params, None, None, None)
    # each patient where their first episode comes in the records' order
    rows = con.execute(
        f"""WITH placed AS (
                SELECT a.patient_id, row_number() OVER (
                           ORDER BY {_ORDER_SQL}, coalesce(a.clinician_id, ''), a.patient_id, a.episode_id) AS pos
                FROM readiness_scope s JOIN readiness_active a ON a.episode_id = s.episode_id
                JOIN readiness_category c ON c.episode_id = s.episode_id)
            SELECT patient_id FROM placed GROUP BY patient_id ORDER BY min(pos)
            {'LIMIT ' + str(int(limit)) if limit is not None else ''}""").fetchall()
    return [r[0] for r in rows]


# the records' order (_sort_key) in SQL: category order, clinician, patient, episode
_ORDER_SQL = "CASE c.category " + " ".join(f"WHEN '{c.id}' THEN {i}" for i, c in enumerate(CATEGORIES)) + " END"


def _check_selection(categories: Sequence[str] | None, limit: int | None) -> None:
    if categories is not None:
        unknown = [c for c in categories if c not in CATEGORY_ORDER]
        if unknown:
            raise WaypointError(f"unknown readiness categor{'y' if len(unknown) == 1 else 'ies'} "
                                f"{', '.join(map(repr, unknown))}; choose from {', '.join(CATEGORY_ORDER)}")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise WaypointError(f"limit must be a whole number of 1 or more, not {limit!r}")


def _select_episodes(con: duckdb.DuckDBPyConnection, params: dict[str, Any], patient_id: str | None,
                     categories: Sequence[str] | None, limit: int | None) -> None:
    """readiness_scope: the active episodes of the clinician and site asked for, of ``patient_id``
    and in ``categories`` when given, the first ``limit`` in the records' order when given."""
    chosen = {f"category_{i}": c for i, c in enumerate(categories or ())}
    in_categories = "" if categories is None else (
        f"AND c.category IN ({', '.join('$' + k for k in chosen)})" if chosen else "AND FALSE")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE readiness_scope AS
            SELECT a.episode_id FROM readiness_active a JOIN readiness_category c ON c.episode_id = a.episode_id
            WHERE ($clinician_id IS NULL OR a.clinician_id = $clinician_id) AND ($site IS NULL OR a.site = $site)
              AND ($patient_id IS NULL OR a.patient_id = $patient_id) {in_categories}
            ORDER BY {_ORDER_SQL}, coalesce(a.clinician_id, ''), a.patient_id, a.episode_id
            {'LIMIT ' + str(int(limit)) if limit is not None else ''}""",
        {"clinician_id": params["clinician_id"], "site": params["site"], "patient_id": patient_id, **chosen})


def _rules_ready(con: duckdb.DuckDBPyConnection, settings: Settings, thresholds: ReadinessThresholds | None
                 ) -> tuple[ReadinessThresholds, dict[str, Any], dict]:
    """The thresholds, the query parameters and the expected-recovery cells; the work tables in the
    viewer's scope from here on."""
    th = _thresholds(thresholds)
    as_of = _prepare_reference(con, settings)
    params = _params(settings, th, as_of)
    cells = _cells(con, params)
    if settings.scope_clinician_id is not None:
        prepare(con, settings)  # the viewer's patients only, from here on
    return th, params, cells


def category_counts(con: duckdb.DuckDBPyConnection, settings: Settings,
                    thresholds: ReadinessThresholds | None = None) -> pd.DataFrame:
    """Active episodes in each readiness category (the overview's chart): category, label,
    description, patients; every category in its order, zeros too. The categories of
    :func:`readiness`, counted in SQL (``sql/readiness/categories.sql``) without reading a score
    into Python, so the count costs the same at any clinic size."""
    th, params, _cells_unused = _rules_ready(con, settings, thresholds)
    _keep_fact_tables(con, params)
    counts = dict(con.execute(
        """SELECT c.category, count(*) FROM readiness_category c
           WHERE ($clinician_id IS NULL OR c.clinician_id = $clinician_id) AND ($site IS NULL OR c.site = $site)
           GROUP BY c.category""",
        {"clinician_id": params["clinician_id"], "site": params["site"]}).fetchall())
    return pd.DataFrame([{"category": c.id, "label": c.label, "description": c.description,
                          "patients": int(counts.get(c.id, 0))} for c in CATEGORIES],
                        columns=["category", "label", "description", "patients"])


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """No cyclic garbage collection while the records are built. They are hundreds of thousands of
    small acyclic objects (tuples, dicts, strings: reference counting frees them), and every 700
    allocations Python would otherwise scan them all for cycles: a tenth of readiness's time for
    the whole clinic. Left as it was found (another thread may have turned it off too)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def _word_caches_dropped() -> Iterator[None]:
    """Empty the number and date word caches (and the ISO dates) once the records are built.
    Their entries are made among the facts and records of the call, so while they live they keep
    the memory those leave behind from going back to the system (CPython returns an arena of small
    objects only once all of it is free): at a million sessions 180 MB after one call for the whole
    clinic, at ten million about 1 GB (3.2 -> 2.1 GB after readiness). Within a call they still
    spare the repeats."""
    try:
        yield
    finally:
        fmt_num.cache_clear()
        fmt_date.cache_clear()
        _iso.cache_clear()
        _from_iso.cache_clear()


TABLE_COLUMNS = ("patient", "clinician", "category", "last session", "first → last", "reason")


def as_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """For ``--format table``: patient, clinician, category, last session, first → last scores, the first reason."""
    names = {sid: s.name for sid, s in load_registry().items()}
    rows = []
    for r in records:
        scores = ", ".join(f"{names.get(sid, sid)} {first}→{r['last_scores'][sid]}"
                           for sid, first in r["first_scores"].items())
        rows.append({
            "patient": r["patient_id"],
            "clinician": r["clinician_id"],
            "category": LABELS.get(r["category"], r["category"]),
            "last session": fmt_date(date.fromisoformat(r["last_session"])) if r["last_session"] else "",
            "first → last": scores,
            "reason": r["reasons"][0] if r["reasons"] else "",
        })
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def readiness_frame(con: duckdb.DuckDBPyConnection, settings: Settings,
                    thresholds: ReadinessThresholds | None = None, *, patient_id: str | None = None,
                    categories: Sequence[str] | None = None, limit: int | None = None) -> pd.DataFrame:
    """The records as a DataFrame for the dashboard: the record's keys, plus category_order and
    reason (the first); last_session and next_booked as datetimes. ``patient_id``, ``categories``
    and ``limit`` choose the records as in :func:`readiness`."""
    records = readiness(con, settings, thresholds, patient_id=patient_id, categories=categories, limit=limit)
    columns = ["patient_id", "episode_id", "clinician_id", "category", "label", "category_order", "reason",
               "reasons", "last_session", "attended_sessions", "next_booked", "first_scores", "last_scores",
               "other_category", "severity", "risk_items", "series", "disengagement"]
    frame = pd.DataFrame(
        [{**r, "category_order": CATEGORY_ORDER[r["category"]], "reason": r["reasons"][0]} for r in records],
        columns=columns)
    for col in ("last_session", "next_booked"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


BAND_COLUMNS = ["scale", "severity_band", "band_low", "band_high", "session_number", "n_episodes",
                "p10", "p50", "p90", "expected_edge", "usable"]


def expected_band(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str | None = None,
                  thresholds: ReadinessThresholds | None = None) -> pd.DataFrame:
    """The expected recovery band the dashboard draws behind a patient's trajectory.

    One row per cell (scale, severity band of the first score, attended-session number), over the
    clinic's finished episodes as of ``settings.as_of`` (every clinician and site): the scale id,
    severity_band with its score range band_low..band_high, session_number, n_episodes, the 10th,
    50th and 90th percentiles of the scores, expected_edge (the percentile readiness compares the
    latest score with: ``expected_percentile``, on the worse side of the scale) and usable (the cell
    rests on at least ``min_reference_episodes`` episodes, so readiness uses it; otherwise the
    fallback rule). Scales in registry order, bands from the healthiest, sessions in order;
    ``scale`` keeps one scale only.
    """
    registry = load_registry()
    if scale is not None and scale not in registry:
        raise WaypointError(f"unknown scale {scale!r}; known: {', '.join(registry)}")
    th = _thresholds(thresholds)
    as_of = _prepare_reference(con, settings)
    rows = _expected(con, _params(settings, th, as_of))
    order = _scale_order()
    bands = {(s.id, b.label): (b.low, b.high) for s in registry.values() for b in s.severity}
    out = []
    for r in rows:
        if scale is not None and r["scale"] != scale:
            continue
        sc = registry[r["scale"]]
        low, high = bands[(r["scale"], r["severity_band"])]
        out.append({
            "scale": r["scale"], "severity_band": r["severity_band"], "band_low": low, "band_high": high,
            "session_number": int(r["session_number"]), "n_episodes": int(r["n_episodes"]),
            "p10": float(r["p10"]), "p50": float(r["p50"]), "p90": float(r["p90"]),
            "expected_edge": float(r["p_upper"] if sc.higher_is_worse else r["p_lower"]),
            "usable": int(r["n_episodes"]) >= th.min_reference_episodes,
            "_order": (order.get(r["scale"], len(order)), r["band_order"], int(r["session_number"])),
        })
    out.sort(key=lambda row: row["_order"])
    frame = pd.DataFrame([{k: v for k, v in row.items() if k != "_order"} for row in out], columns=BAND_COLUMNS)
    return frame.astype({"band_low": "int64", "band_high": "int64", "session_number": "int64",
                         "n_episodes": "int64", "p10": "float64", "p50": "float64", "p90": "float64",
                         "expected_edge": "float64", "usable": "bool"})
