"""`waypoint readiness --patient ID --category CATEGORY ... --limit N`: one patient's records, some
categories, or the first N, as readiness(..., patient_id=, categories=, limit=) chooses them; each
the same records as the whole list's matching rows, and a patient asked for by name is in the audit
log under that patient."""
import pytest

from analytics import audit, pseudonym
from analytics.cli import main
from analytics.db import connect
from tests.builders import S
from tests.ingest_helpers import HEADER
from tests.test_cli_readiness import ROWS, clinic_file, run_json, w


@pytest.fixture
def db(tmp_path, monkeypatch):
    # the command's own clinic (p1 ready for review, p2 safety, p3 too early) and two more:
    # p4 (c2) too early, p5 (c1) safety
    return clinic_file(tmp_path, monkeypatch, ROWS + [S("p4", w(9), "attended", "c2", phq9=17),
                                                      S("p5", w(9), phq9=20, phq9_items={9: 2})])


def test_the_whole_list_is_in_category_order(db, capsys):
    assert [(r["patient_id"], r["category"]) for r in run_json(capsys, "--db", db)] == [
        ("p5", "safety"), ("p2", "safety"), ("p1", "ready_for_review"), ("p3", "too_early"), ("p4", "too_early")]


def test_patient_option_gives_that_patients_records_exactly_as_in_the_whole_list(db, capsys):
    everyone = run_json(capsys, "--db", db)
    assert run_json(capsys, "--db", db, "--patient", "p2") == [r for r in everyone if r["patient_id"] == "p2"]


def test_a_patient_without_an_active_episode_gives_an_empty_list(db, capsys):
    # p1 is in the database, but on 1 Jan 2025 nobody had been seen yet
    assert run_json(capsys, "--db", db, "--patient", "p1", "--as-of", "2025-01-01") == []
    assert main(["readiness", "--db", db, "--patient", "p1", "--as-of", "2025-01-01"]) == 0
    assert capsys.readouterr().out.strip() == "(no rows)"


@pytest.mark.parametrize("typed, hint", [
    ("P2", "did you mean p2? (IDs are matched exactly)"),
    ("nobody", "IDs are matched exactly, as your record system exports them"),
])
def test_a_patient_the_database_does_not_have_is_one_clear_line(db, capsys, typed, hint):
    assert main(["readiness", "--db", db, "--patient", typed]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"Error: no patient {typed!r} in this database; {hint}.\n"


def test_a_record_number_typed_in_a_pseudonymised_clinic_points_to_waypoint_pseudonym(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(pseudonym.ENV_KEY, raising=False)
    path = tmp_path / "export.csv"
    path.write_text(f"{HEADER}\nMRN-0042,c1,2025-01-06,attended,12,9\n")
    monkeypatch.setenv(pseudonym.ENV_KEY, "k" * 32)
    db = str(tmp_path / "clinic.duckdb")
    assert main(["ingest", str(path), "--db", db, "--pseudonymise"]) == 0
    capsys.readouterr()
    assert main(["readiness", "--db", db, "--patient", "MRN-0042"]) == 2
    assert capsys.readouterr().err == (
        "Error: no patient 'MRN-0042' in this database; this clinic's patient IDs are pseudonymised: "
        "`waypoint pseudonym MRN-0042` gives the ID Waypoint holds for it.\n")
    held = pseudonym.pseudonym("MRN-0042", b"k" * 32)
    assert [r["patient_id"] for r in run_json(capsys, "--db", db, "--patient", held)] == [held]


def test_a_patient_asked_for_by_name_is_in_the_audit_log_under_that_patient(db, capsys):
    run_json(capsys, "--db", db, "--patient", "p2")
    con = connect(db)
    log = audit.read_log(con, patient_id="p2")
    con.close()
    assert list(log["action"]) == ["export"]
    assert list(log["detail"]) == ["readiness patient p2: 1 row(s) (command line, json)"]


@pytest.mark.parametrize("categories, expected", [
    (["safety"], ["p5", "p2"]),
    (["too_early", "safety"], ["p5", "p2", "p3", "p4"]),      # the list's order, not the options'
    (["stuck"], []),
])
def test_category_option_repeats_and_keeps_the_lists_order(db, capsys, categories, expected):
    everyone = run_json(capsys, "--db", db)
    options = [a for c in categories for a in ("--category", c)]
    chosen = run_json(capsys, "--db", db, *options)
    assert [r["patient_id"] for r in chosen] == expected
    assert chosen == [r for r in everyone if r["category"] in categories]


@pytest.mark.parametrize("limit", [1, 2, 4, 9])
def test_limit_gives_the_first_records_of_the_list(db, capsys, limit):
    everyone = run_json(capsys, "--db", db)
    assert run_json(capsys, "--db", db, "--limit", str(limit)) == everyone[:limit]


def test_options_combine_with_the_clinician_filter(db, capsys):
    records = run_json(capsys, "--db", db, "--clinician", "c1", "--category", "safety", "--category", "too_early",
                       "--limit", "2")
    assert [(r["patient_id"], r["category"]) for r in records] == [("p5", "safety"), ("p3", "too_early")]


@pytest.mark.parametrize("value", ["0", "-3", "ten", "2.5"])
def test_a_limit_that_is_not_a_whole_number_of_one_or_more_is_refused(db, capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["readiness", "--db", db, "--limit", value])
    assert exc.value.code == 2
    assert f"argument --limit: '{value}' is not a whole number of 1 or more" in capsys.readouterr().err


def test_an_unknown_category_is_refused_with_the_choices(db, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["readiness", "--db", db, "--category", "ready"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --category: invalid choice: 'ready'" in err and "'ready_for_review'" in err
