"""Clinic trends and a fair comparison of clinicians (outcomes issue): rates by month and range with
Wilson intervals, funnel-plot limits, the case-mix-adjusted ratio, data quality, Jacobson & Truax by
scale, trajectories and the SQL behind each figure -- each on a tiny hand-worked clinic.

The clinic (as-of 2024-06-30; c1 works at site A with CBT, c2 at site B with counselling):

  ep  clinician  PHQ-9     GAD-7     ends     outcome
  p1  c1         18 -> 6   12 -> 5   Jan 16   recovered, reliable improvement (intake band moderately severe)
  p2  c1         12 -> 11   9 -> 9   Jan 17   case, not recovered                (moderate)
  p3  c1         22 -> 8   15 -> 6   Feb 19   recovered, reliable improvement    (severe)
  p4  c2         13 -> 13  10 -> 10  Jan 24   case, not recovered                (moderate)
  p5  c2         21 -> 19  16 -> 14  Feb 15   case, not recovered                (severe)
  p6  c2         16        -         Feb 2    one session, lost contact: dropout
  p7  c2         14        9         Feb 20   finished, second session unscored: not paired
"""
from __future__ import annotations

import math
import statistics
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analytics import outcomes
from analytics.settings import Settings
from analytics.sqlfiles import read_sql, sql_dir
from tests.builders import S, clinic

AS_OF = Settings(as_of=date(2024, 6, 30))
C1 = {"clinician_id": "c1", "site": "A", "modality": "CBT"}
C2 = {"clinician_id": "c2", "site": "B", "modality": "counselling"}


def two(patient, who, start, end, first, last, reason="planned"):
    return [S(patient, start, **who, **first), S(patient, end, **who, discharge_reason=reason, **last)]


SESSIONS = [
    *two("p1", C1, "2024-01-02", "2024-01-16", {"phq9": 18, "gad7": 12}, {"phq9": 6, "gad7": 5}),
    *two("p2", C1, "2024-01-03", "2024-01-17", {"phq9": 12, "gad7": 9}, {"phq9": 11, "gad7": 9}),
    *two("p3", C1, "2024-02-05", "2024-02-19", {"phq9": 22, "gad7": 15}, {"phq9": 8, "gad7": 6}),
    *two("p4", C2, "2024-01-10", "2024-01-24", {"phq9": 13, "gad7": 10}, {"phq9": 13, "gad7": 10}),
    *two("p5", C2, "2024-02-01", "2024-02-15", {"phq9": 21, "gad7": 16}, {"phq9": 19, "gad7": 14}),
    S("p6", "2024-02-02", **C2, phq9=16),
    *two("p7", C2, "2024-02-05", "2024-02-20", {"phq9": 14, "gad7": 9}, {}),
]


@pytest.fixture(scope="module")
def con():
    return clinic(SESSIONS)


def table(frame: pd.DataFrame, *keys: str) -> dict:
    """{(keys...): (numerator, denominator, rate, ci_low, ci_high)}, NA as None."""
    def clean(v):
        return None if pd.isna(v) else v
    return {tuple(r[k] for k in keys): tuple(clean(r[c]) for c in ("numerator", "denominator", "rate", "ci_low", "ci_high"))
            for r in frame.to_dict("records")}


# Wilson 95 % intervals, by hand: centre (p + z^2/2n) / (1 + z^2/n), half-width
# z sqrt(p(1 - p)/n + z^2/4n^2) / (1 + z^2/n), z = 1.95996. E.g. 1 of 3: (0.4269 -/+ 0.3654).
W_1_3 = (0.0615, 0.7923)
W_1_2 = (0.0945, 0.9055)
W_0_3 = (0.0, 0.5615)
W_0_2 = (0.0, 0.6576)
W_2_3 = (0.2077, 0.9385)
W_3_3 = (0.4385, 1.0)
W_1_4 = (0.0456, 0.6994)


