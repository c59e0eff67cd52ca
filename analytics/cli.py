"""The `waypoint` command line: parses arguments, calls one function in analytics/, prints.

No figure is computed here (the library holds the API, as in sqlite-utils' db.py / cli.py).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from datetime import date
from json.encoder import c_make_encoder, encode_basestring
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pandas as pd

from .categories import CATEGORIES
from .errors import WaypointError

EXIT_OK, EXIT_ERROR, EXIT_UNREADABLE = 0, 1, 2


class CliError(Exception):
    """A user-facing failure: one clear line, exit status 2."""


# ---------------------------------------------------------------------------------------------
# shared options, declared once
# ---------------------------------------------------------------------------------------------
def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in the form YYYY-MM-DD (e.g. 2025-03-31)")


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 1 or more (e.g. 20)")
    return n


def _db_parent() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--db", metavar="PATH", help="the clinic database (default: $WAYPOINT_DB or data/waypoint.duckdb)")
    p.add_argument("--config", metavar="CLINIC.toml", default=os.environ.get("WAYPOINT_CONFIG"),
                   help="the clinic's TOML config: [settings], [readiness] and [access] (default: $WAYPOINT_CONFIG)")
    return p


def _scope_parent(*, with_range: bool = True, with_clinician: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--as-of", type=_iso_date, metavar="DATE",
                   help="compute as on this date (default: the latest session date in the data)")
    if with_range:
        p.add_argument("--from", dest="date_from", type=_iso_date, metavar="DATE",
                       help="rates over episodes ending on or after this date")
        p.add_argument("--to", dest="date_to", type=_iso_date, metavar="DATE",
                       help="rates over episodes ending on or before this date")
    if with_clinician:
        p.add_argument("--clinician", dest="clinician_id", metavar="ID", help="one clinician only")
    return p


def _format_parent(choices: tuple[str, ...]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--format", choices=choices, default=choices[0], help=f"output format (default: {choices[0]})")
    return p


def _engine_parent() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="duckdb (default): the clinic database; spark: the same SQL on Apache Spark, "
                        "reading a backup folder (--source); needs pip install 'waypoint[spark]'")
    p.add_argument("--source", metavar="PATH",
                   help="with --engine spark: a folder written by `waypoint backup DIR` (local or a cluster URI)")
    p.add_argument("--spark-master", metavar="URL",
                   help="with --engine spark: local[*] (default), spark://host:7077, yarn, or sc://host for "
                        "Spark Connect (default: $SPARK_REMOTE when set)")
    return p


def _settings(args: argparse.Namespace):
    from .settings import load_settings

    _config_exists(args)
    start, end = getattr(args, "date_from", None), getattr(args, "date_to", None)
    if start and end and end < start:
        raise CliError(f"--from {start} is after --to {end}: give the earlier date first.")

    return load_settings(
        args.config,
        as_of=getattr(args, "as_of", None),
        date_from=getattr(args, "date_from", None),
        date_to=getattr(args, "date_to", None),
        clinician_id=getattr(args, "clinician_id", None),
    )


def _config_exists(args: argparse.Namespace) -> None:
    config = getattr(args, "config", None)
    if config and not Path(config).is_file():
        named = "--config" if os.environ.get("WAYPOINT_CONFIG") != config else "$WAYPOINT_CONFIG"
        raise CliError(f"the clinic config {config} ({named}) does not exist; give the path of your clinic's "
                       "TOML file, or leave it out for the defaults.")


def _connect(args: argparse.Namespace, *, read_only: bool = False, create: bool = False):
    """The clinic database. Only the commands that write data (``create``: ingest, demo) may make
    a new one: a mistyped --db must not answer with the zeros of an empty clinic."""
    from .db import DatabaseBusy, connect, resolve_path

    path = resolve_path(args.db)
    if not create and path != ":memory:" and not Path(path).exists():
        named = "--db" if args.db else ("$WAYPOINT_DB" if os.environ.get("WAYPOINT_DB") else "the default")
        raise CliError(f"there is no clinic database at {path} ({named}). Check the path, or make one with "
                       "`waypoint ingest --db PATH EXPORT.csv` (or `waypoint demo --db PATH`).")
    try:
        return connect(args.db, read_only=read_only)
    except DatabaseBusy as exc:
        raise CliError(str(exc))


def _analytics_connect(args: argparse.Namespace):
    """The clinic database, or with --engine spark a Spark connection over --source."""
    if getattr(args, "engine", "duckdb") != "spark":
        if getattr(args, "source", None) or getattr(args, "spark_master", None):
            raise CliError("--source and --spark-master go with --engine spark (the DuckDB engine reads --db)")
        con = _connect(args)
        _known_clinician(con, getattr(args, "clinician_id", None))
        return con
    if not args.source:
        raise CliError("--engine spark needs --source DIR: a folder written by `waypoint backup DIR`")
    from . import spark

    return spark.connect(args.source, args.spark_master)


def _cli_user() -> str:
    from .audit import cli_user

    return cli_user()


def _known_clinician(con: Any, clinician: str | None) -> None:
    """--clinician must name a clinician of the database: a typo (C01 for c01) would otherwise
    answer with an empty caseload."""
    if not clinician:
        return
    if con.execute("SELECT count(*) FROM clinicians WHERE clinician_id = ?", [clinician]).fetchall()[0][0]:
        return
    like = [r[0] for r in con.execute(
        "SELECT clinician_id FROM clinicians WHERE lower(trim(clinician_id)) = lower(trim(?)) ORDER BY 1 LIMIT 3",
        [clinician]).fetchall()]
    n, first = con.execute("SELECT count(*), list(clinician_id ORDER BY clinician_id)[1:8] FROM clinicians").fetchall()[0]
    hint = (f"did you mean {' or '.join(like)}? (IDs are matched exactly)" if like else
            f"the database has {n:,} clinician(s)" + (f": {', '.join(first)}{', …' if n > len(first) else ''}" if n else ""))
    raise CliError(f"no clinician {clinician!r} in this database; {hint}.")


def _known_patient(con: Any, patient: str | None) -> None:
    """--patient must name a patient of the database: a typo, or a record number typed where the
    clinic stores pseudonyms, would otherwise answer with an empty list."""
    if patient is None or con.execute("SELECT count(*) FROM patients WHERE patient_id = ?",
                                      [patient]).fetchall()[0][0]:
        return
    from .pseudonym import is_pseudonym, is_pseudonymised

    like = [r[0] for r in con.execute(
        "SELECT patient_id FROM patients WHERE lower(trim(patient_id)) = lower(trim(?)) ORDER BY 1 LIMIT 3",
        [patient]).fetchall()]
    if like:
        hint = f"did you mean {' or '.join(like)}? (IDs are matched exactly)"
    elif is_pseudonymised(con) and not is_pseudonym(patient):
        hint = (f"this clinic's patient IDs are pseudonymised: `waypoint pseudonym {patient}` gives the ID "
                "Waypoint holds for it")
    else:
        hint = "IDs are matched exactly, as your record system exports them"
    raise CliError(f"no patient {patient!r} in this database; {hint}.")


# ---------------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------------
def _json_default(value: Any):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _json(value: Any) -> str:
    """``json.dumps(value, indent=2, default=_json_default, ensure_ascii=False)``: the same text.

    Python's JSON encoder is written in C only for compact output; asked to indent, it runs in
    Python, a call per value (most of the time of a whole clinic's export: 17 of 23 s for the
    episode table at a million sessions). Here every dict or list whose values are all plain
    scalars (the episode table's rows, a readiness record's scores and each of its series'
    points) goes to the C encoder whole, its items separated by a comma, a newline and the
    indentation; only the containers that hold containers are walked in Python."""
    return _indented(value, "")


_SCALARS = frozenset({str, int, float, bool, type(None)})
_FLAT_ENCODERS: dict[str, Callable[[Any, int], Any]] = {}


def _flat_encoder(inner: str) -> Callable[[Any, int], Any]:
    """The C encoder writing a flat container's items a line each, indented by ``inner``: called
    with the value and 0, it gives the text in pieces. Made once per indentation and called
    directly: ``JSONEncoder.encode`` makes a new C encoder on every call, which was most of the
    time of a whole clinic's readiness export (2.8 million score points at ten million sessions).
    The encoder keeps no record of the containers it is inside: a flat container holds none."""
    encoder = _FLAT_ENCODERS.get(inner)
    if encoder is None:
        separator = ",\n" + inner
        if c_make_encoder is not None:
            encoder = c_make_encoder(None, _json_default, encode_basestring, None, ": ", separator,
                                     False, False, True)
        else:   # no C accelerator (not CPython): Python's encoder, the same text
            encoder = json.JSONEncoder(ensure_ascii=False, default=_json_default,
                                       separators=(separator, ": ")).iterencode
        _FLAT_ENCODERS[inner] = encoder
    return encoder


def _flat(value: Any, inner: str) -> str:
    return "".join(_flat_encoder(inner)(value, 0))


def _indented(value: Any, indent: str) -> str:
    """``value`` as ``json.dumps(..., indent=2)`` writes it on a line indented by ``indent`` (its
    first line not indented), in the order of the checks of Python's own encoder."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None or isinstance(value, (int, float)):
        return _flat(value, "")
    inner = indent + "  "
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if _SCALARS.issuperset(map(type, value)):
            return "[\n" + inner + _flat(value, inner)[1:-1] + "\n" + indent + "]"
        if all(type(v) is dict and v and _SCALARS.issuperset(map(type, v.values())) for v in value):
            # flat dicts (a readiness record's series of scores): each to the C encoder straight away
            encode = _flat_encoder(inner + "  ")
            head, tail = inner + "{\n" + inner + "  ", "\n" + inner + "}"
            return "[\n" + ",\n".join([head + "".join(encode(v, 0))[1:-1] + tail for v in value]) + "\n" + indent + "]"
        return "[\n" + ",\n".join(inner + _indented(v, inner) for v in value) + "\n" + indent + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        if _SCALARS.issuperset(map(type, value.values())):
            return "{\n" + inner + _flat(value, inner)[1:-1] + "\n" + indent + "}"
        if not all(type(k) is str for k in value):   # keys made text as Python's encoder makes them
            return json.dumps(value, indent=2, default=_json_default, ensure_ascii=False).replace("\n", "\n" + indent)
        return ("{\n" + ",\n".join(f"{inner}{encode_basestring(k)}: {_indented(v, inner)}" for k, v in value.items())
                + "\n" + indent + "}")
    return _indented(_json_default(value), indent)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout, the same text as one ``json.dumps`` of the whole. A list
    (and a frame, as a list of records) is written a thousand items at a time: Python's indenting
    encoder held the whole clinic's readiness records (600 MB of text at ten million sessions) as
    pieces, 6.4 GB and a minute, and the episode table read back whole from JSON 6.7 GB."""
    if isinstance(data, pd.DataFrame):
        _write_items(_frame_items(data), batch=1)
    elif isinstance(data, list):
        _write_items("  " + _indented(item, "  ") for item in data)
    else:
        print(_json(data))


def _frame_items(frame: pd.DataFrame, rows: int = 10_000) -> Iterator[str]:
    """The frame's rows as JSON records (pandas' own encoding: ISO dates, NaN as null), in the text
    of the list :func:`print_json` writes: one text for each slice of ``rows`` rows.

    A slice is read a column at a time (:func:`_json_values`), and each column's values are
    encoded by one call of the C encoder; the slice's text is then the rows' values between the
    same texts of names. Before, each slice was made records JSON by pandas, parsed back, and each
    record encoded by itself, so every row's column names were written, read and written again.
    The episode table (55 columns) took 3.4-3.6 s that way at a million sessions and 34-36 s at
    ten million, and takes 1.9-2.0 s and 18.6-19.5 s this way (benchmarks/RESULTS.md, twenty-first
    round); a slice's values and text hold about 100 MB at once. A slice with a value that is not
    a scalar (a list in a cell), and a frame whose column names are not distinct texts, are
    written record by record."""
    names = list(frame.columns)
    if not names or not all(type(n) is str for n in names) or len(set(names)) != len(names):
        for start in range(0, len(frame), rows):
            part = json.loads(frame.iloc[start:start + rows].to_json(orient="records", date_format="iso"))
            yield ",\n".join("  " + _indented(record, "  ") for record in part)
        return
    # what comes before each value in a record, as the encoder writes it: '  {\n    "a": ' before
    # the first, ',\n    "b": ' before each other, and '\n  },\n' after the last
    before = [("  {\n" if i == 0 else ",\n") + f"    {encode_basestring(name)}: " for i, name in enumerate(names)]
    for start in range(0, len(frame), rows):
        part = frame.iloc[start:start + rows]
        columns = [_json_values(part.iloc[:, i]) for i in range(len(names))]
        if not all(plain or _SCALARS.issuperset(map(type, values)) for values, plain in columns):
            yield ",\n".join("  " + _indented(dict(zip(names, values)), "  ")
                              for values in zip(*(values for values, _ in columns)))
            continue
        n = len(part)
        pieces: list[Iterable[str]] = []
        for text, (values, _) in zip(before, columns):
            # a column's values as one list's JSON, split at its separators: an encoded value
            # never holds a line break (text escapes it), so ",\n" occurs only between values
            pieces += [itertools.repeat(text, n), _flat(values, "")[1:-1].split(",\n")]
        pieces.append(itertools.repeat("\n  },\n", n))
        yield "".join(itertools.chain.from_iterable(zip(*pieces)))[:-2]


def _json_values(column: pd.Series) -> tuple[list, bool]:
    """The values of ``column`` as ``json.loads`` reads them back from pandas' ``to_json`` (ISO
    dates, NaN and missing values as None), and whether they are known to be scalars: text and
    whole numbers are the Python values themselves, any other column goes through ``to_json``."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype) or pd.api.types.is_integer_dtype(dtype):
        return column.astype(object).where(column.notna(), None).tolist(), True
    return json.loads(column.to_json(orient="records", date_format="iso")), False


