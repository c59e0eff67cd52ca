"""Patient: one patient's episode of care — each scale's scores against its cutoff, severity bands,
the reliable-change band and the expected recovery band, missed sessions on the timeline; where the
episode stands (readiness) and why; every episode of the record.

The patient comes from the URL (``?patient=ID``, so the view can be bookmarked), else the last one
opened in this browser session."""
import pandas as pd
import streamlit as st

from dashboard import charts, data, filters, ui

f = filters.current()
registry = data.scale_registry()

st.title("Patient")

# --- which patient ---------------------------------------------------------------------------
wanted = st.query_params.get("patient") or st.session_state.get("patient_id")
try:
    choices = list(data.active_patients(f.settings()))
except (ImportError, AttributeError) as exc:
    ui.unavailable("The caseload", exc)
    choices = []
if wanted and wanted not in choices:
    choices.insert(0, wanted)
if wanted and wanted != st.session_state.get("_patient_synced"):  # opened from a link or the caseload
    st.session_state["patient-pick"] = wanted
    st.session_state["_patient_synced"] = wanted
picked = st.selectbox(
    "Patient", choices, index=None, key="patient-pick", accept_new_options=True,
    placeholder="Type a patient ID, or pick one in treatment",
    help=f"Patients in treatment in the current view are listed (the first {data.PICKER_PATIENTS:,}, safety "
         "first, as on the Caseload page); type any patient ID to open another. Selecting a row on the "
         "Caseload page opens the patient here.",
)
if not picked:
    st.info("Choose a patient above, or select a row on the Caseload page.", icon=":material/person_search:")
    st.page_link("views/caseload.py", label="Open the caseload", icon=":material/assignment_ind:")
    st.stop()
patient_id = str(picked).strip()
st.session_state["patient_id"] = st.session_state["_patient_synced"] = patient_id
if st.query_params.get("patient") != patient_id:
    st.query_params["patient"] = patient_id

episodes = data.patient_episodes(patient_id)
if episodes.empty:
    st.warning(f"No sessions for patient {ui.md(patient_id)} up to the latest session date.", icon=":material/search_off:")
    st.stop()

# --- which episode ----------------------------------------------------------------------------
ids = list(episodes["episode_id"])   # latest first


def _episode_label(eid: str) -> str:
    row = episodes[episodes["episode_id"] == eid].iloc[0]
    end = "in treatment" if row["status"] == "active" else f"ended {ui.date_text(row['end_date'])} ({row['ending']})"
    return f"{eid} · from {ui.date_text(row['start_date'])} · {end}"


episode_id = ids[0]
if len(ids) > 1:
    episode_id = st.selectbox("Episode of care", ids, format_func=_episode_label, key=f"episode-{patient_id}")
episode = episodes[episodes["episode_id"] == episode_id].iloc[0]

# --- where it stands ---------------------------------------------------------------------------
standing = data.patient_standing(patient_id)
standing = standing[standing["episode_id"] == episode_id]
record = standing.iloc[0] if len(standing) else None

sessions = data.patient_sessions(patient_id)
episode_sessions = sessions[sessions["episode_id"] == episode_id].copy()
episode_sessions["session_date"] = pd.to_datetime(episode_sessions["session_date"])
missed = episode_sessions[episode_sessions["status"].isin(["no_show", "late_cancel"])]
MISSED = {"no_show": "no-show", "late_cancel": "late cancellation"}

cols = st.columns(5)
cols[0].metric("Patient", patient_id)
cols[1].metric("Clinician", str(episode["clinician_id"]))
cols[2].metric("Attended sessions", ui.count(episode["attended_sessions"]))
if record is not None:
    cols[3].metric("Last attended", ui.date_text(episode["last_attended_date"]),
                   help="The latest session the patient attended (no-shows and cancellations are not counted), "
                        "as on the caseload.")
    cols[4].metric("Next booked", ui.date_text(record["next_booked"]))
else:
    cols[3].metric("Ended", ui.date_text(episode["end_date"]))
    cols[4].metric("Ending", str(episode["ending"]) if not ui.is_missing(episode["ending"]) else "—")
if len(missed):
    last_missed = missed.iloc[-1]
    st.caption(f"Last missed appointment: {ui.date_text(last_missed['session_date'])} "
               f"({MISSED.get(last_missed['status'], last_missed['status'])}); "
               f"{len(missed):,} missed in this episode.")

if record is not None:
    box = st.warning if record["category"] in ("safety", "deteriorating", "not_on_track") else st.info
    reasons = [str(r) for r in (record["reasons"] or [])]
    box("  \n".join([f"**{ui.md(record['label'])}** (where this episode stands now)"] + [f"• {ui.md(r)}" for r in reasons]),
        icon=":material/warning:" if record["category"] == "safety" else ":material/info:")
