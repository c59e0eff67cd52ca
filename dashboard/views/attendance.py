"""Attendance & engagement: who comes, when, how long they stay, and who is drifting away."""
import streamlit as st

from dashboard import charts, filters, ui

f = filters.current()
settings = f.settings()
who = (f"clinician {ui.md(f.clinician_id)}'s" if f.clinician_id else "the clinic's") + (f" at {ui.md(f.site)}" if f.site else "")
as_of = f"on {f.as_of:%-d %b %Y}" if f.as_of else "on the latest session date"

st.title("Attendance & engagement")
st.caption(f"Sessions from {f.period_label}"
           + (f" · clinician {ui.md(f.clinician_id)}" if f.clinician_id else "") + (f" · {ui.md(f.site)}" if f.site else "")
           + ". Attendance rate = attended ÷ (attended + no-shows + late cancellations); "
             "cancellations made in good time are not counted against it.")

overall = ui.safe("Attendance", "engagement.attendance_overall", settings)
if overall:
    cols = st.columns(5)
    took_place = overall["attended"] + overall["no_show"] + overall["late_cancel"]
    cols[0].metric("Attendance rate", ui.pct(overall["attendance_rate"]),
                   help=f"{overall['attended']:,} attended of {took_place:,} booked sessions that went ahead or were missed.")
    cols[1].metric("No-show rate", ui.pct(overall["no_show_rate"]),
                   help=f"{overall['no_show']:,} no-shows of {took_place:,}. Around 20 % is typical in "
                        "mental-health outpatients (Mitchell & Selmes 2007).")
    cols[2].metric("Attended", ui.count(overall["attended"]))
    cols[3].metric("No-shows", ui.count(overall["no_show"]))
    cols[4].metric("Late cancellations", ui.count(overall["late_cancel"]))

st.subheader("Attendance by clinician, month and weekday")
WEEKDAYS = {1: "Monday", 2: "Tuesday", 3: "Wednesday", 4: "Thursday", 5: "Friday", 6: "Saturday", 7: "Sunday"}
tabs = st.tabs(["By month", "By clinician", "By weekday"])
for tab, dimension, label in zip(tabs, ("month", "clinician_id", "weekday"), ("Month", "Clinician", "Weekday")):
    with tab:
        frame = ui.safe(f"Attendance by {label.lower()}", "engagement.attendance_by", settings, dimension=dimension)
        if frame is None or frame.empty:
            st.caption("No sessions in this view.")
            continue
        shown = frame.rename(columns={dimension: label})
        if dimension == "weekday":
            shown[label] = [WEEKDAYS.get(int(v), "not recorded") if not ui.is_missing(v) else "not recorded"
                            for v in shown[label]]
        shown[label] = shown[label].astype(str)
        if dimension == "month" and (note := ui.partial_months(f.date_from, f.date_to)):
            st.caption(f"{note} Their rates are fine to compare; their counts are of part of a month.")
        if dimension == "clinician_id" and len(shown) > ui.CHART_ROWS:
            st.caption(f"{len(shown):,} clinicians are too many to draw as bars: the table lists them all "
                       "(click a heading to sort it), and the Clinicians page compares them on funnel plots.")
        else:
            st.plotly_chart(
                charts.bars(shown, x=label, y="attendance_rate", percent=True, y_title="Attendance rate",
                            horizontal=dimension == "clinician_id",
                            height=300 if dimension != "clinician_id" else 40 + 28 * len(shown)),
                key=f"att-{dimension}",
            )
        ui.table(shown.rename(columns={"attended": "Attended", "no_show": "No-shows", "late_cancel": "Late cancellations",
                                       "cancelled": "Cancelled in time", "attendance_rate": "Attendance rate",
                                       "no_show_rate": "No-show rate"}),
                 f"attendance by {label.lower()}", key=f"att-table-{dimension}",
                 column_config={"Attendance rate": st.column_config.NumberColumn(format="percent"),
                                "No-show rate": st.column_config.NumberColumn(format="percent")})

st.subheader("How long patients stay")
st.caption("The share of episodes still engaged after each attended session (Kaplan–Meier): an episode "
           "counts as lost when the patient stopped coming without a planned ending; planned endings, "
           "transfers and patients still in treatment are not counted as lost. The band is the 95 % interval. "
           f"Every episode of {who} patients, whatever the period: the period filter does not apply here, "
           "since an episode still in treatment has no end date to place it in a period.")
