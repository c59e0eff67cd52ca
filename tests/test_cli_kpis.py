"""`waypoint kpis` and `waypoint outcomes` through the command line, on a hand-worked five-episode
clinic written to a DuckDB file.

The clinic (as-of: the latest session that took place, 2024-04-20):

  pA  c1  PHQ-9 15 -> 8, GAD-7 10 -> 6, planned discharge       recovered, reliable improvement (-7, -4)
          (plus a no-show and a cancellation)
  pB  c1  PHQ-9 12 -> 18, GAD-7 9 -> 13, planned discharge       reliable deterioration (+6, +4 exactly)
          (plus a late cancellation)
  pC  c2  PHQ-9 9 -> 4, GAD-7 7 -> 3, last seen 2024-01-12       not at caseness at start; GAD-7 -4 exactly:
                                                                 reliable improvement; 99 days before
                                                                 as-of: lost contact = dropout
  pD  c2  assessment PHQ-9 20, treatment 17, then a no-show      active
  pE  c1  one session, PHQ-9 11, discharge reason 'dropout'      ended, not finished treatment

So: 5 episodes, 1 active, 4 ended, 3 finished treatment (A, B, C), all 3 paired; 2 paired and at
caseness (A, B), 1 recovered (A); reliable improvement A, C (2 of 3); deterioration B (1 of 3);
reliable recovery A (1 of 2); dropouts C and E (2 of 4 ended).
phq9_pre_post_d over A, B, C: first 15, 12, 9 (mean 12, sample SD 3), last 8, 18, 4 (mean 10):
(12 - 10) / 3 = 0.667 (the population SD, 2.449, would give 0.816).
Attendance: 9 attended, 2 no-shows, 1 late cancellation, 1 cancellation: 9/12 = 0.75, 2/12 = 0.1667.
"""
from __future__ import annotations

import csv
import io
import json

import pytest

from analytics import cli
from analytics.db import connect
from tests.builders import S, clinic

KPI_KEYS = [
    "as_of", "episodes", "active", "ended", "finished_treatment", "paired", "paired_completeness",
    "at_caseness", "recovered", "recovery_rate", "reliable_improvement", "reliable_improvement_rate",
    "reliable_deterioration", "reliable_deterioration_rate", "reliable_recovery", "reliable_recovery_rate",
    "dropout", "dropout_rate", "phq9_pre_post_d", "attendance",
]
ATTENDANCE_KEYS = ["attended", "no_show", "late_cancel", "cancelled", "attendance_rate", "no_show_rate"]
COUNT_KEYS = ["episodes", "active", "ended", "finished_treatment", "paired", "at_caseness", "recovered",
              "reliable_improvement", "reliable_deterioration", "reliable_recovery", "dropout"]

SESSIONS = [
    S("pA", "2024-01-01", phq9=15, gad7=10),
    S("pA", "2024-01-08", status="no_show"),
    S("pA", "2024-01-15", status="cancelled"),
    S("pA", "2024-02-01", phq9=8, gad7=6, discharge_reason="planned"),
    S("pB", "2024-01-03", phq9=12, gad7=9),
    S("pB", "2024-01-07", status="late_cancel"),
    S("pB", "2024-01-10", phq9=18, gad7=13, discharge_reason="planned"),
    S("pC", "2024-01-05", "attended", "c2", phq9=9, gad7=7),
    S("pC", "2024-01-12", "attended", "c2", phq9=4, gad7=3),
    S("pD", "2024-03-01", "attended", "c2", session_type="assessment", phq9=20, gad7=15),
    S("pD", "2024-04-10", "attended", "c2", session_type="treatment", phq9=17, gad7=12),
    S("pD", "2024-04-20", "no_show", "c2", session_type="treatment"),
    S("pE", "2024-02-01", phq9=11, discharge_reason="dropout"),
]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "clinic.duckdb"
    con = connect(path)
    clinic(SESSIONS, con=con)
    con.close()
    return str(path)


