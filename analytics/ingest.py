"""Import a clinic's CSV exports into the clinic database: the engine behind `waypoint ingest`
and the dashboard's Data page.

One file is one transaction: it imports whole or not at all. Inside it, every row is checked
(sql/ingest/check_*.sql); a row with any invalid field is set aside in ``rejected_rows`` with
every reason, and every valid row is written. Rows are keyed by (patient, clinician, date, time):
an exact duplicate imports once, two different rows with one key are both rejected as a
conflict, a row already in the database with the same values changes nothing, and a row with new
values replaces the old one (which is kept so that ``undo_import`` can put it back).

The CSV is read by DuckDB's own reader (streaming, parallel); Python only sniffs the encoding,
delimiter and header, and turns what the file calls things into canonical names.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import os
import re
import tempfile
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb
import pandas as pd

from .db import WRITE_LOCK, scalar
from .episodes import assign_episodes
from .errors import WaypointError
from .mapping import (
    SESSION_FIELDS, Mapping, Resolved, date_pattern_label, load_mapping, norm, resolve,
)
from .safecsv import write_csv
from .pseudonym import apply_at_import as apply_pseudonyms
from .scales import load_registry, registry_frame
from .settings import Settings
from .sqlfiles import read_sql

ISO_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
# Other layouts recognised when every date in the file fits exactly one of them. Day-first and
# month-first are both listed so that a file where both fit is stopped, never guessed.
OTHER_FORMATS = ["%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d", "%d/%m/%y", "%m/%d/%y"]
DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 1 << 16
# A session log has a few hundred columns at most (fields, scales, their items). Reading cost grows
# faster than the column count (20,000 columns: half a minute), so a wider file is refused.
MAX_COLUMNS = 5_000
SHOW_REASONS = 5
# Words a score cell may hold for "no score taken": read as a blank cell, and counted in the summary.
NO_SCORE_WORDS = ("n/a", "na", "n.a.", "#n/a", "-", "--", "null", "none", "not done", "not completed", "missing", ".")
_NO_SCORE_SQL = ", ".join("'" + w.replace("'", "''") + "'" for w in NO_SCORE_WORDS)
ENCODING_NAMES = {"cp1252": "Windows-1252", "utf-16": "UTF-16", "cp1250": "Windows-1250", "cp932": "Shift-JIS (cp932)",
                  "shift_jis": "Shift-JIS", "gb18030": "GB18030", "big5": "Big5", "cp949": "Korean (cp949)"}
# Imports in one process take turns with every other write (db.WRITE_LOCK).
_WRITE_LOCK = WRITE_LOCK


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportResult:
    file_name: str
    sha256: str
    kind: str
    rows_read: int
    new_rows: int
    updated_rows: int
    unchanged: int
    duplicates: int
    rejected: int
    reasons: tuple[str, ...] = ()           # the first few "line N: why"
    batch_id: int | None = None
    dry_run: bool = False
    encoding: str = "utf-8"
    delimiter: str = ","
    ignored_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()             # what to check, e.g. names that look like another encoding

    def counts(self) -> dict[str, int]:
        return {"rows_read": self.rows_read, "new_rows": self.new_rows, "updated_rows": self.updated_rows,
                "unchanged": self.unchanged, "duplicates": self.duplicates, "rejected": self.rejected}

    def summary(self) -> str:
        head = (f"{self.file_name}: read {self.rows_read:,} rows — {self.new_rows:,} new, "
                f"{self.updated_rows:,} updated, {self.unchanged:,} unchanged, {self.duplicates:,} duplicates, "
                f"{self.rejected:,} rejected")
        head += " (dry run: nothing written)" if self.dry_run else f" (batch {self.batch_id})"
        lines = [head]
        if self.encoding not in ("utf-8", "utf-8-sig"):
            lines.append(f"  read as {ENCODING_NAMES.get(self.encoding, self.encoding)} text (the file is not UTF-8)")
        lines += [f"  {note}" for note in self.notes]
        if self.ignored_columns:
            lines.append("  columns not used: " + ", ".join(self.ignored_columns))
        lines += [f"  {r}" for r in self.reasons]
        if self.rejected > len(self.reasons):
            more = self.rejected - len(self.reasons)
            where = "with --rejects OUT.csv" if self.dry_run else f"with `waypoint imports --rejected {self.batch_id}`"
            lines.append(f"  … and {more:,} more rejected row(s): list them {where}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Report:
    counts: dict[str, int]
    rejected: pd.DataFrame


@dataclass(frozen=True)
class Preview:
    """What an import would do, with nothing written."""
    kind: str
    headers: list[str]
    mapping: dict[str, str | None]      # canonical field -> header (None: not in the file)
    head: pd.DataFrame                  # the first rows as the file has them
    report: Report
    results: list[ImportResult] = field(default_factory=list)
    date_format: str | None = None


# ---------------------------------------------------------------------------------------------
# reading the file
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    path: Path            # the file as given
    readable: Path        # a UTF-8 file DuckDB reads (the file itself, or a transcoded copy)
    encoding: str
    delimiter: str
    headers: list[str]
    sha256: str
    notes: tuple[str, ...] = ()   # what the reader should check (e.g. a likely wrong encoding)
    line_breaks: int | None = None  # of ``readable`` before any at its end (counted with the hash)


def _sha256(path: Path) -> tuple[str, int]:
    """The file's SHA-256 and its line breaks, not counting those at its end (:func:`_record_lines`),
    in one read."""
    h = hashlib.sha256()
    breaks, tail = 0, b""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            breaks += chunk.count(b"\n")
            tail = chunk[-65536:] if len(chunk) >= 65536 else (tail + chunk)[-65536:]
    return h.hexdigest(), breaks - tail[len(tail.rstrip(b"\r\n")):].count(b"\n")


def _not_csv(path: Path, what: str) -> WaypointError:
    return WaypointError(f"{path.name}: {what}. Export the session log from your record system as CSV "
                         "(comma, semicolon or tab separated text) and try again.")


def _encoding(path: Path, head: bytes, declared: str | None = None) -> str:
    """The file's text encoding: the mapping's ``[file] encoding`` when given; else UTF-8 (with or
    without BOM), UTF-16 with its BOM, or Windows-1252 (what Excel's plain "CSV" writes in Western
    Europe and the Americas). Text that reads as Chinese, Japanese or Korean is stopped, never
    taken for Windows-1252 (it would import as other characters): the message names the encoding
    it looks like and how to declare it."""
    if head.startswith(b"\x1f\x8b"):
        raise WaypointError(f"{path.name}: this is a gzip-compressed file. Decompress it first (gunzip -c "
                            f"{path.name} > export.csv, or open it with your archive tool) and import the CSV.")
    if head.startswith(b"PK\x03\x04"):
        raise WaypointError(f"{path.name}: this is an Excel workbook (.xlsx) or another zip archive, not a CSV "
                            "file. In Excel use File › Save As › 'CSV UTF-8 (Comma delimited)' and import that "
                            "file; from an archive, extract the CSV and import it.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise WaypointError(f"{path.name}: this is an old Excel workbook (.xls), not a CSV file. In Excel use "
                            "File › Save As › 'CSV UTF-8 (Comma delimited)' and import that file.")
    if declared is not None:
        encoding = "utf-8-sig" if declared == "utf-8" and head.startswith(b"\xef\xbb\xbf") else declared
        _decodes(path, encoding, f"the mapping's [file] encoding {declared!r}")
        return encoding
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        _decodes(path, "utf-16", "its byte-order mark")
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if b"\x00" in head:
        raise _not_csv(path, "this is a binary file, not text")
    if _first_undecodable(path, "utf-8") is None:
        return "utf-8"
    looks = _east_asian(path)
    if looks is not None:
        raise WaypointError(
            f"{path.name}: the file is not UTF-8, and its text looks like Chinese, Japanese or Korean (perhaps "
            f"{looks}), not Windows-1252; Waypoint will not guess. Save the export as 'CSV UTF-8', or name the "
            f'encoding in a mapping file ([file] encoding = "{looks}" if that is right; "cp1252" if the file '
            "is Windows-1252 after all) and run again with --mapping MAP.toml.")
    bad = _first_undecodable(path, "cp1252", binary_check=True)
    if bad is not None:
        raise WaypointError(f"{path.name}: the file is neither UTF-8 nor Windows-1252 text ({_where(bad)}). "
                            "Save the export as 'CSV UTF-8', or name its encoding in a mapping file ([file] "
                            'encoding = "cp1250", say) and run again with --mapping MAP.toml.')
    return "cp1252"


def _first_undecodable(path: Path, encoding: str, *, binary_check: bool = False) -> tuple[int, int, bytes] | None:
    """(line, byte offset, bytes) of the first bytes ``encoding`` cannot decode; None when it decodes
    the whole file. Lines are the file's physical lines, as a text editor numbers them."""
    decoder = codecs.getincrementaldecoder(encoding)()
    consumed = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            if binary_check and b"\x00" in chunk:
                raise _not_csv(path, "this is a binary file, not text")
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # a decoder may hold the last bytes of the chunk before: exc.object is then those
                # bytes and this chunk
                at = consumed - (len(exc.object) - len(chunk)) + exc.start
                return _line_of(path, at), at, bytes(exc.object[exc.start:exc.end][:4])
            consumed += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:     # the file ends inside a character
            at = consumed - len(exc.object) + exc.start
            return _line_of(path, at), at, bytes(exc.object[exc.start:][:4])
    return None