def test_rates_by_month_of_episode_end_with_wilson_intervals(con):
    found = table(outcomes.rates_by_month(con, AS_OF), "month", "measure")
    assert found == {
        ("2024-01", "paired_completeness"): (3, 3, 1.0, *W_3_3),
        ("2024-01", "recovery"): (1, 3, 0.3333, *W_1_3),              # p1 of p1, p2, p4
        ("2024-01", "reliable_improvement"): (1, 3, 0.3333, *W_1_3),
        ("2024-01", "reliable_deterioration"): (0, 3, 0.0, *W_0_3),
        ("2024-01", "reliable_recovery"): (1, 3, 0.3333, *W_1_3),
        ("2024-01", "dropout"): (0, 3, 0.0, *W_0_3),
        ("2024-02", "paired_completeness"): (2, 3, 0.6667, *W_2_3),    # p3, p5 of p3, p5, p7
        ("2024-02", "recovery"): (1, 2, 0.5, *W_1_2),                 # p3 of p3, p5
        ("2024-02", "reliable_improvement"): (1, 2, 0.5, *W_1_2),
        ("2024-02", "reliable_deterioration"): (0, 2, 0.0, *W_0_2),
        ("2024-02", "reliable_recovery"): (1, 2, 0.5, *W_1_2),
        ("2024-02", "dropout"): (1, 4, 0.25, *W_1_4),                 # p6 of p3, p5, p6, p7
    }


def test_rates_by_month_and_clinician(con):
    found = table(outcomes.rates_by_month(con, AS_OF, by="clinician_id"), "month", "clinician_id", "measure")
    assert found[("2024-01", "c1", "recovery")] == (1, 2, 0.5, *W_1_2)
    assert found[("2024-01", "c2", "recovery")] == (0, 1, 0.0, 0.0, 0.7935)
    assert found[("2024-02", "c2", "dropout")] == (1, 3, 0.3333, *W_1_3)
    assert len(found) == 4 * 6


def test_rates_over_a_date_range_count_episodes_that_ended_in_it(con):
    february = AS_OF.with_(date_from=date(2024, 2, 1), date_to=date(2024, 2, 29))
    found = table(outcomes.rates(con, february), "measure")
    assert found[("recovery",)] == (1, 2, 0.5, *W_1_2)
    assert found[("dropout",)] == (1, 4, 0.25, *W_1_4)
    whole = table(outcomes.rates(con, AS_OF), "measure")
    assert whole[("recovery",)] == (2, 5, 0.4, 0.1176, 0.7693)
    assert whole[("paired_completeness",)] == (5, 6, 0.8333, 0.4365, 0.9699)
    assert whole[("dropout",)] == (1, 7, 0.1429, 0.0257, 0.5131)


@pytest.mark.parametrize("by, value", [("clinician_id", "c1"), ("site", "A"), ("program", "CBT")])
def test_rates_by_clinician_site_or_program(con, by, value):
    found = table(outcomes.rates(con, AS_OF, by=by), by, "measure")
    assert found[(value, "recovery")] == (2, 3, 0.6667, *W_2_3)
    assert {k[0] for k in found} == {value, {"clinician_id": "c2", "site": "B", "program": "counselling"}[by]}


def test_rates_filtered_to_one_clinician(con):
    found = table(outcomes.rates(con, AS_OF.with_(clinician_id="c2")), "measure")
    assert found[("recovery",)] == (0, 2, 0.0, *W_0_2)
    assert found[("paired_completeness",)] == (2, 3, 0.6667, *W_2_3)


def test_a_rate_with_no_cases_is_missing_not_zero():
    con = clinic([S("p1", "2024-01-01", phq9=5, gad7=3), S("p1", "2024-01-08", phq9=4, gad7=2,
                                                            discharge_reason="planned")])
    found = table(outcomes.rates(con, Settings()), "measure")
    assert found[("recovery",)] == (0, 0, None, None, None)   # not at caseness: no one to recover
    assert found[("reliable_improvement",)] == (0, 1, 0.0, 0.0, 0.7935)


def test_rates_refuse_an_unknown_grouping(con):
    with pytest.raises(ValueError, match="cannot group"):
        outcomes.rates(con, AS_OF, by="weekday")