def kpis(db, capsys, *extra) -> dict:
    assert cli.main(["kpis", "--db", db, "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_kpis_json_has_exactly_the_keys_of_the_issue_with_ints_and_rounded_rates(db, capsys):
    data = kpis(db, capsys)
    assert list(data) == KPI_KEYS
    assert list(data["attendance"]) == ATTENDANCE_KEYS
    for key in COUNT_KEYS:
        assert type(data[key]) is int, key
    for key in ("attended", "no_show", "late_cancel", "cancelled"):
        assert type(data["attendance"][key]) is int, key


def test_kpis_json_hand_worked_figures(db, capsys):
    assert kpis(db, capsys) == {
        "as_of": "2024-04-20",
        "episodes": 5, "active": 1, "ended": 4, "finished_treatment": 3,
        "paired": 3, "paired_completeness": 1.0,
        "at_caseness": 2, "recovered": 1, "recovery_rate": 0.5,
        "reliable_improvement": 2, "reliable_improvement_rate": 0.6667,
        "reliable_deterioration": 1, "reliable_deterioration_rate": 0.3333,
        "reliable_recovery": 1, "reliable_recovery_rate": 0.5,
        "dropout": 2, "dropout_rate": 0.5,
        "phq9_pre_post_d": 0.667,
        "attendance": {"attended": 9, "no_show": 2, "late_cancel": 1, "cancelled": 1,
                       "attendance_rate": 0.75, "no_show_rate": 0.1667},
    }


def test_kpis_for_one_clinician_give_null_where_the_denominator_is_zero(db, capsys):
    # c2: pC (ended, paired, not at caseness, reliable improvement, dropout) and pD (active)
    data = kpis(db, capsys, "--clinician", "c2")
    assert {k: data[k] for k in KPI_KEYS[1:-1]} == {
        "episodes": 2, "active": 1, "ended": 1, "finished_treatment": 1,
        "paired": 1, "paired_completeness": 1.0,
        "at_caseness": 0, "recovered": 0, "recovery_rate": None,
        "reliable_improvement": 1, "reliable_improvement_rate": 1.0,
        "reliable_deterioration": 0, "reliable_deterioration_rate": 0.0,
        "reliable_recovery": 0, "reliable_recovery_rate": None,
        "dropout": 1, "dropout_rate": 1.0,
        "phq9_pre_post_d": None,  # one pair: no SD
    }
    assert data["attendance"] == {"attended": 4, "no_show": 1, "late_cancel": 0, "cancelled": 0,
                                  "attendance_rate": 0.8, "no_show_rate": 0.2}


def test_kpis_date_range_counts_the_episodes_that_ended_in_it(db, capsys):
    # February 2024: pA (ended 2024-02-01, recovered) and pE (dropout, 2024-02-01) ended in it;
    # pB and pC ended in January, pD started in March
    data = kpis(db, capsys, "--from", "2024-02-01", "--to", "2024-02-29")
    assert {k: data[k] for k in ("episodes", "active", "ended", "finished_treatment", "paired", "at_caseness",
                                 "recovered", "recovery_rate", "reliable_deterioration_rate", "dropout",
                                 "dropout_rate", "phq9_pre_post_d")} == {
        "episodes": 2, "active": 0, "ended": 2, "finished_treatment": 1, "paired": 1, "at_caseness": 1,
        "recovered": 1, "recovery_rate": 1.0, "reliable_deterioration_rate": 0.0, "dropout": 1,
        "dropout_rate": 0.5, "phq9_pre_post_d": None,
    }
    assert data["attendance"] == {"attended": 2, "no_show": 0, "late_cancel": 0, "cancelled": 0,
                                  "attendance_rate": 1.0, "no_show_rate": 0.0}


def test_kpis_as_of_ignores_later_sessions_and_moves_the_lost_contact_clock(db, capsys):
    # on 2024-02-15 pD has not started, and pC's last session (2024-01-12) is only 34 days old: active
    data = kpis(db, capsys, "--as-of", "2024-02-15")
    assert {k: data[k] for k in KPI_KEYS[:-1]} == {
        "as_of": "2024-02-15",
        "episodes": 4, "active": 1, "ended": 3, "finished_treatment": 2,
        "paired": 2, "paired_completeness": 1.0,
        "at_caseness": 2, "recovered": 1, "recovery_rate": 0.5,
        "reliable_improvement": 1, "reliable_improvement_rate": 0.5,
        "reliable_deterioration": 1, "reliable_deterioration_rate": 0.5,
        "reliable_recovery": 1, "reliable_recovery_rate": 0.5,
        "dropout": 1, "dropout_rate": 0.3333,
        # pA and pB: first 15, 12 (mean 13.5, sample SD 2.1213), last 8, 18 (mean 13): 0.5 / 2.1213
        "phq9_pre_post_d": 0.236,
    }
    assert data["attendance"] == {"attended": 7, "no_show": 1, "late_cancel": 1, "cancelled": 1,
                                  "attendance_rate": 0.7778, "no_show_rate": 0.1111}


def test_kpis_of_an_empty_database_are_zero_and_null(tmp_path, capsys):
    connect(tmp_path / "empty.duckdb").close()     # a database with no sessions yet (a missing one is refused)
    data = kpis(str(tmp_path / "empty.duckdb"), capsys)
    assert list(data) == KPI_KEYS
    assert data["as_of"] is None and data["episodes"] == 0 and data["ended"] == 0
    assert data["recovery_rate"] is None and data["dropout_rate"] is None and data["phq9_pre_post_d"] is None
    assert data["attendance"]["attendance_rate"] is None


def test_kpis_table_prints_every_figure(db, capsys):
    assert cli.main(["kpis", "--db", db]) == 0
    lines = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert lines["recovery_rate"] == ["0.5"] and lines["reliable_improvement"] == ["2"]
    assert lines["phq9_pre_post_d"] == ["0.667"] and lines["attendance:"] == []
    assert lines["no_show_rate"] == ["0.1667"]


def test_outcomes_csv_has_one_row_per_episode_with_blanks_where_not_applicable(db, capsys):
    assert cli.main(["outcomes", "--db", db, "--format", "csv"]) == 0
    found = {r["episode_id"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert sorted(found) == ["pA#1", "pB#1", "pC#1", "pD#1", "pE#1"]
    a, b, c, d, e = (found[k] for k in sorted(found))
    assert (a["ending"], a["phq9_first"], a["phq9_last"], a["gad7_change"], a["recovered"],
            a["reliable_improvement"], a["reliable_recovery"]) == ("planned", "15", "8", "-4", "1", "1", "1")
    assert (b["phq9_change"], b["gad7_change"], b["reliable_deterioration"], b["recovered"]) == ("6", "4", "1", "0")
    # pC: not at caseness at start, so recovery does not apply (blank), but reliable improvement does
    assert (c["ending"], c["lost_contact"], c["at_caseness"], c["recovered"], c["reliable_improvement"]) == \
        ("dropout", "1", "0", "", "1")
    assert (d["status"], d["end_date"], d["treatment_sessions"], d["paired"]) == ("active", "", "1", "0")
    assert (e["ending"], e["finished_treatment"], e["gad7_first"], e["reliable_improvement"]) == ("dropout", "0", "", "")


def test_outcomes_json_gives_null_not_zero_for_figures_that_do_not_apply(db, capsys):
    assert cli.main(["outcomes", "--db", db, "--format", "json"]) == 0
    found = {r["episode_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(found) == 5
    assert found["pC#1"]["recovered"] is None and found["pC#1"]["reliable_improvement"] == 1
    assert found["pE#1"]["gad7_first"] is None and found["pE#1"]["paired"] == 0
    assert found["pA#1"]["recovered"] == 1 and found["pA#1"]["phq9_jt_category"] == "recovered"
    assert found["pD#1"]["end_date"] is None and found["pD#1"]["status"] == "active"


def test_outcomes_take_the_clinician_filter(db, capsys):
    assert cli.main(["outcomes", "--db", db, "--format", "json", "--clinician", "c2"]) == 0
    assert [r["episode_id"] for r in json.loads(capsys.readouterr().out)] == ["pC#1", "pD#1"]
