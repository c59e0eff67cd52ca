"""The Spark engine: the same sql/ files, translated by SQLGlot, run where the data are.

`waypoint kpis|outcomes|attendance|readiness --engine spark --source DIR` reads the canonical tables
from a `waypoint backup` folder (Parquet, written by DuckDB's EXPORT DATABASE) into a Spark session
and runs the analytics unchanged: :class:`SparkConnection` answers the small part of the DuckDB
connection API the analytics modules use (``execute(sql, params)`` then ``.df()`` / ``.fetchall()`` /
``.fetchnumpy()`` / ``.fetchone()`` / ``.description``, ``executemany``, ``register`` /
``unregister``), so there is no second implementation to drift. Every statement is parsed in
DuckDB's dialect, its ``$name`` / ``?`` parameters are bound as SQL literals, and it is written out
as Spark SQL by SQLGlot; nothing is rewritten by hand per engine. ``CREATE TEMP TABLE`` becomes a
materialised temporary view.

Results come back to Python as Arrow and are read through DuckDB, so a Spark result has the same
Python and pandas types a DuckDB result has; the scipy steps then run on those (small, aggregated)
results exactly as on the DuckDB path.

pyspark and sqlglot are the optional extra ``pip install 'waypoint[spark]'``; nothing on the DuckDB
path imports this module.
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Sequence

import duckdb
import pandas as pd

from .errors import WaypointError

DEFAULT_MASTER = "local[*]"
# Configuration every Waypoint Spark session gets (a cluster's own defaults apply otherwise).
SESSION_CONF = {
    "spark.sql.timeType.enabled": "true",      # sessions.session_time is a Parquet TIME column
    "spark.sql.session.timeZone": "UTC",       # dates and times are wall-clock values: no shifting
    "spark.sql.ansi.enabled": "false",         # DuckDB semantics: x / 0 is NULL, not an error
}
LOCAL_CONF = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
              "spark.sql.shuffle.partitions": "8"}
CANONICAL_TABLES = ("sessions", "episodes", "measurements", "item_scores", "meta", "clinicians", "patients")
_COPY_RE = re.compile(r"COPY\s+\"?([A-Za-z_][A-Za-z0-9_.]*)\"?\s+FROM\s+'([^']+)'", re.IGNORECASE)


class SparkUnavailable(WaypointError):
    """pyspark / sqlglot are not installed."""


def _require():
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as exc:
        raise SparkUnavailable(
            "the Spark engine needs the optional extra: pip install 'waypoint[spark]' "
            f"(pyspark and sqlglot; missing: {exc.name})") from exc


# ---------------------------------------------------------------------------------------------
# the session
# ---------------------------------------------------------------------------------------------
def spark_session(master: str | None = None, *, conf: dict[str, str] | None = None):
    """A Spark session: Spark Connect when ``master`` is an ``sc://`` URL or ``SPARK_REMOTE`` is set,
    else a classic session on ``master`` (default ``local[*]``)."""
    _require()
    from pyspark.sql import SparkSession

    remote = master if master and master.startswith("sc://") else None
    if remote is None and not master:
        remote = os.environ.get("SPARK_REMOTE") or None
    active = None if remote else SparkSession.getActiveSession()
    if active is not None and (master is None or active.sparkContext.master == master):
        builder = None   # this process already runs a session (a notebook, a test): use it
    elif remote:
        builder = SparkSession.builder.remote(remote)
    else:
        builder = SparkSession.builder.master(master or DEFAULT_MASTER)
        for key, value in LOCAL_CONF.items():
            builder = builder.config(key, value)
    if builder is None:
        session = active
    else:
        builder = builder.appName("waypoint")
        for key, value in {**SESSION_CONF, **(conf or {})}.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
    for key, value in {**SESSION_CONF, **(conf or {})}.items():   # an existing session: set them anyway
        try:
            session.conf.set(key, value)
        except Exception:  # a cluster may refuse to change static settings; they were set above
            pass
    return session


# ---------------------------------------------------------------------------------------------
# SQL translation
# ---------------------------------------------------------------------------------------------
def _literal(value: Any):
    from sqlglot import exp

    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):   # DuckDB binds a Python float as DOUBLE; a bare 0.9 would be DECIMAL
        return exp.cast(exp.Literal.number(repr(value)), exp.DataType.build("DOUBLE"))
    if isinstance(value, Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build("TIMESTAMP"))
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, time):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("TIME"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if hasattr(value, "item"):    # numpy scalars
        return _literal(value.item())
    raise WaypointError(f"cannot pass a {type(value).__name__} to Spark SQL as a parameter")


def bind(statement, params: dict[str, Any] | Sequence[Any] | None):
    """The statement (a SQLGlot tree) with its ``$name`` and ``?`` parameters replaced by literals."""
    from sqlglot import exp

    positional = list(params) if isinstance(params, (list, tuple)) else []
    named = params if isinstance(params, dict) else {}
    index = 0

    def replace(node):
        nonlocal index
        if isinstance(node, exp.Placeholder):
            name = node.name
            if name and name != "?":
                if name not in named:
                    raise KeyError(f"no value for SQL parameter ${name}")
                return _literal(named[name])
            if index >= len(positional):
                raise KeyError("too few values for the ? parameters")
            index += 1
            return _literal(positional[index - 1])
        return node

    return statement.transform(replace)


def parse(sql: str) -> list:
    """The statements of DuckDB-dialect SQL as SQLGlot trees."""
    import sqlglot

    return [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]


def to_spark(sql: str, params: dict[str, Any] | Sequence[Any] | None = None) -> list[str]:
    """DuckDB-dialect SQL (with parameters bound) as Spark SQL statements."""
    return [bind(s, params).sql(dialect="spark") for s in parse(sql)]


# ---------------------------------------------------------------------------------------------
# the connection
# ---------------------------------------------------------------------------------------------
class SparkConnection:
    """A DuckDB-connection look-alike over a Spark session, for the analytics modules.

    Each connection has its own session state (temporary views) when the session supports it.
    """

    def __init__(self, spark, source: str | os.PathLike | None = None, *, tables: dict[str, Any] | None = None):
        _require()
        try:
            self.spark = spark.newSession()
        except Exception:  # Spark Connect: one session per client
            self.spark = spark
        for key, value in SESSION_CONF.items():
            try:
                self.spark.conf.set(key, value)
            except Exception:
                pass
        self._duck = duckdb.connect(":memory:")
        self._result = None        # pyarrow.Table of the last query
        self._views: set[str] = set()
        if source is not None:
            self.attach_backup(source)
        for name, frame in (tables or {}).items():
            self.register(name, frame)

    # -- loading ----------------------------------------------------------------------------
    def attach_backup(self, source: str | os.PathLike) -> list[str]:
        """Register every table of a `waypoint backup` folder as a temporary view; returns their names."""
        folder = str(source).rstrip("/")
        files = self._backup_files(folder)
        missing = [t for t in CANONICAL_TABLES if t not in files]
        if missing:
            raise WaypointError(f"{folder}: not a Waypoint backup (no {', '.join(missing)} table). "
                                "Make one with: waypoint backup DIR")
        for name, path in files.items():
            self.spark.read.parquet(path).createOrReplaceTempView(name)
            self._views.add(name)
        return sorted(files)

    def _backup_files(self, folder: str) -> dict[str, str]:
        local = Path(folder)
        if "://" not in folder and not local.is_dir():
            raise WaypointError(f"{folder}: no such folder. Point --source at a folder written by "
                                "`waypoint backup DIR`.")
        if "://" not in folder:
            if not (local / "load.sql").is_file():
                raise WaypointError(f"{folder}: not a Waypoint backup (no load.sql). Make one with: "
                                    "waypoint backup DIR")
            text = (local / "load.sql").read_text(encoding="utf-8")
        else:   # a cluster path (s3://, abfss://, hdfs://, dbfs:/...): read it through Spark
            text = "\n".join(r[0] for r in self.spark.read.text(f"{folder}/load.sql").collect())
        # load.sql names the files by the absolute path at backup time; the folder may have moved
        return {table.split(".")[-1]: f"{folder}/{path.replace(chr(92), '/').rsplit('/', 1)[-1]}"
                for table, path in _COPY_RE.findall(text)}

    # -- the DuckDB API the analytics use ------------------------------------------------------
    def execute(self, sql: str, params: dict[str, Any] | Sequence[Any] | None = None) -> "SparkConnection":
        self._result = None
        for statement in parse(sql):
            self._result = self._run(bind(statement, params))
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> "SparkConnection":
        from sqlglot import exp

        statements = parse(sql)
        if len(statements) == 1 and isinstance(statements[0], exp.Insert) \
                and isinstance(statements[0].expression, exp.Values):
            table = self._target(statements[0])
            frame = self.spark.table(table)
            new = self.spark.createDataFrame([tuple(r) for r in rows], schema=frame.schema)
            self._replace_view(table, frame.unionByName(new))
        else:
            for row in rows:
                self.execute(sql, row)
        self._result = None
        return self

    def register(self, name: str, frame: pd.DataFrame) -> "SparkConnection":
        # read through DuckDB so that the view has the types DuckDB gives the same frame
        self._duck.register("_frame", frame)
        try:
            table = self._duck.sql("SELECT * FROM _frame").to_arrow_table()
        finally:
            self._duck.unregister("_frame")
        self.spark.createDataFrame(table).createOrReplaceTempView(name)
        self._views.add(name)
        return self

    def unregister(self, name: str) -> "SparkConnection":
        self.spark.catalog.dropTempView(name)
        self._views.discard(name)
        return self

    def cursor(self) -> "SparkConnection":
        return self

    def close(self) -> None:
        self._duck.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # results, with DuckDB's Python and pandas types
    def _duck_result(self):
        """The last result as a DuckDB relation (runs afresh on every call: no pending cursor)."""
        if self._result is None:
            raise WaypointError("no result: the last statement returned no rows")
        return self._duck.from_arrow(self._result)

    def df(self) -> pd.DataFrame:
        return self._duck_result().df()

    fetchdf = df

    def fetchall(self) -> list[tuple]:
        return self._duck_result().fetchall()

    def fetchnumpy(self) -> dict:
        return self._duck_result().fetchnumpy()

    def fetchone(self) -> tuple | None:
        rows = self.fetchall()
        return rows[0] if rows else None

    def arrow(self):
        return self._result

    @property
    def description(self):
        return self._duck_result().description if self._result is not None else None

    # -- statements ----------------------------------------------------------------------------
    def _run(self, statement):
        from sqlglot import exp

        if isinstance(statement, (exp.Transaction, exp.Commit, exp.Rollback)):
            return None
        if isinstance(statement, exp.Create) and statement.kind in ("TABLE", "VIEW"):
            return self._create(statement)
        if isinstance(statement, exp.Drop) and statement.kind in ("TABLE", "VIEW"):
            name = statement.this.name
            self.spark.catalog.dropTempView(name)
            self._views.discard(name)
            return None
        if isinstance(statement, exp.Insert):
            return self._insert(statement)
        if isinstance(statement, (exp.Query,)):
            return self._collect(self.spark.sql(statement.sql(dialect="spark")))
        raise WaypointError(
            "the Spark engine reads its source and does not change it; this needs the DuckDB engine "
            "(e.g. episodes re-derived for a different episode_gap_days: do that on the DuckDB engine, "
            "then make a new backup): " + statement.sql(dialect="duckdb")[:120])

    def _collect(self, frame):
        return frame.toArrow()

    def _target(self, statement) -> str:
        from sqlglot import exp

        target = statement.this
        if isinstance(target, exp.Schema):
            target = target.this
        return target.name

    def _create(self, statement):
        from sqlglot import exp

        name = self._target(statement)
        query = statement.expression
        if query is not None:
            frame = self.spark.sql(query.sql(dialect="spark"))
        else:   # CREATE TABLE t (col TYPE, ...): an empty view with that schema
            columns = [c for c in statement.this.expressions if isinstance(c, exp.ColumnDef)]
            ddl = ", ".join(f"`{c.name}` {c.args['kind'].sql(dialect='spark')}" for c in columns)
            frame = self.spark.createDataFrame([], schema=ddl)
        exists = name in self._views
        if exists and not statement.args.get("replace") and not statement.args.get("exists"):
            raise WaypointError(f"table {name} already exists")
        if exists and statement.args.get("exists") and not statement.args.get("replace"):
            return None
        self._replace_view(name, frame)
        return None

    def _insert(self, statement):
        name = self._target(statement)
        if name not in self._views or name in CANONICAL_TABLES:
            raise WaypointError("the Spark engine reads its source and does not change it; "
                                f"INSERT INTO {name} needs the DuckDB engine")
        existing = self.spark.table(name)
        new = self.spark.sql(statement.expression.sql(dialect="spark"))
        new = new.toDF(*existing.columns) if len(new.columns) == len(existing.columns) else new
        self._replace_view(name, existing.unionByName(new))
        return None

    def _replace_view(self, name: str, frame) -> None:
        """Materialise (a work table is read many times; a checkpoint also cuts the plan short so
        that later queries are planned against it, not its whole lineage) and register as a view.
        The rows stay on the cluster."""
        try:
            frame = frame.localCheckpoint(eager=False)   # filled by the first query that reads it
        except Exception:   # a session without checkpoints (older Spark Connect)
            frame = frame.cache()
        frame.createOrReplaceTempView(name)
        self._views.add(name)


def connect(source: str | os.PathLike, master: str | None = None) -> SparkConnection:
    """A connection over the backup folder ``source`` (local path or a cluster URI)."""
    folder = str(source)
    if "://" not in folder and not (Path(folder) / "load.sql").is_file():   # say so before starting Spark
        raise WaypointError(f"{folder}: not a Waypoint backup folder (no load.sql). Point --source at a "
                            "folder written by `waypoint backup DIR`.")
    session = spark_session(master)
    try:
        session.sparkContext.setLogLevel("ERROR")   # classic sessions: keep Spark's chatter off the terminal
    except Exception:  # Spark Connect has no SparkContext
        pass
    return SparkConnection(session, source)
