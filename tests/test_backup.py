"""Backups round-trip every table exactly; restore never clobbers data by accident."""
import pytest

from analytics import db
from analytics.backup import backup, restore
from analytics.errors import WaypointError
from tests.builders import S, clinic

TABLES = ["sessions", "measurements", "item_scores", "episodes", "patients", "clinicians"]


def dump(con):
    return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


@pytest.fixture
def source(tmp_path):
    con = clinic([S("p1", "2024-01-01", phq9=18, gad7=12, phq9_items={9: 1}),
                  S("p1", "2024-01-08", status="no_show", session_time="14:30"),
                  S("p2", "2024-02-01", discharge_reason="planned", gad7=9)],
                 con=db.connect(tmp_path / "clinic.duckdb"))
    yield con
    con.close()


def test_backup_and_restore_round_trip_every_row(source, tmp_path):
    backup(source, tmp_path / "bk")
    message = restore(tmp_path / "bk", tmp_path / "restored.duckdb")
    assert message.startswith("Restored 3 sessions")
    restored = db.connect(tmp_path / "restored.duckdb")
    assert dump(restored) == dump(source)
    assert db.schema_version(restored) == db.latest_version()


def test_backup_refuses_a_non_empty_folder(source, tmp_path):
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "old.parquet").write_text("x")
    with pytest.raises(WaypointError, match="not empty"):
        backup(source, tmp_path / "bk")


def test_restore_refuses_to_overwrite_data_without_replace(source, tmp_path):
    backup(source, tmp_path / "bk")
    source.close()
    with pytest.raises(WaypointError, match="--replace"):
        restore(tmp_path / "bk", tmp_path / "clinic.duckdb")
    assert restore(tmp_path / "bk", tmp_path / "clinic.duckdb", replace=True).startswith("Restored 3")


def test_restore_of_a_folder_that_is_not_a_backup_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(WaypointError, match="not a Waypoint backup"):
        restore(tmp_path / "empty", tmp_path / "x.duckdb")
    assert not (tmp_path / "x.duckdb").exists()