# --- clinicians compared fairly ------------------------------------------------------------------
def test_clinician_funnel_has_control_limits_for_each_clinicians_number_of_cases(con):
    frame = outcomes.clinician_comparison(con, AS_OF.with_(clinician_id="c1"))  # compares everyone anyway
    got = {(r["clinician_id"], r["measure"]): r for r in frame.to_dict("records")}
    assert sorted(got) == [(c, m) for c in ("c1", "c2") for m in ("dropout", "recovery", "reliable_improvement")]
    # recovery: clinic rate 2 / 5 = 0.4. Binomial(n, 0.4) limits with Spiegelhalter's interpolation:
    # n = 3: cdf 0.216, 0.648, 0.936, 1. Upper 95 %: r = 3, (3 - (1 - 0.975) / 0.064) / 3 = 0.869792;
    #        upper 99.8 %: (3 - 0.001 / 0.064) / 3 = 0.994792; both lower limits clip to 0.
    # n = 2: cdf 0.36, 0.84, 1. Upper 95 %: (2 - 0.025 / 0.16) / 2 = 0.921875; 99.8 %: 0.996875.
    c1, c2 = got[("c1", "recovery")], got[("c2", "recovery")]
    assert (c1["numerator"], c1["denominator"], c1["rate"], c1["ci_low"], c1["ci_high"]) == (2, 3, 0.6667, *W_2_3)
    assert c1["target"] == pytest.approx(0.4)
    assert (c1["lower95"], c1["upper95"], c1["lower998"], c1["upper998"]) == pytest.approx((0, 0.869792, 0, 0.994792), abs=1e-6)
    assert (c2["lower95"], c2["upper95"], c2["lower998"], c2["upper998"]) == pytest.approx((0, 0.921875, 0, 0.996875), abs=1e-6)
    assert (c1["signal"], c2["signal"]) == ("within", "within")
    assert (c1["small"], c2["small"]) == (True, True)  # fewer than 5 cases: read with care
    assert got[("c2", "dropout")]["target"] == pytest.approx(1 / 7)
    assert (got[("c2", "dropout")]["numerator"], got[("c2", "dropout")]["denominator"]) == (1, 4)


def test_clinician_funnel_signals_a_clinician_beyond_the_998_limits():
    # 10 dropouts of 10 for c1, none of 10 for c2: clinic rate 0.5. Binomial(10, 0.5): cdf(9) = 1023/1024,
    # cdf(8) = 1013/1024, so the upper 99.8 % limit is (9 - (1023/1024 - 0.999) / (10/1024)) / 10 = 0.89976;
    # by symmetry the lower one is 0.00024.
    sessions = [S(f"a{i}", "2024-01-01", "attended", "c1", discharge_reason="dropout") for i in range(10)]
    sessions += [S(f"b{i}", "2024-01-01", "attended", "c2", discharge_reason="planned") for i in range(10)]
    frame = outcomes.clinician_comparison(clinic(sessions), Settings())
    got = {r["clinician_id"]: r for r in frame[frame["measure"] == "dropout"].to_dict("records")}
    assert got["c1"]["upper998"] == pytest.approx(0.89976, abs=1e-9)
    assert got["c2"]["lower998"] == pytest.approx(0.00024, abs=1e-9)
    assert (got["c1"]["signal"], got["c2"]["signal"]) == ("above 99.8 %", "below 99.8 %")
    assert (got["c1"]["small"], got["c2"]["small"]) == (False, False)


def test_case_mix_ratio_is_observed_over_expected_from_the_intake_band_rates(con):
    # clinic recovery by intake PHQ-9 band: moderately severe 1/1 (p1), moderate 0/2 (p2, p4),
    # severe 1/2 (p3, p5). c1: expected 1 + 0 + 0.5 = 1.5, observed 2, ratio 1.3333;
    # c2: expected 0 + 0.5 = 0.5, observed 0.
    # Exact Poisson 95 % limits for 2 events are 0.2422 and 7.2247 (/ 1.5), for 0 events 0 and 3.6889 (/ 0.5).
    frame = outcomes.case_mix(con, AS_OF)
    assert frame.to_dict("records") == [
        {"clinician_id": "c1", "cases": 3, "observed": 2, "expected": 1.5, "oe_ratio": 1.3333,
         "oe_ci_low": 0.1615, "oe_ci_high": 4.8165},
        {"clinician_id": "c2", "cases": 2, "observed": 0, "expected": 0.5, "oe_ratio": 0.0,
         "oe_ci_low": 0.0, "oe_ci_high": 7.3778},
    ]
    recovery = outcomes.clinician_comparison(con, AS_OF).query("measure == 'recovery'")
    assert recovery["oe_ratio"].tolist() == [1.3333, 0.0]


