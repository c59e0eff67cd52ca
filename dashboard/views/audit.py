"""Audit log (admins): who viewed which patient, who exported what, who imported or undid which
batch, and when (``analytics.audit.read_log``; also ``waypoint audit``)."""
import streamlit as st

from analytics.audit import ACTIONS
from dashboard import data, ui

st.title("Audit log")
st.caption("Every patient opened, table downloaded, import, undo and refused sign-in, newest first. "
           "Times are UTC. The same log: `waypoint audit`.")
left, right = st.columns(2)
action = left.selectbox("Action", [None, *ACTIONS], format_func=lambda a: "every action" if a is None else a,
                        key="audit-action")
patient = right.text_input("Patient ID", key="audit-patient", placeholder="every patient").strip() or None
log = data.audit_log(action=action, patient_id=patient)
if log.empty:
    st.info("Nothing recorded yet.", icon=":material/info:")
else:
    ui.table(log.rename(columns={"logged_at": "When (UTC)", "user_id": "Who", "role": "Role", "action": "Action",
                                 "patient_id": "Patient", "batch_id": "Import batch", "detail": "Detail"}),
             "Audit log", key="audit-log")