def _line_of(path: Path, offset: int) -> int:
    """The line (from 1) that byte ``offset`` of the file is on."""
    lines, left = 1, offset
    with open(path, "rb") as fh:
        while left > 0:
            chunk = fh.read(min(left, 1 << 22))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            left -= len(chunk)
    return lines


def _where(bad: tuple[int, int, bytes]) -> str:
    line, at, shown = bad
    return f"line {line}, byte {at + 1:,}: {' '.join(f'{b:02X}' for b in shown)}"


def _decodes(path: Path, encoding: str, what: str) -> None:
    bad = _first_undecodable(path, encoding)
    if bad is not None:
        raise WaypointError(f"{path.name}: the file is not {encoding} text as {what} says ({_where(bad)}). "
                            "Save the export as 'CSV UTF-8' (and leave any [file] encoding out of the mapping), "
                            "or correct the mapping's encoding.")


# Lines with bytes above 0x7F are where the encoding shows: up to this much of them is read, and
# fewer than _EVIDENCE such bytes are too few to tell (a few accented names in Windows-1252 can
# read as Chinese to charset_normalizer; a dozen rows cannot).
_SAMPLE_BYTES = 1 << 18
_EVIDENCE = 16
_EAST_ASIAN_SCRIPTS = ("CJK", "Hiragana", "Katakana", "Hangul", "Bopomofo")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _high_byte_lines(path: Path, limit: int = _SAMPLE_BYTES) -> bytes:
    """The file's lines that hold a byte above 0x7F, up to about ``limit`` bytes of them."""
    sample = bytearray()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            pos = 0
            while len(sample) < limit and (m := _HIGH_BYTE.search(chunk, pos)):
                start = chunk.rfind(b"\n", 0, m.start()) + 1
                end = chunk.find(b"\n", m.end())
                pos = len(chunk) if end < 0 else end + 1
                sample += chunk[start:pos]
            if len(sample) >= limit:
                break
    return bytes(sample)


def _east_asian(path: Path) -> str | None:
    """The codec (e.g. "cp932") when the file's non-ASCII text reads as Chinese, Japanese or Korean
    to charset_normalizer. Only that is asked of it: between the single-byte Western code pages
    (1252, 1250, 1257) its guesses on names are unreliable, so those are not told apart."""
    from charset_normalizer import from_bytes

    sample = _high_byte_lines(path)
    if len(_HIGH_BYTE.findall(sample)) < _EVIDENCE:
        return None
    best = from_bytes(sample).best()
    if best is None or not any(a.startswith(_EAST_ASIAN_SCRIPTS) for a in best.alphabets):
        return None
    return best.encoding


# Central European letters that Windows-1252 reads as symbols: ł ą ż Ł Ą Ż ś ź Ś ľ Ľ (Windows-1250
# bytes B3 B9 BF A3 A5 AF 9C 9F 8C BE BC) become ³ ¹ ¿ £ ¥ ¯ œ Ÿ Œ ¾ ¼. Beside a letter, inside a
# name, they are Windows-1250 text read as Windows-1252 ("Micha³", "£ukasz", "£ódŸ"), not
# Western text. (After two letters, accented ones included: "m³" is a unit. ¿ only after letters:
# Spanish opens questions with it.)
_WORD_ENDS = frozenset(bytes([c]) for c in b" ,;\t|\"\r\n")
_CENTRAL_EUROPEAN_AS_1252 = re.compile(
    rb"[A-Za-z\xc0-\xd6\xd8-\xf6\xf8-\xff]{2}[\xb3\xb9\xbf\xa3\xa5\xaf\x9c\x9f\x8c\xbe\xbc]"
    rb"|[\xb3\xb9\xa3\xa5\xaf\x9c\x9f\x8c\xbe\xbc][A-Za-z]")


def _central_european_hint(path: Path) -> str | None:
    """A note when text read as Windows-1252 looks like Windows-1250 (Central European): the two
    cannot be told apart by the bytes, so this warns rather than stops."""
    sample = _high_byte_lines(path)
    found = _CENTRAL_EUROPEAN_AS_1252.search(sample)
    if found is None:
        return None
    a, b = found.start(), found.end()           # widen to the word (up to a delimiter or quote)
    while a > 0 and sample[a - 1:a] not in _WORD_ENDS:
        a -= 1
    while b < len(sample) and sample[b:b + 1] not in _WORD_ENDS:
        b += 1
    example = sample[a:b].decode("cp1252", errors="replace")
    return (f"check names: {example!r} reads like Central European (Windows-1250) text read as Windows-1252. "
            'If names look wrong, import the file with [file] encoding = "cp1250" in a mapping (on the Data page: '
            "Text encoding), after undoing this import if it was made.")


def _transcode(path: Path, encoding: str) -> Path:
    fd, name = tempfile.mkstemp(prefix="waypoint-", suffix=".csv")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, open(path, encoding=encoding, newline="") as src:
        for chunk in iter(lambda: src.read(1 << 20), ""):
            out.write(chunk)
    return Path(name)


