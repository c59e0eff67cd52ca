"""Clinical outcomes: NHS Talking Therapies recovery and reliable change, Jacobson & Truax, trajectories,
clinic trends, fair clinician comparison and data quality (outcomes issue).

Every figure is defined by a file in ``sql/outcomes/`` (see :func:`sql_for`), run over the work tables
of :func:`analytics.episodes.prepare`; scipy does the statistics (Wilson intervals, funnel limits,
Poisson limits, Jacobson & Truax in :mod:`analytics.reliable_change`).

Scope (``Settings``):

- ``date_from`` / ``date_to``: every rate, and the counts ``ended``, ``finished_treatment``,
  ``paired``, ``at_caseness``, ``recovered``, ``reliable_*`` and ``dropout``, are over the episodes
  that ENDED in the range (trends are by month of episode end). ``episodes`` counts the episodes open
  at some time in the range (first session on or before ``date_to``, latest session on or after
  ``date_from``) and ``active`` those of them still active at the as-of date. Without a range,
  episodes = active + ended.
- ``clinician_id`` / ``site``: the episode's main clinician / site (w_episodes: most attended
  sessions). :func:`clinician_comparison` ignores ``clinician_id`` (it compares all clinicians).
- ``as_of``: the latest session that took place unless given; later sessions are ignored.
"""
from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats as sps

from . import episodes, workcache
from .reliable_change import jacobson_truax, pre_post_effect_size
from .scales import load_registry
from .settings import Settings
from .sqlfiles import read_sql
from .stats import RATE_DECIMALS, add_rate_columns, funnel_frame, rate, wilson_interval

EFFECT_SIZE_DECIMALS = 3  # outcomes issue: phq9_pre_post_d to 3 places

# measure -> (numerator, denominator) among the counts of sql/outcomes/rate_counts.sql
MEASURES: dict[str, tuple[str, str]] = {
    "paired_completeness": ("paired", "finished_treatment"),
    "recovery": ("recovered", "at_caseness"),
    "reliable_improvement": ("reliable_improvement", "paired"),
    "reliable_deterioration": ("reliable_deterioration", "paired"),
    "reliable_recovery": ("reliable_recovery", "at_caseness"),
    "dropout": ("dropout", "ended"),
}
FUNNEL_MEASURES = ("recovery", "reliable_improvement", "dropout")
GROUPINGS = (None, "clinician_id", "site", "program")  # program = the episode's main modality

KPI_KEYS = (
    "as_of", "episodes", "active", "ended", "finished_treatment", "paired", "paired_completeness",
    "at_caseness", "recovered", "recovery_rate", "reliable_improvement", "reliable_improvement_rate",
    "reliable_deterioration", "reliable_deterioration_rate", "reliable_recovery", "reliable_recovery_rate",
    "dropout", "dropout_rate", "phq9_pre_post_d", "attendance",
)

# the SQL behind each figure, in the order it runs (sql_for)
_WORK_TABLES = ("episodes/w_sessions.sql", "episodes/w_episodes.sql", "episodes/w_scores.sql",
                "outcomes/scale_pairs.sql", "outcomes/episode_outcomes.sql", "outcomes/outcome_scope.sql")
# the temporary table each work-table file builds (prepare, _scope)
_WORK_TABLE_OF = {
    "episodes/w_sessions.sql": "w_sessions", "episodes/w_episodes.sql": "w_episodes",
    "episodes/w_scores.sql": "w_scores", "outcomes/scale_pairs.sql": "w_scale_pairs",
    "outcomes/episode_outcomes.sql": "w_outcomes", "outcomes/outcome_scope.sql": "w_outcome_scope",
    "outcomes/jt_reference.sql": "w_jt_reference",
    "readiness/reliable_change.sql": "readiness_rc", "readiness/expected_band.sql": "readiness_expected",
    "readiness/active_episodes.sql": "readiness_active", "readiness/episode_scores.sql": "readiness_scores",
    "readiness/scale_status.sql": "readiness_status", "readiness/risk_items.sql": "readiness_risk",
    "readiness/trend.sql": "readiness_trend",
}
_FIGURE_SQL: dict[str, tuple[str, ...]] = {
    "episodes": ("outcomes/caseload.sql",),
    "active": ("outcomes/caseload.sql",),
    "rates": ("outcomes/rate_counts.sql",),
    "phq9_pre_post_d": ("outcomes/jt_pairs.sql",),
    "attendance": ("engagement/attendance_scope.sql", "engagement/attendance.sql"),
    "episode_outcomes": ("outcomes/jt_reference.sql", "outcomes/jt_pairs.sql"),
    "trajectories": ("outcomes/jt_reference.sql", "outcomes/trajectories.sql"),
    "clinician_comparison": ("outcomes/rate_counts.sql", "outcomes/case_mix.sql"),
    "case_mix": ("outcomes/case_mix.sql",),
    "data_quality": ("outcomes/data_quality.sql",),
    "intake_mix": ("outcomes/intake_mix.sql",),
    "jt_summary": ("outcomes/jt_reference.sql", "outcomes/jt_pairs.sql"),
    # each active episode's readiness category (analytics/readiness.py, the overview's chart)
    "readiness_categories": ("readiness/reliable_change.sql", "readiness/expected_band.sql",
                             "readiness/active_episodes.sql", "readiness/episode_scores.sql",
                             "readiness/scale_status.sql", "readiness/risk_items.sql", "readiness/trend.sql",
                             "readiness/categories.sql"),
}
for _key in ("ended", "finished_treatment", "paired", "paired_completeness", "at_caseness", "recovered",
             "recovery_rate", "reliable_improvement", "reliable_improvement_rate", "reliable_deterioration",
             "reliable_deterioration_rate", "reliable_recovery", "reliable_recovery_rate", "dropout",
             "dropout_rate", "rates_by_month"):
    _FIGURE_SQL[_key] = ("outcomes/rate_counts.sql",)

