"""Waypoint dashboard: the entry point (`waypoint serve` runs `streamlit run dashboard/app.py`).

Declares the pages with ``st.navigation``. An empty database gets the first-run screen (load the
demo clinic, or import an export) and the Data page; otherwise the sidebar filters are drawn once
here, kept in the URL, and every page reads them.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from analytics.errors import WaypointError
from dashboard import auth, data, filters

HERE = Path(__file__).resolve().parent

# The icon is a local file: a material icon here would be fetched from a font CDN.
st.set_page_config(page_title="Waypoint", page_icon=str(HERE / "waypoint.png"), layout="wide",
                   initial_sidebar_state="expanded")


def page(file: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(HERE / "views" / file, title=title, icon=icon, default=default)


DATA_PAGE = ("data_import.py", "Data", ":material/upload_file:")

# Sign-in (or the local demo banner) before anything is read: a viewer not allowed in stops here.
viewer = auth.gate()

try:
    empty = data.database_is_empty()
except WaypointError as exc:  # e.g. the database is open in another Waypoint process
    st.title("Waypoint")
    st.error(str(exc), icon=":material/lock:")
    st.stop()

# Pages by role (analytics/access.py): admins everything; directors no imports or audit log;
# clinicians their own figures, caseload and patients (the scope itself is applied in SQL).
if empty:
    if not viewer.is_admin:
        st.info("There are no data yet: your clinic's Waypoint administrator imports them.", icon=":material/info:")
        st.stop()
    navigation = st.navigation([
        page("welcome.py", "Welcome", ":material/waving_hand:", default=True),
        page(*DATA_PAGE),
    ])
else:
    clinic_pages = [page("overview.py", "Clinic overview" if viewer.may_see_clinic() else "My figures",
                         ":material/monitoring:", default=viewer.may_see_clinic())]
    if viewer.may_see_clinic():
        clinic_pages.append(page("clinicians.py", "Clinicians", ":material/groups:"))
    clinic_pages.append(page("attendance.py", "Attendance & engagement", ":material/event_available:"))
    pages = {
        "Clinic": clinic_pages,
        "Sessions": [
            page("caseload.py", "Caseload", ":material/assignment_ind:", default=not viewer.may_see_clinic()),
            page("patient.py", "Patient", ":material/person:"),
        ],
    }
    if viewer.is_admin:
        pages["Data"] = [page(*DATA_PAGE), page("audit.py", "Audit log", ":material/policy:")]
    navigation = st.navigation(pages)
    filters.remember(filters.sidebar())
    if navigation.title in (DATA_PAGE[1], "Audit log"):
        st.sidebar.caption("These filters shape the figure pages; this page is not filtered by them.")

with st.sidebar:
    st.caption("Waypoint · figures from your clinic's own records; nothing leaves this computer.")

navigation.run()