def _write_items(items: Iterator[str], batch: int = 1000) -> None:
    """A JSON list on stdout from the texts of its items (each indented as an item of the list; a
    text may hold several items, separated as the list separates them), ``batch`` texts at a time."""
    out = sys.stdout
    first = list(itertools.islice(items, batch))
    if not first:
        out.write("[]\n")
        return
    out.write("[\n")
    chunk = first
    while chunk:
        out.write(",\n".join(chunk))
        chunk = list(itertools.islice(items, batch))
        out.write(",\n" if chunk else "\n]\n")


def print_table(data: Any) -> None:
    if isinstance(data, pd.DataFrame):
        print("(no rows)" if data.empty else data.to_string(index=False, na_rep="—"))   # "—", not NaN
    elif isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        for key, value in data.items():
            if isinstance(value, dict):
                print(f"{key}:")
                for k2, v2 in value.items():
                    print(f"  {k2.ljust(width - 2)}  {'' if v2 is None else v2}")
            elif isinstance(value, list):
                print(f"{key}: {len(value)} rows")
            else:
                print(f"{key.ljust(width)}  {'' if value is None else value}")
    elif isinstance(data, list):
        print_table(pd.DataFrame(data))
    else:
        print(data)


def emit(data: Any, fmt: str) -> None:
    if fmt == "json":
        print_json(data)
    elif fmt == "csv":
        from .safecsv import neutralise  # CSV is opened in spreadsheets: formulas made inert

        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        neutralise(frame).to_csv(sys.stdout, index=False)
    else:
        print_table(data)


