"""engagement.records(): a frame as JSON-ready dicts, each cell as _plain makes it (missing as None,
numpy scalars as Python, timestamps as dates, NaN and infinity as None), whatever the column's
type; converted a column at a time, the same as cell by cell."""
from datetime import date

import numpy as np
import pandas as pd
import pytest

from analytics.engagement import _plain, records

COLUMNS = {
    "integers": pd.Series([1, 2, 3], dtype="int64"),
    "booleans": pd.Series([True, False, True]),
    "floats with NaN and infinity": pd.Series([0.25, np.nan, np.inf]),
    "nullable integers": pd.Series([1, None, 3], dtype="Int64"),
    "dates with a gap": pd.Series(pd.to_datetime(["2025-01-02", None, "2025-03-04"])),
    "text with a gap": pd.Series(["c01", None, "c03"], dtype="str"),
    "string dtype": pd.Series(["a", pd.NA, "c"], dtype="string"),
    "rates: Python floats and None": pd.Series([0.5, None, 1.0], dtype="object"),
    "object with NaN": pd.Series([0.5, float("nan"), "x"], dtype="object"),
    "object with numpy scalars": pd.Series([np.int64(4), np.float64(0.5), None], dtype="object"),
    "object with dates and timestamps": pd.Series([date(2025, 1, 2), pd.Timestamp("2025-02-03"), pd.NaT],
                                                  dtype="object"),
    "object with pandas NA": pd.Series([pd.NA, 1, "y"], dtype="object"),
}


@pytest.mark.parametrize("column", COLUMNS.values(), ids=COLUMNS.keys())
def test_each_column_type_gives_what_plain_gives_cell_by_cell(column):
    frame = pd.DataFrame({"v": column})
    expected = [{"v": _plain(v)} for v in column.tolist()]
    got = records(frame)
    assert got == expected
    assert [type(r["v"]) for r in got] == [type(r["v"]) for r in expected]


def test_missing_and_non_finite_values_are_none():
    frame = pd.DataFrame({"rate": pd.Series([0.5, None, float("inf")], dtype="object"),
                          "name": pd.Series(["a", None, "c"], dtype="str")})
    assert records(frame) == [{"rate": 0.5, "name": "a"}, {"rate": None, "name": None},
                              {"rate": None, "name": "c"}]


def test_a_frame_without_columns_gives_one_empty_dict_per_row():
    assert records(pd.DataFrame(index=range(2))) == [{}, {}]
