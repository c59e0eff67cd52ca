"""Optional pseudonymisation at import: patient IDs replaced by HMAC-SHA256 with a clinic key kept
outside the database; the same export always maps to the same pseudonyms."""
from __future__ import annotations

import hashlib
import hmac
import os
import stat

import pytest

from analytics import pseudonym
from analytics.cli import main
from analytics.db import connect
from analytics.errors import WaypointError
from tests.ingest_helpers import HEADER, TODAY, csv_file, ingest

KEY = b"k" * 32
OTHER = b"o" * 32
EXPORT = f"{HEADER}\nMRN-0042,c1,2025-01-06,attended,12,9\n MRN-0042 ,c1,2025-01-13,attended,8,6\nMRN-7,c2,2025-01-07,attended,15,11\n"


@pytest.fixture(autouse=True)
def no_configured_key(monkeypatch):
    monkeypatch.delenv(pseudonym.ENV_KEY, raising=False)
    monkeypatch.delenv("WAYPOINT_CONFIG", raising=False)


def _import(con, tmp_path, text=EXPORT, key=KEY, **kw):
    with pseudonym.pseudonymising(key):
        return ingest(con, csv_file(tmp_path, text), **kw)


def _patients(con):
    return sorted(r[0] for r in con.execute("SELECT DISTINCT patient_id FROM sessions").fetchall())


def test_the_pseudonym_is_hmac_sha256_of_the_trimmed_id_under_the_clinic_key():
    expected = "P-" + hmac.new(KEY, b"MRN-0042", hashlib.sha256).hexdigest()[:16]
    assert pseudonym.pseudonym("MRN-0042", KEY) == expected == pseudonym.pseudonym("  MRN-0042 ", KEY)
    assert pseudonym.pseudonym("MRN-0042", OTHER) != expected


def test_the_same_export_always_maps_to_the_same_pseudonyms(tmp_path):
    first, second = connect(":memory:"), connect(":memory:")
    _import(first, tmp_path)
    _import(second, tmp_path)
    assert _patients(first) == _patients(second) == sorted([pseudonym.pseudonym("MRN-0042", KEY),
                                                             pseudonym.pseudonym("MRN-7", KEY)])
    again = _import(first, tmp_path)  # next month's export repeats the rows: nothing new
    assert again.new_rows == 0 and again.unchanged == 3
    assert _patients(first) == _patients(second)


