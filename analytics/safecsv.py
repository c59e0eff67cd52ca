"""CSV files a spreadsheet opens safely: a cell that starts like a formula is shown as text.

Excel and LibreOffice run a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (CSV injection; OWASP "CSV Injection"). Every CSV Waypoint writes for people —
``--rejects`` files and dashboard downloads — goes through :func:`neutralise`, which prefixes such
a cell with an apostrophe, the spreadsheet convention for "this is text".
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_value(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell (and column name) that starts like a formula made inert.
    The copy shares the columns it leaves as they are (a deep copy added 0.7 GB to the episode
    table's CSV export at ten million sessions); ``frame`` itself is never changed."""
    out = frame.copy(deep=False)
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = _neutralise_column(out[col])
    out.columns = [neutralise_value(str(c)) for c in out.columns]
    return out


def _neutralise_column(values: pd.Series) -> pd.Series:
    """:func:`neutralise_value` of each cell; text columns are tested column-wise (a dashboard
    download can be a hundred thousand rows), columns of mixed values cell by cell."""
    try:   # True only for text cells; NaN for empty and non-text ones
        formula = values.str.startswith(FORMULA_STARTS).astype("boolean").fillna(False).to_numpy(dtype=bool)
    except (AttributeError, TypeError):   # e.g. no text at all, or bytes
        return values.map(neutralise_value)
    if not formula.any():
        return values
    out = values.copy()
    out[formula] = "'" + values[formula]
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with a BOM so Excel reads accents right) of ``frame``, formulas neutralised."""
    return neutralise(frame).to_csv(index=False).encode("utf-8-sig")


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_csv_bytes(frame))
    return path
