"""Chart details a reader depends on (dashboard/charts.py)."""
from __future__ import annotations

import pandas as pd
import pytest

from dashboard import charts


@pytest.mark.parametrize("counts", [[299, 1091, 1949, 2365, 1181, 56], [1], [0, 7]])
def test_a_horizontal_bar_chart_leaves_room_for_the_longest_bars_label(counts):
    frame = pd.DataFrame({"band": [f"b{i}" for i in range(len(counts))], "episodes": counts})
    fig = charts.bars(frame, x="band", y="episodes", horizontal=True)
    low, high = fig.layout.xaxis.range
    assert low == 0 and high >= max(counts) * 1.15
    assert list(fig.data[0].text) == [f"{n:,}" for n in counts]


def test_a_horizontal_bar_chart_of_nothing_keeps_plotlys_own_range():
    fig = charts.bars(pd.DataFrame({"band": ["a"], "episodes": [0]}), x="band", y="episodes", horizontal=True)
    assert fig.layout.xaxis.range is None


def test_a_monthly_chart_of_one_month_is_labelled_with_the_month_not_a_split_second():
    frame = pd.DataFrame({"month": ["2026-09"], "attended_sessions": [130]})
    fig = charts.bars(frame, x="month", y="attended_sessions")
    axis = fig.layout.xaxis
    assert axis.type == "date" and axis.tickformat == "%b %Y" and axis.dtick == "M1"
    low, high = (pd.Timestamp(v) for v in axis.range)
    assert low < pd.Timestamp("2026-09-01") < high and (high - low).days >= 28     # a month around it
    assert fig.data[0].width >= charts.DAY_MS * 14                                   # a bar, not a sliver


def test_a_monthly_rate_trend_ticks_once_a_month():
    frame = pd.DataFrame({"month": ["2026-08", "2026-09"], "rate": [0.5, 0.6], "ci_low": [0.3, 0.4],
                          "ci_high": [0.7, 0.8], "numerator": [5, 6], "denominator": [10, 10]})
    fig = charts.rate_trend(frame, x="month", rate="rate", low="ci_low", high="ci_high", numerator="numerator",
                            denominator="denominator")
    assert fig.layout.xaxis.tickformat == "%b %Y" and fig.layout.xaxis.dtick == "M1"


def test_bars_of_categories_are_not_given_a_month_axis():
    fig = charts.bars(pd.DataFrame({"weekday": ["Monday", "Tuesday"], "n": [1, 2]}), x="weekday", y="n")
    assert fig.layout.xaxis.type is None and fig.layout.xaxis.tickformat is None


def _scale(name: str = "phq9"):
    from analytics.scales import load_registry

    return load_registry()[name]


def _scores(dates: list[str], values: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"session_date": pd.to_datetime(dates), "score": values})


def test_a_patient_seen_once_gets_a_days_axis_a_fortnight_wide():
    fig = charts.trajectory(_scores(["2026-10-13"], [27]), _scale())
    axis = fig.layout.xaxis
    assert axis.type == "date" and axis.tickformat == "%-d %b %Y"
    low, high = (pd.Timestamp(v) for v in axis.range)
    assert (high - low).days >= 14 and axis.dtick >= charts.DAY_MS


def test_a_long_episode_keeps_plotlys_own_date_range():
    fig = charts.trajectory(_scores(["2026-01-05", "2026-03-02", "2026-06-01"], [20, 14, 8]), _scale())
    assert fig.layout.xaxis.range is None and fig.layout.xaxis.tickformat == "%-d %b %Y"


def test_an_expected_range_over_one_session_is_not_drawn_nor_in_the_legend():
    one = pd.DataFrame({"session_date": pd.to_datetime(["2026-10-13"]), "p10": [15.0], "p50": [20.0], "p90": [25.0]})
    two = pd.DataFrame({"session_date": pd.to_datetime(["2026-10-13", "2026-10-20"]), "p10": [15.0, 12.0],
                        "p50": [20.0, 17.0], "p90": [25.0, 22.0]})
    names = lambda fig: {t.name for t in fig.data}                                     # noqa: E731
    assert not charts.draws_expected(one) and charts.draws_expected(two)
    assert "expected (median)" not in names(charts.trajectory(_scores(["2026-10-13"], [27]), _scale(), expected=one))
    assert "expected (median)" in names(charts.trajectory(_scores(["2026-10-13", "2026-10-20"], [27, 25]), _scale(),
                                                          expected=two))


def test_a_long_severity_band_name_wraps_to_fit_the_charts_right_margin():
    fig = charts.trajectory(_scores(["2026-10-13"], [30]), _scale("wsas"))
    texts = [a.text for a in fig.layout.annotations]
    assert "moderately severe<br>or worse" in texts
    assert all(len(line) <= 18 for text in texts for line in text.split("<br>"))


def _trend(months: list[str]):
    n = len(months)
    frame = pd.DataFrame({"month": months, "rate": [0.5] * n, "ci_low": [0.2] * n, "ci_high": [0.8] * n,
                          "numerator": [1] * n, "denominator": [2] * n})
    return charts.rate_trend(frame, x="month", rate="rate", low="ci_low", high="ci_high", numerator="numerator",
                             denominator="denominator", y_title="Recovery")


def test_a_monthly_rate_trend_breaks_its_line_and_band_at_a_month_without_data():
    fig = _trend(["2026-01", "2026-02", "2026-04", "2026-05"])            # nothing ended in March
    line = next(t for t in fig.data if t.name == "Recovery")
    assert list(line.x) == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    assert list(line.y) == [0.5, 0.5, None, 0.5, 0.5] and line.connectgaps is False
    band = next(t for t in fig.data if t.name == "Recovery 95 % interval")
    gaps = [i for i, v in enumerate(band.x) if v is None]
    assert len(gaps) == 2                                                  # two closed bands, none across March
    assert "2026-03" not in list(band.x)


def test_a_month_standing_alone_shows_its_interval_as_an_error_bar():
    fig = _trend(["2026-01", "2026-03", "2026-04"])
    alone = next(t for t in fig.data if t.name == "Recovery 95 % interval (single month)")
    assert list(alone.x) == ["2026-01"]
    assert list(alone.error_y.array) == [pytest.approx(0.3)] and list(alone.error_y.arrayminus) == [pytest.approx(0.3)]
