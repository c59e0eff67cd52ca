"""What `pip install waypoint` ships: every folder of SQL under sql/ is a package the wheel
carries (a folder missing from pyproject.toml would install a Waypoint without its queries)."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_sql_folder_is_a_listed_package_with_its_sql_files():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = {p.parent for p in (ROOT / "sql").rglob("*.sql")}
    wanted = {"analytics.sql" + "".join(f".{part}" for part in f.relative_to(ROOT / "sql").parts) for f in folders}
    assert wanted <= set(config["packages"])
    assert all(config["package-data"].get(name) == ["*.sql"] for name in wanted)
    assert config["package-dir"]["analytics.sql"] == "sql"
