"""Kaplan–Meier for many groups in one pass (engagement.kaplan_meier_groups) gives what
scipy.stats.ecdf gives one group at a time: the same survival and log-log band, to the last bit
before rounding, and so the same four-place curves."""
import warnings

import numpy as np
import pytest
from scipy import stats

from analytics.engagement import MAX_SESSIONS, _km_arrays, kaplan_meier_groups


def scipy_curve(times, events):
    """scipy's survival function and log-log band at 1..MAX_SESSIONS (the reference)."""
    result = stats.ecdf(stats.CensoredData.right_censored(np.asarray(times, float), ~np.asarray(events, bool)))
    ks = np.arange(1, MAX_SESSIONS + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        band = result.sf.confidence_interval(0.95, method="log-log")
        return result.sf.evaluate(ks), band.low.evaluate(ks), band.high.evaluate(ks)


def random_groups(seed, groups=40):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 30, size=groups)
    codes = np.repeat(np.arange(groups), sizes)
    times = rng.integers(0, 26, size=codes.size)          # some beyond 20, some 0, many ties
    events = rng.random(codes.size) < rng.choice([0.0, 0.3, 0.8, 1.0], size=groups)[codes]
    return times, events, codes


@pytest.mark.parametrize("seed", range(6))
def test_every_group_matches_scipy_bit_for_bit(seed):
    times, events, codes = random_groups(seed)
    groups = codes.max() + 1
    ours = _km_arrays(times, events, codes, groups, MAX_SESSIONS)
    ks = np.arange(1, MAX_SESSIONS + 1)
    for g in range(groups):
        sf, low, high = scipy_curve(times[codes == g], events[codes == g])
        np.testing.assert_array_equal(ours["sf"][g, ks], sf)
        before_any_dropout = sf == 1               # scipy's band is NaN there; Waypoint shows 1..1
        np.testing.assert_array_equal(ours["low"][g, ks][~before_any_dropout], low[~before_any_dropout])
        np.testing.assert_array_equal(ours["high"][g, ks][~before_any_dropout], high[~before_any_dropout])


def test_at_risk_counts_episodes_with_at_least_k_sessions_in_each_group():
    times, events, codes = np.array([0, 3, 25, 2, 2]), np.array([1, 0, 0, 1, 1], bool), np.array([0, 0, 0, 1, 1])
    curves = kaplan_meier_groups(times, events, codes, ["a", "b"])
    a = curves[curves["group"] == "a"].set_index("sessions")["at_risk"]
    b = curves[curves["group"] == "b"].set_index("sessions")["at_risk"]
    assert list(a.loc[[1, 3, 4, 20]]) == [2, 2, 1, 1]
    assert list(b.loc[[1, 2, 3]]) == [2, 2, 0]


def test_groups_come_out_in_the_order_named_and_a_name_without_episodes_gets_nones():
    curves = kaplan_meier_groups([1, 2], [True, False], [1, 1], ["empty", "two"])
    assert list(dict.fromkeys(curves["group"])) == ["empty", "two"]
    empty = curves[curves["group"] == "empty"]
    assert empty["survival"].isna().all() and (empty["at_risk"] == 0).all()
    assert list(curves.loc[curves["group"] == "two", "survival"].head(3)) == [0.5, 0.5, None]


def test_fractional_sessions_are_refused():
    with pytest.raises(ValueError, match="whole numbers"):
        kaplan_meier_groups([1.5], [True], [0], ["a"])


@pytest.mark.parametrize("seed", range(3))
def test_counted_rows_give_the_curves_of_one_row_per_episode(seed):
    """retention_counts.sql hands the curves one row per group, sessions and dropout, with how many
    episodes it stands for: the curves are those of the episodes one by one, to the last bit."""
    times, events, codes = random_groups(seed)
    names = [f"g{i}" for i in range(codes.max() + 1)]
    keys, weights = np.unique(np.stack([codes, times, events.astype(int)]), axis=1, return_counts=True)
    counted = kaplan_meier_groups(keys[1], keys[2].astype(bool), keys[0], names, weights=weights)
    one_by_one = kaplan_meier_groups(times, events, codes, names)
    assert len(weights) < len(times)
    assert counted.equals(one_by_one)


@pytest.mark.parametrize("weights", [[1, 0], [1], [2, -1], [1, 1.5]])
def test_weights_are_whole_episodes_one_per_row(weights):
    with pytest.raises(ValueError, match="weights are whole numbers of episodes"):
        kaplan_meier_groups([1, 2], [True, False], [0, 0], ["a"], weights=weights)
