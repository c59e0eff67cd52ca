"""Attendance and engagement: attendance, frequency, access, endings, retention, the
disengagement watch list and capacity (engagement issue).

Every figure is computed by a file in ``sql/engagement/`` over the work tables built by
:func:`analytics.episodes.prepare`; scipy does the statistics (funnel limits; Kaplan–Meier is numpy,
for every group at once, checked bit for bit against ``scipy.stats.ecdf``).
"""
from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from . import workcache
from .episodes import prepare
from .errors import WaypointError
from .settings import Settings
from .sqlfiles import read_sql
from .stats import rate

COUNTS = ("attended", "no_show", "late_cancel", "cancelled")
DIMENSIONS = ("clinician_id", "month", "weekday", "hour", "modality", "site", "session_number")
INTEGER_DIMENSIONS = ("weekday", "hour", "session_number")
_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
ATTENDANCE_COUNTS = ("attendance.sql", "attendance_all.sql")   # over attendance_scope.sql's sessions


# ---------------------------------------------------------------------------------------------
# running the SQL
# ---------------------------------------------------------------------------------------------
def _query(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run ``sql/engagement/<name>`` with the named parameters it uses (and only those). The
    attendance counts (ATTENDANCE_COUNTS) read ``scoped``, the sessions attendance_scope.sql keeps:
    it is given to them here, so that the scope is written once."""
    sql = read_sql(f"engagement/{name}")
    if name in ATTENDANCE_COUNTS:
        sql = f"WITH scoped AS (\n{read_sql('engagement/attendance_scope.sql')}\n)\nSELECT * FROM (\n{sql}\n) AS counted"
    used = set(_PARAM_RE.findall(sql))
    missing = used - set(params)
    if missing:
        raise KeyError(f"engagement/{name} needs parameter(s) {', '.join(sorted(missing))}")
    return con.execute(sql, {k: params[k] for k in used}).df()


def _scope(settings: Settings, as_of: date | None) -> dict[str, Any]:
    """The parameters every engagement query may use."""
    return {
        "as_of": as_of,
        "clinician_id": settings.clinician_id,
        "site": settings.site,
        "date_from": settings.date_from,
        "date_to": settings.date_to,
        "disengaged_days": settings.disengaged_days,
        "consecutive_missed": settings.consecutive_missed,
        "remitted_weeks": settings.remitted_weeks,
    }


def _prepared(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    return _scope(settings, prepare(con, settings))


# ---------------------------------------------------------------------------------------------
# attendance
# ---------------------------------------------------------------------------------------------
def _with_rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Add attendance_rate and no_show_rate (over attended + no_show + late_cancel)."""
    out = counts.copy()
    took_place = [int(a) + int(n) + int(lc) for a, n, lc in zip(out["attended"], out["no_show"], out["late_cancel"])]
    out["attendance_rate"] = pd.Series([rate(int(a), t) for a, t in zip(out["attended"], took_place)],
                                       index=out.index, dtype="object")
    out["no_show_rate"] = pd.Series([rate(int(n), t) for n, t in zip(out["no_show"], took_place)],
                                    index=out.index, dtype="object")
    return out


def _attendance_counts(con: duckdb.DuckDBPyConnection, params: dict[str, Any], dimension: str) -> pd.DataFrame:
    return _int_counts(_query(con, "attendance.sql", {**params, "dimension": dimension}))


def _attendance_counts_all(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """What :func:`_attendance_counts` gives for "overall" and for each of DIMENSIONS, from one pass
    over the sessions (attendance_all.sql), for the report that shows them all."""
    frame = _int_counts(_query(con, "attendance_all.sql", params))
    return {dimension: frame[frame["dimension"] == dimension].drop(columns="dimension").reset_index(drop=True)
            for dimension in ("overall", *DIMENSIONS)}


def _int_counts(frame: pd.DataFrame) -> pd.DataFrame:
    for col in COUNTS:
        frame[col] = frame[col].astype("int64")
    return frame


def attendance_overall(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """Attendance over the sessions in scope on or before the as-of date:
    ``{attended, no_show, late_cancel, cancelled, attendance_rate, no_show_rate}``.

    Counts are ints; the rates are fractions of attended + no_show + late_cancel rounded to 4
    places, None when that is 0. settings.clinician_id / site / date_from / date_to filter by the
    session's clinician, site and date.
    """
    return _overall(con, _prepared(con, settings))


def _overall(con: duckdb.DuckDBPyConnection, params: dict[str, Any],
             frame: pd.DataFrame | None = None) -> dict[str, Any]:
    """``frame``: the "overall" counts when already read (:func:`_attendance_counts_all`)."""
    if frame is None:
        frame = _attendance_counts(con, params, "overall")
    counts = {col: int(frame[col].sum()) for col in COUNTS}
    took_place = counts["attended"] + counts["no_show"] + counts["late_cancel"]
    return {
        **counts,
        "attendance_rate": rate(counts["attended"], took_place),
        "no_show_rate": rate(counts["no_show"], took_place),
    }


def attendance_by(con: duckdb.DuckDBPyConnection, settings: Settings, dimension: str) -> pd.DataFrame:
    """Attendance counts and rates by one dimension: clinician_id, month (YYYY-MM), weekday
    (ISO: 1 = Monday), hour (sessions with a time only), modality, site or session_number.

    Columns: <dimension>, attended, no_show, late_cancel, cancelled, attendance_rate, no_show_rate;
    ordered by the dimension (not recorded last).
    """
    return _attendance_by(con, _prepared(con, settings), dimension)


def _attendance_by(con: duckdb.DuckDBPyConnection, params: dict[str, Any], dimension: str,
                   counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """``counts``: that dimension's counts when already read (:func:`_attendance_counts_all`)."""
    if dimension not in DIMENSIONS:
        raise WaypointError(f"attendance cannot be broken down by {dimension!r}; choose one of {', '.join(DIMENSIONS)}")
    if counts is None:
        counts = _attendance_counts(con, params, dimension)
    frame = counts.rename(columns={"value": dimension})
    if dimension in INTEGER_DIMENSIONS:
        frame[dimension] = pd.array([None if pd.isna(v) else int(v) for v in frame[dimension]], dtype="Int64")
    frame = frame.sort_values(dimension, na_position="last", kind="stable").reset_index(drop=True)
    return _with_rates(frame)[[dimension, *COUNTS, "attendance_rate", "no_show_rate"]]


# ---------------------------------------------------------------------------------------------
# frequency
# ---------------------------------------------------------------------------------------------
CADENCES = ("weekly", "fortnightly", "monthly", "longer")


def frequency(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """Attended sessions per active patient per month.

    Columns: month (YYYY-MM), active_patients, attended_sessions, sessions_per_patient (2 places).
    A patient is active in a month when an episode of theirs runs through it (between its first
    and last attended session); the episode's clinician and site scope it.
    """
    return _frequency(con, _prepared(con, settings))


def _frequency(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> pd.DataFrame:
    frame = _query(con, "frequency.sql", params)
    frame["sessions_per_patient"] = pd.Series(
        [rate(int(s), int(p), 2) for s, p in zip(frame["attended_sessions"], frame["active_patients"])],
        index=frame.index, dtype="object")
    return frame


def session_intervals(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """One row per attended session after the first of its episode: episode_id, patient_id,
    clinician_id, session_number, session_date, previous_date, days_since_previous, cadence
    (weekly <= 10 days, fortnightly <= 21, monthly <= 45, longer)."""
    return _over_intervals(con, _prepared(con, settings), "SELECT * FROM intervals ORDER BY episode_id, session_number")


def interval_summary(intervals: pd.DataFrame) -> pd.DataFrame:
    """Intervals by session number, to show tapering: session_number, intervals, median_days,
    mean_days (1 place), and how many fell in each cadence band; from the rows of
    :func:`session_intervals` (sql/engagement/interval_summary.sql over them)."""
    con = duckdb.connect()
    try:
        con.register("intervals", intervals[["session_number", "days_since_previous", "cadence"]])
        return _rounded_means(con.execute(read_sql("engagement/interval_summary.sql")).df())
    finally:
        con.close()


def intervals_by_session_number(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """:func:`interval_summary` of the intervals in scope, computed where the sessions are."""
    return _interval_summary(con, _prepared(con, settings))


def _interval_summary(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> pd.DataFrame:
    return _rounded_means(_over_intervals(con, params, read_sql("engagement/interval_summary.sql")))


def first_to_second_gaps(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """The wait from the first to the second attended session as a histogram in weeks, over the
    intervals of :func:`session_intervals` with session_number 2: from_days, to_days (0-6, 7-13,
    ...), episodes; weeks without an episode left out (sql/engagement/gap_histogram.sql)."""
    frame = _over_intervals(con, _prepared(con, settings), read_sql("engagement/gap_histogram.sql"))
    return frame.astype({"from_days": "int64", "to_days": "int64", "episodes": "int64"})


def _over_intervals(con: duckdb.DuckDBPyConnection, params: dict[str, Any], sql: str) -> pd.DataFrame:
    """``sql`` over the intervals of the view (intervals_in_scope.sql over the work table
    w_intervals), given to it as the relation ``intervals``."""
    workcache.table(con, "w_intervals", read_sql("engagement/intervals.sql"))
    intervals = read_sql("engagement/intervals_in_scope.sql")
    used = set(_PARAM_RE.findall(intervals))
    return con.execute(f"WITH intervals AS (\n{intervals}\n)\n{sql}", {k: params[k] for k in used}).df()


def _rounded_means(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"session_number": "int64", "intervals": "int64", **{c: "int64" for c in CADENCES}})
    frame["mean_days"] = [round(float(v), 1) for v in frame["mean_days"]]
    return frame[["session_number", "intervals", "median_days", "mean_days", *CADENCES]]


# ---------------------------------------------------------------------------------------------
# access
# ---------------------------------------------------------------------------------------------
def access_by_episode(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """One row per episode: referral, first and second attended dates, the waits between them
    (days), over_6_weeks / over_18_weeks flags, and waiting / days_waiting for those referred and
    not yet seen."""
    return _query(con, "access.sql", _prepared(con, settings))


def access_waits(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """Summary of :func:`access_by_episode`:

    ``{referral_to_first: {episodes, median_days, over_6_weeks, over_6_weeks_share,
    over_18_weeks, over_18_weeks_share, referral_after_first_session},
    first_to_second: {episodes, median_days}, waiting: {episodes, median_days, over_6_weeks,
    over_18_weeks}}``. Shares are of the episodes with both dates; a referral recorded after the
    first session (a negative wait) is counted apart and left out of the shares and medians.
    """
    return _access_waits(con, _prepared(con, settings))


def _access_waits(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> dict[str, Any]:
    access = read_sql("engagement/access.sql")
    used = set(_PARAM_RE.findall(access))
    sql = f"WITH access AS (\n{access}\n)\n{read_sql('engagement/access_summary.sql')}"
    cursor = con.execute(sql, {k: params[k] for k in used})
    row = dict(zip([c[0] for c in cursor.description], cursor.fetchall()[0]))

    def median(value: Any) -> float | None:
        return None if value is None else float(value)

    n = int(row["referral_episodes"])
    over6, over18 = int(row["over_6_weeks"]), int(row["over_18_weeks"])
    return {
        "referral_to_first": {
            "episodes": n, "median_days": median(row["referral_median_days"]),
            "over_6_weeks": over6, "over_6_weeks_share": rate(over6, n),
            "over_18_weeks": over18, "over_18_weeks_share": rate(over18, n),
            "referral_after_first_session": int(row["referral_after_first_session"]),
        },
        "first_to_second": {
            "episodes": int(row["second_episodes"]), "median_days": median(row["second_median_days"]),
        },
        "waiting": {
            "episodes": int(row["waiting_episodes"]), "median_days": median(row["waiting_median_days"]),
            "over_6_weeks": int(row["waiting_over_6_weeks"]), "over_18_weeks": int(row["waiting_over_18_weeks"]),
        },
    }


# ---------------------------------------------------------------------------------------------
# endings and dropout
# ---------------------------------------------------------------------------------------------
ENDING_COUNTS = ("ended", "planned", "dropout", "dropout_explicit", "lost_contact", "transferred", "other",
                 "treated_once")


def endings(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """Endings of the episodes ended on the as-of date (end date within date_from..date_to):
    counts of ENDING_COUNTS plus dropout_rate = dropout / ended and treated_once_rate =
    treated_once / ended."""
    return _endings_overall(_endings(con, _prepared(con, settings)))


def _endings(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> pd.DataFrame:
    frame = _query(con, "endings.sql", params)
    for col in ENDING_COUNTS:
        frame[col] = frame[col].astype("int64")
    return frame


def _endings_overall(frame: pd.DataFrame) -> dict[str, Any]:
    counts = {col: int(frame[col].sum()) for col in ENDING_COUNTS}
    return {**counts, "dropout_rate": rate(counts["dropout"], counts["ended"]),
            "treated_once_rate": rate(counts["treated_once"], counts["ended"])}


def dropout_by_clinician(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """Endings and dropout rate by clinician with funnel-plot limits around the clinic's rate.

    Columns: clinician_id, ENDING_COUNTS, dropout_rate, target, lower95, upper95, lower998,
    upper998, signal (from :func:`analytics.stats.funnel_frame`), small (fewer ended episodes
    than settings.small_number). The target is the whole clinic's dropout rate even when
    settings.clinician_id picks one clinician's row.
    """
    return _dropout_by_clinician(con, _prepared(con, settings), settings.small_number)


def _dropout_by_clinician(con: duckdb.DuckDBPyConnection, params: dict[str, Any], small_number: int) -> pd.DataFrame:
    from .stats import funnel_frame

    frame = _endings(con, {**params, "clinician_id": None})
    out = funnel_frame(frame, "dropout", "ended")
    out["dropout_rate"] = pd.Series([rate(int(k), int(n)) for k, n in zip(out["dropout"], out["ended"])],
                                    index=out.index, dtype="object")
    for col in ("target", "lower95", "upper95", "lower998", "upper998"):
        out[col] = [None if pd.isna(v) else round(float(v), 4) for v in out[col]]
    out["small"] = out["ended"] < small_number
    if params.get("clinician_id") is not None:
        out = out[out["clinician_id"] == params["clinician_id"]]
    columns = ["clinician_id", *ENDING_COUNTS, "dropout_rate", "target", "lower95", "upper95", "lower998",
               "upper998", "signal", "small"]
    return out[columns].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# retention (Kaplan–Meier)
# ---------------------------------------------------------------------------------------------
MAX_SESSIONS = 20            # the issue: the curve for 1 to 20 attended sessions
KM_CI_METHOD = "log-log"     # exponential Greenwood (Kalbfleisch & Prentice 2002, The Statistical
                             # Analysis of Failure Time Data, 2nd ed., §1.4): stays within 0..1 without
                             # the clipping the plain Greenwood band (scipy's default) needs
RETENTION_GROUPS = {"clinician_id": "clinician_id", "clinician": "clinician_id",
                    "intake_severity": "intake_severity", "severity": "intake_severity"}
NO_INTAKE_PHQ9 = "no PHQ-9"


def _severity_bands(con: duckdb.DuckDBPyConnection) -> None:
    """The registry's severity bands as the temp table w_severity_bands(scale, low, high, label,
    band_order)."""
    from .scales import load_registry

    rows = [{"scale": s.id, "low": b.low, "high": b.high, "label": b.label, "band_order": i}
            for s in load_registry().values() for i, b in enumerate(s.severity)]
    frame = pd.DataFrame(rows, columns=["scale", "low", "high", "label", "band_order"])
    con.register("_severity_bands_df", frame)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE w_severity_bands AS "
                    "SELECT scale, CAST(low AS INTEGER) AS low, CAST(high AS INTEGER) AS high, "
                    "CAST(label AS VARCHAR) AS label, CAST(band_order AS INTEGER) AS band_order "
                    "FROM _severity_bands_df")
    finally:
        con.unregister("_severity_bands_df")


def retention_episodes(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """The Kaplan–Meier input, one row per episode: episode_id, clinician_id, sessions (attended),
    dropout (1 = event; planned, transferred, other endings and active episodes are censored),
    intake_severity (band of the first PHQ-9, None without one), intake_severity_order."""
    return _retention_episodes(con, _prepared(con, settings))


def _retention_episodes(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> pd.DataFrame:
    return _over_retention(con, params, "SELECT * FROM retention ORDER BY episode_id")


def _over_retention(con: duckdb.DuckDBPyConnection, params: dict[str, Any], sql: str,
                    more: dict[str, Any] | None = None) -> pd.DataFrame:
    """``sql`` over the rows of retention.sql, given to it as the relation ``retention``."""
    from .outcomes import build_scale_pairs   # lazily: outcomes imports this module's figures too

    _severity_bands(con)
    build_scale_pairs(con)                    # the intake PHQ-9 is the episode's first PHQ-9 score
    retention = read_sql("engagement/retention.sql")
    used = set(_PARAM_RE.findall(retention))
    return con.execute(f"WITH retention AS (\n{retention}\n)\n{sql}", {**{k: params[k] for k in used}, **(more or {})}).df()


def kaplan_meier(sessions, dropout, max_sessions: int = MAX_SESSIONS) -> pd.DataFrame:
    """Survival in treatment after k = 1..max_sessions attended sessions, S(k) = P(T > k), with
    T the attended sessions at dropout (right-censored: episodes that did not drop out), and its
    95 % log-log band: :func:`kaplan_meier_groups` for one group.

    Columns: sessions, survival, ci_low, ci_high (4 places), at_risk (episodes with at least k
    sessions). survival is None beyond the longest observed episode unless it has reached 0. Before
    any dropout (survival 1) the Greenwood variance is 0 and the band is 1..1, as R's survival
    package reports it; where survival is 0 the log-log band is undefined: None.
    """
    times = np.asarray(list(sessions), dtype=float)
    return kaplan_meier_groups(times, list(dropout), np.zeros(times.size, dtype=np.int64), ["all"],
                               max_sessions).drop(columns=["group"])


def _km_arrays(times: np.ndarray, events: np.ndarray, codes: np.ndarray, groups: int,
               max_sessions: int, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Kaplan–Meier survival and its log-log band at 0..max_sessions for every group at once
    (groups x times arrays). The same arithmetic, in the same order, as ``scipy.stats.ecdf`` on
    right-censored data (or, for a group where every episode dropped out, on uncensored data,
    which scipy computes as 1 - F) with ``sf.confidence_interval(method="log-log")`` evaluated at
    those times (bit-identical: tests/test_engagement_retention.py compares them): times are whole
    sessions, so a time with no dropout multiplies survival by exactly 1 and adds exactly 0 to
    Greenwood's sum, and the value at k is the value at the last observed time <= k. ``weights``:
    how many episodes each row stands for (rows of retention_counts.sql), 1 each when None; the
    counts are whole numbers, so the sums, and every figure after them, are the same either way."""
    from scipy import special

    width = max_sessions + 2                     # times 0..max_sessions, and "more" in the last column
    clipped = np.minimum(times, max_sessions + 1)
    weights = np.ones(times.size) if weights is None else np.asarray(weights, dtype=float)
    observed = np.zeros((groups, width))
    np.add.at(observed, (codes, clipped), weights)
    deaths = np.zeros((groups, width))
    np.add.at(deaths, (codes[events], clipped[events]), weights[events])
    n = observed.sum(axis=1, keepdims=True) - np.cumsum(observed, axis=1) + observed   # at risk: T >= t
    d = deaths
    with np.errstate(divide="ignore", invalid="ignore"):
        product_limit = np.cumprod(np.where(d > 0, (n - d) / n, 1.0), axis=1)
        total = observed.sum(axis=1, keepdims=True)
        uncensored = 1 - np.cumsum(d, axis=1) / total        # scipy's arithmetic when no one is censored
        sf = np.where(deaths.sum(axis=1, keepdims=True) == total, uncensored, product_limit)
        greenwood = np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0), axis=1)
        var = 1 / np.log(sf) ** 2 * greenwood
        se = np.sqrt(var)
        z = special.ndtri(1 / 2 + 0.95 / 2)
        lnl_points = np.log(-np.log(sf))
        z_se = z * se
        low = np.exp(-np.exp(lnl_points + z_se))
        high = np.exp(-np.exp(lnl_points - z_se))
    return {"sf": sf, "low": low, "high": high, "at_risk": n}


def kaplan_meier_groups(sessions, dropout, codes, names: list[str],
                        max_sessions: int = MAX_SESSIONS, weights=None) -> pd.DataFrame:
    """:func:`kaplan_meier` for many groups in one pass: ``codes[i]`` is the position in ``names``
    of episode i's group. Columns: group, sessions, survival, ci_low, ci_high, at_risk, one curve
    per name in the order of ``names`` (a name without episodes gets a curve of Nones).
    ``weights[i]``: how many episodes row i stands for (whole numbers of 1 or more; 1 when None)."""
    if KM_CI_METHOD != "log-log":
        raise NotImplementedError(KM_CI_METHOD)
    raw = np.asarray(sessions, dtype=float)
    times = raw.astype(np.int64)
    if raw.size and (not np.array_equal(times, raw) or times.min() < 0):
        raise ValueError("Kaplan-Meier times here are whole numbers of sessions, 0 or more")
    events = np.asarray(dropout, dtype=bool)
    codes = np.asarray(codes, dtype=np.int64)
    groups = len(names)
    if weights is not None:
        given = np.asarray(weights, dtype=float)
        weights = given.astype(np.int64)
        if weights.size != times.size or (weights.size and weights.min() < 1) or not np.array_equal(weights, given):
            raise ValueError("Kaplan-Meier weights are whole numbers of episodes, 1 or more, one per row")
    arrays = _km_arrays(times, events, codes, groups, max_sessions, weights)
    longest = np.full(groups, -1)
    np.maximum.at(longest, codes, times)
    ks = np.arange(1, max_sessions + 1)
    sf = arrays["sf"][:, ks]
    defined = (ks[None, :] <= longest[:, None]) | (sf == 0)
    one = sf == 1                                 # no dropout yet: the band is 1..1
    survival = _rounded(sf, defined)
    low = _rounded(np.where(one, 1.0, arrays["low"][:, ks]), defined)
    high = _rounded(np.where(one, 1.0, arrays["high"][:, ks]), defined)
    return pd.DataFrame({
        "group": pd.Series(np.repeat(np.asarray(names, dtype=object), len(ks)), dtype="str"),
        "sessions": np.tile(ks, groups).astype(int),
        "survival": pd.Series(survival, dtype="object"), "ci_low": pd.Series(low, dtype="object"),
        "ci_high": pd.Series(high, dtype="object"),
        "at_risk": arrays["at_risk"][:, ks].astype(np.int64).ravel(),
    })


def _rounded(values: np.ndarray, defined: np.ndarray) -> list[float | None]:
    """Each value rounded to 4 places by Python's round (correctly rounded, as the figures always
    were), None where it is not ``defined`` or not finite. Which is which is decided for the whole
    array at once: a Python call per value cost about 0.4 s of the attendance report's 5 s at ten
    million sessions (360,000 values in the retention curves by clinician)."""
    kept = (np.isfinite(values) & defined).ravel().tolist()
    return [round(v, 4) if ok else None for v, ok in zip(values.astype(float).ravel().tolist(), kept)]


def retention_curve(con: duckdb.DuckDBPyConnection, settings: Settings, by: str | None = None) -> pd.DataFrame:
    """Kaplan–Meier curve of staying in treatment (time = attended sessions, event = dropout),
    overall (group 'all') or by clinician_id or intake_severity (band of the first PHQ-9; 'no PHQ-9'
    for episodes without one, last).

    Columns: group, sessions (1..20), survival, ci_low, ci_high, at_risk. Episodes in scope by
    their clinician and site; the date range does not apply (active episodes have no end date).
    """
    return _retention_curve(con, _prepared(con, settings), by)


def _retention_curve(con: duckdb.DuckDBPyConnection, params: dict[str, Any], by: str | None,
                     counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """``counts``: the grouping's counts when already read (:func:`_retention_counts_all`)."""
    if by is not None and by not in RETENTION_GROUPS:
        raise WaypointError(f"retention cannot be grouped by {by!r}; choose clinician_id or intake_severity")
    group = "all" if by is None else RETENTION_GROUPS[by]
    if counts is None:
        counts = _over_retention(con, params, read_sql("engagement/retention_counts.sql"), {"group": group})
    if group == "all":
        codes, names = np.zeros(len(counts), dtype=np.int64), ["all"]
    elif group == "clinician_id":
        codes, uniques = pd.factorize(counts["grp"].astype(str), sort=True)
        names = [str(u) for u in uniques]
    else:
        label = counts["grp"].astype(object).where(counts["grp"].notna(), NO_INTAKE_PHQ9)
        order = counts["grp_order"].astype(float).fillna(float("inf"))
        grouped = pd.DataFrame({"order": order, "group": label}).groupby(["order", "group"], sort=True)
        codes, names = grouped.ngroup().to_numpy(), [str(g) for _, g in grouped.size().index]
    if not names:
        return pd.DataFrame(columns=["group", "sessions", "survival", "ci_low", "ci_high", "at_risk"])
    return kaplan_meier_groups(counts["sessions"].to_numpy(), counts["dropout"].to_numpy(), codes, names,
                               weights=counts["episodes"].to_numpy())


def _retention_counts_all(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> dict[str | None, pd.DataFrame]:
    """retention_counts.sql's counts for each grouping (None: all; clinician_id; intake_severity)
    from one pass over the episodes (retention_counts_all.sql), for the report that shows all three."""
    frame = _over_retention(con, params, read_sql("engagement/retention_counts_all.sql"))
    return {by: frame[frame["grouping"] == (by or "all")].drop(columns="grouping").reset_index(drop=True)
            for by in (None, "clinician_id", "intake_severity")}


# ---------------------------------------------------------------------------------------------
# disengagement watch list
# ---------------------------------------------------------------------------------------------
def watch_list(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """Active episodes with settings.consecutive_missed or more missed sessions (no-show or late
    cancel) since their latest attended one, or no attended session for more than
    settings.disengaged_days days.

    Columns: patient_id, episode_id, clinician_id, last_attended_date, days_since_attended,
    missed_in_a_row, next_booked_date (first 'scheduled' session after the as-of date, if any),
    reasons. Longest without a session first.
    """
    return _watch_list(con, _prepared(con, settings))


def _watch_list(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> pd.DataFrame:
    missed_in_a_row_table(con)
    return _query(con, "watch_list.sql", params)


def missed_in_a_row_table(con: duckdb.DuckDBPyConnection) -> None:
    """The work table w_missed_in_a_row (sql/engagement/missed_in_a_row.sql) beside the episode
    work tables of :func:`analytics.episodes.prepare`: the watch list and the readiness reasons
    count missed sessions in a row from the same table."""
    workcache.table(con, "w_missed_in_a_row", read_sql("engagement/missed_in_a_row.sql"))


# ---------------------------------------------------------------------------------------------
# capacity
# ---------------------------------------------------------------------------------------------
def remitted_attending(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """Active episodes with scores: episode_id, patient_id, clinician_id, last_attended_date,
    remitted_since (below caseness on every scale since), remitted_days, remitted_attending (1 when
    below caseness for settings.remitted_weeks weeks or more and attended within
    settings.disengaged_days days). settings.clinician_id filters by the episode's clinician."""
    params = _prepared(con, settings)
    frame = _remitted(con, params)
    if settings.clinician_id is not None:
        frame = frame[frame["clinician_id"] == settings.clinician_id].reset_index(drop=True)
    return frame


def _remitted(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> pd.DataFrame:
    _make_remitted(con, params)
    return con.execute("SELECT * FROM w_remitted ORDER BY episode_id").df()


def _make_remitted(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
    """w_remitted, the rows of remitted.sql, for capacity.sql to join: a work table kept with the
    episode tables it is built from (built again each time, it was 0.85 s of the attendance
    report at ten million sessions)."""
    sql = read_sql("engagement/remitted.sql")
    used = set(_PARAM_RE.findall(sql))
    workcache.table(con, "w_remitted", sql, {k: params[k] for k in used})


def capacity(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """Capacity by clinician on the as-of date: clinician_id, active_caseload, remitted_attending,
    recent_sessions (attended, last settings.remitted_weeks weeks), recent_sessions_remitted,
    remitted_share (of recent sessions taken by remitted patients still attending)."""
    return _capacity(con, _prepared(con, settings))


def _capacity(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> pd.DataFrame:
    _make_remitted(con, params)
    frame = _query(con, "capacity.sql", params)
    frame["remitted_share"] = pd.Series(
        [rate(int(k), int(n)) for k, n in zip(frame["recent_sessions_remitted"], frame["recent_sessions"])],
        index=frame.index, dtype="object")
    return frame


def sessions_delivered(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """Attended sessions per clinician per month: month (YYYY-MM), clinician_id,
    attended_sessions, patients."""
    return _query(con, "sessions_delivered.sql", _prepared(con, settings))


# ---------------------------------------------------------------------------------------------
# the report (`waypoint attendance`)
# ---------------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A JSON-ready Python value: dates as date, missing as None, numpy scalars as Python."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as a list of JSON-ready dicts (each cell as :func:`_plain` makes it). Converted a
    column at a time: numbers and dates in bulk, other columns value by value (the retention
    curves by clinician are a quarter of a million rows at ten million sessions)."""
    names = [str(name) for name in frame.columns]
    columns = [_plain_column(frame.iloc[:, i]) for i in range(frame.shape[1])]
    return [dict(zip(names, row)) for row in zip(*columns)] if columns else [{} for _ in range(len(frame))]


def _plain_column(column: pd.Series) -> list[Any]:
    """:func:`_plain` of every value of ``column``, as a list."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return column.to_numpy().tolist()                       # Python ints and bools, never missing
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = column.to_numpy()
        finite = np.isfinite(values).tolist()
        return [v if ok else None for v, ok in zip(values.tolist(), finite)]
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        missing = column.isna().to_numpy().tolist()
        return [None if gone else d for d, gone in zip(column.dt.date.tolist(), missing)]
    if isinstance(dtype, pd.StringDtype):                      # text: str, or missing
        missing = column.isna().to_numpy().tolist()
        return [None if gone else v for v, gone in zip(column.tolist(), missing)]
    values = column.tolist()
    if set(map(type, values)) <= _PLAIN_TYPES:                 # e.g. rates: Python floats and None
        return [None if v.__class__ is float and not math.isfinite(v) else v for v in values]
    return [_plain(v) for v in values]


_PLAIN_TYPES = {type(None), bool, int, float, str}


def _by_clinician(attendance: pd.DataFrame, ends: pd.DataFrame) -> pd.DataFrame:
    """Attendance (by the session's clinician) beside endings (by the episode's clinician)."""
    merged = attendance[["clinician_id", *COUNTS]].merge(
        ends[["clinician_id", "ended", "dropout"]], on="clinician_id", how="outer")
    for col in (*COUNTS, "ended", "dropout"):
        merged[col] = merged[col].fillna(0).astype("int64")
    merged = _with_rates(merged.sort_values("clinician_id", kind="stable").reset_index(drop=True))
    merged["dropout_rate"] = pd.Series([rate(int(k), int(n)) for k, n in zip(merged["dropout"], merged["ended"])],
                                       index=merged.index, dtype="object")
    return merged[["clinician_id", *COUNTS, "attendance_rate", "no_show_rate", "ended", "dropout", "dropout_rate"]]


def attendance_report(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """Everything `waypoint attendance` shows, JSON-ready.

    Keys: as_of, overall (= the `attendance` object of `waypoint kpis`), by_clinician, retention
    (overall curve, ``{sessions, survival, ci_low, ci_high}`` for 1..20), watch_list, and
    by_month, by_weekday, by_hour, by_modality, by_site, by_session_number, frequency, intervals
    (by session number), access, endings, dropout_funnel, retention_by_clinician,
    retention_by_intake_severity, capacity, sessions_delivered.
    """
    as_of = prepare(con, settings)
    params = _scope(settings, as_of)
    counts = _attendance_counts_all(con, params)      # every dimension's counts in one query
    attendance = _attendance_by(con, params, "clinician_id", counts["clinician_id"])
    ends = _endings(con, params)
    retention_counts = _retention_counts_all(con, params)   # the three curves' counts in one query
    retention = _retention_curve(con, params, None, retention_counts[None])
    report: dict[str, Any] = {
        "as_of": as_of,
        "overall": _overall(con, params, counts["overall"]),
        "by_clinician": records(_by_clinician(attendance, ends)),
        "retention": records(retention[["sessions", "survival", "ci_low", "ci_high"]]),
        "watch_list": records(_watch_list(con, params)),
    }
    for dimension in DIMENSIONS[1:]:
        report[f"by_{dimension}"] = records(_attendance_by(con, params, dimension, counts[dimension]))
    report.update({
        "frequency": records(_frequency(con, params)),
        "intervals": records(_interval_summary(con, params)),
        "access": _access_waits(con, params),
        "endings": _endings_overall(ends),
        "dropout_funnel": records(_dropout_by_clinician(con, params, settings.small_number)),
        "retention_by_clinician": records(_retention_curve(con, params, "clinician_id",
                                                           retention_counts["clinician_id"])),
        "retention_by_intake_severity": records(_retention_curve(con, params, "intake_severity",
                                                                 retention_counts["intake_severity"])),
        "capacity": records(_capacity(con, params)),
        "sessions_delivered": records(_query(con, "sessions_delivered.sql", params)),
    })
    return report