def _sniff(path: Path, encoding: str, shown: Path | None = None) -> tuple[str, list[str]]:
    """The delimiter (from the first line) and the header row. ``shown``: the file as the user named
    it, for messages (``path`` may be a transcoded copy)."""
    with open(path, encoding=encoding, newline="", errors="replace") as fh:
        text = fh.read(SNIFF_BYTES)
    readable, path = path, shown or path
    if not text.strip():
        raise _not_csv(path, "the file is empty")
    first = text.splitlines()[0] if text.splitlines() else text
    counts = {d: first.count(d) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    if counts[delimiter] == 0:
        delimiter = ","
    try:  # the whole header row, however long (thousands of columns outgrow the sniffed text)
        with open(readable, encoding=encoding, newline="", errors="replace") as fh:
            headers = next(csv.reader(fh, delimiter=delimiter))
    except (csv.Error, StopIteration):
        raise _not_csv(path, "its first line is not a row of column names") from None
    headers = [h.strip() for h in headers]
    if len(headers) > MAX_COLUMNS:
        raise WaypointError(f"{path.name}: the file has {len(headers):,} columns; Waypoint reads at most "
                            f"{MAX_COLUMNS:,}. Export only the session log's columns (patient, clinician, date, "
                            "status, scores) and try again.")
    if len(headers) < 2:
        raise _not_csv(path, f"its first line has one column only ({first[:60]!r}); expected column names "
                             "separated by commas, semicolons or tabs")
    return delimiter, headers


@contextmanager
def _open_source(path: Path, declared: str | None = None) -> Iterator[Source]:
    path = Path(path)
    if not path.exists():
        raise WaypointError(f"{path}: file not found.")
    if path.is_dir():
        raise WaypointError(f"{path}: is a folder; give the CSV file(s) inside it.")
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    encoding = _encoding(path, head, declared)
    hint = _central_european_hint(path) if encoding == "cp1252" and declared is None else None
    if declared is not None and codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig") \
            and _high_byte_lines(path) and _first_undecodable(path, "utf-8") is None:
        # asked for another encoding, but the file is valid UTF-8 with letters beyond ASCII: "José"
        # would arrive as "JosÃ©"
        hint = (f"the file is valid UTF-8, yet read as {ENCODING_NAMES.get(encoding, encoding)} as asked: names "
                "with accents may show other characters (José as JosÃ©); if they do, choose UTF-8")
    readable = path if encoding in ("utf-8", "utf-8-sig") else _transcode(path, encoding)
    try:
        delimiter, headers = _sniff(readable, "utf-8-sig", path)
        sha256, breaks = _sha256(path)
        yield Source(path, readable, encoding, delimiter, headers, sha256, (hint,) if hint else (),
                     breaks if readable == path else _sha256(readable)[1])
    finally:
        if readable != path:
            readable.unlink(missing_ok=True)


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _load_raw(con: duckdb.DuckDBPyConnection, src: Source) -> tuple[int, pd.DataFrame]:
    """Read the file into _in_raw (c0, c1, ... all text, in file order, with its line number).

    Rows with too many or too few fields are not read; they come back as (line, raw text, reason).
    Line numbers are the rows of the file as a spreadsheet shows them: the header is line 1, a
    blank line is a line, a cell with a line break stays in its row (as DuckDB numbers the rows it
    rejects).
    """
    for t in ("_in_raw", "_in_read", "_in_reject_errors", "_in_reject_scans"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(src.headers))) + "}"
    # read with an empty line column, numbered below: in place for the usual file (every row read,
    # no blank line), through a numbered copy otherwise (two copies of a file of ten million rows
    # are beyond the memory limit: the copy took 4.1 s there, the numbering in place 0.2 s)
    con.execute(
        f"""CREATE TEMP TABLE _in_raw AS SELECT CAST(NULL AS BIGINT) AS line, * FROM read_csv({_lit(str(src.readable))},
                delim = {_lit(src.delimiter)}, quote = '"', escape = '"', header = true,
                auto_detect = false, columns = {columns}, store_rejects = true,
                rejects_table = '_in_reject_errors', rejects_scan = '_in_reject_scans',
                max_line_size = 16777216)"""
    )
    accepted = scalar(con, "SELECT count(*) FROM _in_raw")
    bad = con.execute(
        r"""WITH e AS (
                SELECT line, csv_line, error_type,
                       regexp_extract(error_message, 'Expected Number of Columns: (\d+)', 1) AS expected,
                       try_cast(regexp_extract(error_message, 'Found: (\d+)', 1) AS INTEGER) AS found
                FROM _in_reject_errors),
            per_type AS (
                SELECT line, any_value(csv_line) AS raw, error_type,
                       CASE error_type
                           WHEN 'MISSING COLUMNS' THEN 'too few fields: the header has ' || any_value(expected)
                                || ' columns, this row ' || min(found)
                           WHEN 'TOO MANY COLUMNS' THEN 'too many fields: the header has ' || any_value(expected)
                                || ' columns, this row ' || max(found)
                           WHEN 'UNQUOTED VALUE' THEN 'a quote in the middle of a field'
                           WHEN 'UNTERMINATED QUOTES' THEN 'a quoted field is never closed'
                           WHEN 'LINE SIZE OVER MAXIMUM' THEN 'the line is longer than 16 MB'
                           WHEN 'INVALID UNICODE' THEN 'characters that are not valid text'
                           ELSE lower(error_type) END AS reason
                FROM e GROUP BY line, error_type)
            SELECT line, any_value(raw) AS raw, string_agg(reason, '; ' ORDER BY reason) AS reason
            FROM per_type GROUP BY line ORDER BY line"""
    ).df()
    starts = _record_lines(src, accepted + len(bad))
    if starts is not None:
        rejected_at = set(int(x) for x in bad["line"]) if len(bad) else set()
        starts = [line for line in starts if line not in rejected_at]
    if len(bad):
        bad["reason"] = [_swallowed(reason, raw) for reason, raw in zip(bad["reason"], bad["raw"])]
    if starts is not None and len(starts) == accepted:
        # blank lines between rows: the rows DuckDB read are numbered past them (as DuckDB numbers
        # the rows it rejects)
        con.execute("ALTER TABLE _in_raw RENAME TO _in_read")
        con.register("_in_line_map", pd.DataFrame({"idx": range(accepted), "line": starts}, dtype="int64"))
        try:
            con.execute(
                """CREATE TEMP TABLE _in_raw AS
                   SELECT m.line, r.* EXCLUDE (idx, line)
                   FROM (SELECT rowid - (SELECT min(rowid) FROM _in_read) AS idx, * FROM _in_read) r
                   JOIN _in_line_map m USING (idx)""")
        finally:
            con.unregister("_in_line_map")
        con.execute("DROP TABLE _in_read")
    elif len(bad):
        con.execute("ALTER TABLE _in_raw RENAME TO _in_read")
        con.execute(
            f"""CREATE TEMP TABLE _in_raw AS
                WITH lines AS (
                    SELECT range AS line FROM range(2, {accepted + len(bad) + 2})
                    WHERE range NOT IN (SELECT line FROM _in_reject_errors)),
                numbered AS (SELECT line, row_number() OVER (ORDER BY line) - 1 AS idx FROM lines)
                SELECT n.line, r.* EXCLUDE (line)
                FROM (SELECT rowid - (SELECT min(rowid) FROM _in_read) AS idx, * FROM _in_read) r
                JOIN numbered n USING (idx)"""
        )
        con.execute("ALTER TABLE _in_raw DROP COLUMN idx")
        con.execute("DROP TABLE _in_read")
    else:
        # every row read, in file order, from line 2: the line is the row's place in the table
        con.execute("UPDATE _in_raw SET line = rowid - (SELECT min(rowid) FROM _in_raw) + 2")
    return accepted + len(bad), bad


