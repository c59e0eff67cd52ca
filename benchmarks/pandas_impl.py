"""A straightforward pandas implementation of Waypoint's headline figures, for the benchmark.

It reads the canonical tables (sessions, measurements) into DataFrames and computes, with ordinary
pandas (groupby, sort, merge; no per-row Python), the same figures as the SQL behind
``analytics.outcomes.kpis``, ``analytics.outcomes.episode_outcomes`` (the NHS Talking Therapies
columns) and ``analytics.engagement.attendance_overall`` / ``attendance_by(..., "clinician_id")``,
with default Settings (no date range, no clinician or site filter). The benchmark checks that both
give identical results (:func:`compare`).

Definitions are those of sql/episodes/*.sql and sql/outcomes/*.sql; see the comments there.
Scores from a long measurement file (no session key) are matched to the patient's attended session
on the same date, the first by clinician, as in w_scores.sql.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.scales import load_registry
from analytics.settings import Settings

TOOK_PLACE = ("attended", "no_show", "late_cancel")
COUNTS = ("attended", "no_show", "late_cancel", "cancelled")

# Columns of analytics.outcomes.episode_outcomes that this implementation reproduces.
EPISODE_COLUMNS = (
    "episode_id", "patient_id", "clinician_id", "site", "program", "start_date", "first_attended_date",
    "last_session_date", "last_attended_date", "end_date", "end_month", "status", "ended", "ending",
    "lost_contact", "dropout", "sessions", "attended_sessions", "treatment_sessions", "finished_treatment",
    "phq9_first", "phq9_last", "phq9_change", "phq9_first_date", "phq9_last_date", "phq9_scored_sessions",
    "gad7_first", "gad7_last", "gad7_change", "gad7_first_date", "gad7_last_date", "gad7_scored_sessions",
    "intake_band", "paired", "at_caseness", "recovered", "reliable_improvement", "reliable_deterioration",
    "reliable_recovery",
)


@dataclass
class Tables:
    sessions: pd.DataFrame
    measurements: pd.DataFrame


def load(con) -> Tables:
    """The canonical tables as DataFrames (dates as datetime64, times as strings)."""
    sessions = con.execute(
        """SELECT session_key, patient_id, clinician_id, session_date, CAST(session_time AS VARCHAR) AS session_time,
                  status, session_type, modality, site, referral_date, discharge_reason, episode_id
           FROM sessions""").df()
    measurements = con.execute(
        "SELECT measurement_key, session_key, patient_id, measure_date, scale, score FROM measurements").df()
    return Tables(sessions, measurements)


def _rate(num: int, den: int) -> float | None:
    return None if not den else round(num / den, 4)


def _first_per(frame: pd.DataFrame, by: str, order: list[str], ascending: list[bool]) -> pd.DataFrame:
    """The first row of each group of ``by`` under this ordering (NULLs last, as DuckDB orders)."""
    ordered = frame.sort_values([by, *order], ascending=[True, *ascending], na_position="last", kind="stable")
    return ordered.drop_duplicates(by, keep="first")


def _main_by(ws: pd.DataFrame, column: str, *, dropna: bool) -> pd.Series:
    """Per episode, the value of ``column`` with the most attended sessions (ties: the latest
    session, then the value)."""
    part = ws if not dropna else ws[ws[column].notna()]
    grouped = part.groupby(["episode_id", column], dropna=False, sort=False).agg(
        n=("is_attended", "sum"), latest=("session_date", "max")).reset_index()
    best = _first_per(grouped, "episode_id", ["n", "latest", column], [False, False, True])
    return best.set_index("episode_id")[column]


def work_sessions(t: Tables, settings: Settings) -> tuple[pd.DataFrame, pd.Timestamp]:
    s = t.sessions
    took = s["status"].isin(TOOK_PLACE)
    as_of = pd.Timestamp(settings.as_of) if settings.as_of else (
        s.loc[took, "session_date"].max() if took.any() else s["session_date"].max())
    ws = s[s["session_date"] <= as_of].copy()
    ws["is_attended"] = (ws["status"] == "attended").astype(np.int64)
    assessment = ws["session_type"].fillna("").str.lower().str.contains("assess", regex=False)
    ws["is_treatment"] = ((ws["is_attended"] == 1) & ~assessment).astype(np.int64)
    ws = ws.sort_values(["episode_id", "session_date", "session_time", "session_key"], na_position="last", kind="stable")
    number = ws.groupby(["episode_id", "is_attended"], sort=False).cumcount() + 1
    ws["session_number"] = number.where(ws["is_attended"] == 1).astype("Int64")
    return ws, as_of


def work_episodes(ws: pd.DataFrame, as_of: pd.Timestamp, settings: Settings) -> pd.DataFrame:
    att_date = ws["session_date"].where(ws["is_attended"] == 1)
    g = ws.assign(att_date=att_date).groupby("episode_id", sort=False)
    ep = g.agg(patient_id=("patient_id", "min"), start_date=("session_date", "min"),
               last_session_date=("session_date", "max"), first_attended_date=("att_date", "min"),
               last_attended_date=("att_date", "max"), sessions=("session_key", "size"),
               attended_sessions=("is_attended", "sum"), treatment_sessions=("is_treatment", "sum"),
               referral_date=("referral_date", "min"))
    discharged = ws[ws["discharge_reason"].notna()]
    discharge = _first_per(discharged, "episode_id", ["session_date", "session_time", "session_key"],
                           [False, False, False]).set_index("episode_id")["discharge_reason"]
    ep["clinician_id"] = _main_by(ws, "clinician_id", dropna=False)
    ep["site"] = _main_by(ws, "site", dropna=False)
    ep["program"] = _main_by(ws, "modality", dropna=True)
    reason = discharge.reindex(ep.index)
    lost = (as_of - ep["last_session_date"]).dt.days > settings.lost_contact_days
    ended = reason.notna() | lost
    ep["ended"] = ended.astype(np.int64)
    ep["ending"] = reason.where(reason.notna(), pd.Series(np.where(lost, "dropout", None), index=ep.index))
    ep["lost_contact"] = (reason.isna() & lost).astype(np.int64)
    ep["end_date"] = ep["last_session_date"].where(ended)
    ep["finished_treatment"] = (ended & (ep["treatment_sessions"] >= settings.min_treatment_sessions)).astype(np.int64)
    return ep


def work_scores(t: Tables, ws: pd.DataFrame) -> pd.DataFrame:
    attended = ws[ws["is_attended"] == 1][["session_key", "episode_id", "patient_id", "clinician_id",
                                           "session_date", "session_number"]]
    m = t.measurements
    keyed = m[m["session_key"].notna()][["measurement_key", "session_key", "scale", "score"]]
    by_key = keyed.merge(attended, on="session_key", how="inner")
    loose = m[m["session_key"].isna()]
    if len(loose):
        by_date = loose[["measurement_key", "patient_id", "measure_date", "scale", "score"]].merge(
            attended, left_on=["patient_id", "measure_date"], right_on=["patient_id", "session_date"], how="inner")
        by_date = _first_per(by_date, "measurement_key", ["clinician_id", "session_key"], [True, True])
        by_key = pd.concat([by_key, by_date[by_key.columns]], ignore_index=True)
    return by_key


def scale_pairs(scores: pd.DataFrame) -> pd.DataFrame:
    order = scores.sort_values(["episode_id", "scale", "session_number", "measurement_key"], kind="stable")
    g = order.groupby(["episode_id", "scale"], sort=False)
    first = g.head(1).set_index(["episode_id", "scale"])
    last = g.tail(1).set_index(["episode_id", "scale"])
    out = pd.DataFrame({
        "scored_sessions": g["session_key"].nunique(),
        "first_score": first["score"], "first_date": first["session_date"],
        "last_score": last["score"], "last_date": last["session_date"],
    })
    return out.reset_index()


def episode_outcomes(t: Tables, settings: Settings = Settings()) -> tuple[pd.DataFrame, pd.Timestamp]:
    """One row per episode with the NHS Talking Therapies outcome columns (EPISODE_COLUMNS)."""
    registry = load_registry()
    phq9, gad7 = registry["phq9"], registry["gad7"]
    ws, as_of = work_sessions(t, settings)
    ep = work_episodes(ws, as_of, settings)
    pairs = scale_pairs(work_scores(t, ws))
    for scale in ("phq9", "gad7"):
        p = pairs[pairs["scale"] == scale].set_index("episode_id")
        ep[f"{scale}_first"] = p["first_score"].reindex(ep.index).astype("Int64")
        ep[f"{scale}_last"] = p["last_score"].reindex(ep.index).astype("Int64")
        ep[f"{scale}_change"] = ep[f"{scale}_last"] - ep[f"{scale}_first"]
        ep[f"{scale}_first_date"] = p["first_date"].reindex(ep.index)
        ep[f"{scale}_last_date"] = p["last_date"].reindex(ep.index)
        ep[f"{scale}_scored_sessions"] = p["scored_sessions"].reindex(ep.index).fillna(0).astype(np.int64)

    pf, gf = ep["phq9_first"].astype("Float64"), ep["gad7_first"].astype("Float64")
    pl, gl = ep["phq9_last"].astype("Float64"), ep["gad7_last"].astype("Float64")
    pc, gc = ep["phq9_change"].astype("Float64"), ep["gad7_change"].astype("Float64")
    paired = (ep["finished_treatment"] == 1) & (ep["phq9_scored_sessions"] >= 2) & (ep["gad7_scored_sessions"] >= 2)
    case = ((pf >= phq9.cutoff) | (gf >= gad7.cutoff)).fillna(False)
    at_caseness = pd.Series(pd.NA, index=ep.index, dtype="Int64")
    at_caseness[pf.notna() & gf.notna()] = 0
    at_caseness[case] = 1
    below_end = ((pl < phq9.cutoff) & (gl < gad7.cutoff)).fillna(False)
    fall = ((pc <= -phq9.reliable_change) | (gc <= -gad7.reliable_change)).fillna(False)
    rise = ((pc >= phq9.reliable_change) | (gc >= gad7.reliable_change)).fillna(False)
    paired_case = paired & (at_caseness == 1).fillna(False)

    def flag(values: pd.Series, where: pd.Series) -> pd.Series:
        return values.astype("Int64").where(where, pd.NA)

    ep["paired"] = paired.astype(np.int64)
    ep["at_caseness"] = at_caseness
    ep["recovered"] = flag(below_end, paired_case)
    ep["reliable_improvement"] = flag(fall & ~rise, paired)
    ep["reliable_deterioration"] = flag(rise & ~fall, paired)
    ep["reliable_recovery"] = flag(below_end & fall & ~rise, paired_case)
    ep["dropout"] = (ep["ending"] == "dropout").astype(np.int64)
    ep["status"] = np.where(ep["ended"] == 1, "ended", "active")
    ep["end_month"] = ep["end_date"].dt.strftime("%Y-%m")
    bands = phq9.severity
    labels = pd.Series(pd.NA, index=ep.index, dtype="object")
    for band in bands:
        labels[(pf >= band.low).fillna(False) & (pf <= band.high).fillna(False)] = band.label
    ep["intake_band"] = labels
    ep = ep.reset_index().sort_values(["start_date", "episode_id"], kind="stable").reset_index(drop=True)
    return ep[list(EPISODE_COLUMNS)], as_of


def attendance(ws: pd.DataFrame, by: str | None = None) -> Any:
    """Attendance counts and rates (sessions that took place or were cancelled, on or before as-of)."""
    counted = ws[ws["status"].isin(COUNTS)]
    if by is None:
        counts = {c: int((counted["status"] == c).sum()) for c in COUNTS}
        took = counts["attended"] + counts["no_show"] + counts["late_cancel"]
        return {**counts, "attendance_rate": _rate(counts["attended"], took),
                "no_show_rate": _rate(counts["no_show"], took)}
    table = pd.crosstab(counted[by], counted["status"]).reindex(columns=list(COUNTS), fill_value=0)
    table = table.sort_index().reset_index().rename_axis(columns=None)
    took = table["attended"] + table["no_show"] + table["late_cancel"]
    table["attendance_rate"] = [_rate(int(a), int(d)) for a, d in zip(table["attended"], took)]
    table["no_show_rate"] = [_rate(int(n), int(d)) for n, d in zip(table["no_show"], took)]
    return table


def figures(t: Tables, settings: Settings = Settings()) -> dict[str, Any]:
    """kpis (the dict of analytics.outcomes.kpis), episode outcomes, attendance by clinician."""
    outcomes, as_of = episode_outcomes(t, settings)
    ws, _ = work_sessions(t, settings)
    ended = outcomes[outcomes["ended"] == 1]
    paired = ended["paired"] == 1
    row = {
        "ended": len(ended), "dropout": int(ended["dropout"].sum()),
        "finished_treatment": int(ended["finished_treatment"].sum()), "paired": int(paired.sum()),
        "at_caseness": int((paired & (ended["at_caseness"] == 1).fillna(False)).sum()),
        **{k: int(ended[k].fillna(0).sum()) for k in ("recovered", "reliable_improvement",
                                                      "reliable_deterioration", "reliable_recovery")},
    }
    pre = ended.loc[paired & (ended["finished_treatment"] == 1) & (ended["phq9_scored_sessions"] >= 2), ["phq9_first", "phq9_last"]]
    pre = pre.dropna().astype(float)
    sd = pre["phq9_first"].std(ddof=1) if len(pre) >= 2 else float("nan")
    d = None if len(pre) < 2 or not sd else round(float((pre["phq9_first"].mean() - pre["phq9_last"].mean()) / sd), 3)
    kpis = {
        "as_of": as_of.date().isoformat() if pd.notna(as_of) else None,
        "episodes": len(outcomes), "active": int((outcomes["ended"] == 0).sum()),
        "ended": row["ended"], "finished_treatment": row["finished_treatment"], "paired": row["paired"],
        "paired_completeness": _rate(row["paired"], row["finished_treatment"]),
        "at_caseness": row["at_caseness"], "recovered": row["recovered"],
        "recovery_rate": _rate(row["recovered"], row["at_caseness"]),
        "reliable_improvement": row["reliable_improvement"],
        "reliable_improvement_rate": _rate(row["reliable_improvement"], row["paired"]),
        "reliable_deterioration": row["reliable_deterioration"],
        "reliable_deterioration_rate": _rate(row["reliable_deterioration"], row["paired"]),
        "reliable_recovery": row["reliable_recovery"],
        "reliable_recovery_rate": _rate(row["reliable_recovery"], row["at_caseness"]),
        "dropout": row["dropout"], "dropout_rate": _rate(row["dropout"], row["ended"]),
        "phq9_pre_post_d": d,
        "attendance": attendance(ws),
    }
    return {"kpis": kpis, "episode_outcomes": outcomes, "attendance_by_clinician": attendance(ws, "clinician_id")}


# ---------------------------------------------------------------------------------------------
# the check: identical results
# ---------------------------------------------------------------------------------------------
def _normal(frame: pd.DataFrame, columns: list[str]) -> dict[str, list]:
    """Comparable values per column: dates as ISO text, numbers as float, missing as None."""
    out: dict[str, list] = {}
    for col in columns:
        values = frame[col].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(values):
            values = values.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            values = values.astype("Float64")
        missing = values.isna().to_numpy()
        out[col] = [None if m else (v.isoformat() if hasattr(v, "isoformat") else
                                    float(v) if isinstance(v, (int, float, np.number)) else v)
                    for v, m in zip(values.astype(object), missing)]
    return out


def compare(waypoint: dict[str, Any], pandas_figures: dict[str, Any]) -> list[str]:
    """Differences between Waypoint's figures and the pandas ones ([] when identical)."""
    problems: list[str] = []
    kp_w, kp_p = waypoint["kpis"], pandas_figures["kpis"]
    for key in kp_p:
        if kp_w.get(key) != kp_p[key]:
            problems.append(f"kpis[{key!r}]: waypoint {kp_w.get(key)!r} != pandas {kp_p[key]!r}")
    ew = waypoint["episode_outcomes"].sort_values("episode_id").reset_index(drop=True)
    ep = pandas_figures["episode_outcomes"].sort_values("episode_id").reset_index(drop=True)
    if len(ew) != len(ep):
        problems.append(f"episode_outcomes: {len(ew)} rows != pandas {len(ep)}")
    else:
        cols = [c for c in EPISODE_COLUMNS if c in ew.columns]
        missing = sorted(set(EPISODE_COLUMNS) - set(cols))
        if missing:
            problems.append(f"episode_outcomes lacks {missing}")
        a, b = _normal(ew, cols), _normal(ep, cols)
        for col in cols:
            diff = [i for i, (x, y) in enumerate(zip(a[col], b[col])) if x != y]
            if diff:
                i = diff[0]
                problems.append(f"episode_outcomes[{col!r}]: {len(diff)} rows differ, e.g. episode "
                                f"{ew['episode_id'][i]}: waypoint {a[col][i]!r} != pandas {b[col][i]!r}")
    aw = waypoint["attendance_by_clinician"].reset_index(drop=True)
    ap = pandas_figures["attendance_by_clinician"]
    cols = ["clinician_id", *COUNTS, "attendance_rate", "no_show_rate"]
    if len(aw) != len(ap) or _normal(aw, cols) != _normal(ap, cols):
        problems.append("attendance by clinician differs")
    return problems
