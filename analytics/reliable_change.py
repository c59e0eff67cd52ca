"""Jacobson & Truax (1991) reliable change and clinical significance, and the pre-post effect size.

Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach to defining
meaningful change in psychotherapy research. J Consult Clin Psychol 59(1):12-19.

Computed exactly as the R package `clinicalsignificance` (B. Claus; "JT" method) computes it, so that
its published results (../shared/reference-data/expected.csv) are reproduced:

- only complete pre/post pairs are used; a pair with a missing pre or post gets rc and category NaN;
- SD defaults to the sample SD (n - 1) of the pre scores of the complete pairs;
- SE = SD * sqrt(1 - r);  S_diff = sqrt(2) * SE;  RC = (post - pre) / S_diff;
- reliable when |RC| > 1.96, strictly (J&T 1991 p. 14: "an RC larger than 1.96"); RC is rounded to
  10 decimal places for this decision only, so floating-point noise cannot tip an exact 1.96;
- the cutoff: clinical at pre when beyond the cutoff on the clinical side, functional at post when
  beyond it on the healthy side. A score exactly at a numeric cutoff is on neither side (as the package
  does), unless ``clinical_at_cutoff`` says which side it belongs to (PHQ-9: 10 is clinical);
- recovered = reliably improved and moved from clinical (pre) to functional (post); improved = reliably
  improved otherwise; deteriorated = reliably worse; unchanged = neither. The package's fifth category,
  "harmed" (reliably worse, neither clinical at pre nor functional at post), is reported in the
  ``harmed`` column; its category stays "deteriorated" (the issue names four categories);
- with ``reliability=None`` only the cutoff is used (the package's "statistical approach"): improved =
  clinical at pre and functional at post, deteriorated = neither clinical at pre nor functional at post,
  unchanged otherwise.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

# J&T (1991): change is reliable when |RC| exceeds the 1.96 of a two-sided 5 % test.
RC_CRITICAL = 1.96

CATEGORIES = ("recovered", "improved", "unchanged", "deteriorated")


def _as_float_array(values: Sequence[float] | pd.Series | np.ndarray, name: str) -> np.ndarray:
    if isinstance(values, (pd.Series, np.ndarray)) and pd.api.types.is_numeric_dtype(values.dtype):
        # already numbers (a column of scores): the same floats, without a Python object per value
        return pd.Series(values).to_numpy(dtype="float64", na_value=np.nan)
    try:
        arr = pd.to_numeric(pd.Series(list(values), dtype="object"), errors="raise").astype("float64").to_numpy()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must contain numbers (or missing values): {exc}") from exc
    return arr


def s_diff(sd: float, reliability: float) -> float:
    """Standard error of the difference: sqrt(2) * SD * sqrt(1 - r) (J&T 1991, eq. 2)."""
    return math.sqrt(2.0) * sd * math.sqrt(1.0 - reliability)


def reliable_change_points(sd: float, reliability: float) -> float:
    """Points of change needed for reliable change: 1.96 * S_diff (J&T 1991)."""
    return RC_CRITICAL * s_diff(sd, reliability)


def cutoff_a(pre: Sequence[float], *, higher_is_better: bool = False) -> float:
    """Cutoff a: two SDs beyond the clinical mean toward the healthy side, M_pre -/+ 2 SD_pre
    (J&T 1991, p. 13), from the complete pre scores given."""
    arr = _as_float_array(pre, "pre")
    arr = arr[~np.isnan(arr)]
    m, sd = float(arr.mean()), float(arr.std(ddof=1))
    return m + 2 * sd if higher_is_better else m - 2 * sd


def cutoff_b(m_functional: float, sd_clinical: float, *, higher_is_better: bool = False) -> float:
    """Cutoff b as the package computes it: M_func -/+ 2 SD of the clinical sample toward the clinical side."""
    return m_functional - 2 * sd_clinical if higher_is_better else m_functional + 2 * sd_clinical


def cutoff_c(m_clinical: float, sd_clinical: float, m_functional: float, sd_functional: float) -> float:
    """Cutoff c: (SD_clin * M_func + SD_func * M_clin) / (SD_clin + SD_func) (J&T 1991, p. 13)."""
    return (sd_clinical * m_functional + sd_functional * m_clinical) / (sd_clinical + sd_functional)


def _known(values: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    """``values`` as a nullable boolean column, missing where ``known`` is False."""
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool) & known, ~known)


def _texts(codes: np.ndarray, texts: Sequence[str]) -> pd.api.extensions.ExtensionArray:
    """A string column of ``texts[code]`` for each code, missing where the code is -1."""
    chosen = pa.array(list(texts), type=pa.large_string()).take(pa.array(codes, mask=codes < 0))
    return pd.array(chosen, dtype="string")


def jacobson_truax(
    pre: Sequence[float],
    post: Sequence[float],
    *,
    reliability: float | None,
    sd: float | None = None,
    cutoff: float | None = None,
    higher_is_better: bool = False,
    clinical_at_cutoff: bool | None = None,
) -> pd.DataFrame:
    """Reliable change index and clinical-significance category for each pre/post pair.

    pre, post: sequences of equal length (NaN/None for missing). reliability: the instrument's
    reliability r (0 <= r < 1), or None for the cutoff-only ("statistical") approach. sd: the SD used
    for the standard error (default: sample SD of pre over complete pairs). cutoff: the clinical
    cutoff (None: reliable change only). clinical_at_cutoff: which side a score exactly at the cutoff
    is on (True: clinical, False: functional, None: neither, as the package does).

    Returns one row per pair, in input order: pre, post, change (post - pre), rc, clinical_pre,
    functional_post, category (recovered | improved | unchanged | deteriorated; NA for incomplete
    pairs), harmed. ``attrs`` holds n_used, sd, se, s_diff, rc_points and cutoff.
    """
    pre_arr = _as_float_array(pre, "pre")
    post_arr = _as_float_array(post, "post")
    if len(pre_arr) != len(post_arr):
        raise ValueError(f"pre and post must have the same length (got {len(pre_arr)} and {len(post_arr)})")
    if reliability is None and cutoff is None:
        raise ValueError("give a reliability, a cutoff, or both")
    if reliability is not None and not (0.0 <= reliability < 1.0):
        raise ValueError(f"reliability must be in [0, 1), got {reliability}")

    complete = ~np.isnan(pre_arr) & ~np.isnan(post_arr)
    n_used = int(complete.sum())
    if sd is None:
        sd = float(np.std(pre_arr[complete], ddof=1)) if n_used >= 2 else math.nan
    direction = 1.0 if higher_is_better else -1.0  # sign of a change toward health
    change = post_arr - pre_arr

    se = sdiff = points = math.nan
    rc = np.full(len(pre_arr), np.nan)
    improved = deteriorated = np.zeros(len(pre_arr), dtype=bool)
    if reliability is not None:
        se = sd * math.sqrt(1.0 - reliability)
        sdiff = math.sqrt(2.0) * se
        points = RC_CRITICAL * sdiff
        if sdiff > 0:
            rc = np.where(complete, change / sdiff, np.nan)
        # rounded to 10 places so that a change of exactly 1.96 * S_diff is not made reliable by
        # binary floating point (10 - 9.02 = 0.98000000000000043)
        decided = np.round(direction * rc, 10)
        improved = decided > RC_CRITICAL
        deteriorated = decided < -RC_CRITICAL

    clinical_pre = functional_post = np.zeros(len(pre_arr), dtype=bool)
    if cutoff is not None:
        # distance beyond the cutoff on the healthy side (> 0 healthy, < 0 clinical, 0 at it)
        pre_side = direction * (pre_arr - cutoff)
        post_side = direction * (post_arr - cutoff)
        clinical_pre = (pre_side < 0) | ((pre_side == 0) & (clinical_at_cutoff is True))
        functional_post = (post_side > 0) | ((post_side == 0) & (clinical_at_cutoff is False))

    # each pair's category as its place in CATEGORIES (-1: none), made text at the end: text
    # chosen pair by pair took most of the function's time for a million pairs
    harmed = np.zeros(len(pre_arr), dtype=bool)
    if reliability is not None:
        recovered = improved & clinical_pre & functional_post if cutoff is not None else np.zeros_like(improved)
        harmed = deteriorated & ~clinical_pre & ~functional_post if cutoff is not None else harmed
        codes = np.select([recovered, improved, deteriorated], [0, 1, 3], 2)
    else:
        codes = np.select([clinical_pre & functional_post, ~clinical_pre & ~functional_post], [1, 3], 2)
    codes[~complete] = -1
    if reliability is not None:
        codes[np.isnan(rc)] = -1  # no spread in pre (SD 0): no reliable-change decision possible

    out = pd.DataFrame({
        "pre": pre_arr,
        "post": post_arr,
        "change": np.where(complete, change, np.nan),
        "rc": rc,
        "clinical_pre": _known(clinical_pre, complete if cutoff is not None else np.zeros_like(complete)),
        "functional_post": _known(functional_post, complete if cutoff is not None else np.zeros_like(complete)),
        "category": _texts(codes, CATEGORIES),
        "harmed": _known(harmed, complete),
    })
    if isinstance(pre, pd.Series):
        out.index = pre.index
    out.attrs.update({"n_used": n_used, "sd": sd, "se": se, "s_diff": sdiff, "rc_points": points,
                      "cutoff": cutoff, "reliability": reliability})
    return out


@dataclass(frozen=True)
class EffectSize:
    """Pre-post standardized mean change (spec: mean first - mean last over the SD of first)."""

    n: int
    mean_pre: float
    mean_post: float
    sd_pre: float
    r: float
    d: float
    ci_low: float
    ci_high: float


def pre_post_effect_size(pre: Sequence[float], post: Sequence[float], confidence: float = 0.95) -> EffectSize:
    """d = (mean pre - mean post) / SD_pre (sample SD, n - 1) over complete pairs, with a CI.

    Positive d = scores fell (an improvement on a scale where higher is worse).
    CI: normal approximation with the large-sample variance of the standardized mean change using the
    pre-test SD (raw-score standardization), Becker (1988) Br J Math Stat Psychol 41:257-278, as in
    metafor's escalc(measure = "SMCR"): var(d) = 2(1 - r)/n + d^2/(2n), r the pre-post correlation.
    When r cannot be computed (a constant column) r = 0 is used, which widens the interval.
    NaN throughout with fewer than two pairs or a zero SD.
    """
    a = _as_float_array(pre, "pre")
    b = _as_float_array(post, "post")
    if len(a) != len(b):
        raise ValueError(f"pre and post must have the same length (got {len(a)} and {len(b)})")
    keep = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[keep], b[keep]
    n = int(len(a))
    nan = math.nan
    if n < 2:
        return EffectSize(n, float(a.mean()) if n else nan, float(b.mean()) if n else nan, nan, nan, nan, nan, nan)
    sd = float(a.std(ddof=1))
    m1, m2 = float(a.mean()), float(b.mean())
    if sd == 0:
        return EffectSize(n, m1, m2, sd, nan, nan, nan, nan)
    r = float(np.corrcoef(a, b)[0, 1]) if b.std() > 0 else nan
    d = (m1 - m2) / sd
    r_used = 0.0 if math.isnan(r) else r
    se = math.sqrt(2.0 * (1.0 - r_used) / n + d * d / (2.0 * n))
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    return EffectSize(n, m1, m2, sd, r, d, d - z * se, d + z * se)