# ---------------------------------------------------------------------------------------------
# commands: each calls one function in analytics/
# ---------------------------------------------------------------------------------------------
def cmd_ingest(args) -> int:
    from . import ingest

    from . import pseudonym

    from .db import connect, resolve_path

    # a dry run into a database that does not exist yet checks against an empty one, making no file
    new = args.dry_run and resolve_path(args.db) != ":memory:" and not Path(resolve_path(args.db)).exists()
    con = connect(":memory:") if new else _connect(args, create=True)
    with pseudonym.for_import(args.config, required=args.pseudonymise):  # patient IDs -> keyed hashes
        results = ingest.ingest_files(
            con, [Path(f) for f in args.files], mapping=args.mapping, dry_run=args.dry_run,
            rejects=args.rejects, imported_by=args.user or _cli_user(), settings=_settings(args),
        )
    for result in results:
        print(result.summary())
    return EXIT_OK


def cmd_pseudonym_key(args) -> int:
    from . import pseudonym

    print(f"wrote a new pseudonym key to {pseudonym.new_key_file(args.file)} (readable by you only); "
          "name it as pseudonym_key_file under [access] in the clinic config, and back it up safely: "
          "without it, new imports cannot be matched to the patients already imported.")
    return EXIT_OK


def cmd_pseudonym(args) -> int:
    from . import pseudonym

    for patient_id, pseudo in pseudonym.lookup(args.ids, args.config):
        print(f"{patient_id}\t{pseudo}")
    return EXIT_OK


