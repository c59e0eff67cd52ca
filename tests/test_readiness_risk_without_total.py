"""A risk answer counts even when its scale's total was left blank: PHQ-9 item 9 asked on its own
as a risk screen, or a questionnaire left incomplete. The import keeps the item scores of a row
without a total, says so, and safety reads them through their session."""
from __future__ import annotations

from analytics import readiness
from analytics.settings import Settings
from tests.ingest_helpers import csv_file, fresh, ingest

ITEMS = "patient_id,clinician_id,session_date,status,phq9,phq9_item9\n"
WEEKS = ("p1,c1,2025-01-06,attended,18,0\n"
         "p1,c1,2025-01-13,attended,16,0\n"
         "p1,c1,2025-01-20,attended,15,0\n")


def _record(con) -> dict:
    [record] = readiness.readiness(con, Settings())
    return record


def test_a_risk_item_at_a_session_without_a_total_is_safety(tmp_path):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, ITEMS + WEEKS + "p1,c1,2025-01-27,attended,,2\n"))
    assert result.rejected == 0
    record = _record(con)
    assert record["category"] == "safety"
    assert record["reasons"][0].startswith("PHQ-9 item 9 (thoughts of being better off dead or of hurting oneself) "
                                           "was 2 on 27 Jan 2025, the latest time it was recorded")
    assert record["risk_items"] == {"phq9": {"item": 9, "score": 2, "date": "2025-01-27"}}


def test_a_later_full_questionnaire_with_item_9_at_zero_is_the_latest(tmp_path):
    con = fresh()
    ingest(con, csv_file(tmp_path, ITEMS + WEEKS + "p1,c1,2025-01-27,attended,,2\n"
                                                   "p1,c1,2025-02-03,attended,12,0\n"))
    assert _record(con)["category"] != "safety"


def test_a_totals_only_export_that_blanks_the_total_keeps_the_stored_risk_answer(tmp_path):
    # the later export has no item columns: it says nothing about item 9, which stays and counts
    con = fresh()
    ingest(con, csv_file(tmp_path, ITEMS + WEEKS + "p1,c1,2025-01-27,attended,14,2\n", "items.csv"))
    assert _record(con)["category"] == "safety"
    totals = csv_file(tmp_path, "patient_id,clinician_id,session_date,status,phq9\n"
                                "p1,c1,2025-01-06,attended,18\np1,c1,2025-01-13,attended,16\n"
                                "p1,c1,2025-01-20,attended,15\np1,c1,2025-01-27,attended,\n", "totals.csv")
    assert ingest(con, totals).updated_rows == 1
    assert _record(con)["category"] == "safety"
    assert ingest(con, totals).updated_rows == 0          # and the export imports again as unchanged


def test_the_import_says_which_rows_have_items_but_no_total(tmp_path):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, ITEMS + WEEKS + "p1,c1,2025-01-27,attended,,2\n"
                                                   "p2,c1,2025-01-28,attended,,1\n"))
    assert ("2 row(s) have PHQ-9 item scores but no PHQ-9 total (the first on line 5): the item scores are "
            "kept, and a risk item among them counts for safety; the total is in no figure") in result.notes


def test_no_note_when_every_row_with_items_has_its_total(tmp_path):
    con = fresh()
    result = ingest(con, csv_file(tmp_path, ITEMS + WEEKS))
    assert not [n for n in result.notes if "no PHQ-9 total" in n]
