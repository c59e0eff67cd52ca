"""The readiness trend (Theil–Sen slope and its interval) is exactly scipy.stats.theilslopes,
computed without scipy's per-call overhead: ties in x and y, short series, every confidence."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analytics.readiness import _theil_slopes


def _series(seed: int) -> tuple[list[float], list[int]]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    x = sorted((rng.integers(0, 30, n) / 7).tolist())    # weeks, with repeated dates
    y = rng.integers(0, 27, n).tolist()                   # scores, with ties
    if len(set(x)) < 2:                                   # readiness asks for a trend over 2+ dates only
        x[-1] += 1.0
    return x, y


@pytest.mark.parametrize("alpha", [0.8, 0.9, 0.95])
@pytest.mark.parametrize("seed", range(40))
def test_trend_is_bit_for_bit_scipys_theilslopes(seed, alpha):
    x, y = _series(seed)
    expected = stats.theilslopes(y, x, alpha=alpha)
    assert _theil_slopes(y, x, alpha) == (float(expected.slope), float(expected.low_slope),
                                          float(expected.high_slope))


def test_a_steady_fall_of_one_point_a_week_has_slope_minus_one():
    slope, low, high = _theil_slopes([20, 19, 18, 17, 16], [0.0, 1.0, 2.0, 3.0, 4.0], 0.9)
    assert (slope, low, high) == (-1.0, -1.0, -1.0)