def cmd_imports(args) -> int:
    from . import ingest

    con = _connect(args)
    if args.rejected is not None:
        if not con.execute("SELECT count(*) FROM imports WHERE batch_id = ?", [args.rejected]).fetchall()[0][0]:
            raise CliError(f"there is no import batch {args.rejected}; `waypoint imports` lists them.")
        emit(ingest.rejected_rows(con, args.rejected), args.format)
        return EXIT_OK
    log = ingest.list_imports(con)
    if args.format == "table":
        log = log.assign(sha256=log["sha256"].str[:12])
    emit(log, args.format)
    return EXIT_OK


def cmd_undo_import(args) -> int:
    from . import audit

    print(audit.undo_import(_connect(args), args.batch, user=audit.cli_user(), settings=_settings(args)))
    return EXIT_OK


def cmd_audit(args) -> int:
    from . import audit

    emit(audit.read_log(_connect(args), user=args.user, action=args.action, patient_id=args.patient,
                        since=args.since, limit=args.limit), args.format)
    return EXIT_OK


def cmd_demo(args) -> int:
    from . import demo

    config = demo.DemoConfig(patients=args.patients, clinicians=args.clinicians, years=args.years, seed=args.seed)
    if args.csv:
        path = demo.write_csv(config, Path(args.csv))
        print(f"wrote {path}")
        return EXIT_OK
    print(demo.build_demo(_connect(args, create=True), config).summary())
    return EXIT_OK