def _set_aside_repeated_headers(con: duckdb.DuckDBPyConnection, src: Source, res: Resolved, label: str,
                                malformed: pd.DataFrame) -> pd.DataFrame:
    """Rows that repeat the header (two exports joined into one file). In the header's own order the
    row is set aside as a repeated header; in another order the import stops, since every row after
    it would be read into the wrong columns (a PHQ-9 stored as GAD-7)."""
    keys = [res.fields[f] for f in ("patient_id", "clinician_id", "session_date", "status", "date", "measure")
            if f in res.fields]
    names = sorted({h.strip() for h in src.headers if h.strip()})
    if not keys or not names:
        return malformed
    listed = ", ".join(_lit(n) for n in names)
    # a cheap first look (a date column's text not starting with a digit, then text equality on the
    # key columns), then the few rows it finds in full
    dated = [res.fields[f] for f in ("session_date", "date") if f in res.fields]
    first = f"NOT (c{dated[0]}[1] BETWEEN '0' AND '9') AND " if dated else ""
    found = con.execute(
        f"SELECT * FROM _in_raw WHERE {first}{' AND '.join(f'trim(c{i}) IN ({listed})' for i in keys)} "
        "ORDER BY line LIMIT 1000").fetchall()
    if not found:
        return malformed
    header_norms = [norm(h) for h in src.headers]
    same_order = []
    for row in found:
        line, cells = row[0], ["" if v is None else v for v in row[1:]]
        if [norm(c) for c in cells] == header_norms:
            same_order.append((line, src.delimiter.join(cells)))
            continue
        moved = [(h, c) for h, c in zip(src.headers, cells) if norm(c) != norm(h)]
        shown = "; ".join(f'"{c.strip()}" under "{h}"' for h, c in moved[:3]) + ("; …" if len(moved) > 3 else "")
        raise WaypointError(
            f"{label}, line {line}: the header again, with its columns in another order ({shown}): two exports "
            "joined into one file? The rows after it would be read into the wrong columns, so nothing was "
            f"imported. Split the file at line {line} and import each part.")
    lines = [line for line, _ in same_order]
    con.execute(f"DELETE FROM _in_raw WHERE line IN ({', '.join(map(str, lines))})")
    extra = pd.DataFrame({"line": lines, "raw": [raw for _, raw in same_order],
                          "reason": ["the header again (two exports joined into one file?): not a session"] * len(lines)})
    return pd.concat([malformed, extra], ignore_index=True).sort_values("line", kind="stable").reset_index(drop=True)


def _undo_formula_guard(con: duckdb.DuckDBPyConnection, src: Source) -> None:
    """A --rejects file (or a table downloaded from the dashboard) has a "'" put before cells that
    begin with = + - @ (analytics/safecsv.py: a spreadsheet would run them as formulas). Fixed and
    uploaded again, such a file is recognised by its "line" and "reasons" columns, and the "'" is
    taken off again, so that "-" and "+North" arrive as they were written."""
    names = {norm(h) for h in src.headers}
    if not {"line", "reasons"} <= names:
        return
    from .safecsv import FORMULA_STARTS

    starts = ", ".join(_lit(c) for c in FORMULA_STARTS)
    for i in range(len(src.headers)):
        con.execute(f"UPDATE _in_raw SET c{i} = substr(c{i}, 2) "
                    f"WHERE starts_with(c{i}, chr(39)) AND substr(c{i}, 2, 1) IN ({starts})")


def _empty_rows_skipped(con: duckdb.DuckDBPyConnection, src: Source, res: Resolved) -> tuple[str, ...]:
    """Rows with every field empty (",,,,," -- a spreadsheet's trailing rows) hold nothing to keep or
    fix: they are left out, as blank lines are, and counted in the summary rather than listed as
    rejected rows missing four fields."""
    key = res.fields.get("patient_id")
    if key is None:
        return ()
    empty = " AND ".join(f"NULLIF(trim(c{i}), '') IS NULL" for i in range(len(src.headers)))
    n, first = con.execute(f"SELECT count(*), min(line) FROM _in_raw WHERE NULLIF(trim(c{key}), '') IS NULL "
                           f"AND {empty}").fetchall()[0]
    if not n:
        return ()
    con.execute(f"DELETE FROM _in_raw WHERE NULLIF(trim(c{key}), '') IS NULL AND {empty}")
    return (f"{n:,} empty row(s), only delimiters (the first on line {first}), left out",)


def _record_lines(src: Source, records: int) -> list[int] | None:
    """The line of each row after the header, numbered as a spreadsheet numbers the file's rows
    (a blank line is a row; a cell with a line break stays in its row), blank lines left out: the
    numbers DuckDB gives the rows it rejects. None when the file has no line break but those ending
    its rows (row n is line n + 1: the usual case, found by counting the file's line breaks, a fast
    byte scan), or when Python's reader does not split the file into the rows DuckDB found (the
    numbering then stays one line per row)."""
    breaks = src.line_breaks if src.line_breaks is not None else _sha256(src.readable)[1]
    if breaks == records:                         # one line break per row after the header
        return None
    lines: list[int] = []
    try:
        with open(src.readable, encoding="utf-8", newline="", errors="replace") as fh:
            reader = csv.reader(fh, delimiter=src.delimiter, quotechar='"', doublequote=True)
            if next(reader, None) is None:
                return None
            lines = [line for line, row in enumerate(reader, start=2) if row]
    except csv.Error:
        return None
    return lines if len(lines) == records else None


def _swallowed(reason: str, raw: Any) -> str:
    """A malformed row whose text runs over several lines of the file: a quote opened and never
    closed took the lines after it into this one row. Say so, and how many, so the rows it hid
    are not taken for lost."""
    text = str(raw or "")
    extra = text.rstrip("\r\n").count("\n")
    if not extra or '"' not in text:        # several lines without a quote: blank lines, not a quote
        return reason
    return (f"{reason}; a quote opened in this row is never closed, so the {extra} line(s) after it were read "
            "into it (they are in this row's raw line): fix the quote and import the file again")


def _text(col: int) -> str:
    return f"NULLIF(trim(c{col}), '')"


