"""`--format json` writes a list one item at a time (the whole clinic's readiness records are 600 MB
of text at ten million sessions); the text is exactly one `json.dumps(..., indent=2)` of the whole,
whatever the list holds and however long it is."""
import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from analytics.cli import print_json

CASES = {
    "empty list": [],
    "one number": [1],
    "an empty list inside": [[]],
    "text with a newline, a tab and a non-ASCII letter": [{"a": "x\ny\tz é", "b": [1, 2, {"c": None}], "d": {}}],
    "a dict": {"k": [1, {"z": "é"}]},
    "text": "s",
    "null": None,
    "exactly one batch": [{"i": i} for i in range(1000)],
    "one more than a batch": [{"i": i} for i in range(1001)],
    "several batches": [{"i": i, "r": ["é", i * 0.1, True]} for i in range(2500)],
    # the shapes the C encoder writes whole (containers of scalars only) and those walked item by item
    "a record as readiness writes it": [{
        "patient_id": "p1", "reasons": ["PHQ-9 15 → 8: reliably improved.", "Not yet stable."],
        "first_scores": {"phq9": 15, "gad7": 10}, "other_category": None, "severity": {},
        "risk_items": {"phq9": {"item": 9, "score": 2, "date": "2025-04-14"}},
        "series": {"phq9": [{"date": "2025-04-14", "session_number": 1, "score": 15}], "gad7": []},
    }],
    "floats: whole, tiny, huge, not a number, infinite": [[1.0, 1e-7, 1e16, -0.0, float("nan"), float("inf"),
                                                           -float("inf"), 2.675]],
    "booleans, nulls and big integers among scalars": [{"t": True, "f": False, "n": None, "big": 2**70}],
    "keys that are not text": [{1: "a", 2.5: "b", True: "c", None: "d"}, {1: [1], "x": {None: 2}}],
    "a tuple and nested empties": [(1, "a"), {"a": [[], {}], "b": [{}]}, [[[]]]],
    "text that looks like a separator": [{"a": ",\n  \"b\": 1", "c": "}", "d": "]\n"}],
    # lists of flat dicts (a record's series) go to the C encoder a dict at a time; any other list
    # of dicts is walked item by item
    "a series of several scores": [{"series": {"phq9": [{"date": f"2025-04-{d:02}", "session_number": n, "score": s}
                                                        for n, (d, s) in enumerate([(1, 15), (8, 12), (15, 9)], 1)]}}],
    "flat dicts with an empty one among them": [[{"a": 1}, {}, {"b": 2}]],
    "flat dicts with a nested one among them": [[{"a": 1}, {"b": [1]}, {"c": {"d": None}}]],
    "flat dicts with keys that are not text": [[{1: "a", 2.5: None}, {True: 1.5, None: float("nan")}]],
    "flat dicts with text like braces and separators": [[{"a": "{\n  }", "b": "},\n  {"}, {"c": "]", "d": "é"}]],
    "flat dicts beside a scalar": [[{"a": 1}, 2, {"b": 3}]],
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_json_output_is_the_same_text_as_one_dumps_of_the_whole(data, capsys):
    print_json(data)
    assert capsys.readouterr().out == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def test_values_json_cannot_write_go_through_the_default_as_one_dumps_would(capsys):
    import numpy as np

    from analytics.cli import _json_default

    data = [{"when": date(2025, 4, 14), "n": np.int64(3), "x": np.float64(0.5), "all": [date(2025, 1, 2), np.int32(7)]}]
    print_json(data)
    assert capsys.readouterr().out == json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n"


def test_dates_in_records_are_iso_text(capsys):
    print_json([{"last_session": date(2025, 4, 14)}])
    assert json.loads(capsys.readouterr().out) == [{"last_session": "2025-04-14"}]


def test_a_frame_is_a_list_of_records(capsys):
    print_json(pd.DataFrame({"patient_id": ["p1", "p2"], "score": [12, None]}))
    assert json.loads(capsys.readouterr().out) == [{"patient_id": "p1", "score": 12.0}, {"patient_id": "p2", "score": None}]


@pytest.mark.parametrize("rows", [0, 1, 9_999, 10_000, 10_001, 25_000])
def test_a_frame_is_written_a_slice_at_a_time_as_the_whole_would_be(rows, capsys):
    frame = pd.DataFrame({
        "episode_id": [f"p{i}#1" for i in range(rows)],
        "start_date": pd.to_datetime(["2025-01-02"] * rows),
        "phq9_first": pd.array([i % 28 if i % 7 else None for i in range(rows)], dtype="Int64"),
        "rc": [i / 7 for i in range(rows)],
        "note": ["é" if i % 3 else None for i in range(rows)],
    })
    print_json(frame)
    whole = json.loads(frame.to_json(orient="records", date_format="iso"))
    assert capsys.readouterr().out == json.dumps(whole, indent=2, ensure_ascii=False) + "\n"


def test_without_the_c_encoder_the_text_is_the_same(monkeypatch, capsys):
    """Where Python has no C JSON encoder (not CPython), Python's own encoder writes the flat
    containers: the same text."""
    import analytics.cli as cli

    monkeypatch.setattr(cli, "c_make_encoder", None)
    monkeypatch.setattr(cli, "_FLAT_ENCODERS", {})
    data = [CASES["a record as readiness writes it"][0], *CASES["floats: whole, tiny, huge, not a number, infinite"],
            *CASES["flat dicts with keys that are not text"], *CASES["a series of several scores"]]
    print_json(data)
    assert capsys.readouterr().out == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert cli._FLAT_ENCODERS   # ...and Python's encoder wrote them
    assert all(isinstance(getattr(e, "__self__", None), json.JSONEncoder) for e in cli._FLAT_ENCODERS.values())


def _frame_of_every_kind(rows: int) -> pd.DataFrame:
    """Columns of every kind the figures' frames hold (and some they do not), missing values in each."""
    gap = [i % 4 == 1 for i in range(rows)]
    return pd.DataFrame({
        "Int64": pd.array([None if g else i * 7 - 3 for i, g in enumerate(gap)], dtype="Int64"),
        "int64": np.arange(rows, dtype="int64") - 2,
        "int32": np.arange(rows, dtype="int32"),
        "uint64": np.full(rows, 2**64 - 1, dtype="uint64"),
        "str": pd.array([None if g else ["p1", "é \"quoted\"\n", "</a>", "😀", ""][i % 5] for i, g in enumerate(gap)],
                        dtype="str"),
        "string": pd.array([None if g else f"c{i}" for i, g in enumerate(gap)], dtype="string"),
        "object text": [None if g else f"t{i}" for i, g in enumerate(gap)],
        "dates": [None if g else date(2025, 1, 1 + i % 28) for i, g in enumerate(gap)],
        "Float64": pd.array([None if g else i / 3 for i, g in enumerate(gap)], dtype="Float64"),
        "float64": [float("nan") if g else -i * 0.1 for i, g in enumerate(gap)],
        "bool": [i % 2 == 0 for i in range(rows)],
        "boolean": pd.array([None if g else i % 3 == 0 for i, g in enumerate(gap)], dtype="boolean"),
        "datetime": pd.to_datetime([None if g else f"2025-03-{1 + i % 28:02} 14:30" for i, g in enumerate(gap)]),
        "category": pd.Categorical([["a", "b"][i % 2] for i in range(rows)]),
        "50% of \"it\"": [["%s,\n  \"b\": 1", "100%", "}"][i % 3] for i in range(rows)],
    })


@pytest.mark.parametrize("rows", [1, 5, 10_001])
def test_a_frame_of_every_kind_of_column_is_pandas_own_json_of_it(rows, capsys):
    frame = _frame_of_every_kind(rows)
    print_json(frame)
    whole = json.loads(frame.to_json(orient="records", date_format="iso"))
    assert capsys.readouterr().out == json.dumps(whole, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("columns", [[0, 1, 2], ["a", 2.5, None]], ids=["numbers", "a number and no name"])
def test_a_frame_whose_column_names_are_not_texts_is_pandas_own_json_of_it(columns, capsys):
    frame = pd.DataFrame([[1, "x", None], [2, None, 0.5]], columns=columns)
    print_json(frame)
    whole = json.loads(frame.to_json(orient="records", date_format="iso"))
    assert capsys.readouterr().out == json.dumps(whole, indent=2, ensure_ascii=False) + "\n"


def test_a_frame_with_a_column_name_twice_is_refused_as_pandas_refuses_it():
    with pytest.raises(ValueError, match="columns must be unique"):
        print_json(pd.DataFrame([[1, "x", None]], columns=["a", "a", "b"]))


def test_a_frame_with_a_list_in_a_cell_is_pandas_own_json_of_it(capsys):
    frame = pd.DataFrame({"episode_id": ["p1#1", "p2#1", "p3#1"], "scores": [[12, 9], [], None]})
    print_json(frame)
    whole = json.loads(frame.to_json(orient="records", date_format="iso"))
    assert capsys.readouterr().out == json.dumps(whole, indent=2, ensure_ascii=False) + "\n"