@pytest.mark.parametrize("expected", [0.5, 3.25, 40.0])
def test_case_mix_intervals_for_many_clinicians_are_each_clinicians_exact_poisson_interval(expected):
    observed = np.arange(0, 60)
    lows, highs = outcomes._poisson_ratio_intervals(observed, np.full(observed.size, expected))
    tail = (1.0 - 0.95) / 2.0
    for o, lo, hi in zip(observed, lows, highs):
        exact_lo = sps.chi2.ppf(tail, 2 * o) / 2.0 if o > 0 else 0.0
        assert (lo, hi) == (exact_lo / expected, sps.chi2.ppf(1.0 - tail, 2 * (o + 1)) / 2.0 / expected)


def test_a_ratio_is_beyond_chance_only_when_its_interval_lies_wholly_on_one_side_of_one():
    frame = pd.DataFrame({"oe_ci_low": [1.02, 0.1, 0.5, None, 1.0], "oe_ci_high": [3.0, 0.98, 1.5, None, 2.0]})
    assert outcomes.ratio_beyond_chance(frame).tolist() == [True, True, False, False, False]


def test_case_mix_interval_with_nothing_expected_is_missing():
    lows, highs = outcomes._poisson_ratio_intervals(np.array([0, 2, 1]), np.array([0.0, np.nan, 1.0]))
    assert np.isnan(lows[:2]).all() and np.isnan(highs[:2]).all()
    tail = (1.0 - 0.95) / 2.0
    assert (lows[2], highs[2]) == (sps.chi2.ppf(tail, 2) / 2.0, sps.chi2.ppf(1.0 - tail, 4) / 2.0)


# --- data quality --------------------------------------------------------------------------------
def test_data_quality_by_clinician_and_month(con):
    found = table(outcomes.data_quality(con, AS_OF), "measure", "clinician_id", "month")
    assert {k: v[:3] for k, v in found.items()} == {
        ("paired_completeness", "c1", "2024-01"): (2, 2, 1.0),
        ("paired_completeness", "c1", "2024-02"): (1, 1, 1.0),
        ("paired_completeness", "c2", "2024-01"): (1, 1, 1.0),
        ("paired_completeness", "c2", "2024-02"): (1, 2, 0.5),     # p7's last session has no scores
        ("sessions_scored", "c1", "2024-01"): (4, 4, 1.0),
        ("sessions_scored", "c1", "2024-02"): (2, 2, 1.0),
        ("sessions_scored", "c2", "2024-01"): (2, 2, 1.0),
        ("sessions_scored", "c2", "2024-02"): (4, 5, 0.8),         # p5 x2, p6, p7's first of two
    }
    assert found[("paired_completeness", "c2", "2024-02")][3:] == W_1_2


def test_data_quality_over_the_whole_range_adds_up_each_clinicians_months(con):
    found = table(outcomes.data_quality(con, AS_OF, by_month=False), "measure", "clinician_id", "month")
    assert {k: v[:3] for k, v in found.items()} == {
        ("paired_completeness", "c1", None): (3, 3, 1.0),
        ("paired_completeness", "c2", None): (2, 3, 0.6667),      # rates rounded to 4 places
        ("sessions_scored", "c1", None): (6, 6, 1.0),
        ("sessions_scored", "c2", None): (6, 7, 0.8571),
    }


def test_a_clinician_with_sessions_but_no_finished_episode_is_in_both_measures_with_none():
    """c3 saw a patient in the range, but no episode of theirs finished: their paired completeness
    is 0 of 0 (no rate) rather than missing, beside their scored sessions."""
    con = clinic(SESSIONS + [S("p8", "2024-06-17", clinician_id="c3", phq9=12),     # still in treatment
                             S("p8", "2024-06-24", clinician_id="c3")])
    found = table(outcomes.data_quality(con, AS_OF, by_month=False), "measure", "clinician_id")
    assert found[("paired_completeness", "c3")] == (0, 0, None, None, None)
    assert found[("sessions_scored", "c3")][:3] == (1, 2, 0.5)
    assert found[("paired_completeness", "c1")][:3] == (3, 3, 1.0)          # the others as before
    monthly = outcomes.data_quality(con, AS_OF)                              # months: only those with rows
    assert not ((monthly["clinician_id"] == "c3") & (monthly["measure"] == "paired_completeness")).any()