# ---------------------------------------------------------------------------------------------
# dates
# ---------------------------------------------------------------------------------------------
def _date_formats(con: duckdb.DuckDBPyConnection, cols: list[int], mapping: Mapping, label: str) -> list[str]:
    """The date layout of the file: the mapping's, else ISO 8601, else the one layout every value fits.

    Stops (never guesses) when day-first and month-first both fit every value.
    """
    if mapping.date_format:
        return _with_times(mapping.date_format)
    if not cols:
        return ISO_FORMATS
    values = "SELECT DISTINCT v FROM (" + " UNION ALL ".join(f"SELECT {_text(c)} AS v FROM _in_raw" for c in cols) + ")"
    candidates = [ISO_FORMATS] + [_with_times(f) for f in OTHER_FORMATS]
    # a layout fits a value when it reads a date from 1900 on (%Y takes "26" as the year 26)
    counts_sql = ", ".join(
        f"count(CASE WHEN try_strptime(v, {'[' + ', '.join(_lit(f) for f in fmts) + ']'}) >= TIMESTAMP '1900-01-01' "
        "THEN 1 END)" for fmts in candidates)
    row = con.execute(f"SELECT count(v), {counts_sql} FROM ({values}) WHERE v IS NOT NULL").fetchall()[0]
    total, fits = row[0], list(row[1:])
    if total == 0 or fits[0] == max(fits):
        return ISO_FORMATS
    best = max(fits)
    if best == 0:
        example = scalar(con, f"SELECT v FROM ({values}) WHERE v IS NOT NULL LIMIT 1")
        raise WaypointError(
            f"{label}: no date in the file is in a layout Waypoint knows (for example {example!r}). Say how "
            'dates are written in a mapping file, e.g. [dates] format = "%d/%m/%Y", and run again with --mapping.')
    winners = [fmts for fmts, n in zip(candidates, fits) if n == best]
    if len(winners) > 1:
        a, b = winners[0][0], winners[1][0]
        example = scalar(
            con, f"SELECT v FROM ({values}) WHERE try_strptime(v, ?) >= TIMESTAMP '1900-01-01' "
                 "AND try_strptime(v, ?) >= TIMESTAMP '1900-01-01' "
                 "AND try_strptime(v, ?) <> try_strptime(v, ?) LIMIT 1", [a, b, a, b]) or scalar(
            con, f"SELECT v FROM ({values}) WHERE v IS NOT NULL LIMIT 1")
        earlier = _earlier_layout(con, (a, b))
        raise WaypointError(
            f"{label}: dates such as {example!r} could be {date_pattern_label(a)} or {date_pattern_label(b)}, "
            f'and Waypoint will not guess. Put [dates] format = "{a}" (or "{b}") in a mapping file and run '
            "again with --mapping MAP.toml." + earlier)
    return winners[0]


def _with_times(fmt: str) -> list[str]:
    """A date layout, and the same with a time after it ("31/08/2026 10:30", as spreadsheets write
    a date and time): the time is then the session's when the time column has none."""
    if "%H" in fmt or "%I" in fmt:
        return [fmt]
    return [fmt, f"{fmt} %H:%M", f"{fmt} %H:%M:%S"]


_LAST_LAYOUT = "last_date_layout"     # meta key: "<pattern>|<batch>" of the last import not in ISO dates


def _earlier_layout(con: duckdb.DuckDBPyConnection, candidates: tuple[str, ...]) -> str:
    """When an earlier import here read its dates in one of ``candidates`` (a fixed --rejects file
    has lost the rows that showed the layout), say which, as a hint: never a guess."""
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [_LAST_LAYOUT]).fetchall()
    if not rows:
        return ""
    pattern, _, batch = rows[0][0].partition("|")
    if pattern not in candidates:
        return ""
    return (f" The last import here with such dates (batch {batch}) read them as {date_pattern_label(pattern)}: "
            f'if this file comes from the same export (its --rejects file, say), use [dates] format = "{pattern}".')


def _date_layout_note(con: duckdb.DuckDBPyConnection, cols: list[int], fmts: list[str],
                      mapping: Mapping) -> tuple[str, ...]:
    """When the layout was found from the file (not ISO, not the mapping's), say which, with a
    value only it reads: one mistyped day (13/01 in a month-first file) can decide it, and the
    reader should see that it did."""
    if mapping.date_format or not cols or fmts == ISO_FORMATS:
        return ()
    chosen = fmts[0]
    others = [f for f in OTHER_FORMATS if f != chosen]
    values = " UNION ALL ".join(f"SELECT line, {_text(c)} AS v FROM _in_raw" for c in cols)
    fits_another = " OR ".join(
        f"coalesce(try_strptime(v, [{', '.join(_lit(x) for x in _with_times(f))}]) >= TIMESTAMP '1900-01-01', false)"
        for f in others)
    rows = con.execute(
        f"SELECT min(line), v, count(*) OVER () FROM ({values}) WHERE v IS NOT NULL AND NOT ({fits_another}) "
        "GROUP BY v ORDER BY min(line) LIMIT 1").fetchall()
    label = date_pattern_label(chosen)
    if not rows:
        return (f"dates read as {label}",)
    line, value, n = rows[0]
    deciding = "the only value that decides it" if n == 1 else f"one of {n:,} values only {label} reads"
    return (f"dates read as {label}: line {line} has {value!r}, {deciding}; if that date is a typo, "
            f"fix it or say [dates] format in a mapping",)


# ---------------------------------------------------------------------------------------------
# checking
# ---------------------------------------------------------------------------------------------
def _values_table(con: duckdb.DuckDBPyConnection, mapping: Mapping) -> None:
    rows = [(f, raw, canonical) for f in ("status", "discharge_reason")
            for raw, canonical in mapping.value_map(f).items()]
    con.execute("CREATE OR REPLACE TEMP TABLE _in_values (field VARCHAR, raw_norm VARCHAR, canonical VARCHAR)")
    con.executemany("INSERT INTO _in_values VALUES (?, ?, ?)", rows)


def _registry_table(con: duckdb.DuckDBPyConnection) -> None:
    con.register("_in_registry_df", registry_frame())
    con.execute("CREATE OR REPLACE TEMP TABLE scale_registry AS SELECT * FROM _in_registry_df")
    con.unregister("_in_registry_df")


def _check_sessions(con: duckdb.DuckDBPyConnection, res: Resolved, fmts: list[str], today: date) -> None:
    cols = ", ".join(
        (_text(res.fields[f]) if f in res.fields else "CAST(NULL AS VARCHAR)") + f" AS {f}" for f in SESSION_FIELDS)
    # _in_rows and _in_cells are views: each is read once, by the check that follows, so a copy of
    # the whole file in memory would buy nothing
    con.execute(f"CREATE OR REPLACE TEMP VIEW _in_rows AS SELECT line, {cols} FROM _in_raw")
    cells = " UNION ALL ".join(
        f"SELECT line, {_lit(s.scale)} AS scale, {s.item} AS item, {_text(s.index)} AS raw FROM _in_raw "
        f"WHERE {_text(s.index)} IS NOT NULL "
        f"AND (c{s.index}[1] BETWEEN '0' AND '9' OR lower({_text(s.index)}) NOT IN ({_NO_SCORE_SQL}))"
        for s in res.scores)
    if not cells:
        cells = "SELECT CAST(NULL AS BIGINT) AS line, '' AS scale, 0 AS item, '' AS raw WHERE false"
    con.execute(f"CREATE OR REPLACE TEMP VIEW _in_cells AS {cells}")
    params = {"date_formats": fmts, "date_label": date_pattern_label(fmts[0]), "today": today}
    con.execute("CREATE OR REPLACE TEMP TABLE _in_sessions AS " + read_sql("ingest/check_sessions.sql"), params)
    con.execute(read_sql("ingest/untimed_twins.sql"))                  # one day, with and without a time
    stored = scalar(con, "SELECT EXISTS (SELECT 1 FROM sessions)")     # nothing to match in a new database
    if stored:
        for statement in _statements(read_sql("ingest/match_times.sql")):   # a time given on one side only
            con.execute(statement)
    con.execute("CREATE OR REPLACE TEMP TABLE _in_scores AS " + read_sql("ingest/check_scores.sql"))
    # the file's score columns: stored scores in any other column are kept (sql/ingest/carried_scores.sql)
    con.execute("CREATE OR REPLACE TEMP TABLE _in_file_columns (scale VARCHAR, item INTEGER)")
    if res.scores:
        con.executemany("INSERT INTO _in_file_columns VALUES (?, ?)",
                        sorted({(s.scale, s.item) for s in res.scores}))
    if stored:
        con.execute("CREATE OR REPLACE TEMP TABLE _in_carried_lines AS " + read_sql("ingest/carried_scores.sql"))
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _in_carried_lines "
                    "(line BIGINT, scale VARCHAR, item INTEGER, score INTEGER)")
    con.execute("CREATE OR REPLACE TEMP TABLE _in_checked AS " + read_sql("ingest/classify_sessions.sql"))


