"""Access in the dashboard (AppTest): sign-in gate, polite refusal, demo banner, and a clinician
who cannot reach another clinician's patient through a page or a hand-edited URL parameter."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import audit
from analytics.db import connect
from tests.builders import two_clinicians

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-secret",
        "client_id": "waypoint", "client_secret": "x",
        "server_metadata_url": "http://localhost:9/.well-known/openid-configuration"}
CONFIG = """
[access.users]
"anna@clinic.example" = { role = "clinician", clinician_id = "c1" }
"ben@clinic.example"  = { role = "clinician", clinician_id = "c2" }
"dir@clinic.example"  = { role = "director" }
"""


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("access")
    path = folder / "clinic.duckdb"
    two_clinicians(path)
    config = folder / "clinic.toml"
    config.write_text(CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAYPOINT_DB", str(path))
        mp.setenv("WAYPOINT_CONFIG", str(config))
        yield path


def run(user: str | None, page: str | None = None, *, signed_in: bool = True, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": user} if signed_in else {"is_logged_in": False}
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(f"views/{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "title", "header", "subheader")
             for e in at.get(kind) if isinstance(getattr(e, "value", None), str)]
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    return "\n".join(parts)


def caseload_patients(at: AppTest) -> list[str]:
    tables = [df.value for df in at.dataframe if "Patient" in df.value.columns]
    return sorted(tables[0]["Patient"]) if tables else []


def test_a_clinician_cannot_open_another_clinicians_patient_by_editing_the_url(db):
    at = run("anna@clinic.example", "patient.py", patient="secret-p2")
    assert "No sessions for patient" in text(at)
    assert not at.get("plotly_chart")


def test_the_same_clinician_opens_their_own_patient(db):
    at = run("anna@clinic.example", "patient.py", patient="p1")
    assert "No sessions for patient" not in text(at)
    assert at.get("plotly_chart")


def test_a_clinician_choosing_another_clinician_in_the_url_sees_none_of_their_patients(db):
    at = run("anna@clinic.example", "caseload.py", clinician="c2")
    assert caseload_patients(at) == [] and "secret-p2" not in text(at)
    at = run("anna@clinic.example", "caseload.py")
    assert caseload_patients(at) == ["p1"] and "secret-p2" not in text(at)


def test_the_director_sees_every_patient(db):
    at = run("dir@clinic.example", "caseload.py")
    assert caseload_patients(at) == ["p1", "secret-p2"]


def test_a_signed_in_user_not_in_the_config_sees_only_a_polite_refusal(db):
    at = run("mallory@elsewhere.example")
    assert "not on the clinic's list of Waypoint users" in text(at)
    assert "p1" not in text(at) and not at.get("plotly_chart") and not at.dataframe
    log = _log(db, action="refused")
    assert (log["user_id"] == "mallory@elsewhere.example").any()


def test_nobody_signed_in_is_offered_the_sign_in_button_and_nothing_else(db):
    at = run(None, signed_in=False)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.dataframe and not at.get("plotly_chart")


def test_opening_a_patient_writes_one_audit_row_with_who_and_which(db):
    run("ben@clinic.example", "patient.py", patient="secret-p2")
    log = _log(db, action="view_patient", user="ben@clinic.example")
    assert list(log["patient_id"]) == ["secret-p2"]
    assert list(log["role"]) == ["clinician"]


def test_demo_mode_shows_the_banner(db, monkeypatch):
    monkeypatch.delenv("WAYPOINT_CONFIG")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    assert any("Local demo mode" in w.value for w in at.warning)


def _log(path, **filters):
    con = connect(path)
    try:
        return audit.read_log(con, **filters)
    finally:
        con.close()
