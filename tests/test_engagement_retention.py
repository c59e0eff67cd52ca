"""Kaplan–Meier retention: time = attended sessions, event = dropout; planned, transferred and
active episodes are censored. Checked against a hand computation of the product-limit estimate and
its log-log (exponential Greenwood) band."""
import math
from statistics import NormalDist

import pytest

from analytics.engagement import kaplan_meier, retention_curve, retention_episodes
from analytics.errors import WaypointError
from analytics.settings import Settings
from tests.builders import S, clinic

Z = NormalDist().inv_cdf(0.975)


def weekly(patient, n, start_day=1, month="2024-01", last_status="attended", **last):
    """n attended weekly sessions from the given day; keyword args go on the last one."""
    rows = [S(patient, f"{month}-{start_day + 7 * i:02d}") for i in range(n)]
    rows[-1] = S(patient, f"{month}-{start_day + 7 * (n - 1):02d}", last_status, **last)
    return rows


def six_episodes():
    return clinic([
        *weekly("a", 1, discharge_reason="dropout"),            # event at 1
        *weekly("b", 2, discharge_reason="planned"),            # censored at 2
        *weekly("c", 2, discharge_reason="dropout"),            # event at 2
        *weekly("f", 4, discharge_reason="transferred"),        # censored at 4
        *weekly("e", 4),                                        # lost contact: event at 4
        # d: active on the as-of date (2024-06-01), 3 sessions: censored at 3
        S("d", "2024-05-18"), S("d", "2024-05-25"), S("d", "2024-06-01"),
    ])


def loglog_band(s, greenwood_sum):
    """Exponential Greenwood: S ** exp(+-z * sqrt(V) / |log S|)."""
    se = math.sqrt(greenwood_sum) / abs(math.log(s))
    return s ** math.exp(Z * se), s ** math.exp(-Z * se)


def test_episode_times_and_events():
    frame = retention_episodes(six_episodes(), Settings())
    assert frame[["episode_id", "sessions", "dropout"]].to_dict("records") == [
        {"episode_id": "a#1", "sessions": 1, "dropout": 1},
        {"episode_id": "b#1", "sessions": 2, "dropout": 0},
        {"episode_id": "c#1", "sessions": 2, "dropout": 1},
        {"episode_id": "d#1", "sessions": 3, "dropout": 0},
        {"episode_id": "e#1", "sessions": 4, "dropout": 1},
        {"episode_id": "f#1", "sessions": 4, "dropout": 0},
    ]


def test_curve_matches_the_hand_computed_product_limit_estimate_and_band():
    curve = retention_curve(six_episodes(), Settings())
    # at risk / dropouts:  k=1: 6/1   k=2: 5/1 (b, censored at 2, still at risk)   k=3: 3/0   k=4: 2/1
    s1, s2, s4 = 5 / 6, 5 / 6 * 4 / 5, 5 / 6 * 4 / 5 * 1 / 2
    v1, v2, v4 = 1 / (6 * 5), 1 / (6 * 5) + 1 / (5 * 4), 1 / (6 * 5) + 1 / (5 * 4) + 1 / (2 * 1)
    expected = []
    for k, s, v in [(1, s1, v1), (2, s2, v2), (3, s2, v2), (4, s4, v4)]:
        low, high = loglog_band(s, v)
        expected.append({"sessions": k, "survival": round(s, 4), "ci_low": round(low, 4),
                         "ci_high": round(high, 4)})
    got = curve[["sessions", "survival", "ci_low", "ci_high"]].head(4).to_dict("records")
    assert got == expected
    assert list(curve["at_risk"].head(5)) == [6, 5, 3, 2, 0]


def test_curve_has_one_row_per_session_count_from_1_to_20():
    curve = retention_curve(six_episodes(), Settings())
    assert list(curve["sessions"]) == list(range(1, 21))
    assert set(curve["group"]) == {"all"}


def test_survival_is_undefined_beyond_the_longest_episode_when_it_has_not_reached_zero():
    curve = retention_curve(six_episodes(), Settings())
    assert curve.loc[curve["sessions"] >= 5, "survival"].isna().all()