GROUPS = {"All episodes": None, "By clinician": "clinician_id", "By severity at intake": "intake_severity"}
group_by = st.segmented_control("Compare", list(GROUPS), default="All episodes", key="retention-by",
                                label_visibility="collapsed") or "All episodes"
curve = ui.safe("The retention curve", "engagement.retention_curve", settings, by=GROUPS[group_by])
if curve is not None and len(curve):
    st.plotly_chart(charts.retention(curve), key="retention")
    with st.expander("Retention table"):
        ui.table(curve.rename(columns={"group": "Group", "sessions": "After sessions", "survival": "Still engaged",
                                       "ci_low": "95 % low", "ci_high": "95 % high", "at_risk": "Episodes at risk"}),
                 "retention curve", key="retention-table",
                 column_config={c: st.column_config.NumberColumn(format="percent")
                                for c in ("Still engaged", "95 % low", "95 % high")})

access = ui.safe("Waits", "engagement.access_waits", settings)
if access:
    st.subheader("From referral to first session")
    st.caption("Days from the referral date to the first attended session, for episodes with a referral date.")
    a2 = access["referral_to_first"]
    b, c, _ = st.columns(3)
    b.metric("Median referral → first session", ui.days(a2["median_days"]),
             help=f"Over {a2['episodes']:,} episodes with a referral date.")
    c.metric("Referral → first session over 6 weeks", ui.pct(a2["over_6_weeks_share"]),
             help=f"{a2['over_6_weeks']:,} of {a2['episodes']:,} episodes with a referral date waited more than "
                  "6 weeks for their first session (NHS Talking Therapies standard: 75 % start within 6 weeks "
                  "of referral).")

st.subheader("From first to second session")
st.caption("Days between a patient's first and second attended session. A long gap early on is a common "
           "point of losing people.")
gaps_to_second = ui.safe("Session gaps", "engagement.first_to_second_gaps", settings)
if access:
    st.metric("Median first → second session", ui.days(access["first_to_second"]["median_days"]),
              help=f"Over {access['first_to_second']['episodes']:,} episodes with a second session.")
if gaps_to_second is not None:
    if len(gaps_to_second):
        st.plotly_chart(charts.week_histogram(gaps_to_second, x_title="Days from first to second session",
                                              y_title="Episodes"), key="first-second")
    with st.expander("Gaps by session number (tapering)"):
        gaps = ui.safe("Gaps by session number", "engagement.intervals_by_session_number", settings)
        if gaps is not None:
            ui.table(gaps.rename(columns={
                "session_number": "Session", "intervals": "Gaps", "median_days": "Median days",
                "mean_days": "Mean days"}), "gaps by session number", key="intervals-table")

st.subheader("Disengagement watch list")
st.caption(f"Patients in treatment {as_of} (the latest session date, whatever the period) who have missed several "
           "sessions in a row, or have not attended for a while. A missed appointment raises the risk of dropping "
           "out: a call now may keep them.")
watch = ui.safe("The watch list", "engagement.watch_list", settings)
if watch is not None:
    if len(watch):
        ui.table(watch.rename(columns={
            "patient_id": "Patient", "episode_id": "Episode", "clinician_id": "Clinician",
            "last_attended_date": "Last attended", "days_since_attended": "Days since attended",
            "missed_in_a_row": "Missed in a row", "next_booked_date": "Next booked", "reasons": "Why listed"}),
            "disengagement watch list", key="watch")
    else:
        st.caption("No patient in treatment is drifting away in this view.")

st.subheader("Remitted and continuing")
st.caption(f"As {as_of} (the latest session date, whatever the period): patients below the clinical cutoff on "
           f"every scale for {settings.remitted_weeks} weeks or more who are still attending, and the share of each clinician's recent sessions they take: capacity that "
           "could go to people waiting, once the clinician and patient agree an ending. This is a wider net than "
           "the caseload's \"Ready for review\", which also asks for a reliable improvement from a start above the "
           "cutoff and stable recent scores: a remitted patient who started below the cutoff, or whose scores still "
           "move, is counted here but not there. Some keep coming because the work still helps; the count is for "
           "the conversation, not a decision.")
capacity = ui.safe("Capacity", "engagement.capacity", settings)
if capacity is not None and len(capacity):
    ui.table(capacity.rename(columns={
        "clinician_id": "Clinician", "active_caseload": "Active caseload", "remitted_attending": "Remitted, attending",
        "recent_sessions": "Recent sessions", "recent_sessions_remitted": "Of which remitted patients",
        "remitted_share": "Share remitted"}), "remitted and continuing", key="capacity",
        column_config={"Share remitted": st.column_config.NumberColumn(format="percent")})
