"""Wilson score intervals (stats.wilson_interval): the figures every rate's 95 % interval shows,
equal to scipy's binomtest(...).proportion_ci(method="wilson") without running the test itself."""
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from analytics.stats import add_rate_columns, wilson_interval

SMALL = [(k, n) for n in range(1, 41) for k in range(n + 1)]
LARGE = [(0, 5000), (1, 5000), (2499, 5000), (4999, 5000), (5000, 5000), (123_457, 1_000_003)]


def scipy_wilson(k: int, n: int, confidence: float) -> tuple[float, float]:
    ci = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_the_interval_is_scipys_bit_for_bit(confidence):
    for k, n in SMALL + LARGE:
        assert wilson_interval(k, n, confidence) == scipy_wilson(k, n, confidence), (k, n)


def test_five_of_ten_is_the_textbook_interval():
    low, high = wilson_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)


def test_none_and_all_reach_the_bounds():
    assert wilson_interval(0, 12)[0] == 0.0
    assert wilson_interval(12, 12)[1] == 1.0


def test_no_denominator_has_no_interval():
    assert wilson_interval(0, 0) == (None, None)


@pytest.mark.parametrize("k, n", [(-1, 5), (6, 5)])
def test_a_numerator_outside_the_denominator_is_refused(k, n):
    with pytest.raises(ValueError, match="0 <= numerator <= denominator"):
        wilson_interval(k, n)


def test_rate_columns_round_the_interval_to_four_places():
    frame = add_rate_columns(pd.DataFrame({"k": [5, 0], "n": [10, 0]}), "k", "n")
    assert frame.loc[0, ["rate", "ci_low", "ci_high"]].tolist() == [0.5, 0.2366, 0.7634]
    assert frame.loc[1, ["rate", "ci_low", "ci_high"]].isna().all()
