"""A table's CSV download is kept by the digest of its content, so a rerun does not write a large
table again; different content never shares a download, and formulas stay inert."""
import pandas as pd

from dashboard.ui import content_digest, csv_bytes


def frame(**columns):
    return pd.DataFrame(columns)


def test_the_same_content_has_the_same_digest():
    assert content_digest(frame(a=["x", None], b=[1, 2])) == content_digest(frame(a=["x", None], b=[1, 2]))


def test_one_changed_cell_changes_the_digest():
    rows = [f"p{i}" for i in range(200_000)]
    changed = rows.copy()
    changed[123_456] = "someone else"
    assert content_digest(frame(patient=rows)) != content_digest(frame(patient=changed))


def test_a_renamed_column_or_a_new_dtype_changes_the_digest():
    base = frame(a=[1, 2])
    assert content_digest(base) != content_digest(base.rename(columns={"a": "b"}))
    assert content_digest(base) != content_digest(base.astype("float64"))


def test_cells_that_cannot_be_hashed_are_written_every_time():
    table = frame(series=[[1, 2], [3]])
    assert content_digest(table) is None
    assert csv_bytes(table).decode("utf-8-sig").splitlines() == ["series", '"[1, 2]"', "[3]"]


def test_each_table_gets_its_own_download_and_formulas_stay_inert():
    first, second = frame(note=["=1+1", "fine"]), frame(note=["other", "@cmd"])
    assert csv_bytes(first).decode("utf-8-sig").splitlines() == ["note", "'=1+1", "fine"]
    assert csv_bytes(second).decode("utf-8-sig").splitlines() == ["note", "other", "'@cmd"]
    assert csv_bytes(first) == csv_bytes(first.copy())