# --- Jacobson & Truax by scale ------------------------------------------------------------------
def test_jt_summary_uses_the_clinic_reference_sd_and_counts_categories(con):
    frame = outcomes.jt_summary(con, AS_OF).set_index("scale")
    assert set(frame.index) >= {"phq9", "gad7", "k10", "ors", "core10"}  # every scale in the registry
    phq9 = frame.loc["phq9"]
    # first PHQ-9 of the 5 paired finished episodes: 18, 12, 22, 13, 21 (mean 17.2, sample SD 4.5497)
    # S_diff = sqrt(2) * 4.5497 * sqrt(1 - 0.89) = 2.1340; 1.96 * S_diff = 4.1827 points
    assert (phq9["n"], phq9["reference_n"], phq9["reference_sd"], phq9["s_diff"], phq9["rc_points"]) == \
        (5, 5, 4.5497, 2.1340, 4.1827)
    assert (phq9["cutoff"], phq9["cutoff_source"]) == (10.0, "registry")
    # p1 18 -> 6 and p3 22 -> 8 recovered; p2 (-1), p4 (0), p5 (-2) unchanged
    assert (phq9["recovered"], phq9["improved"], phq9["unchanged"], phq9["deteriorated"]) == (2, 0, 3, 0)
    # d = (17.2 - 11.4) / 4.5497 = 1.2748
    assert (phq9["mean_first"], phq9["mean_last"], phq9["d"]) == (17.2, 11.4, 1.2748)
    assert phq9["d_ci_low"] < phq9["d"] < phq9["d_ci_high"]
    assert frame.loc["k10", "n"] == 0 and math.isnan(frame.loc["k10", "d"])


def test_the_reference_sd_is_the_sample_sd_from_exact_integer_sums(con):
    # n, sum x and sum x^2 are exact integers, so the SD is the same on every run (stddev_samp's
    # parallel partial sums could differ in the last digit between runs)
    outcomes.jt_summary(con, AS_OF)
    sd = con.execute("SELECT reference_sd FROM w_jt_reference WHERE scale = 'phq9'").fetchone()[0]
    firsts = [18, 12, 22, 13, 21]
    n, sx, sxx = len(firsts), sum(firsts), sum(x * x for x in firsts)
    assert sd == math.sqrt((n * sxx - sx * sx) / (n * (n - 1)))
    assert sd == pytest.approx(statistics.stdev(firsts), rel=1e-15)


# --- trajectories --------------------------------------------------------------------------------
def test_trajectory_has_session_number_weeks_change_band_and_reliable_so_far():
    con = clinic([
        S("p1", "2024-02-26", status="no_show"),                       # the episode starts here
        S("p1", "2024-03-01", phq9=15), S("p1", "2024-03-04", status="no_show"),
        S("p1", "2024-03-08", phq9=10), S("p1", "2024-03-18", phq9=9),
    ])
    frame = outcomes.trajectories(con, Settings(), patient_id="p1")
    got = [(r["session_date"], r["session_number"], r["weeks"], r["score"], r["change_from_first"],
            r["severity_band"], r["reliable"]) for r in frame.to_dict("records")]
    assert got == [
        ("2024-03-01", 1, 0.57, 15, 0, "moderately severe", False),   # 4 days after the start
        ("2024-03-08", 2, 1.57, 10, -5, "moderate", False),           # a fall of 5 is not reliable
        ("2024-03-18", 3, 3.0, 9, -6, "mild", True),                  # a fall of exactly 6 is
    ]
    assert frame["reliable_direction"].tolist()[2] == "improvement"
    assert set(frame["threshold_source"]) == {"published"}