def cmd_backup(args) -> int:
    from . import backup

    print(backup.backup(_connect(args), args.folder))
    return EXIT_OK


def cmd_restore(args) -> int:
    from . import backup

    print(backup.restore(args.folder, args.db, replace=args.replace))
    return EXIT_OK


def cmd_serve(args) -> int:
    from . import serve

    return serve.serve(db=args.db, port=args.port, host=args.host)


def cmd_kpis(args) -> int:
    from . import outcomes

    emit(outcomes.kpis(_analytics_connect(args), _settings(args)), args.format)
    return EXIT_OK


def _audited(con: Any, args: argparse.Namespace, what: str, rows: int) -> None:
    """Record in the audit log that this command's output named patients (the clinic database
    only: a Spark source is a backup folder, with no log)."""
    if getattr(args, "engine", "duckdb") == "duckdb":
        from . import audit

        audit.record_cli_export(con, what, rows, getattr(args, "clinician_id", None), args.format,
                                patient_id=getattr(args, "patient_id", None))


def cmd_outcomes(args) -> int:
    from . import outcomes

    con = _analytics_connect(args)
    data = outcomes.episode_outcomes(con, _settings(args))
    _audited(con, args, "episode outcomes", len(data))     # before the output: `| head` may cut it short
    emit(data, args.format)
    return EXIT_OK