def _id_notes(con: duckdb.DuckDBPyConnection, res: Resolved) -> tuple[str, ...]:
    """IDs that will not match the same person written another way: numbers a spreadsheet wrote
    as "123.0", and letters in decomposed Unicode (NFD: "e" + accent, as some Mac tools write
    "José"). Said, not changed: the stored keys of earlier imports are what these must match."""
    notes = []
    for field, what in (("patient_id", "patient"), ("clinician_id", "clinician")):
        if field not in res.fields:
            continue
        c = f"c{res.fields[field]}"
        # only IDs with ".0" or a non-ASCII letter are looked at closely (a cheap first filter)
        decimal, d_line, d_example, decomposed, n_line, n_example = con.execute(
            f"""SELECT count(DISTINCT CASE WHEN regexp_full_match(v, '[0-9]+[.]0+') THEN v END),
                       min(CASE WHEN regexp_full_match(v, '[0-9]+[.]0+') THEN line END),
                       arg_min(v, CASE WHEN regexp_full_match(v, '[0-9]+[.]0+') THEN line END),
                       count(DISTINCT CASE WHEN v <> nfc_normalize(v) THEN v END),
                       min(CASE WHEN v <> nfc_normalize(v) THEN line END),
                       arg_min(v, CASE WHEN v <> nfc_normalize(v) THEN line END)
                FROM (SELECT line, trim({c}) AS v FROM _in_raw
                      WHERE {c} LIKE '%.0%' OR strlen({c}) <> length({c}))""").fetchall()[0]
        if decimal:
            notes.append(f"{decimal:,} {what} ID(s) look like numbers a spreadsheet rewrote (e.g. {d_example!r} on "
                         f"line {d_line}): to Waypoint {d_example!r} and {d_example.split('.')[0]!r} are different "
                         f"{what}s; keep the column "
                         "as text when the export is opened in a spreadsheet")
        if decomposed:
            notes.append(f"{decomposed:,} {what} ID(s) are written in decomposed Unicode (NFD) (e.g. {n_example!r} on "
                         f"line {n_line}): the same name typed on another machine (NFC) will not match them")
    return tuple(notes)


def _no_score_note(con: duckdb.DuckDBPyConnection, res: Resolved) -> tuple[str, ...]:
    """How many score cells said there was no score in words ("n/a", "-", "not done"), read as
    blank: a session whose score was not taken still happened."""
    if not res.scores:
        return ()
    cells = " UNION ALL ".join(f"SELECT line, trim(c{s.index}) AS v FROM _in_raw "      # scores start with a digit
                               f"WHERE NOT (c{s.index}[1] BETWEEN '0' AND '9') "
                               f"AND lower(trim(c{s.index})) IN ({_NO_SCORE_SQL})" for s in res.scores)
    n, line, example = con.execute(f"SELECT count(*), min(line), arg_min(v, line) FROM ({cells})").fetchall()[0]
    if not n:
        return ()
    return (f"{n:,} score cell(s) read as blank, e.g. {example!r} on line {line} (no score taken)",)


def _items_without_total_note(con: duckdb.DuckDBPyConnection, res: Resolved) -> tuple[str, ...]:
    """Rows with item scores of a scale but no total of it, in the file or stored (PHQ-9 item 9
    asked on its own as a risk screen, a questionnaire left incomplete): the item scores are kept,
    and a risk item among them counts for safety (sql/readiness/risk_items.sql), but without a
    total the scale is in no figure. One note per scale; nothing to do for a file without item
    columns."""
    if not any(s.item > 0 for s in res.scores):
        return ()
    found = con.execute(read_sql("ingest/items_without_total.sql")).fetchall()
    names = {sid: sc.name for sid, sc in load_registry().items()}
    return tuple(f"{n:,} row(s) have {names.get(scale, scale)} item scores but no {names.get(scale, scale)} total "
                 f"(the first on line {line}): the item scores are kept, and a risk item among them counts for "
                 "safety; the total is in no figure" for scale, n, line in found)


