"""Jacobson & Truax (1991): reproduce the published results in ../shared/reference-data, and the rules
on small hand-worked pairs."""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from analytics import jacobson_truax
from analytics.reliable_change import cutoff_a, cutoff_c, pre_post_effect_size
from tests.conftest import SHARED

REFERENCE = SHARED / "reference-data"
# every published result in expected.csv, by fixture id: the parametrized test below must check each
PUBLISHED_FIXTURES = {"cs01", "cs08", "cs09", "cs10", "cs17"}


def _expected_rows() -> list[dict]:
    if not (REFERENCE / "expected.csv").exists():
        return []
    return pd.read_csv(REFERENCE / "expected.csv", dtype=str).to_dict("records")


def _pairs(row: dict) -> tuple[pd.Series, pd.Series]:
    data = pd.read_csv(REFERENCE / row["dataset_csv"])
    time = data[row["time_col"]].astype(str)
    wanted = {str(v) for v in (row["pre"], row["post"])}
    if not wanted <= set(time):  # numeric time points are stored as 1.0, 4.0
        time = data[row["time_col"]].map(lambda v: str(int(v)) if isinstance(v, float) else str(v))
    wide = data.assign(_t=time).pivot_table(index=row["id_col"], columns="_t", values=row["outcome"], aggfunc="first")
    return wide[row["pre"]], wide[row["post"]]


def _functional(extra: str) -> tuple[float, float]:
    m = re.search(r"m_functional=([\d.]+)\s+sd_functional=([\d.]+)", extra)
    assert m, f"no functional norms in {extra!r}"
    return float(m.group(1)), float(m.group(2))


def _run_fixture(row: dict) -> pd.DataFrame:
    pre, post = _pairs(row)
    higher = row["better_is"] == "higher"
    reliability = None if row["reliability"] in ("NA", "", None) or pd.isna(row["reliability"]) else float(row["reliability"])
    complete = pre.notna() & post.notna()
    method = row["method"]
    cutoff = None
    if "cutoff c" in method:
        m_func, sd_func = _functional(row["extra_params"])
        cutoff = cutoff_c(pre[complete].mean(), pre[complete].std(ddof=1), m_func, sd_func)
    elif "cutoff a" in method:
        cutoff = cutoff_a(pre[complete], higher_is_better=higher)
    return jacobson_truax(pre, post, reliability=reliability, cutoff=cutoff, higher_is_better=higher)


def test_every_published_result_is_checked():
    # the reference data are read from ../shared (present in CI too); their absence is a failure,
    # not a skip, so the published results cannot silently go unchecked
    assert (REFERENCE / "expected.csv").exists(), f"{REFERENCE} is missing: it sits beside the project root"
    assert {r["fixture_id"] for r in _expected_rows()} == PUBLISHED_FIXTURES


@pytest.mark.parametrize("row", _expected_rows(), ids=lambda r: r["fixture_id"])
def test_reproduces_published_category_counts(row):
    result = _run_fixture(row)
    counts = result["category"].value_counts()
    assert result.attrs["n_used"] == int(row["n_used"])
    assert int(result["category"].notna().sum()) == int(row["n_used"])
    for category in ("recovered", "improved", "unchanged", "deteriorated"):
        published = row[category]
        if pd.isna(published) or published == "":
            assert counts.get(category, 0) == 0, category  # not a category of this method
            continue
        expected = int(published)
        if category == "deteriorated" and not pd.isna(row["harmed"]) and row["harmed"] != "":
            expected += int(row["harmed"])  # harmed is a flag within "deteriorated" here
        assert counts.get(category, 0) == expected, category
    if not pd.isna(row["harmed"]) and row["harmed"] != "":
        assert int(result["harmed"].sum()) == int(row["harmed"])


@pytest.mark.parametrize("fixture_id, cutoff", [("cs08", 19.887), ("cs10", 20.15), ("cs17", 56.95)])
def test_cutoffs_match_the_published_values(fixture_id, cutoff):
    row = next(r for r in _expected_rows() if r["fixture_id"] == fixture_id)
    assert _run_fixture(row).attrs["cutoff"] == pytest.approx(cutoff, abs=0.005)


def test_claus_hamd_readme_example_sd_is_that_of_complete_pairs():
    row = next(r for r in _expected_rows() if r["fixture_id"] == "cs01")
    pre, post = _pairs(row)
    result = jacobson_truax(pre, post, reliability=0.80)
    complete = pre.notna() & post.notna()
    assert pre.notna().sum() > complete.sum()  # some patients have no time-4 score
    assert result.attrs["sd"] == pytest.approx(pre[complete].std(ddof=1))
    assert result.attrs["sd"] != pytest.approx(pre.std(ddof=1))


def test_jacobson_1989_gds_missing_posts_are_excluded():
    pre, post = _pairs({"dataset_csv": "jacobson_1989.csv", "id_col": "subject", "time_col": "time",
                        "outcome": "gds", "pre": "pre", "post": "post"})
    result = jacobson_truax(pre, post, reliability=0.80, cutoff=cutoff_a(pre[post.notna()]))
    missing = result[result["post"].isna()]
    assert len(missing) == 4
    assert missing["category"].isna().all() and missing["rc"].isna().all()


# --- hand-worked rules ---------------------------------------------------------------------------
# SD 10 and r = 0.5: SE = 10 * sqrt(0.5) = 7.0711, S_diff = sqrt(2) * 7.0711 = 10, so RC = change / 10
# and reliable change needs more than 19.6 points.

def test_rc_is_change_over_s_diff():
    result = jacobson_truax([30, 30], [10, 45], reliability=0.5, sd=10)
    assert result["rc"].tolist() == pytest.approx([-2.0, 1.5])
    assert result.attrs["s_diff"] == pytest.approx(10.0)
    assert result.attrs["rc_points"] == pytest.approx(19.6)


