"""The readiness trend (sql/readiness/trend.sql: the Theil–Sen slope of the last scores and its
interval) is exactly scipy.stats.theilslopes, bit for bit: ties in dates and scores, short and
longer series, every confidence, x in weeks since the first of the scores."""
from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pytest
from scipy import stats

from analytics.readiness import _trend_z
from analytics.sqlfiles import read_sql

START = date(2025, 1, 6)


def _series(seed: int) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    days = sorted(rng.integers(0, 30, n).tolist())       # with repeated dates
    scores = rng.integers(0, 27, n).tolist()             # with ties
    if len(set(days)) < 2:                               # a trend needs two dates or more
        days[-1] += 7
    return days, scores


def _trend(days: list[int], scores: list[int], alpha: float) -> tuple | None:
    """trend.sql over one episode's scores (readiness_scores as episode_scores.sql shapes it)."""
    con = duckdb.connect()
    n = len(days)
    con.execute("CREATE TEMP TABLE readiness_scores (episode_id VARCHAR, clinician_id VARCHAR, scale VARCHAR, "
                "session_number INTEGER, session_date DATE, score INTEGER, seq BIGINT, from_end BIGINT, n_scored BIGINT)")
    con.executemany("INSERT INTO readiness_scores VALUES ('e1', 'c1', 'phq9', ?, ?, ?, ?, ?, ?)",
                    [(i + 1, START + timedelta(days=d), y, i + 1, n - i, n)
                     for i, (d, y) in enumerate(zip(days, scores))])
    rows = con.execute(read_sql("readiness/trend.sql"), {"trend_scores": n, "trend_z": _trend_z(alpha)}).fetchall()
    con.close()
    assert len(rows) <= 1
    return rows[0][3:] if rows else None


@pytest.mark.parametrize("alpha", [0.8, 0.9, 0.95])
@pytest.mark.parametrize("seed", range(40))
def test_trend_is_bit_for_bit_scipys_theilslopes(seed, alpha):
    days, scores = _series(seed)
    expected = stats.theilslopes(scores, [(d - days[0]) / 7 for d in days], alpha=alpha)
    got = _trend(days, scores, alpha)
    want = (float(expected.slope), float(expected.low_slope), float(expected.high_slope))
    assert got == tuple(None if np.isnan(v) else v for v in want)


def test_a_steady_fall_of_one_point_a_week_has_slope_minus_one():
    assert _trend([0, 7, 14, 21, 28], [20, 19, 18, 17, 16], 0.9) == (-1.0, -1.0, -1.0)


def test_scores_all_on_one_date_have_no_trend():
    assert _trend([3, 3, 3], [12, 10, 8], 0.95) is None


def test_only_the_last_scores_make_the_trend():
    # five scores, trend over the last three: the early rise does not count
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE readiness_scores AS SELECT * FROM (VALUES "
                "('e1', 'c1', 'phq9', 1, DATE '2025-01-06', 5, 1, 5, 5), "
                "('e1', 'c1', 'phq9', 2, DATE '2025-01-13', 25, 2, 4, 5), "
                "('e1', 'c1', 'phq9', 3, DATE '2025-01-20', 20, 3, 3, 5), "
                "('e1', 'c1', 'phq9', 4, DATE '2025-01-27', 18, 4, 2, 5), "
                "('e1', 'c1', 'phq9', 5, DATE '2025-02-03', 16, 5, 1, 5)) "
                "AS t(episode_id, clinician_id, scale, session_number, session_date, score, seq, from_end, n_scored)")
    rows = con.execute(read_sql("readiness/trend.sql"), {"trend_scores": 3, "trend_z": _trend_z(0.95)}).fetchall()
    assert [r[3] for r in rows] == [-2.0]
