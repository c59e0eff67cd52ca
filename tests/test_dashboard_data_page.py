"""The Data page as the person who uploads exports uses it: the latest import first, an undo that
names what it takes back and is not left armed after it, checks that follow the database, and column
matches that belong to the files they were made for."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.db import connect
from analytics.ingest import ingest_files
from tests.ingest_helpers import HEADER, TODAY, csv_file

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


@pytest.fixture
def two_imports(tmp_path, monkeypatch):
    db = tmp_path / "clinic.duckdb"
    con = connect(db)
    ingest_files(con, [csv_file(tmp_path, f"{HEADER}\np1,c1,2025-01-06,attended,18,12\n", "january.csv")], today=TODAY)
    ingest_files(con, [csv_file(tmp_path, f"{HEADER}\np2,c1,2025-02-03,attended,15,10\n"
                                          "p1,c1,2025-01-06,attended,17,12\n", "february.csv")], today=TODAY)
    con.close()
    monkeypatch.setenv("WAYPOINT_DB", str(db))
    monkeypatch.delenv("WAYPOINT_CONFIG", raising=False)
    return db


def _data_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("views/data_import.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_latest_import_is_first_and_the_one_undo_offers(two_imports):
    at = _data_page()
    history = next(d.value for d in at.dataframe if "batch_id" in d.value.columns)
    assert list(history["batch_id"]) == [2, 1]
    assert at.selectbox(key="undo-batch").value == 2
    assert at.button(key="undo-go").label == "Undo import 2 (february.csv: 1 new, 1 changed row(s))"
    assert at.button(key="undo-go").disabled


def test_after_an_undo_the_undo_is_not_left_armed(two_imports):
    at = _data_page()
    at.checkbox(key="undo-sure").check().run()
    at.button(key="undo-go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value.startswith("Undid batch 2") and "february" in s.value for s in at.success)
    assert at.checkbox(key="undo-sure").value is False
    assert at.button(key="undo-go").disabled
    assert at.selectbox(key="undo-batch").value == 1          # the one import left
    history = next(d.value for d in at.dataframe if "batch_id" in d.value.columns)
    assert history["undone_at"].notna().tolist() == [True, False]


def test_the_date_layout_chosen_on_the_page_reads_the_dates_that_way(tmp_path):
    from dashboard import importer
    from tests.ingest_helpers import fresh, ingest, sessions

    mapping = importer._full_mapping(None, None, importer.DATE_LAYOUTS["Day first: 31/08/2026"])
    assert mapping == {"columns": {}, "dates": {"format": "%d/%m/%Y"}}
    con = fresh()
    ingest(con, csv_file(tmp_path, f"{HEADER}\np1,c1,03/04/2025,attended,12,9\n"), mapping=mapping)
    assert [s[2] for s in sessions(con)] == ["2025-04-03"]
    assert importer._full_mapping({"phq9": "PHQ"}, None, None) == {"phq9": "PHQ"}      # nothing chosen: as it was


def test_a_column_match_changed_for_one_file_is_not_applied_to_the_next(two_imports, monkeypatch):
    # a match the user changed for one upload belongs to that upload: applied to another file it
    # would read the wrong column, or name one the file does not have
    from dashboard import importer

    uploads = [("clients.csv", b"Client ID,Clinician,Appointment Date,Status,PHQ-9 Total,Mood\n"
                               b"p3,c1,2025-03-03,attended,14,5\n")]
    import streamlit as st

    def fake_uploads():   # the file input, as importer._uploads reads it
        st.session_state.setdefault(importer.UPLOADER_KEY, 0)
        return list(uploads)

    monkeypatch.setattr(importer, "_uploads", fake_uploads)
    at = _data_page()
    assert at.session_state["mapping-0-files"] == ("clients.csv",)
    at.session_state["mapping-0"] = {"patient_id": "Client ID", "clinician_id": "Clinician",
                                     "session_date": "Appointment Date", "status": "Status", "phq9": "Mood"}
    at.run()
    assert not at.error, [e.value for e in at.error]
    assert "Mood" in at.session_state["mapping-0"].values()                 # the changed match is used here

    uploads[:] = [("march.csv", f"{HEADER}\np4,c1,2025-03-10,attended,11,7\n".encode())]
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "mapping-0" not in at.session_state                              # the next file starts afresh
    assert [s.value for s in at.success] == ["Every row passed validation."]
    assert [m.value for m in at.metric if m.label == "New"] == ["1"]
