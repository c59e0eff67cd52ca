"""A rejected row is named by the line a spreadsheet shows it on: the header is line 1, a blank
line is a line, and a cell with a line break stays in its row. Blank lines between rows used to
shift every later row's number back (a row on line 9 was called line 4)."""
from __future__ import annotations

import pytest

from tests.ingest_helpers import HEADER, csv_file, fresh, ingest, rejects

GOOD = "p{n},c1,2025-01-0{n},attended,12,9"


def imported(tmp_path, text: str, newline: str = "\n"):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text, newline=newline))
    return result, rejects(con, result.batch_id)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_blank_lines_between_rows_count_as_lines(tmp_path, newline):
    text = "\n".join([HEADER, GOOD.format(n=1), "", "", "p2,c1,2025-01-02,attended,9", GOOD.format(n=3), "",
                      "p4,c1,2025-01-04,attended,12,9,5", "p5,c1,2025-01-05,attended,99,9", GOOD.format(n=6)]) + "\n"
    result, rows = imported(tmp_path, text, newline)
    assert [line for line, _ in rows] == [5, 8, 9]
    assert rows[2][1] == "PHQ-9 99 is outside 0–27"              # found by Waypoint, not by the reader
    assert result.reasons[-1] == "line 9: PHQ-9 99 is outside 0–27"
    assert result.new_rows == 3


def test_a_cell_with_a_line_break_keeps_the_rows_after_it_on_their_spreadsheet_line(tmp_path):
    header = HEADER + ",notes"
    text = (f"{header}\np1,c1,2025-01-06,attended,12,9,\"first line\nsecond line\"\n"
            "p2,c1,2025-01-06,attended,99,9,\np3,c1,2025-01-06,attended,12\n")
    _, rows = imported(tmp_path, text)
    assert [line for line, _ in rows] == [3, 4]


def test_blank_lines_at_the_end_shift_nothing(tmp_path):
    text = f"{HEADER}\n{GOOD.format(n=1)}\np2,c1,2025-01-02,attended,99,9\n\n\n\n"
    _, rows = imported(tmp_path, text)
    assert rows == [(3, "PHQ-9 99 is outside 0–27")]


def test_the_rejects_file_and_the_notes_use_the_same_numbers(tmp_path):
    text = f"{HEADER}\n\n{GOOD.format(n=1)}\n\n,,,,,\np2,c1,2025-01-02,attended,99,9\n"
    con = fresh()
    result = ingest(con, csv_file(tmp_path, text), rejects=tmp_path / "rejects.csv")
    assert "  1 empty row(s), only delimiters (the first on line 5), left out" in result.summary().splitlines()
    assert rejects(con, result.batch_id) == [(6, "PHQ-9 99 is outside 0–27")]
    assert (tmp_path / "rejects.csv").read_text().splitlines()[1].split(",")[1] == "6"


@pytest.mark.parametrize("blank_line", [False, True])
def test_rows_after_one_the_reader_rejects_keep_their_lines(tmp_path, blank_line):
    # the reader's own rejects (too few, too many fields) are numbered by DuckDB; the rows it read
    # after them are numbered by Waypoint, past the rejected lines (and past a blank line)
    rows = [HEADER, GOOD.format(n=1), "p2,c1,2025-01-02,attended,9", "p3,c1,2025-01-03,attended,12,9,5",
            GOOD.format(n=4), "p5,c1,2025-01-05,attended,99,9", GOOD.format(n=6)]
    if blank_line:
        rows.insert(5, "")
    result, rejected = imported(tmp_path, "\n".join(rows) + "\n")
    assert [line for line, _ in rejected] == [3, 4, 7 if blank_line else 6]
    assert rejected[-1][1] == "PHQ-9 99 is outside 0–27"
    assert result.new_rows == 3