@pytest.mark.parametrize("post, category", [(10.5, "unchanged"), (10.3, "improved"), (49.5, "unchanged"), (49.7, "deteriorated")])
def test_reliable_only_beyond_196(post, category):
    # change -19.5 (RC -1.95) is not reliable; -19.7 (RC -1.97) is; likewise for rises
    result = jacobson_truax([30.0], [post], reliability=0.5, sd=10)
    assert result["category"].iloc[0] == category


def test_change_of_exactly_196_s_diff_is_not_reliable():
    # S_diff = sqrt(2) * 1 * sqrt(1 - 0.875) = 0.5 exactly, so a change of 0.98 gives RC = 1.96 exactly
    result = jacobson_truax([10.0], [9.02], reliability=0.875, sd=1.0)
    assert result["rc"].iloc[0] == pytest.approx(-1.96)
    assert result["category"].iloc[0] == "unchanged"


def test_higher_is_better_reverses_direction():
    result = jacobson_truax([10.0, 40.0], [40.0, 10.0], reliability=0.5, sd=10, higher_is_better=True)
    assert result["category"].tolist() == ["improved", "deteriorated"]


def test_recovered_needs_reliable_improvement_and_crossing_the_cutoff():
    # cutoff 15 (lower is better): 30 -> 5 recovered; 40 -> 18 improved but still clinical;
    # 12 -> 35 deteriorated and harmed (started functional, ended clinical)
    result = jacobson_truax([30, 40, 12], [5, 18, 35], reliability=0.5, sd=10, cutoff=15)
    assert result["category"].tolist() == ["recovered", "improved", "deteriorated"]
    assert result["harmed"].tolist() == [False, False, True]


@pytest.mark.parametrize("at_cutoff, expected", [(None, "improved"), (True, "recovered"), (False, "improved")])
def test_score_exactly_at_cutoff_pre(at_cutoff, expected):
    # pre exactly at the cutoff 30: clinical only when clinical_at_cutoff is True
    result = jacobson_truax([30.0], [5.0], reliability=0.5, sd=10, cutoff=30, clinical_at_cutoff=at_cutoff)
    assert result["category"].iloc[0] == expected


@pytest.mark.parametrize("at_cutoff, expected", [(None, "improved"), (True, "improved"), (False, "recovered")])
def test_score_exactly_at_cutoff_post(at_cutoff, expected):
    # post exactly at the cutoff 10: functional only when clinical_at_cutoff is False
    result = jacobson_truax([35.0], [10.0], reliability=0.5, sd=10, cutoff=10, clinical_at_cutoff=at_cutoff)
    assert result["category"].iloc[0] == expected


def test_cutoff_only_without_reliability():
    # cutoff 20, lower is better: clinical -> functional is improved, functional -> not functional is
    # deteriorated, staying on one side is unchanged
    result = jacobson_truax([30, 30, 10, 10], [10, 25, 25, 12], reliability=None, cutoff=20)
    assert result["category"].tolist() == ["improved", "unchanged", "deteriorated", "unchanged"]
    assert result["rc"].isna().all()


def test_missing_post_gives_na_and_is_left_out_of_the_sd():
    result = jacobson_truax([10, 20, 90], [5, 9, None], reliability=0.8)
    assert result.attrs["n_used"] == 2
    assert result.attrs["sd"] == pytest.approx(np.std([10, 20], ddof=1))
    assert math.isnan(result["rc"].iloc[2]) and pd.isna(result["category"].iloc[2])


def test_unequal_lengths_are_refused():
    with pytest.raises(ValueError, match="same length"):
        jacobson_truax([1, 2], [1], reliability=0.8)


def test_effect_size_hand_worked():
    # pre 10, 20 (mean 15, SD 7.0711), post 5, 9 (mean 7), r = 1: d = 8 / 7.0711 = 1.1314;
    # var = 2(1 - 1)/2 + 1.1314^2 / 4 = 0.32, SE 0.5657, CI 1.1314 -/+ 1.96 * 0.5657
    es = pre_post_effect_size([10, 20], [5, 9])
    assert es.n == 2 and es.r == pytest.approx(1.0)
    assert es.d == pytest.approx(1.1314, abs=1e-4)
    assert (es.ci_low, es.ci_high) == pytest.approx((0.0226, 2.2401), abs=1e-4)


def test_effect_size_needs_two_pairs():
    es = pre_post_effect_size([10, 12], [5, None])
    assert es.n == 1 and math.isnan(es.d)


def test_public_signature_is_the_one_the_issue_names():
    import inspect

    params = inspect.signature(jacobson_truax).parameters
    assert list(params)[:6] == ["pre", "post", "reliability", "sd", "cutoff", "higher_is_better"]
    assert [params[p].kind for p in ("reliability", "sd", "cutoff", "higher_is_better")] == [inspect.Parameter.KEYWORD_ONLY] * 4
    assert (params["sd"].default, params["cutoff"].default, params["higher_is_better"].default) == (None, None, False)


def test_sd_defaults_to_the_sample_sd_of_pre():
    # pre 10, 20, 30: sample SD 10 (population SD 8.165); r = 0.5 gives S_diff = 10, so RC = change / 10
    result = jacobson_truax([10, 20, 30], [5, 20, 55], reliability=0.5)
    assert result.attrs["sd"] == pytest.approx(10.0)
    assert result["rc"].tolist() == pytest.approx([-0.5, 0.0, 2.5])
    assert result["category"].tolist() == ["unchanged", "unchanged", "deteriorated"]