def test_trajectory_of_a_scale_without_a_published_threshold_uses_jacobson_truax():
    # K10 (reliability 0.93, no published reliable change): two finished reference episodes with first
    # scores 30 and 20 give SD 7.0711, S_diff = sqrt(2) * 7.0711 * sqrt(0.07) = 2.6458, and a reliable
    # change needs more than 1.96 * 2.6458 = 5.1857 points.
    con = clinic([
        S("r1", "2024-01-01", k10=30), S("r1", "2024-01-08", k10=20, discharge_reason="planned"),
        S("r2", "2024-01-01", k10=20), S("r2", "2024-01-08", k10=18, discharge_reason="planned"),
        S("p1", "2024-01-01", k10=25), S("p1", "2024-01-08", k10=20), S("p1", "2024-01-15", k10=19),
        S("p1", "2024-01-22", k10=31),
    ])
    frame = outcomes.trajectories(con, Settings(), episode_id="p1#1")
    assert frame["reliable_threshold"].round(4).unique().tolist() == [5.1857]
    assert set(frame["threshold_source"]) == {"jacobson_truax"}
    assert [(r["change_from_first"], r["severity_band"], r["reliable"], r["reliable_direction"])
            for r in frame.to_dict("records")] == [
        (0, "high", False, None), (-5, "moderate", False, None), (-6, "moderate", True, "improvement"),
        (6, "very high", True, "deterioration"),
    ]


def test_trajectories_follow_the_clinician_filter(con):
    frame = outcomes.trajectories(con, AS_OF.with_(clinician_id="c1"))
    assert sorted(set(frame["patient_id"])) == ["p1", "p2", "p3"]
    assert len(frame) == 3 * 2 * 2  # three episodes, two scales, two sessions


# --- the SQL behind a number ------------------------------------------------------------------------
KPI_FIGURES = ["episodes", "active", "ended", "finished_treatment", "paired", "paired_completeness",
               "at_caseness", "recovered", "recovery_rate", "reliable_improvement", "reliable_improvement_rate",
               "reliable_deterioration", "reliable_deterioration_rate", "reliable_recovery",
               "reliable_recovery_rate", "dropout", "dropout_rate", "phq9_pre_post_d", "attendance"]


def test_every_kpi_and_view_has_its_sql():
    names = outcomes.figure_names()
    for name in KPI_FIGURES + ["rates_by_month", "rates", "episode_outcomes", "clinician_comparison", "case_mix",
                               "data_quality", "jt_summary", "trajectories", "readiness_categories"]:
        assert name in names, name


def test_sql_for_a_rate_is_the_work_tables_then_its_counts_in_running_order():
    text = outcomes.sql_for("recovery_rate")
    headers = [line for line in text.splitlines() if line.startswith("-- ==== ")]
    assert headers == [
        "-- ==== sql/episodes/w_sessions.sql  ->  TEMP TABLE w_sessions ====",
        "-- ==== sql/episodes/w_episodes.sql  ->  TEMP TABLE w_episodes ====",
        "-- ==== sql/episodes/w_scores.sql  ->  TEMP TABLE w_scores ====",
        "-- ==== sql/outcomes/scale_pairs.sql  ->  TEMP TABLE w_scale_pairs ====",
        "-- ==== sql/outcomes/episode_outcomes.sql  ->  TEMP TABLE w_outcomes ====",
        "-- ==== sql/outcomes/outcome_scope.sql  ->  TEMP TABLE w_outcome_scope ====",
        "-- ==== sql/outcomes/rate_counts.sql ====",
    ]
    assert read_sql("outcomes/rate_counts.sql").strip() in text
    assert read_sql("outcomes/episode_outcomes.sql").strip() in text


def test_every_outcomes_sql_file_is_behind_some_figure():
    shown = "".join(outcomes.sql_for(n) for n in outcomes.figure_names())
    for path in sorted((sql_dir() / "outcomes").glob("*.sql")):
        assert f"-- ==== sql/outcomes/{path.name}" in shown, path.name


def test_sql_for_an_unknown_figure_names_the_known_ones():
    with pytest.raises(KeyError, match="recovery_rate"):
        outcomes.sql_for("recovery_percent")


@pytest.mark.parametrize("path", sorted((sql_dir() / "outcomes").glob("*.sql")), ids=lambda p: p.name)
def test_outcomes_sql_translates_to_spark(path: Path):
    import sqlglot  # installed by `make test` (the spark extra)
    statements = sqlglot.transpile(path.read_text(encoding="utf-8"), read="duckdb", write="spark",
                                   unsupported_level=sqlglot.ErrorLevel.RAISE)
    assert len(statements) == 1


