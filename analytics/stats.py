"""Shared statistics: rates with Wilson intervals, funnel-plot control limits.

scipy does the work; these wrappers give the same shape everywhere (numerator, denominator, rate,
ci_low, ci_high) and null where the denominator is 0.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

RATE_DECIMALS = 4  # outcomes issue: rates as fractions rounded to 4 places


def rate(numerator: int, denominator: int, decimals: int = RATE_DECIMALS) -> float | None:
    """numerator / denominator rounded, or None when the denominator is 0."""
    if not denominator:
        return None
    return round(numerator / denominator, decimals)


def wilson_interval(numerator: int, denominator: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval for a proportion (scipy.stats.binomtest(...).proportion_ci)."""
    if not denominator:
        return (None, None)
    ci = stats.binomtest(int(numerator), int(denominator)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


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
    if n <= 0 or math.isnan(p0):
        return (math.nan, math.nan)
    if p0 <= 0.0 or p0 >= 1.0:
        return (p0, p0)
    dist = stats.binom(n, p0)

    def limit(prob: float) -> float:
        r = dist.ppf(prob)
        below = dist.cdf(r - 1) if r > 0 else 0.0
        step = dist.cdf(r) - below
        alpha = (dist.cdf(r) - prob) / step if step > 0 else 0.0
        return float(np.clip((r - alpha) / n, 0.0, 1.0))

    tail = (1.0 - coverage) / 2.0
    return (limit(tail), limit(1.0 - tail))


def _tail_up(p0: float, n: int, k: int) -> float:
    """P(X >= k) for X ~ Binomial(n, p0)."""
    return float(stats.binom.sf(k - 1, n, p0))


def _tail_down(p0: float, n: int, k: int) -> float:
    """P(X <= k) for X ~ Binomial(n, p0)."""
    return float(stats.binom.cdf(k, n, p0))


def funnel_frame(frame: pd.DataFrame, numerator: str, denominator: str, *, p0: float | None = None) -> pd.DataFrame:
    """For each row (a clinician), its rate and the 95 % and 99.8 % limits around the overall rate.

    Adds: rate, target, lower95, upper95, lower998, upper998, signal ('above 99.8 %', 'above 95 %',
    'within', 'below 95 %', 'below 99.8 %', or None with no cases).
    """
    out = frame.copy()
    total_n = out[denominator].fillna(0).sum()
    if p0 is None:
        p0 = float(out[numerator].fillna(0).sum() / total_n) if total_n else math.nan
    cols = {k: [] for k in ("rate", "target", "lower95", "upper95", "lower998", "upper998", "signal")}
    for k, n in zip(out[numerator].fillna(0), out[denominator].fillna(0)):
        k, n = int(k), int(n)
        lo95, hi95 = funnel_limits(p0, n, 0.95)
        lo998, hi998 = funnel_limits(p0, n, 0.998)
        r = k / n if n else math.nan
        # The signal is an exact binomial tail test (is k this far out by chance less than 2.5 % /
        # 0.1 % of the time?). The interpolated limits are for drawing the funnel; compared with
        # them, a small clinician's top possible rate (2 of 2) would wrongly show as "above".
        if not n or math.isnan(p0):
            signal = None
        else:
            up, down = _tail_up(p0, n, k), _tail_down(p0, n, k)
            signal = ("above 99.8 %" if up < 0.001 else "above 95 %" if up < 0.025 else
                      "below 99.8 %" if down < 0.001 else "below 95 %" if down < 0.025 else "within")
        for key, value in zip(cols, (r, p0, lo95, hi95, lo998, hi998, signal)):
            cols[key].append(value)
    for key, values in cols.items():
        out[key] = values
    return out
