"""Shared statistics: rates with Wilson intervals, funnel-plot control limits.

scipy does the work; these wrappers give the same shape everywhere (numerator, denominator, rate,
ci_low, ci_high) and null where the denominator is 0.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
from scipy import special, stats

RATE_DECIMALS = 4  # outcomes issue: rates as fractions rounded to 4 places


def rate(numerator: int, denominator: int, decimals: int = RATE_DECIMALS) -> float | None:
    """numerator / denominator rounded, or None when the denominator is 0."""
    if not denominator:
        return None
    return round(numerator / denominator, decimals)


def wilson_interval(numerator: int, denominator: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval for a proportion: the value of
    ``scipy.stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")``,
    computed with scipy's own arithmetic (Newcombe 1998, "Two-sided confidence intervals for the
    single proportion", Statistics in Medicine 17:857-872, method 3) without the binomial test
    binomtest also runs: 0.7 ms a rate that way, which was seconds for a table of a clinic's
    clinicians by month. tests/test_stats_wilson.py holds the two equal, bit for bit."""
    if not denominator:
        return (None, None)
    k, n = int(numerator), int(denominator)
    if k < 0 or k > n:
        raise ValueError(f"a proportion needs 0 <= numerator <= denominator, not {k} of {n}")
    z = _z_two_sided(confidence)
    p = k / n
    denom = 2 * (n + z**2)
    center = (2 * n * p + z**2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z**2)
    low = 0.0 if k == 0 else center - delta
    high = 1.0 if k == n else center + delta
    return (float(low), float(high))


@functools.lru_cache(maxsize=8)
def _z_two_sided(confidence: float) -> float:
    """The normal quantile of a two-sided interval at ``confidence`` (1.959963984540054 at 0.95)."""
    return float(special.ndtri(0.5 + 0.5 * confidence))


def add_rate_columns(frame: pd.DataFrame, numerator: str, denominator: str, prefix: str = "") -> pd.DataFrame:
    """Add `<prefix>rate`, `<prefix>ci_low`, `<prefix>ci_high` (Wilson 95 %) to a frame of counts."""
    out = frame.copy()
    rates, lows, highs = [], [], []
    for k, n in zip(out[numerator], out[denominator]):
        k = 0 if pd.isna(k) else int(k)
        n = 0 if pd.isna(n) else int(n)
        rates.append(rate(k, n))
        lo, hi = wilson_interval(k, n)
        lows.append(None if lo is None else round(lo, RATE_DECIMALS))
        highs.append(None if hi is None else round(hi, RATE_DECIMALS))
    out[f"{prefix}rate"] = pd.Series(rates, index=out.index, dtype="Float64")
    out[f"{prefix}ci_low"] = pd.Series(lows, index=out.index, dtype="Float64")
    out[f"{prefix}ci_high"] = pd.Series(highs, index=out.index, dtype="Float64")
    return out


def funnel_limits(p0: float, n: int, coverage: float) -> tuple[float, float]:
    """Binomial control limits around a target proportion p0 for n cases, as in a funnel plot.

    Exact binomial quantiles with the interpolation of Spiegelhalter (2005), "Funnel plots for
    comparing institutional performance", Statistics in Medicine 24:1185-1202, Appendix A.1.
    coverage 0.95 gives the ~2 SD limits, 0.998 the ~3 SD limits.
    """
    low, high = funnel_limits_many(p0, np.asarray([n]), coverage)
    return (float(low[0]), float(high[0]))


def funnel_limits_many(p0: float, ns: np.ndarray, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`funnel_limits` for many n at once (one scipy call per quantity, not per n)."""
    ns = np.asarray(ns, dtype=float)
    nan = np.full(ns.shape, math.nan)
    if math.isnan(p0):
        return nan, nan.copy()
    if p0 <= 0.0 or p0 >= 1.0:
        same = np.where(ns > 0, p0, math.nan)
        return same, same.copy()
    safe = np.where(ns > 0, ns, 1.0)

    def limit(prob: float) -> np.ndarray:
        r = stats.binom.ppf(prob, safe, p0)
        at = stats.binom.cdf(r, safe, p0)
        below = np.where(r > 0, stats.binom.cdf(r - 1, safe, p0), 0.0)
        step = at - below
        alpha = np.divide(at - prob, step, out=np.zeros_like(step), where=step > 0)
        return np.where(ns > 0, np.clip((r - alpha) / safe, 0.0, 1.0), math.nan)

    tail = (1.0 - coverage) / 2.0
    return limit(tail), limit(1.0 - tail)


def funnel_frame(frame: pd.DataFrame, numerator: str, denominator: str, *, p0: float | None = None) -> pd.DataFrame:
    """For each row (a clinician), its rate and the 95 % and 99.8 % limits around the overall rate.

    Adds: rate, target, lower95, upper95, lower998, upper998, signal ('above 99.8 %', 'above 95 %',
    'within', 'below 95 %', 'below 99.8 %', or None with no cases).
    """
    out = frame.copy()
    total_n = out[denominator].fillna(0).sum()
    if p0 is None:
        p0 = float(out[numerator].fillna(0).sum() / total_n) if total_n else math.nan
    ks = out[numerator].fillna(0).astype(int).to_numpy()
    ns = out[denominator].fillna(0).astype(int).to_numpy()
    lo95, hi95 = funnel_limits_many(p0, ns, 0.95)
    lo998, hi998 = funnel_limits_many(p0, ns, 0.998)
    # The signal is an exact binomial tail test (is k this far out by chance less than 2.5 % /
    # 0.1 % of the time?). The interpolated limits are for drawing the funnel; compared with
    # them, a small clinician's top possible rate (2 of 2) would wrongly show as "above".
    if math.isnan(p0):
        up = down = np.full(ns.shape, math.nan)
    else:
        up, down = stats.binom.sf(ks - 1, ns, p0), stats.binom.cdf(ks, ns, p0)
    signals = []
    for n, u, d in zip(ns, up, down):
        if not n or math.isnan(p0):
            signals.append(None)
        else:
            signals.append("above 99.8 %" if u < 0.001 else "above 95 %" if u < 0.025 else
                           "below 99.8 %" if d < 0.001 else "below 95 %" if d < 0.025 else "within")
    out["rate"] = [k / n if n else math.nan for k, n in zip(ks, ns)]
    out["target"] = p0
    for key, values in (("lower95", lo95), ("upper95", hi95), ("lower998", lo998), ("upper998", hi998)):
        out[key] = [float(v) for v in values]
    out["signal"] = signals
    return out