_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT_RE = re.compile(r"--[^\n]*")


# ---------------------------------------------------------------------------------------------
# running the SQL
# ---------------------------------------------------------------------------------------------
def _sql(name: str) -> tuple[str, set[str]]:
    text = read_sql(f"outcomes/{name}")
    return text, set(_PARAM_RE.findall(_COMMENT_RE.sub("", text)))


def _query(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run ``sql/outcomes/<name>`` with exactly the named parameters it uses."""
    text, used = _sql(name)
    params = params or {}
    missing = used - set(params)
    if missing:
        raise KeyError(f"outcomes/{name} needs parameter(s) {', '.join(sorted(missing))}")
    return con.execute(text, {k: params[k] for k in used}).df()


def _build(con: duckdb.DuckDBPyConnection, table: str, name: str, params: dict[str, Any] | None = None,
           cluster_by: str | None = None) -> None:
    text, used = _sql(name)
    params = params or {}
    workcache.table(con, table, text, {k: params[k] for k in used}, cluster_by=cluster_by)


def _bands_frame() -> pd.DataFrame:
    rows = [{"scale": s.id, "low": b.low, "high": b.high, "label": b.label}
            for s in load_registry().values() for b in s.severity]
    return pd.DataFrame(rows, columns=["scale", "low", "high", "label"])


def prepare(con: duckdb.DuckDBPyConnection, settings: Settings) -> date | None:
    """Episode work tables (episodes.prepare) plus the outcome work tables for this connection:
    scale_bands, w_scale_pairs, w_outcomes, w_jt_reference. Returns the as-of date (None: no data).

    Re-derives episodes first when the configured gap differs from the one they were built with.
    """
    return _prepare(con, settings)


def _prepare(con: duckdb.DuckDBPyConnection, settings: Settings, *, with_outcomes: bool = True) -> date | None:
    """:func:`prepare`; without ``w_outcomes`` when ``with_outcomes`` is False (trajectories read
    only w_scores, w_episodes, w_scale_pairs, w_jt_reference and scale_bands; w_outcomes is read
    only through w_outcome_scope, which _scope builds after a full prepare)."""
    episodes.ensure_episodes(con, settings)
    as_of = episodes.prepare(con, settings)
    con.register("_scale_bands_df", _bands_frame())
    con.execute("CREATE OR REPLACE TEMP TABLE scale_bands AS SELECT * FROM _scale_bands_df")
    con.unregister("_scale_bands_df")
    build_scale_pairs(con)
    if with_outcomes:
        _build(con, "w_outcomes", "episode_outcomes.sql")
    _build(con, "w_jt_reference", "jt_reference.sql")
    return as_of


def build_scale_pairs(con: duckdb.DuckDBPyConnection) -> None:
    """w_scale_pairs (first and last score of each scale in each episode) over this cursor's
    w_scores (episodes.prepare first); kept with the work tables, stored by episode."""
    _build(con, "w_scale_pairs", "scale_pairs.sql", cluster_by="episode_id, scale")  # a patient's episodes


def _scope(con: duckdb.DuckDBPyConnection, settings: Settings, *, all_clinicians: bool = False) -> None:
    _build(con, "w_outcome_scope", "outcome_scope.sql", {
        "date_from": settings.date_from, "date_to": settings.date_to, "site": settings.site,
        "clinician_id": None if all_clinicians else settings.clinician_id,
    })


def _prepared(con: duckdb.DuckDBPyConnection, settings: Settings, *, all_clinicians: bool = False) -> date | None:
    as_of = prepare(con, settings)
    _scope(con, settings, all_clinicians=all_clinicians)
    return as_of


# ---------------------------------------------------------------------------------------------
# headline figures
# ---------------------------------------------------------------------------------------------
def _rate_counts(con: duckdb.DuckDBPyConnection, *, period: str, by: str | None) -> pd.DataFrame:
    if by not in GROUPINGS:
        raise ValueError(f"cannot group outcome rates by {by!r}; choose one of {', '.join(str(g) for g in GROUPINGS)}")
    return _query(con, "rate_counts.sql", {"period": period, "by": by})


def _effect_size(pre: pd.Series, post: pd.Series) -> float | None:
    d = pre_post_effect_size(pre, post).d
    return None if math.isnan(d) else round(d, EFFECT_SIZE_DECIMALS)


def kpis(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """The clinic's headline figures (`waypoint kpis`), JSON-ready, with exactly the keys of
    :data:`KPI_KEYS`: counts as ints, rates as fractions rounded to 4 places (None when the
    denominator is 0), ``as_of`` as YYYY-MM-DD (None: no data), ``phq9_pre_post_d`` to 3 places over
    paired episodes (mean first - mean last over the sample SD of first; None with fewer than two),
    and ``attendance`` = :func:`analytics.engagement.attendance_overall`. Scope: module docstring."""
    as_of = _prepared(con, settings)
    caseload = _query(con, "caseload.sql").iloc[0]
    counts = _rate_counts(con, period="all", by=None)
    row = {c: (int(counts[c].iloc[0]) if len(counts) else 0) for c in counts.columns if c not in ("period", "grp")}
    phq9 = con.execute(   # the PHQ-9 pairs of jt_pairs.sql over which the effect size is taken, in its order
        f"SELECT first_score, last_score FROM ({_sql('jt_pairs.sql')[0]}\n) "
        "WHERE scale = 'phq9' AND in_rates = 1 AND paired = 1 ORDER BY episode_id").df()

    def r(measure: str) -> float | None:
        num, den = MEASURES[measure]
        return rate(row[num], row[den])

    # attendance_overall over the work tables just built (it would otherwise rebuild them: same
    # settings, same as-of, so the same w_sessions)
    from .engagement import _overall, _scope as _attendance_scope  # lazily: engagement imports the same foundation

    result = {
        "as_of": as_of.isoformat() if as_of else None,
        "episodes": int(caseload["episodes"]),
        "active": int(caseload["active"]),
        "ended": row["ended"],
        "finished_treatment": row["finished_treatment"],
        "paired": row["paired"],
        "paired_completeness": r("paired_completeness"),
        "at_caseness": row["at_caseness"],
        "recovered": row["recovered"],
        "recovery_rate": r("recovery"),
        "reliable_improvement": row["reliable_improvement"],
        "reliable_improvement_rate": r("reliable_improvement"),
        "reliable_deterioration": row["reliable_deterioration"],
        "reliable_deterioration_rate": r("reliable_deterioration"),
        "reliable_recovery": row["reliable_recovery"],
        "reliable_recovery_rate": r("reliable_recovery"),
        "dropout": row["dropout"],
        "dropout_rate": r("dropout"),
        "phq9_pre_post_d": _effect_size(phq9["first_score"], phq9["last_score"]),
        "attendance": _overall(con, _attendance_scope(settings, as_of)),
    }
    assert tuple(result) == KPI_KEYS
    return result


# ---------------------------------------------------------------------------------------------
# one row per episode
# ---------------------------------------------------------------------------------------------
_INT_COLUMNS = ("ended", "lost_contact", "dropout", "sessions", "attended_sessions", "treatment_sessions",
                "finished_treatment", "phq9_first", "phq9_last", "phq9_change", "phq9_scored_sessions",
                "gad7_first", "gad7_last", "gad7_change", "gad7_scored_sessions", "paired", "at_caseness",
                "recovered", "reliable_improvement", "reliable_deterioration", "reliable_recovery",
                "in_rates", "in_range")
_DATE_COLUMNS = ("start_date", "first_attended_date", "last_session_date", "last_attended_date", "end_date",
                 "phq9_first_date", "phq9_last_date", "gad7_first_date", "gad7_last_date", "session_date")


def _convert(values: Any, convert: Any) -> np.ndarray:
    """``[None if pd.isna(v) else convert(v) for v in values]`` as an object array, converting each
    distinct value once (a column of an episode-sized frame has few distinct values)."""
    codes, uniques = pd.factorize(pd.Series(values) if not isinstance(values, pd.Series) else values)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = [None if pd.isna(v) else convert(v) for v in uniques]
    table[-1] = None  # code -1: missing
    return table[codes]


def _iso_date(value: Any) -> str:
    return pd.Timestamp(value).date().isoformat()


def _episode_frame(con: Any, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """The rows of ``sql`` as a frame for :func:`_tidy`: from DuckDB through Arrow, so that text
    columns go straight into pandas' Arrow-backed strings without becoming a Python object per cell
    first (at ten million sessions a million rows: the plain conversion took twice the time and
    about a gigabyte more memory while it ran). Dates come as datetime64 and integers as nullable
    integers, which _tidy then turns into ISO text and Int64 as before. Another engine: ``.df()``."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return con.execute(sql, params).df() if params else con.execute(sql).df()
    relation = con.sql(sql, params=params)
    table = (getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table)()  # DuckDB >= 1.4 / older
    # self_destruct: each Arrow column is freed once converted, so the table and the frame are not
    # both held whole (at ten million sessions the episode table is several hundred megabytes)
    return table.to_pandas(date_as_object=False, types_mapper=_NULLABLE_INTEGERS.get,
                           split_blocks=True, self_destruct=True)


_NULLABLE_INTEGERS = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                      pa.int64(): pd.Int64Dtype()}


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """0/1 flags and scores as nullable integers, dates as ISO strings (as CSV and JSON show them).

    Integer and datetime columns (what DuckDB returns) are converted column-wise; anything else
    value by value. Converts ``frame`` in place (callers pass a frame of their own) and returns it."""
    out = frame
    for col in out.columns:
        values = out[col]
        if col in _INT_COLUMNS:
            out[col] = (values.astype("Int64") if pd.api.types.is_integer_dtype(values.dtype)
                        else pd.array(_convert(values, int), dtype="Int64"))
        elif col in _DATE_COLUMNS:
            if pd.api.types.is_datetime64_any_dtype(values.dtype) and values.dt.tz is None:
                codes, days = pd.factorize(values)                 # few distinct dates: format each once
                iso = np.empty(len(days) + 1, dtype=object)
                iso[:-1] = np.datetime_as_string(days.to_numpy(dtype="datetime64[D]"), unit="D")
                iso[-1] = None                                      # code -1: missing
                out[col] = pd.Series(iso[codes], index=out.index, dtype="object")
            else:
                out[col] = pd.Series(_convert(values, _iso_date), index=out.index, dtype="object")
    return out