def _unmatched_scores_note(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Scores of a measurement file with no attended session of that patient on that date: kept,
    but in no figure (figures read scores at attended sessions) until a session log has one."""
    n, line = con.execute(
        """SELECT count(*), min(l.line) FROM _in_long l
           WHERE len(l.reasons) = 0 AND NOT EXISTS (
               SELECT 1 FROM sessions s WHERE s.patient_id = l.patient_id AND s.session_date = l.measure_date
                                          AND s.status = 'attended')""").fetchall()[0]
    if not n:
        return ()
    return (f"{n:,} score(s) have no attended session of that patient on that date (the first on line {line}): "
            "they are kept, and count in the figures once a session log has that session",)


def _check_measurements(con: duckdb.DuckDBPyConnection, res: Resolved, fmts: list[str], today: date) -> None:
    cols = ", ".join(f"{_text(res.fields[f])} AS {f}" for f in ("patient_id", "date", "measure", "score"))
    con.execute(f"CREATE OR REPLACE TEMP VIEW _in_rows AS SELECT line, {cols} FROM _in_raw")
    measures = [(norm(k), sid) for sid, s in load_registry().items() for k in {sid, s.name}]
    con.execute("CREATE OR REPLACE TEMP TABLE _in_measures (raw_norm VARCHAR, scale VARCHAR)")
    con.executemany("INSERT INTO _in_measures VALUES (?, ?)", sorted(set(measures)))
    params = {"date_formats": fmts, "date_label": date_pattern_label(fmts[0]), "today": today}
    con.execute("CREATE OR REPLACE TEMP TABLE _in_long AS " + read_sql("ingest/check_measurements.sql"), params)
    con.execute("CREATE OR REPLACE TEMP TABLE _in_checked AS " + read_sql("ingest/classify_measurements.sql"))


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = dict(con.execute("SELECT outcome, count(*) FROM _in_checked GROUP BY outcome").fetchall())
    return {k: int(rows.get(k, 0)) for k in ("new", "updated", "unchanged", "duplicate", "rejected")}


def _rejected_frame(con: duckdb.DuckDBPyConnection, src: Source, malformed: pd.DataFrame) -> pd.DataFrame:
    """The rejected rows as the file has them, with their line and every reason."""
    # r.* (line, c0, c1, ... in file order): a list of thousands of named columns takes DuckDB seconds to bind
    frame = con.execute(
        """SELECT c.line, array_to_string(c.reasons, '; ') AS reasons, r.* EXCLUDE (line)
           FROM (SELECT line, reasons FROM _in_checked WHERE outcome = 'rejected') c JOIN _in_raw r USING (line)
           ORDER BY c.line"""
    ).df()
    frame.columns = ["line", "reasons"] + _unique_names(src.headers)
    if len(malformed):
        extra = pd.DataFrame({"line": malformed["line"], "reasons": malformed["reason"],
                              "raw line": malformed["raw"]})
        frame = pd.concat([frame, extra], ignore_index=True).sort_values("line", kind="stable")
        frame["line"] = frame["line"].astype("int64")  # not 2.0 in "line 2: ..."
    return frame.reset_index(drop=True)


def _unique_names(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(headers):
        name = h or f"column {i + 1}"
        if name in ("line", "reasons") or name in seen:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name} ({seen[name] + 1})"
        seen.setdefault(name, 0)
        out.append(name)
    return out


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def _next_batch(con: duckdb.DuckDBPyConnection) -> int:
    return int(scalar(con, "SELECT coalesce(max(batch_id), 0) + 1 FROM imports"))


def _write(con: duckdb.DuckDBPyConnection, kind: str, batch: int) -> None:
    script = "ingest/write_sessions.sql" if kind == "sessions" else "ingest/write_measurements.sql"
    for statement in _statements(read_sql(script)):
        con.execute(statement, {"batch": batch} if "$batch" in statement else None)
    check_unique_keys(con, batch)


class KeysRepeated(WaypointError):
    """An import would have stored a key twice (a fault in Waypoint, not in the file)."""


def check_unique_keys(con: duckdb.DuckDBPyConnection, batch: int) -> None:
    """Raise :class:`KeysRepeated` when a key batch ``batch`` wrote occurs more than once in
    sessions, measurements or item_scores (their keys have no index to refuse a repeat:
    ``sql/migrations/004_keys_without_indexes.sql``). Called inside the import's transaction,
    which the caller then rolls back."""
    repeated = con.execute(read_sql("ingest/check_unique_keys.sql"), {"batch": batch}).fetchall()
    if repeated:
        shown = "; ".join(f"{table} {key!r}" for table, key in repeated)
        raise KeysRepeated(
            f"the import would have stored a key twice ({shown}), so nothing was imported. This is a "
            "fault in Waypoint, not in your file: please report it with the file's column headers.")


def _statements(script: str) -> list[str]:
    out, current = [], []
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(current).strip().rstrip(";"))
            current = []
    if "\n".join(current).strip():
        out.append("\n".join(current).strip())
    return out


def _log_rejects(con: duckdb.DuckDBPyConnection, batch: int, rejected: pd.DataFrame) -> None:
    if not len(rejected):
        return
    fields = [c for c in rejected.columns if c not in ("line", "reasons")]
    records = rejected[fields].astype(object).where(rejected[fields].notna(), None)
    import json
    raws = [json.dumps({k: v for k, v in zip(fields, row) if v is not None}, ensure_ascii=False)
            for row in records.itertuples(index=False, name=None)]
    # one INSERT ... SELECT from a frame: executemany() inserts row by row (minutes for 300,000 rows)
    log = pd.DataFrame({"batch_id": batch, "line_number": rejected["line"].astype("int64").to_numpy(),
                        "raw_row": raws, "reasons": rejected["reasons"].astype(str).to_numpy()})
    con.register("_in_rejected_log", log)
    try:
        con.execute("INSERT INTO rejected_rows SELECT batch_id, line_number, raw_row, reasons FROM _in_rejected_log")
    finally:
        con.unregister("_in_rejected_log")


def _import_one(con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping, *, dry_run: bool,
                imported_by: str, settings: Settings, today: date, within: bool = False,
                rejects_out: list[pd.DataFrame] | None = None) -> tuple[ImportResult, pd.DataFrame, Source | None]:
    """One file in its own transaction; ``within``: in the caller's (see :func:`_rolled_back`), the
    file's rows written there even in a dry run, so that the next file is checked against them."""
    with _open_source(path, mapping.encoding) as src:
        label = src.path.name
        res = resolve(src.headers, mapping, load_registry(), label)
        # under the figures' memory limit: an import's work spills to disk beyond it (the keys have
        # no index, whose entries could not: sql/migrations/004_keys_without_indexes.sql)
        with _WRITE_LOCK:
            if not within:
                con.execute("BEGIN TRANSACTION")
            try:
                rows_read, malformed = _load_raw(con, src)
                malformed = _set_aside_repeated_headers(con, src, res, label, malformed)
                _undo_formula_guard(con, src)
                id_notes = _empty_rows_skipped(con, src, res) + _id_notes(con, res)
                # optional pseudonymisation (analytics/pseudonym.py): patient IDs become keyed hashes
                if apply_pseudonyms(con, res.fields.get("patient_id")):
                    id_notes = tuple(note.split(" (e.g.")[0] + " (examples withheld: pseudonymised import)"
                                     for note in id_notes)
                    if len(malformed):
                        malformed["raw"] = "(line withheld: pseudonymised import)"
                date_cols = [res.fields[f] for f in ("session_date", "referral_date", "date") if f in res.fields]
                fmts = _date_formats(con, date_cols, mapping, label)
                file_notes = _date_layout_note(con, date_cols, fmts, mapping)
                if res.kind == "sessions":
                    file_notes += _no_score_note(con, res)
                _values_table(con, mapping)
                _registry_table(con)
                if res.kind == "sessions":
                    _check_sessions(con, res, fmts, today)
                    file_notes += _items_without_total_note(con, res)
                else:
                    _check_measurements(con, res, fmts, today)
                    file_notes += _unmatched_scores_note(con)
                n = _counts(con)
                rejected = _rejected_frame(con, src, malformed)
                write = within or not dry_run
                batch = _next_batch(con) if write else None
                if write:
                    _write(con, res.kind, batch)
                    if date_cols and fmts != ISO_FORMATS:
                        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_LAST_LAYOUT, f"{fmts[0]}|{batch}"])
                    con.execute(
                        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                        [batch, label, src.sha256, res.kind, rows_read, n["new"], n["updated"], n["duplicate"],
                         n["unchanged"], len(rejected), imported_by,
                         datetime.now(timezone.utc).replace(tzinfo=None)])
                    _log_rejects(con, batch, rejected)
                    assign_episodes(con, settings.episode_gap_days)
                for v in ("_in_rows", "_in_cells"):
                    con.execute(f"DROP VIEW IF EXISTS {v}")
                for t in ("_in_raw", "_in_sessions", "_in_scores", "_in_long", "_in_file_columns", "_in_carried_lines",
                          "_in_checked", "_in_values", "_in_measures", "_in_reject_errors", "_in_reject_scans"):
                    con.execute(f"DROP TABLE IF EXISTS {t}")
                if not within:
                    con.execute("ROLLBACK" if dry_run else "COMMIT")
            except BaseException:
                if not within:
                    _roll_back(con)
                raise
        reasons = tuple(f"line {line}: {why}" for line, why in
                        zip(rejected["line"][:SHOW_REASONS], rejected["reasons"][:SHOW_REASONS]))
        result = ImportResult(
            file_name=label, sha256=src.sha256, kind=res.kind, rows_read=rows_read, new_rows=n["new"],
            updated_rows=n["updated"], unchanged=n["unchanged"], duplicates=n["duplicate"],
            rejected=len(rejected), reasons=reasons, batch_id=None if dry_run else batch, dry_run=dry_run,
            encoding=src.encoding,
            delimiter=src.delimiter, ignored_columns=res.ignored, notes=src.notes + id_notes + file_notes)
        return result, rejected, src


