"""Find and read the .sql files shipped with Waypoint (one file per figure family)."""
from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


def sql_dir() -> Path:
    here = Path(__file__).resolve().parent.parent / "sql"
    if here.is_dir():
        return here
    return Path(str(resources.files("analytics.sql")))


@cache
def read_sql(name: str) -> str:
    """Text of `sql/<name>` (e.g. "outcomes/episode_outcomes.sql")."""
    return (sql_dir() / name).read_text(encoding="utf-8")
