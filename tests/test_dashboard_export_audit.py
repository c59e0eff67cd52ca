"""A table's "Download CSV" gives a file made when the viewer clicks (Streamlit runs it outside the
page's script run). The audit log's row is written first, for the viewer the page was drawn for:
recorded on the rerun after the click, as before, it was lost when the viewer went to another page
at once (the browser test of a clinician's download failed so in CI)."""
from __future__ import annotations

import pandas as pd
import pytest

from analytics import audit
from analytics.access import Viewer
from analytics.db import connect
from dashboard import data, ui

ANNA = Viewer(user="anna@clinic.example", role="clinician", clinician_id="c1")


@pytest.fixture
def clinic(tmp_path, monkeypatch):
    path = tmp_path / "clinic.duckdb"
    connect(str(path)).close()
    monkeypatch.setenv("WAYPOINT_DB", str(path))
    yield path
    data._connection.clear()


def exports() -> list[tuple]:
    with data.cursor() as cur:
        log = audit.read_log(cur, action="export")
    return list(zip(log["user_id"], log["role"], log["detail"]))


def test_the_export_is_recorded_before_the_file_is_made_for_the_viewer_the_page_was_drawn_for(clinic, monkeypatch):
    monkeypatch.setattr(data, "current_viewer", lambda: ANNA)              # drawing the page
    download = ui.exported_csv(pd.DataFrame({"patient": ["p1", "=cmd"]}), "Caseload")
    assert exports() == []                                                 # nothing exported yet

    monkeypatch.setattr(data, "current_viewer", lambda: None)              # the click: no session here
    made = ui.csv_bytes
    seen_when_made: list[list[tuple]] = []

    def csv_bytes(frame):
        seen_when_made.append(exports())
        return made(frame)

    monkeypatch.setattr(ui, "csv_bytes", csv_bytes)
    content = download()
    assert content.decode("utf-8-sig").splitlines() == ["patient", "p1", "'=cmd"]
    assert seen_when_made == [[("anna@clinic.example", "clinician", "Caseload")]]
    download()                                                             # each download is a row
    assert exports() == [("anna@clinic.example", "clinician", "Caseload")] * 2