else:
    st.info(f"This episode ended on {ui.date_text(episode['end_date'])}; readiness is shown for episodes still in "
            "treatment.", icon=":material/info:")

# --- trajectories ------------------------------------------------------------------------------
def score_summary(scores: pd.DataFrame) -> str:
    """"18 → 9 over 6 scored sessions · reliably improved"; "one score so far (27)" with a single score."""
    first, last = scores["score"].iloc[0], scores["score"].iloc[-1]
    if len(scores) == 1:
        return f"one score so far ({ui.number(first)})"
    direction = scores["reliable_direction"].dropna()
    verdict = {"improvement": "reliably improved", "deterioration": "reliably worse"}.get(
        direction.iloc[-1] if len(direction) and scores["reliable"].iloc[-1] else "", "no reliable change")
    return f"{ui.number(first)} → {ui.number(last)} over {len(scores)} scored sessions · {verdict}"


st.subheader("Scores over time")
st.caption("Each scale against its clinical cutoff (dashed line) and severity bands (grey shading). The blue band is "
           "the reliable-change range around the first score: a score outside it is a reliable change. The green band, "
           "where shown, is the range of scores at each session among the clinic's patients who started at the same "
           "severity and finished treatment (10th–90th centile); above it is behind the expected recovery. "
           "✕ marks a no-show and ▽ a late cancellation.")
trajectories = data.patient_trajectories(patient_id)
mine = trajectories[trajectories["episode_id"] == episode_id].copy()
if mine.empty:
    st.caption("No scores recorded in this episode.")
scale_ids = [s for s in registry if (mine["scale"] == s).any()]
for scale_id in scale_ids:
    scale = registry[scale_id]
    scores = mine[mine["scale"] == scale_id].copy()
    scores["session_date"] = pd.to_datetime(scores["session_date"])
    band = scores["severity_band"].iloc[0] if scores["severity_band"].notna().any() else None
    expected = data.patient_expected(patient_id, episode_id, scale_id, band if not ui.is_missing(band) else None)
    expected = expected.assign(session_date=pd.to_datetime(expected["session_date"])) if len(expected) else None
    drawn = charts.draws_expected(expected)
    threshold = scores["reliable_threshold"].dropna()
    fig = charts.trajectory(scores, scale, expected=expected if drawn else None, missed=missed,
                            reliable_change=float(threshold.iloc[0]) if len(threshold) else None)
    st.markdown(f"**{ui.md(scale.name)}**: {score_summary(scores)}"
                + (f" · expected band from the clinic's patients who started {ui.md(band)}" if drawn else ""))
    st.plotly_chart(fig, key=f"trajectory-{scale_id}")
    with st.expander(f"{scale.name} scores"):
        ui.table(scores.assign(session_date=scores["session_date"].dt.date)[[
            "session_date", "session_number", "weeks", "score", "change_from_first", "severity_band", "reliable",
            "reliable_direction"]].rename(columns={
                "session_date": "Date", "session_number": "Session", "weeks": "Weeks since start", "score": "Score",
                "change_from_first": "Change from first", "severity_band": "Severity", "reliable": "Reliable change",
                "reliable_direction": "Direction"}), f"{patient_id} {scale.name} scores", key=f"scores-{scale_id}")
if len(trajectories) and not mine.empty:
    ui.show_sql("trajectories")

# --- sessions and episodes ------------------------------------------------------------------------
st.subheader("Appointments in this episode")
STATUS = {"attended": "attended", "no_show": "no-show", "late_cancel": "late cancellation",
          "cancelled": "cancelled in time", "scheduled": "booked"}
ui.table(episode_sessions.assign(session_date=episode_sessions["session_date"].dt.date,
                                 status=[STATUS.get(s, s) for s in episode_sessions["status"]])[[
    "session_date", "session_time", "status", "session_number", "session_type", "clinician_id"]].rename(columns={
        "session_date": "Date", "session_time": "Time", "status": "Status", "session_number": "Attended session",
        "session_type": "Type", "clinician_id": "Clinician"}),
    f"{patient_id} appointments", key="appointments", height=min(400, 38 + 35 * len(episode_sessions)))

st.subheader("Episodes of care")
st.caption("Every course of care in this record, latest first, with how it ended and its outcome.")
HISTORY = {"episode_id": "Episode", "clinician_id": "Clinician", "start_date": "Started", "end_date": "Ended",
           "status": "Status", "ending": "Ending", "attended_sessions": "Attended sessions", "phq9_first": "PHQ-9 first",
           "phq9_last": "PHQ-9 last", "gad7_first": "GAD-7 first", "gad7_last": "GAD-7 last",
           "recovered": "Recovered", "reliable_improvement": "Reliable improvement",
           "reliable_deterioration": "Reliable deterioration"}
ui.table(episodes[[c for c in HISTORY if c in episodes]].rename(columns=HISTORY), f"{patient_id} episodes",
         key="episodes", csv=episodes)
