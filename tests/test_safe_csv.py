"""CSV for people: a cell that starts like a formula is made text (an apostrophe before it); the
frame the figures came in is left as it was (the dashboard keeps it cached), and `--format csv`
writes the same text however long the table is."""
import pandas as pd
import pytest

from analytics.cli import emit
from analytics.safecsv import neutralise


def _table(rows: int = 4) -> pd.DataFrame:
    texts = ["=1+1", "p1", None, "@SUM(A1)", "-2", "+c1", "\tx", "ok, \"quoted\"\nline"]
    return pd.DataFrame({
        "patient_id": pd.array([texts[i % len(texts)] for i in range(rows)], dtype="str"),
        "note": [texts[(i + 3) % len(texts)] for i in range(rows)],
        "phq9_first": pd.array([None if i % 5 == 2 else i % 28 for i in range(rows)], dtype="Int64"),
        "rc": [i / 7 for i in range(rows)],
    })


def test_a_cell_that_starts_like_a_formula_is_made_text():
    out = neutralise(_table(8))
    shown = [None if pd.isna(v) else v for v in out["patient_id"]]
    assert shown == ["'=1+1", "p1", None, "'@SUM(A1)", "'-2", "'+c1", "'\tx", "ok, \"quoted\"\nline"]
    assert out["note"][0] == "'@SUM(A1)" and out["phq9_first"][0] == 0


def test_the_frame_given_is_left_as_it_was():
    frame = _table(8)
    before = frame.copy(deep=True)
    neutralise(frame)
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("rows", [0, 1, 30_000, 60_001])
def test_csv_output_is_the_whole_table_written_at_once(rows, capsys):
    """pandas writes a CSV to a stream a chunk of rows at a time (25,000 rows of these 4 columns):
    the text is the same as the whole written at once."""
    frame = _table(rows)
    emit(frame, "csv")
    assert capsys.readouterr().out == neutralise(frame).to_csv(index=False)
