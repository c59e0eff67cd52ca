"""`waypoint readiness [--db PATH] [--as-of DATE] [--clinician ID] [--format table|json]` on a small
clinic in a DuckDB file: JSON is a list of objects with patient_id, episode_id, clinician_id,
category, reasons, last_session, attended_sessions, first_scores, last_scores."""
import json
from datetime import date, timedelta

import pytest

from analytics.cli import main
from analytics.db import connect
from tests.builders import S, clinic

START = date(2025, 2, 3)


def w(weeks: int) -> date:
    return START + timedelta(weeks=weeks)


# c1: ready for review on 14 Apr (last three span 6 weeks); too early before w(4)
ROWS = ([S("p1", w(k), phq9=s, gad7=g) for k, s, g in [(0, 18, 12), (2, 12, 9), (4, 6, 6), (7, 5, 5), (10, 6, 5)]]
        # c2: item 9 of 1 at the latest PHQ-9
        + [S("p2", w(8), "attended", "c2", phq9=14), S("p2", w(9), "attended", "c2", phq9=13),
           S("p2", w(10), "attended", "c2", phq9=12, phq9_items={9: 1})]
        # c1: one session so far
        + [S("p3", w(10), phq9=16)])


def clinic_file(tmp_path, monkeypatch, rows) -> str:
    """A DuckDB file holding a clinic of ``rows`` (no clinic config from the environment)."""
    monkeypatch.delenv("WAYPOINT_CONFIG", raising=False)
    path = tmp_path / "clinic.duckdb"
    con = connect(path)
    clinic(rows, con=con)
    con.close()
    return str(path)


@pytest.fixture
def db(tmp_path, monkeypatch):
    return clinic_file(tmp_path, monkeypatch, ROWS)


def run_json(capsys, *args) -> list[dict]:
    assert main(["readiness", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_is_a_list_of_objects_with_the_issues_keys(db, capsys):
    records = run_json(capsys, "--db", db)
    assert [(r["patient_id"], r["category"]) for r in records] == [
        ("p2", "safety"), ("p1", "ready_for_review"), ("p3", "too_early")]
    keys = {"patient_id", "episode_id", "clinician_id", "category", "reasons", "last_session",
            "attended_sessions", "first_scores", "last_scores"}
    assert all(keys <= set(r) for r in records)
    p1 = records[1]
    assert {k: p1[k] for k in keys - {"reasons"}} == {
        "patient_id": "p1", "episode_id": "p1#1", "clinician_id": "c1", "category": "ready_for_review",
        "last_session": "2025-04-14", "attended_sessions": 5,
        "first_scores": {"phq9": 18, "gad7": 12}, "last_scores": {"phq9": 6, "gad7": 5}}
    assert all(isinstance(r["reasons"], list) and all(isinstance(x, str) for x in r["reasons"]) for r in records)
    assert p1["reasons"][0].startswith("PHQ-9 18 → 6 since 3 Feb 2025, reliably improved by 12 points")
    assert p1["reasons"][1].startswith("GAD-7 12 → 5 since 3 Feb 2025, reliably improved by 7 points")
    assert records[0]["reasons"][0].startswith("PHQ-9 item 9 (thoughts of being better off dead or of hurting "
                                               "oneself) was 1 on 14 Apr 2025")


def test_clinician_filter(db, capsys):
    assert [r["patient_id"] for r in run_json(capsys, "--db", db, "--clinician", "c1")] == ["p1", "p3"]
    assert [r["patient_id"] for r in run_json(capsys, "--db", db, "--clinician", "c2")] == ["p2"]
    assert main(["readiness", "--db", db, "--clinician", "nobody"]) == 2      # not a clinician of this clinic
    assert "no clinician 'nobody' in this database" in capsys.readouterr().err


def test_as_of_shows_the_caseload_as_it_was(db, capsys):
    records = run_json(capsys, "--db", db, "--as-of", "2025-02-10")
    assert [(r["patient_id"], r["category"], r["attended_sessions"], r["last_session"]) for r in records] == [
        ("p1", "too_early", 1, "2025-02-03")]
    assert records[0]["reasons"] == ["One scored session so far (PHQ-9 18 on 3 Feb 2025; GAD-7 12 on 3 Feb 2025); "
                                     "progress is judged from three."]
    # two scores, reliably improved: improving comes before too_early in the issue's order
    records = run_json(capsys, "--db", db, "--as-of", "2025-02-17")
    assert [(r["patient_id"], r["category"], r["last_scores"]) for r in records] == [
        ("p1", "improving", {"phq9": 12, "gad7": 9})]


def test_config_thresholds_apply(db, capsys, tmp_path):
    config = tmp_path / "clinic.toml"
    config.write_text("[readiness]\nstable_min_weeks = 8\n")
    records = run_json(capsys, "--db", db, "--config", str(config), "--clinician", "c1")
    assert [r["category"] for r in records] == ["improving", "too_early"]


def test_table_format_shows_category_and_first_reason(db, capsys):
    assert main(["readiness", "--db", db]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["patient", "clinician", "category", "last"]
    assert [line.split()[0] for line in out[1:]] == ["p2", "p1", "p3"]
    assert "Ready for review" in out[2] and "14 Apr 2025" in out[2] and "PHQ-9 18→6, GAD-7 12→5" in out[2]


def test_an_empty_caseload_prints_no_rows(db, capsys):
    assert main(["readiness", "--db", db, "--as-of", "2024-01-01"]) == 0      # before anyone was seen
    assert capsys.readouterr().out.strip() == "(no rows)"


def test_a_bad_threshold_in_the_config_is_one_clear_line(db, capsys, tmp_path):
    config = tmp_path / "clinic.toml"
    config.write_text("[readiness]\nstable_weeks = 8\n")
    assert main(["readiness", "--db", db, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "unknown [readiness] threshold(s) stable_weeks" in err
    assert len(err.strip().splitlines()) == 1