def test_episode_outcomes_carry_jacobson_truax_for_every_scale_scored():
    # the K10 clinic above: reference SD 7.0711, S_diff 2.6458 (cutoff 22 from the registry, 22 clinical)
    # r1 30 -> 20: RC -10 / 2.6458 = -3.780, reliable and from clinical to below 22: recovered
    # r2 20 -> 18: RC -0.756: unchanged; p1 is still active: no category
    con = clinic([
        S("r1", "2024-01-01", k10=30), S("r1", "2024-01-08", k10=20, discharge_reason="planned"),
        S("r2", "2024-01-01", k10=20), S("r2", "2024-01-08", k10=18, discharge_reason="planned"),
        S("p1", "2024-01-01", k10=25), S("p1", "2024-01-08", k10=20),
    ])
    frame = outcomes.episode_outcomes(con, Settings())
    got = {r["episode_id"]: (r["k10_first"], r["k10_last"], r["k10_scored_sessions"], r["k10_rc"], r["k10_jt_category"])
           for r in frame.to_dict("records")}
    assert got == {"r1#1": (30, 20, 2, -3.78, "recovered"), "r2#1": (20, 18, 2, -0.756, "unchanged"),
                   "p1#1": (25, 20, 2, None, None)}
    assert frame["phq9_jt_category"].isna().all()  # PHQ-9 columns are always there, empty when not scored


def test_a_clinicians_episode_table_has_the_columns_of_every_scale_scored_in_the_clinic():
    # c2 never scores the K10, c1 does: c2's table still has the K10 columns (empty), so tables of
    # different clinicians line up column for column
    con = clinic([
        S("p1", "2024-01-01", clinician_id="c1", k10=30), S("p1", "2024-01-08", clinician_id="c1", k10=20),
        S("p2", "2024-01-01", clinician_id="c2", phq9=15), S("p2", "2024-01-08", clinician_id="c2", phq9=9),
    ])
    whole = outcomes.episode_outcomes(con, Settings())
    mine = outcomes.episode_outcomes(con, Settings(clinician_id="c2"))
    assert list(mine.columns) == list(whole.columns)
    assert list(mine.dtypes) == list(whole.dtypes)
    assert mine["episode_id"].tolist() == ["p2#1"]
    assert mine[["k10_first", "k10_last", "k10_scored_sessions", "k10_rc", "k10_jt_category"]].isna().all().all()
    assert mine["phq9_first"].tolist() == [15]


@pytest.mark.parametrize("name, columns", [
    ("episode_outcomes", ["episode_id", "recovered", "phq9_jt_category"]),
    ("rates_by_month", ["month", "measure", "numerator", "denominator", "rate", "ci_low", "ci_high"]),
    ("rates", ["measure", "numerator", "denominator", "rate", "ci_low", "ci_high"]),
    ("clinician_comparison", ["clinician_id", "measure", "lower95", "upper998", "oe_ratio"]),
    ("case_mix", ["clinician_id", "cases", "observed", "expected", "oe_ratio"]),
    ("data_quality", ["measure", "clinician_id", "month", "rate"]),
    ("trajectories", ["episode_id", "session_number", "weeks", "change_from_first", "severity_band", "reliable"]),
])
def test_an_empty_clinic_gives_empty_frames_with_their_columns(name, columns):
    from analytics.db import connect

    frame = getattr(outcomes, name)(connect(":memory:"), Settings())
    assert frame.empty and set(columns) <= set(frame.columns)


def test_a_clinician_who_saw_patients_but_had_no_episode_end_is_compared_with_no_episodes():
    # c1's ten patients dropped out; c3 only started seeing a patient, whose episode is still open
    sessions = [S(f"a{i}", "2024-01-01", "attended", "c1", discharge_reason="dropout") for i in range(10)]
    sessions += [S("z1", "2024-01-02", "attended", "c3")]
    frame = outcomes.clinicians_compared(clinic(sessions), Settings(as_of=date(2024, 1, 3)))
    rows = frame[frame["clinician_id"] == "c3"]
    assert sorted(rows["measure"]) == sorted(set(frame["measure"]))
    assert (rows["numerator"] == 0).all() and (rows["denominator"] == 0).all()
    assert rows["rate"].isna().all() and rows["signal"].isna().all()
    assert list(frame[frame["measure"] == "dropout"]["clinician_id"]) == ["c1", "c3"]
    assert "c3" not in set(outcomes.clinician_comparison(clinic(sessions), Settings(as_of=date(2024, 1, 3)))["clinician_id"])