def test_the_database_holds_no_record_number_anywhere(tmp_path):
    con = connect(":memory:")
    rejected = EXPORT + "MRN-999,c1,not a date,attended,3,2\n"
    result = _import(con, tmp_path, rejected, rejects=tmp_path / "rejects.csv")
    assert result.rejected == 1
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()]
    for table in tables:
        text = con.execute(f"SELECT string_agg(CAST(t AS VARCHAR), '|') FROM {table} t").fetchall()[0][0] or ""
        assert "MRN" not in text, table
    assert "MRN" not in (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig")
    assert pseudonym.pseudonym("MRN-999", KEY) in (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig")


def test_a_different_key_or_no_key_is_refused_once_the_database_holds_pseudonyms(tmp_path):
    con = connect(":memory:")
    _import(con, tmp_path)
    with pytest.raises(WaypointError, match="differs from the one this database was built with"):
        _import(con, tmp_path, key=OTHER)
    with pytest.raises(WaypointError, match="no pseudonym key is configured"):
        ingest(con, csv_file(tmp_path, EXPORT))
    assert len(_patients(con)) == 2  # nothing was written by the refused imports


def test_a_database_with_record_numbers_refuses_a_pseudonymised_import(tmp_path):
    con = connect(":memory:")
    ingest(con, csv_file(tmp_path, EXPORT))
    with pytest.raises(WaypointError, match="already holds patient record numbers"):
        _import(con, tmp_path)
    assert _patients(con) == ["MRN-0042", "MRN-7"]


def test_the_key_comes_from_the_environment_or_the_key_file_in_the_clinic_config(tmp_path, monkeypatch):
    key_file = pseudonym.new_key_file(tmp_path / "keys" / "pseudonym.key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    config = tmp_path / "clinic.toml"
    config.write_text('[access]\npseudonym_key_file = "keys/pseudonym.key"\n')
    assert pseudonym.configured_key(config) == key_file.read_text().strip().encode()
    monkeypatch.setenv(pseudonym.ENV_KEY, "e" * 40)
    assert pseudonym.configured_key(config) == b"e" * 40
    monkeypatch.setenv(pseudonym.ENV_KEY, "short")
    with pytest.raises(WaypointError, match="too short"):
        pseudonym.configured_key(config)
    with pytest.raises(WaypointError, match="already exists"):
        pseudonym.new_key_file(key_file)


def test_waypoint_ingest_pseudonymise_without_a_key_stops_with_one_line(tmp_path, capsys):
    path = csv_file(tmp_path, EXPORT)
    assert main(["ingest", str(path), "--db", str(tmp_path / "c.duckdb"), "--pseudonymise"]) == 2
    assert "--pseudonymise needs the clinic's pseudonym key" in capsys.readouterr().err


def test_waypoint_ingest_pseudonymise_with_the_configured_key(tmp_path, monkeypatch):
    monkeypatch.setenv(pseudonym.ENV_KEY, KEY.decode())
    db = tmp_path / "c.duckdb"
    assert main(["ingest", str(csv_file(tmp_path, EXPORT)), "--db", str(db), "--pseudonymise"]) == 0
    con = connect(db)
    assert _patients(con) == sorted([pseudonym.pseudonym("MRN-0042", KEY), pseudonym.pseudonym("MRN-7", KEY)])


def test_waypoint_pseudonym_shows_the_pseudonym_staff_search_for(monkeypatch, capsys):
    monkeypatch.setenv(pseudonym.ENV_KEY, KEY.decode())
    assert main(["pseudonym", "MRN-0042", "--db", ":memory:"]) == 0
    assert capsys.readouterr().out == f"MRN-0042\t{pseudonym.pseudonym('MRN-0042', KEY)}\n"
    monkeypatch.delenv(pseudonym.ENV_KEY)
    assert main(["pseudonym", "MRN-0042", "--db", ":memory:"]) == 2


def test_a_fixed_rejects_file_uploaded_again_keeps_its_pseudonyms_and_joins_the_same_patient(tmp_path):
    con = connect(":memory:")
    rejected = EXPORT + "MRN-7,c2,not a date,attended,3,2\n"
    _import(con, tmp_path, rejected, rejects=tmp_path / "rejects.csv")
    lines = (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    row = dict(zip(header, lines[1].split(",")))
    assert row["patient_id"] == pseudonym.pseudonym("MRN-7", KEY)
    fixed = (f"{HEADER}\n{row['patient_id']},{row['clinician_id']},2025-01-21,{row['status']},"
             f"{row['phq9']},{row['gad7']}\n")
    result = _import(con, tmp_path, fixed)
    assert result.new_rows == 1
    assert _patients(con) == sorted([pseudonym.pseudonym("MRN-0042", KEY), pseudonym.pseudonym("MRN-7", KEY)])


def test_only_the_exact_pseudonym_form_counts_as_already_pseudonymised():
    assert pseudonym.is_pseudonym(pseudonym.pseudonym("MRN-7", KEY))
    assert pseudonym.is_pseudonym(" " + pseudonym.pseudonym("MRN-7", KEY) + " ")
    for record_number in ("P-0042", "P-3EAE6DE611B7768F", "P-3eae6de611b7768f0", "p-3eae6de611b7768f", "MRN-7"):
        assert not pseudonym.is_pseudonym(record_number), record_number


def test_a_key_file_path_in_the_environment_variable_is_refused_not_taken_as_the_key(tmp_path, monkeypatch):
    key_file = pseudonym.new_key_file(tmp_path / "a-long-enough-path-to-pass-as-a-key" / "pseudonym.key")
    monkeypatch.setenv(pseudonym.ENV_KEY, str(key_file))
    with pytest.raises(WaypointError, match="holds the key itself .* not the path of a key file"):
        pseudonym.configured_key()
    monkeypatch.setenv(pseudonym.ENV_KEY, key_file.read_text().strip())
    assert pseudonym.configured_key() == key_file.read_text().strip().encode()