def cmd_attendance(args) -> int:
    from . import engagement

    con = _analytics_connect(args)
    data = engagement.attendance_report(con, _settings(args))
    if args.format == "json":                # the table gives the watch list's length, not its patients
        _audited(con, args, "attendance watch list", len(data.get("watch_list", ())))
    emit(data, args.format)
    return EXIT_OK


def cmd_readiness(args) -> int:
    from . import readiness

    con = _analytics_connect(args)
    if args.engine == "duckdb":
        _known_patient(con, args.patient_id)
    data = readiness.readiness(con, _settings(args), readiness.load_thresholds(args.config),
                               patient_id=args.patient_id, categories=args.categories, limit=args.limit)
    _audited(con, args, "readiness", len(data))
    if args.format == "table":
        data = readiness.as_table(data)
    emit(data, args.format)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="waypoint",
        description="Waypoint: outcome and engagement analytics for therapy clinics.",
        epilog="Example: waypoint demo && waypoint kpis --format json\n\n"
               "Environment: WAYPOINT_DB (the database), WAYPOINT_CONFIG (the clinic's TOML),\n"
               "WAYPOINT_MEMORY_LIMIT (memory for figures before DuckDB spills to disk; default 3GB).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    db = _db_parent()
    engine = _engine_parent()
    raw = argparse.RawDescriptionHelpFormatter

    def add(name: str, func: Callable, help_: str, example: str, parents=()) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, epilog=f"Example:\n  {example}",
                           parents=[db, *parents], formatter_class=raw)
        p.set_defaults(func=func)
        return p

    p = add("ingest", cmd_ingest, "Import CSV session logs or measurement files into the clinic database.",
            "waypoint ingest sample_data/demo_clinic.csv --rejects rejected.csv")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--mapping", metavar="MAP.toml",
                   help="column names, date format, value maps and text encoding of your export")
    p.add_argument("--dry-run", action="store_true",
                   help="validate and report; write nothing (several files are checked in order, each after "
                        "the ones before it, as the import would)")
    p.add_argument("--rejects", metavar="OUT.csv", help="write rejected rows with a reason column, to fix and re-upload")
    p.add_argument("--user", help="who imports, recorded in the import and audit logs (default: cli:<your "
                                  "login>, as for every other command)")
    p.add_argument("--pseudonymise", "--pseudonymize", action="store_true",
                   help="replace patient IDs by keyed hashes (HMAC-SHA256 with the clinic's key; "
                        "required, and used anyway whenever a key is configured)")

    p = add("pseudonym-key", cmd_pseudonym_key, "Write a new random pseudonym key file (keep it outside the database).",
            "waypoint pseudonym-key /etc/waypoint/pseudonym.key")
    p.add_argument("file", metavar="FILE")
    p = add("pseudonym", cmd_pseudonym, "Show the pseudonym of patient IDs under the clinic's key (to find them in Waypoint).",
            "waypoint pseudonym MRN-0042")
    p.add_argument("ids", nargs="+", metavar="PATIENT_ID")

    p = add("imports", cmd_imports, "List the import log (or one batch's rejected rows).",
            "waypoint imports --rejected 3 --format csv > fix-these.csv", [_format_parent(("table", "json", "csv"))])
    p.add_argument("--rejected", type=int, metavar="BATCH", help="list the rows this batch rejected, with reasons")
    p = add("undo-import", cmd_undo_import, "Take back what one import batch added or changed.", "waypoint undo-import 3")
    p.add_argument("batch", type=int, metavar="BATCH")

    p = add("audit", cmd_audit, "The audit log: who viewed which patient, exported what, imported or undid which batch.",
            "waypoint audit --patient P0042 --format csv > p0042-access.csv", [_format_parent(("table", "json", "csv"))])
    p.add_argument("--user", metavar="ID", help="one user only (as signed in, e.g. a.smith@clinic.org)")
    p.add_argument("--action", choices=("view_patient", "export", "import", "undo", "refused"))
    p.add_argument("--patient", metavar="ID", help="one patient only")
    p.add_argument("--since", type=_iso_date, metavar="DATE", help="from this date (UTC) on")
    p.add_argument("--limit", type=int, metavar="N", help="the newest N rows only")

    p = add("demo", cmd_demo, "Generate a synthetic demo clinic and import it (or write its CSV export).",
            "waypoint demo --patients 300 --seed 7")
    p.add_argument("--patients", type=int, default=400, help="patients referred (default: 400)")
    p.add_argument("--clinicians", type=int, default=8, help="clinicians (default: 8)")
    p.add_argument("--years", type=float, default=2.0, help="years of sessions, up to today (default: 2)")
    p.add_argument("--seed", type=int, default=42, help="random seed: the same seed, the same clinic (default: 42)")
    p.add_argument("--csv", metavar="OUT.csv", help="write the export instead of importing it")

    p = add("backup", cmd_backup, "Back up the whole database to a new folder of Parquet files.",
            "waypoint backup backups/2026-11-23")
    p.add_argument("folder", metavar="DIR")
    p = add("restore", cmd_restore, "Restore a backup folder into the database (a new file, or --replace).",
            "waypoint restore backups/2026-11-23 --db restored.duckdb")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--replace", action="store_true", help="replace a database that already holds data")

    p = add("serve", cmd_serve, "Start the dashboard.", "waypoint serve --port 8501")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default: 8501)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this computer only; in local demo mode, with "
                        "no sign-in configured, Waypoint refuses any other)")

    add("kpis", cmd_kpis, "Clinic headline figures: recovery, reliable change, dropout, attendance.",
        "waypoint kpis --from 2025-01-01 --to 2025-12-31 --format json",
        [_scope_parent(), _format_parent(("table", "json")), engine])
    add("outcomes", cmd_outcomes, "One row per episode with its outcome figures.",
        "waypoint outcomes --format csv > outcomes.csv", [_scope_parent(), _format_parent(("csv", "json")), engine])
    add("attendance", cmd_attendance, "Attendance, dropout, retention and the disengagement watch list.",
        "waypoint attendance --format json", [_scope_parent(with_range=False, with_clinician=False),
                                              _format_parent(("table", "json")), engine])
    p = add("readiness", cmd_readiness, "Readiness category and reasons for every active patient.",
            "waypoint readiness --clinician c01 --category safety --category not_on_track --format json",
            [_scope_parent(with_range=False), _format_parent(("table", "json")), engine])
    p.add_argument("--patient", dest="patient_id", metavar="ID", help="one patient's active episodes only")
    p.add_argument("--category", dest="categories", action="append", metavar="CATEGORY",
                   choices=[c.id for c in CATEGORIES],
                   help="only this category (repeat for more): " + ", ".join(c.id for c in CATEGORIES))
    p.add_argument("--limit", type=_positive_int, metavar="N",
                   help="the first N records only, in the list's order (safety first)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CliError, WaypointError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        print(f"Error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except Exception as exc:  # a bug: say so plainly; WAYPOINT_DEBUG=1 shows the traceback
        if os.environ.get("WAYPOINT_DEBUG"):
            raise
        print(f"Error: unexpected {type(exc).__name__}: {exc}. Nothing was left half-written (each file is "
              "one transaction). Run again with WAYPOINT_DEBUG=1 for details and report it.", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