def _roll_back(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


@contextmanager
def _rolled_back(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction around a dry run of several files, always rolled back: each file is checked
    as the import would check it, after the files before it (a row the first file adds is
    'unchanged' in the second, not 'new' twice)."""
    with _WRITE_LOCK:
        con.execute("BEGIN TRANSACTION")
        try:
            yield
        finally:
            _roll_back(con)


def ingest_files(con: duckdb.DuckDBPyConnection, paths: Sequence[str | os.PathLike], *, mapping: Any = None,
                 dry_run: bool = False, rejects: str | os.PathLike | None = None, imported_by: str = "local",
                 settings: Settings | None = None, today: date | None = None) -> list[ImportResult]:
    """Import each file in its own transaction; returns one ImportResult per file.

    ``mapping`` is a mapping file path, a dict in its form, or a Mapping. ``rejects`` names a CSV to
    write every rejected row to, with its line and reasons. Raises WaypointError (nothing written
    for that file) when a file cannot be read at all; files before it stay imported.
    """
    settings = settings or Settings()
    the_mapping = load_mapping(mapping)
    today = today or date.today()
    results, rejected_frames = [], []
    together = dry_run and len(paths) > 1
    with _rolled_back(con) if together else nullcontext():
        for i, path in enumerate(paths):
            try:
                result, rejected, _ = _import_one(con, Path(path), the_mapping, dry_run=dry_run,
                                                  imported_by=imported_by, settings=settings, today=today,
                                                  within=together)
            except WaypointError as exc:
                if i and not dry_run:
                    done = ", ".join(r.file_name for r in results)
                    raise WaypointError(f"{exc} (Already imported: {done}.)") from None
                raise
            results.append(result)
            if len(rejected):
                rejected_frames.append(rejected.assign(file=result.file_name))
    if rejects is not None:
        frame = pd.concat(rejected_frames, ignore_index=True) if rejected_frames else pd.DataFrame(
            columns=["file", "line", "reasons"])
        front = ["file", "line", "reasons"]
        write_csv(frame[front + [c for c in frame.columns if c not in front]], Path(rejects))
    return results


def _head(src: Source, rows: int) -> pd.DataFrame:
    """The first rows as text, as the file has them. Never fails on a broken file (an unclosed quote,
    a ragged row, bytes that are not UTF-8): the checks report those; the preview shows what it can."""
    width = len(src.headers)
    out: list[list[str]] = []
    with open(src.readable, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=src.delimiter)
        try:
            next(reader, None)
            for row in reader:
                if len(out) == rows:
                    break
                out.append((row + [""] * width)[:width])
        except csv.Error:  # e.g. a field longer than the csv module reads: show the rows before it
            pass
    seen: dict[str, int] = {}
    names = []
    for h in src.headers:  # unique column names, as pandas makes them: "x", "x.1"
        names.append(h if h not in seen else f"{h}.{seen[h]}")
        seen[h] = seen.get(h, 0) + 1
    return pd.DataFrame(out, columns=names, dtype=object)


def preview(con: duckdb.DuckDBPyConnection, paths: Sequence[str | os.PathLike], *, mapping: Any = None,
            settings: Settings | None = None, today: date | None = None, head_rows: int = 10) -> Preview:
    """Everything an import would do — the detected columns, the first rows, the checks — with nothing written."""
    settings = settings or Settings()
    the_mapping = load_mapping(mapping)
    paths = [Path(p) for p in paths]
    if not paths:
        raise WaypointError("no file to preview")
    with _open_source(paths[0], the_mapping.encoding) as src:
        res = resolve(src.headers, the_mapping, load_registry(), src.path.name)
        head = _head(src, head_rows)
    detected: dict[str, str | None] = {}
    fields = SESSION_FIELDS if res.kind == "sessions" else ("patient_id", "date", "measure", "score")
    for f in fields:
        detected[f] = src.headers[res.fields[f]] if f in res.fields else None
    for s in res.scores:
        detected[s.scale if s.item == 0 else f"{s.scale}_item{s.item}"] = src.headers[s.index]
    results, frames = [], []
    today = today or date.today()
    together = len(paths) > 1
    with _rolled_back(con) if together else nullcontext():
        for p in paths:
            result, rejected, _ = _import_one(con, p, the_mapping, dry_run=True, imported_by="preview",
                                              settings=settings, today=today, within=together)
            results.append(result)
            if len(rejected):
                frames.append(rejected.assign(file=result.file_name) if together else rejected)
    total = {k: sum(r.counts()[k] for r in results) for k in results[0].counts()}
    rejected_all = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["line", "reasons"])
    return Preview(kind=res.kind, headers=list(src.headers), mapping=detected, head=head,
                   report=Report(total, rejected_all), results=results,
                   date_format=the_mapping.date_format)


# ---------------------------------------------------------------------------------------------
# the import log and undo
# ---------------------------------------------------------------------------------------------
def list_imports(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        """SELECT batch_id, file_name, kind, rows_read, new_rows, updated_rows, unchanged, duplicates, rejected,
                  imported_by, strftime(imported_at, '%Y-%m-%d %H:%M:%S') AS imported_at,
                  strftime(undone_at, '%Y-%m-%d %H:%M:%S') AS undone_at, sha256
           FROM imports ORDER BY batch_id"""
    ).df()


def rejected_rows(con: duckdb.DuckDBPyConnection, batch_id: int) -> pd.DataFrame:
    """The rows one batch set aside: line, reasons and the row as the file had it."""
    import json

    rows = con.execute("SELECT line_number, reasons, raw_row FROM rejected_rows WHERE batch_id = ? ORDER BY line_number",
                       [batch_id]).fetchall()
    return pd.DataFrame([{"line": line, "reasons": reasons, **json.loads(raw)} for line, reasons, raw in rows],
                        columns=None if rows else ["line", "reasons"])


def undo_import(con: duckdb.DuckDBPyConnection, batch_id: int, settings: Settings | None = None) -> str:
    """Take back what one batch added or changed. Rows a later import has since changed keep the later values."""
    settings = settings or Settings()
    with _WRITE_LOCK:
        row = con.execute("SELECT file_name, undone_at FROM imports WHERE batch_id = ?", [batch_id]).fetchall()
        if not row:
            raise WaypointError(f"there is no import batch {batch_id}; `waypoint imports` lists them.")
        name, undone = row[0]
        if undone is not None:
            raise WaypointError(f"batch {batch_id} ({name}) was already undone on {undone:%Y-%m-%d %H:%M}.")
        con.execute("BEGIN TRANSACTION")
        try:
            removed = scalar(con, "SELECT count(*) FROM sessions WHERE batch_id = ?", [batch_id])
            removed_m = scalar(con, "SELECT count(*) FROM measurements WHERE batch_id = ? AND session_key IS NULL",
                               [batch_id])
            restored = 0
            for statement in _statements(read_sql("ingest/undo_batch.sql")):
                con.execute(statement, {"batch": batch_id} if "$batch" in statement else None)
            restored = scalar(con, "SELECT count(*) FROM _undo_restored")
            con.execute("DROP TABLE IF EXISTS _undo_restored")
            con.execute("UPDATE imports SET undone_at = ? WHERE batch_id = ?",
                        [datetime.now(timezone.utc).replace(tzinfo=None), batch_id])
            assign_episodes(con, settings.episode_gap_days)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    parts = [f"{removed:,} session(s)"] + ([f"{removed_m:,} score(s)"] if removed_m else [])
    return (f"Undid batch {batch_id} ({name}): took back {' and '.join(parts)} it wrote"
            + (f", and put back {restored:,} earlier version(s) it had replaced." if restored else "."))
