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
