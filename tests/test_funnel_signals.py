"""Funnel plots: a clinician is flagged only when their count is unlikely by chance (exact binomial tails)."""
from __future__ import annotations

import pandas as pd
import pytest

from analytics.stats import funnel_frame


@pytest.mark.parametrize("k, n, signal", [
    (2, 2, "within"),           # P(X >= 2) = 0.25: a small clinician's top rate is not a signal
    (9, 10, "above 95 %"),      # P(X >= 9) = 11/1024 = 0.0107
    (10, 10, "above 99.8 %"),   # P(X >= 10) = 1/1024 = 0.00098
    (1, 10, "below 95 %"),      # P(X <= 1) = 0.0107
    (0, 10, "below 99.8 %"),    # P(X <= 0) = 0.00098
    (5, 10, "within"),
    (0, 0, None),
])
def test_signal_is_an_exact_binomial_tail_against_the_clinic_rate(k, n, signal):
    frame = funnel_frame(pd.DataFrame({"k": [k], "n": [n]}), "k", "n", p0=0.5)
    assert frame["signal"].tolist() == [signal]


def test_limits_for_drawing_follow_spiegelhalter_interpolation():
    frame = funnel_frame(pd.DataFrame({"k": [2], "n": [2]}), "k", "n", p0=0.5)
    # upper 97.5 % point: r = 2, alpha = (1 - 0.975) / P(X = 2) = 0.1, limit = (2 - 0.1) / 2
    assert frame["upper95"].tolist() == [pytest.approx(0.95)]
