"""Waypoint dashboard: the entry point (`waypoint serve` runs `streamlit run dashboard/app.py`).

Declares the pages with ``st.navigation``. An empty database gets the first-run screen (load the
demo clinic, or import an export) and the Data page; otherwise the sidebar filters are drawn once
here, kept in the URL, and every page reads them.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from analytics.errors import WaypointError
from dashboard import data, filters

HERE = Path(__file__).resolve().parent

# The icon is a local file: a material icon here would be fetched from a font CDN.
st.set_page_config(page_title="Waypoint", page_icon=str(HERE / "waypoint.png"), layout="wide",
                   initial_sidebar_state="expanded")


def page(file: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(HERE / "views" / file, title=title, icon=icon, default=default)


DATA_PAGE = ("data_import.py", "Data", ":material/upload_file:")

try:
    empty = data.database_is_empty()
except WaypointError as exc:  # e.g. the database is open in another Waypoint process
    st.title("Waypoint")
    st.error(str(exc), icon=":material/lock:")
    st.stop()

if empty:
    navigation = st.navigation([
        page("welcome.py", "Welcome", ":material/waving_hand:", default=True),
        page(*DATA_PAGE),
    ])
else:
    navigation = st.navigation({
        "Clinic": [
            page("overview.py", "Clinic overview", ":material/monitoring:", default=True),
            page("clinicians.py", "Clinicians", ":material/groups:"),
            page("attendance.py", "Attendance & engagement", ":material/event_available:"),
        ],
        "Sessions": [
            page("caseload.py", "Caseload", ":material/assignment_ind:"),
            page("patient.py", "Patient", ":material/person:"),
        ],
        "Data": [page(*DATA_PAGE)],
    })
    filters.remember(filters.sidebar())

with st.sidebar:
    st.caption("Waypoint · figures from your clinic's own records; nothing leaves this computer.")

navigation.run()