def _jt_references(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """The Jacobson & Truax arguments of every scale that has them (w_jt_reference: reference SD,
    registry reliability and cutoff), by scale."""
    out = {}
    for ref in con.execute("SELECT * FROM w_jt_reference").df().to_dict("records"):
        reliability = None if pd.isna(ref["reliability"]) else float(ref["reliability"])
        sd = None if pd.isna(ref["reference_sd"]) else float(ref["reference_sd"])
        if reliability is None or sd is None:
            continue
        out[ref["scale"]] = {
            "reliability": reliability, "sd": sd,
            "cutoff": None if pd.isna(ref["cutoff"]) else float(ref["cutoff"]),
            "higher_is_better": not bool(ref["higher_is_worse"]),
            "clinical_at_cutoff": bool(ref["caseness_at_cutoff"]) if ref["cutoff_source"] == "registry" else None,
        }
    return out


def _jt_categories(con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per episode x scale: rc and Jacobson & Truax category against the clinic reference
    (w_jt_reference: reference SD, registry reliability and cutoff)."""
    references = _jt_references(con)
    parts = []
    for scale, group in pairs.groupby("scale", sort=True):
        if scale not in references:
            continue
        result = jacobson_truax(group["first_score"].astype(float), group["last_score"].astype(float),
                                **references[scale])
        parts.append(pd.DataFrame({
            "episode_id": group["episode_id"].to_numpy(), "scale": scale,
            "first_score": group["first_score"].to_numpy(), "last_score": group["last_score"].to_numpy(),
            "in_rates": group["in_rates"].to_numpy(),
            "rc": result["rc"].round(3).to_numpy(), "jt_category": result["category"].to_numpy(),
            "harmed": result["harmed"].to_numpy(),
        }))
    columns = ["episode_id", "scale", "first_score", "last_score", "in_rates", "rc", "jt_category", "harmed"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _placed(n: int, at: np.ndarray, values: Any, dtype: str) -> Any:
    """A column of ``n`` rows, missing except at positions ``at``, where it takes ``values`` (as
    ``dtype``: Int64 or Float64 from floats, where NaN becomes missing; string from an Arrow text
    array, where null is missing)."""
    if dtype == "string":
        # Arrow text (the Jacobson & Truax categories) taken by Arrow into place: a million-row
        # object column of mostly None took pandas 0.1 s a column to convert
        where = np.full(n, -1, dtype=np.int64)
        where[at] = np.arange(len(at))
        return pd.array(values.take(pa.array(where, mask=where < 0)), dtype="string")
    values = np.asarray(values, dtype="float64")
    data = np.zeros(n, dtype="int64" if dtype == "Int64" else "float64")
    missing = np.ones(n, dtype=bool)
    data[at] = np.nan_to_num(values) if dtype == "Float64" else np.nan_to_num(values).astype("int64")
    missing[at] = np.isnan(values)
    kind = pd.arrays.IntegerArray if dtype == "Int64" else pd.arrays.FloatingArray
    return kind(data, missing)


# Each row of the episode table by position (the table's order): per-scale columns are placed by
# position, read as numbers, instead of matching text episode ids in pandas.
_OUTCOME_ROWS = """CREATE OR REPLACE TEMP TABLE w_outcome_rows AS
SELECT episode_id, row_number() OVER (ORDER BY start_date, episode_id) - 1 AS pos
FROM w_outcome_scope WHERE in_range = 1 AND ($patient_id IS NULL OR patient_id = $patient_id)"""


def episode_outcomes(con: duckdb.DuckDBPyConnection, settings: Settings, *,
                     patient_id: str | None = None) -> pd.DataFrame:
    """One row per episode (`waypoint outcomes`): dates, ending, sessions, PHQ-9 and GAD-7 first/last/
    change, paired, at_caseness, recovered, reliable improvement/deterioration/recovery (0/1; empty
    where not applicable), intake band, in_rates (1: ended in the date range, so counted in the
    rates), and for PHQ-9, GAD-7 and every other registry scale scored in the data, Jacobson & Truax
    ``<scale>_rc`` and ``<scale>_jt_category`` (finished episodes with the scale scored at two or more
    sessions; empty otherwise). Episodes: those open in the date range, of the clinician and site
    asked for (module docstring); of ``patient_id`` only, when given (the same rows and columns as
    the clinic's, for that patient: the patient page)."""
    _prepared(con, settings)
    who = {"patient_id": patient_id}
    frame = _tidy(_episode_frame(con, "SELECT * EXCLUDE (in_range) FROM w_outcome_scope WHERE in_range = 1 "
                                      "AND ($patient_id IS NULL OR patient_id = $patient_id) "
                                      "ORDER BY start_date, episode_id", who))
    n = len(frame)
    con.execute(_OUTCOME_ROWS, who)
    # every scale's first and last score at its episode's row; jt: a pair of jt_pairs.sql
    pairs = _episode_frame(con, f"""SELECT p.scale, r.pos, p.first_score, p.last_score, p.scored_sessions,
                                          CASE WHEN j.episode_id IS NULL THEN 0 ELSE 1 END AS jt
                                   FROM w_scale_pairs p JOIN w_outcome_rows r ON r.episode_id = p.episode_id
                                   LEFT JOIN (SELECT episode_id, scale FROM ({_sql("jt_pairs.sql")[0]}
                                              ) WHERE episode_id IN (SELECT episode_id FROM w_outcome_rows)
                                   ) j ON j.episode_id = p.episode_id AND j.scale = p.scale""")
    references = _jt_references(con)
    scored = set(con.execute("SELECT DISTINCT scale FROM w_scale_pairs").df()["scale"])   # anywhere in the clinic
    # the pairs' columns as arrays once, each scale's rows by position (filtering the frame
    # scale by scale copied every column each time)
    scale_codes, scale_names = pd.factorize(pairs["scale"])
    code = {name: i for i, name in enumerate(scale_names)}
    positions = pairs["pos"].to_numpy(dtype="int64")
    values = {col: pairs[col].to_numpy(dtype="float64", na_value=np.nan)
              for col in ("first_score", "last_score", "scored_sessions")}
    in_jt = pairs["jt"].to_numpy(dtype="int64") == 1
    for scale in [s for s in load_registry() if s in scored or s in ("phq9", "gad7")]:
        rows = np.flatnonzero(scale_codes == code.get(scale, -2))
        at = positions[rows]
        if scale not in ("phq9", "gad7"):
            for col in ("first_score", "last_score", "scored_sessions"):
                frame[f"{scale}_{col.replace('_score', '')}"] = _placed(n, at, values[col][rows], "Int64")
        rows = rows[in_jt[rows]]
        at = positions[rows]
        rc = np.full(len(at), np.nan)
        category = pa.nulls(len(at), pa.large_string())
        if scale in references and len(at):
            result = jacobson_truax(values["first_score"][rows], values["last_score"][rows], **references[scale])
            rc = result["rc"].round(3).to_numpy(dtype="float64")
            category = pa.array(result["category"].array)
        frame[f"{scale}_rc"] = _placed(n, at, rc, "Float64")
        frame[f"{scale}_jt_category"] = _placed(n, at, category, "string")
    return frame.reset_index(drop=True)


def intake_mix(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "phq9") -> pd.DataFrame:
    """Severity at intake: the episodes of the view that started in the date range, by the severity
    band of their first score on ``scale`` (``sql/outcomes/intake_mix.sql``): band, episodes, share
    (4 places); every band of the registry in its order (zeros too), then "not scored" when any
    episode has no score on the scale. The same counts as grouping :func:`episode_outcomes`' rows
    that started in the range by ``intake_band`` (PHQ-9) or by ``<scale>_first``, without building
    them."""
    _prepared(con, settings)
    counts = _query(con, "intake_mix.sql", {"scale": scale, "date_from": settings.date_from,
                                            "date_to": settings.date_to})
    by_band = {band: int(n) for band, n in zip(counts["band"], counts["episodes"]) if isinstance(band, str)}
    not_scored = int(counts.loc[counts["band"].isna(), "episodes"].sum())
    spec = load_registry().get(scale)
    rows = [{"band": b.label, "episodes": by_band.get(b.label, 0)} for b in (spec.severity if spec else ())]
    if not_scored:
        rows.append({"band": "not scored", "episodes": not_scored})
    out = pd.DataFrame(rows, columns=["band", "episodes"]).astype({"episodes": "int64"})
    total = int(out["episodes"].sum()) if len(out) else 0
    out["share"] = [round(n / total, 4) if total else None for n in out["episodes"]]
    return out


# ---------------------------------------------------------------------------------------------
# trends
# ---------------------------------------------------------------------------------------------
def _long_rates(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    rows = []
    for _, row in counts.iterrows():
        for measure, (num, den) in MEASURES.items():
            rows.append({**{k: row[k] for k in keys}, "measure": measure,
                         "numerator": int(row[num]), "denominator": int(row[den])})
    frame = pd.DataFrame(rows, columns=[*keys, "measure", "numerator", "denominator"])
    if frame.empty:
        for col in ("rate", "ci_low", "ci_high"):
            frame[col] = pd.Series(dtype="Float64")
        return frame
    frame["numerator"] = frame["numerator"].astype("int64")
    frame["denominator"] = frame["denominator"].astype("int64")
    return add_rate_columns(frame, "numerator", "denominator")


def rates_by_month(con: duckdb.DuckDBPyConnection, settings: Settings, by: str | None = None) -> pd.DataFrame:
    """Every outcome rate by month of episode end (YYYY-MM), optionally by clinician_id, site or
    program (the episode's main modality). Long format: month, [by], measure (paired_completeness,
    recovery, reliable_improvement, reliable_deterioration, reliable_recovery, dropout), numerator,
    denominator, rate (4 places, NA when the denominator is 0), ci_low, ci_high (Wilson 95 %)."""
    _prepared(con, settings)
    counts = _rate_counts(con, period="month", by=by).rename(columns={"period": "month"})
    keys = ["month"]
    if by:
        counts = counts.rename(columns={"grp": by})
        keys.append(by)
    return _long_rates(counts, keys)


def rates(con: duckdb.DuckDBPyConnection, settings: Settings, by: str | None = None) -> pd.DataFrame:
    """Every outcome rate over the whole date range of ``settings`` (episodes that ended in it),
    optionally by clinician_id, site or program; same columns as :func:`rates_by_month` without month."""
    _prepared(con, settings)
    counts = _rate_counts(con, period="all", by=by)
    keys = []
    if by:
        counts = counts.rename(columns={"grp": by})
        keys.append(by)
    return _long_rates(counts, keys)


# ---------------------------------------------------------------------------------------------
# clinicians compared fairly
# ---------------------------------------------------------------------------------------------
def _poisson_ratio_interval(observed: int, expected: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood 1936) Poisson interval for observed / expected, as for a standardized ratio
    (Breslow & Day 1987, Statistical Methods in Cancer Research II, ch. 2)."""
    low, high = _poisson_ratio_intervals(np.asarray([observed]), np.asarray([expected], dtype=float), confidence)
    return (float(low[0]), float(high[0]))


def _poisson_ratio_intervals(observed: np.ndarray, expected: np.ndarray,
                             confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_poisson_ratio_interval` for many ratios in one call of scipy's chi-square quantile
    (the same values: ppf is elementwise), not one call each (1.2 s for 5,000 clinicians); NaN where
    nothing was expected."""
    observed = np.asarray(observed, dtype=np.int64)
    expected = np.asarray(expected, dtype=float)
    tail = (1.0 - confidence) / 2.0
    low = np.where(observed > 0, sps.chi2.ppf(tail, 2 * np.maximum(observed, 1)) / 2.0, 0.0)
    high = sps.chi2.ppf(1.0 - tail, 2 * (observed + 1)) / 2.0
    usable = np.nan_to_num(expected) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.where(usable, low / expected, np.nan), np.where(usable, high / expected, np.nan))


def case_mix(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """Case-mix-adjusted recovery by clinician: cases (paired, at caseness), observed recoveries,
    expected recoveries (the clinic-wide recovery rate of each case's intake PHQ-9 band, summed),
    oe_ratio = observed / expected with an exact Poisson 95 % interval (oe_ci_low, oe_ci_high)."""
    _prepared(con, settings, all_clinicians=True)
    return _case_mix(con)


def _case_mix(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    frame = _query(con, "case_mix.sql")
    ratios = [o / e if e else math.nan for o, e in zip(frame["observed"], frame["expected"])]
    lows, highs = _poisson_ratio_intervals(frame["observed"].to_numpy(dtype=np.int64),
                                           frame["expected"].to_numpy(dtype=float, na_value=np.nan))
    frame["expected"] = frame["expected"].astype(float).round(RATE_DECIMALS)
    frame["oe_ratio"] = np.round(ratios, RATE_DECIMALS) if ratios else []
    frame["oe_ci_low"] = np.round(lows, RATE_DECIMALS) if len(lows) else []
    frame["oe_ci_high"] = np.round(highs, RATE_DECIMALS) if len(highs) else []
    return frame


def ratio_beyond_chance(frame: pd.DataFrame) -> pd.Series:
    """For rows of :func:`case_mix` or the recovery rows of :func:`clinician_comparison`: True where
    the observed ÷ expected ratio's 95 % interval lies wholly above or wholly below 1 (more or fewer
    recoveries than the case mix explains, beyond chance); False where it crosses 1 or is missing."""
    low = pd.to_numeric(frame["oe_ci_low"], errors="coerce")
    high = pd.to_numeric(frame["oe_ci_high"], errors="coerce")
    return ((low > 1) | (high < 1)).fillna(False).astype(bool)


def clinicians_compared(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """:func:`clinician_comparison` for every clinician of the view: one who saw patients in the
    period and site (``engagement.sessions_delivered``) but had no episode end in it gets a row for
    each measure with no episodes (numerator and denominator 0, no rate, no signal), so that no
    clinician is left out of the comparison in silence. No episode ended at all: the comparison as
    it is (empty)."""
    from .engagement import sessions_delivered

    everyone = settings.with_(clinician_id=None)
    frame = clinician_comparison(con, everyone)
    seen = sessions_delivered(con, everyone)
    return with_every_clinician(frame, seen["clinician_id"] if "clinician_id" in seen else ())


def with_every_clinician(frame: pd.DataFrame, clinicians: Any) -> pd.DataFrame:
    """``frame`` (a clinician comparison) with a no-episodes row per measure for each of
    ``clinicians`` it lacks, in clinician order within each measure."""
    missing = sorted({str(c) for c in clinicians if not pd.isna(c)} - set(frame["clinician_id"]))
    if frame.empty or not missing:
        return frame
    extra = pd.DataFrame([
        {"clinician_id": c, "measure": measure, "numerator": 0, "denominator": 0, "target": target, "small": False}
        for measure, target in frame.groupby("measure", sort=False)["target"].first().items() for c in missing
    ]).reindex(columns=frame.columns)
    extra = extra.astype({c: frame[c].dtype for c in frame.columns if c not in ("signal",)}, errors="ignore")
    out = pd.concat([frame, extra], ignore_index=True)
    order = {m: i for i, m in enumerate(dict.fromkeys(frame["measure"]))}
    return out.sort_values(["measure", "clinician_id"], key=lambda s: s.map(order) if s.name == "measure" else s,
                           kind="stable").reset_index(drop=True)


def clinician_comparison(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """Funnel-plot data for recovery, reliable improvement and dropout: one row per clinician and
    measure with numerator, denominator, rate, Wilson 95 % ci_low/ci_high, target (the clinic's rate),
    binomial control limits for that number of cases (lower95, upper95, lower998, upper998;
    Spiegelhalter 2005), signal, small (denominator below settings.small_number: read with care),
    and for recovery the case-mix columns of :func:`case_mix` (expected, oe_ratio, oe_ci_low,
    oe_ci_high). Every clinician is compared, whatever settings.clinician_id says."""
    _prepared(con, settings, all_clinicians=True)
    counts = _rate_counts(con, period="all", by="clinician_id").rename(columns={"grp": "clinician_id"})
    mix = _case_mix(con).set_index("clinician_id")
    parts = []
    for measure in FUNNEL_MEASURES:
        num, den = MEASURES[measure]
        part = counts[["clinician_id", num, den]].rename(columns={num: "numerator", den: "denominator"})
        part = funnel_frame(part, "numerator", "denominator")
        part.insert(1, "measure", measure)
        cis = [wilson_interval(int(k), int(n)) for k, n in zip(part["numerator"], part["denominator"])]
        part["rate"] = [None if n == 0 else round(k / n, RATE_DECIMALS) for k, n in zip(part["numerator"], part["denominator"])]
        part["ci_low"] = [None if lo is None else round(lo, RATE_DECIMALS) for lo, _ in cis]
        part["ci_high"] = [None if hi is None else round(hi, RATE_DECIMALS) for _, hi in cis]
        part["small"] = part["denominator"] < settings.small_number
        for col in ("expected", "oe_ratio", "oe_ci_low", "oe_ci_high"):
            part[col] = (part["clinician_id"].map(mix[col]).astype(float) if measure == "recovery"
                         else np.full(len(part), math.nan))
        parts.append(part)
    columns = ["clinician_id", "measure", "numerator", "denominator", "rate", "ci_low", "ci_high", "target",
               "lower95", "upper95", "lower998", "upper998", "signal", "small",
               "expected", "oe_ratio", "oe_ci_low", "oe_ci_high"]
    if not parts or counts.empty:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)[columns]
    for col in ("rate", "ci_low", "ci_high"):
        out[col] = pd.array(out[col], dtype="Float64")
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# data quality
# ---------------------------------------------------------------------------------------------
def data_quality(con: duckdb.DuckDBPyConnection, settings: Settings, *, by_month: bool = True) -> pd.DataFrame:
    """Paired-data completeness (by the episode's clinician and month of end) and the share of
    attended sessions with any score (by the session's clinician and month): measure, clinician_id,
    month, numerator, denominator, rate, ci_low, ci_high (Wilson 95 %). ``by_month=False``: one row
    per measure and clinician over the whole range (month None), every clinician of either measure
    in both: one who saw patients but had no episode finish in the range gets a paired-completeness
    row of 0 of 0 (no rate), so that no clinician is left out of a measure in silence."""
    _prepared(con, settings)
    frame = _query(con, "data_quality.sql", {
        "clinician_id": settings.clinician_id, "site": settings.site,
        "date_from": settings.date_from, "date_to": settings.date_to, "by_month": by_month,
    })
    if not by_month:
        frame = _in_every_quality_measure(frame)
    frame = frame.sort_values(["measure", "clinician_id", "month"], kind="stable").reset_index(drop=True)
    return add_rate_columns(frame, "numerator", "denominator")


QUALITY_MEASURES = ("paired_completeness", "sessions_scored")   # the measures of data_quality.sql


def _in_every_quality_measure(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (data quality over the whole range) with a row of 0 of 0 for each clinician a
    measure lacks."""
    clinicians = sorted({c for c in frame["clinician_id"] if not pd.isna(c)})
    have = set(zip(frame["measure"], frame["clinician_id"]))
    missing = [{"measure": m, "clinician_id": c, "month": None, "numerator": 0, "denominator": 0}
               for m in QUALITY_MEASURES for c in clinicians if (m, c) not in have]
    if not missing:
        return frame
    extra = pd.DataFrame(missing).astype({c: frame[c].dtype for c in ("numerator", "denominator")})
    return pd.concat([frame, extra.reindex(columns=frame.columns)], ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Jacobson & Truax by scale, trajectories
# ---------------------------------------------------------------------------------------------
def jt_summary(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """Jacobson & Truax for every scale in the registry, over the finished episodes that ended in the
    range with the scale scored at two or more sessions: reliability, reference_n / reference_sd
    (the clinic reference sample, w_jt_reference), s_diff, rc_points, cutoff and cutoff_source,
    n and the count per category (recovered, improved, unchanged, deteriorated; harmed is counted
    within deteriorated as well), and the pre-post effect size d = (mean first - mean last) / SD of
    first with its 95 % CI (Becker 1988; see reliable_change.pre_post_effect_size). For a scale
    where higher is better (ORS), a negative d is an improvement."""
    _prepared(con, settings)
    reference = con.execute("SELECT * FROM w_jt_reference").df()
    pairs = con.execute(f"SELECT * FROM ({_sql('jt_pairs.sql')[0]}\n) ORDER BY scale, episode_id").df()
    pairs = pairs[pairs["in_rates"] == 1]
    jt = _jt_categories(con, pairs)
    rows = []
    for _, ref in reference.iterrows():
        scale = ref["scale"]
        mine = pairs[pairs["scale"] == scale]
        cats = jt[jt["scale"] == scale]
        es = pre_post_effect_size(mine["first_score"].astype(float), mine["last_score"].astype(float))
        row = {
            "scale": scale, "name": ref["name"], "is_outcome": bool(ref["is_outcome"]),
            "higher_is_worse": bool(ref["higher_is_worse"]), "reliability": ref["reliability"],
            "reference_n": int(ref["reference_n"]), "reference_sd": ref["reference_sd"],
            "s_diff": ref["s_diff"], "rc_points": ref["rc_points"], "cutoff": ref["cutoff"],
            "cutoff_source": ref["cutoff_source"], "n": int(len(mine)),
        }
        for category in ("recovered", "improved", "unchanged", "deteriorated"):
            row[category] = int((cats["jt_category"] == category).sum())
        row["harmed"] = int(cats["harmed"].fillna(False).astype(bool).sum())
        row.update({"mean_first": es.mean_pre, "mean_last": es.mean_post, "sd_first": es.sd_pre,
                    "r_pre_post": es.r, "d": es.d, "d_ci_low": es.ci_low, "d_ci_high": es.ci_high})
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("reliability", "reference_sd", "s_diff", "rc_points", "cutoff", "mean_first", "mean_last",
                "sd_first", "r_pre_post", "d", "d_ci_low", "d_ci_high"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64").round(4)
    return out


def trajectories(con: duckdb.DuckDBPyConnection, settings: Settings, *, patient_id: str | None = None,
                 episode_id: str | None = None) -> pd.DataFrame:
    """Every score with its session number, weeks since the episode's start, change from the first
    score, severity band and whether the change so far is reliable (published threshold, else Jacobson
    & Truax): see sql/outcomes/trajectories.sql. Filtered by patient, episode, and the episode's main
    clinician and site of ``settings``; not by the date range (a trajectory is shown whole)."""
    _prepare(con, settings, with_outcomes=False)
    frame = _query(con, "trajectories.sql", {
        "patient_id": patient_id, "episode_id": episode_id,
        "clinician_id": settings.clinician_id, "site": settings.site,
    })
    frame = _tidy(frame)
    for col in ("session_number", "score", "first_score", "change_from_first"):
        frame[col] = pd.array(_convert(frame[col], int), dtype="Int64")
    frame["reliable"] = pd.array(_convert(frame["reliable"], bool), dtype="boolean")
    for col in ("severity_band", "threshold_source", "reliable_direction"):  # missing: NA (None in records)
        frame[col] = pd.array(_convert(frame[col], str), dtype="string")
    return frame


# ---------------------------------------------------------------------------------------------
# the SQL behind a number
# ---------------------------------------------------------------------------------------------
def figure_names() -> list[str]:
    """Names accepted by :func:`sql_for`."""
    return sorted(_FIGURE_SQL)


def sql_for(name: str) -> str:
    """The SQL behind a figure (a `waypoint kpis` key, or episode_outcomes, rates_by_month,
    trajectories, clinician_comparison, case_mix, data_quality, jt_summary, readiness_categories):
    the work tables it reads, then its own files, each headed by its path under sql/."""
    if name not in _FIGURE_SQL:
        raise KeyError(f"no SQL recorded for {name!r}; known: {', '.join(figure_names())}")
    files = list(_WORK_TABLES) if name != "attendance" else list(_WORK_TABLES[:1])   # reads w_sessions only
    files += [f for f in _FIGURE_SQL[name] if f not in files]

    def header(f: str) -> str:
        table = _WORK_TABLE_OF.get(f)
        return f"-- ==== sql/{f}" + (f"  ->  TEMP TABLE {table}" if table else "") + " ===="

    preamble = ("-- The SQL behind '" + name + "', in the order it runs. scale_registry and scale_bands are the\n"
                "-- scale registry (analytics/scales.toml) as tables; $names are the settings (as-of date, filters).")
    return "\n\n".join([preamble] + [f"{header(f)}\n{read_sql(f).rstrip()}" for f in files]) + "\n"