def test_survival_stays_zero_after_the_last_episode_drops_out():
    curve = kaplan_meier([1, 2], [True, True])
    assert list(curve["survival"].head(4)) == [0.5, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("ending", ["planned", "transferred", None])
def test_planned_transferred_and_active_episodes_are_censored_not_events(ending):
    rows = weekly("x", 3, discharge_reason=ending) + weekly("y", 1, discharge_reason="dropout", month="2024-02")
    curve = retention_curve(clinic(rows), Settings(as_of=None))
    # y drops out after 1 of 2 at risk; x (censored at 3) keeps the curve at 0.5 to 3 sessions
    assert list(curve["survival"].head(4)) == [0.5, 0.5, 0.5, None]


def test_band_is_one_to_one_while_no_one_has_dropped_out():
    curve = kaplan_meier([3, 5], [False, True])   # censored at 3, dropout at 5
    assert curve[["survival", "ci_low", "ci_high"]].head(4).to_dict("records") == [
        {"survival": 1.0, "ci_low": 1.0, "ci_high": 1.0}] * 4


def test_band_is_undefined_once_survival_reaches_zero():
    curve = kaplan_meier([1, 2], [True, True])
    assert curve.loc[1, "survival"] == 0.0
    assert curve.loc[1, "ci_low"] is None and curve.loc[1, "ci_high"] is None


def test_episodes_that_never_attended_count_from_zero_sessions():
    curve = kaplan_meier([0, 2], [True, False])
    assert list(curve["survival"].head(2)) == [0.5, 0.5]
    assert list(curve["at_risk"].head(3)) == [1, 1, 0]


def test_no_episodes_gives_an_empty_curve_of_nones():
    curve = retention_curve(clinic([]), Settings())
    assert len(curve) == 20 and curve["survival"].isna().all() and (curve["at_risk"] == 0).all()


def test_by_clinician_gives_one_curve_per_clinician():
    con = clinic([
        *weekly("a", 1, discharge_reason="dropout"),
        *[S("b", f"2024-01-{d:02d}", clinician_id="c2") for d in (1, 8)],
        S("b", "2024-01-15", clinician_id="c2", discharge_reason="planned"),
    ])
    curve = retention_curve(con, Settings(), by="clinician_id")
    assert list(curve["group"].unique()) == ["c1", "c2"]
    c1, c2 = curve[curve["group"] == "c1"], curve[curve["group"] == "c2"]
    assert c1["survival"].iloc[0] == 0.0
    assert list(c2["survival"].head(4)) == [1.0, 1.0, 1.0, None]


def test_by_intake_severity_uses_the_band_of_the_first_phq9_in_band_order():
    con = clinic([
        S("a", "2024-01-01", phq9=21), S("a", "2024-01-08", phq9=5, discharge_reason="dropout"),   # severe
        S("b", "2024-01-01", phq9=10), S("b", "2024-01-08", phq9=22, discharge_reason="planned"),  # moderate
        S("c", "2024-01-01", gad7=12, discharge_reason="dropout"),                                 # no PHQ-9
        S("d", "2024-01-01", phq9=14, discharge_reason="dropout"),                                 # moderate
    ])
    episodes = retention_episodes(con, Settings())
    assert list(episodes["intake_severity"].astype(object).where(episodes["intake_severity"].notna(), None)) == [
        "severe", "moderate", None, "moderate"]
    curve = retention_curve(con, Settings(), by="intake_severity")
    assert list(curve["group"].unique()) == ["moderate", "severe", "no PHQ-9"]
    moderate = curve[curve["group"] == "moderate"]
    assert list(moderate["survival"].head(2)) == [0.5, 0.5]


def test_clinician_setting_scopes_the_episodes():
    con = clinic([
        *weekly("a", 1, discharge_reason="dropout"),
        S("b", "2024-01-01", clinician_id="c2"), S("b", "2024-01-08", clinician_id="c2", discharge_reason="planned"),
    ])
    curve = retention_curve(con, Settings(clinician_id="c2"))
    assert list(curve["survival"].head(2)) == [1.0, 1.0]
    assert list(curve["at_risk"].head(2)) == [1, 1]


def test_unknown_grouping_is_a_user_error():
    with pytest.raises(WaypointError):
        retention_curve(six_episodes(), Settings(), by="weather")
