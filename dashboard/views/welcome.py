"""First run: the database is empty. Load the demo clinic, or import the clinic's own export."""
import streamlit as st

from dashboard import data, importer, ui

st.title("Welcome to Waypoint")
st.markdown(
    "Waypoint turns your clinic's session exports into outcome and engagement figures: "
    "recovery and reliable change, attendance, dropout, and which patients may be ready to step "
    "down or need a review. The database is empty, so start in one of two ways."
)

left, right = st.columns(2, gap="large")
with left:
    with st.container(border=True):
        st.subheader(":material/science: Explore the demo clinic")
        st.markdown("A synthetic clinic (no real patients) with two years of sessions and PHQ-9 and GAD-7 "
                    "scores, to see every page working before you bring your own data.")
        if st.button("Load the demo clinic", type="primary", key="load-demo"):
            with st.spinner("Generating and importing the demo clinic…"):
                try:
                    result = data.load_demo()
                except Exception as exc:  # noqa: BLE001 - shown to the user, nothing written
                    st.error(f"The demo clinic could not be loaded: {ui.md(exc)}")
                else:
                    st.session_state["flash"] = getattr(result, "summary", lambda: "Demo clinic loaded.")()
                    st.rerun()
with right:
    with st.container(border=True):
        st.subheader(":material/upload_file: Import your clinic's export")
        st.markdown("One or more CSV files from your practice-management system: one row per appointment, "
                    "with scores as columns. You will see the detected columns and a validation report "
                    "before anything is written.")
        importer.sample_link()

importer.flow()
