"""Caseload (clinicians): every active patient of one clinician in one table, safety first, with the
chosen scale's scores, where each patient stands and why. A row opens the patient."""
import streamlit as st

from analytics.readiness import CATEGORIES  # category names and their order
from dashboard import data, filters, ui

f = filters.current()
settings = f.settings()
registry = data.scale_registry()
scale_id = f.scale if f.scale in registry else "phq9"
scale = registry[scale_id]

st.title("Caseload")
who = f"clinician {ui.md(f.clinician_id)}" if f.clinician_id else "all clinicians"
when = f" on {f.as_of:%d %b %Y}" if f.as_of else ""
st.caption(f"Patients in treatment{when}, {who}" + (f" · {ui.md(f.site)}" if f.site else "")
           + ". Each patient is in the first readiness category that applies, safety first. "
             "Waypoint shows the evidence; the decision is the clinician's.")
if not f.clinician_id:
    st.info("Showing every clinician's patients. Choose a clinician in the sidebar to see one caseload.",
            icon=":material/person_search:")

# how many patients are in each category: counted in SQL, whatever the size of the clinic
category_counts = data.readiness_counts(settings)
counts = dict(zip(category_counts["category"], category_counts["patients"]))
total = int(sum(counts.values()))
if not total:
    st.info("No patient is in treatment in this view.", icon=":material/info:")
    st.stop()

present = [c for c in CATEGORIES if counts.get(c.id)]
chosen = st.pills("Show", [c.id for c in present], selection_mode="multi", default=[c.id for c in present],
                  format_func=lambda cid: f"{next(c.label for c in present if c.id == cid)} ({counts[cid]:,})",
                  key="caseload-categories",
                  help="Readiness categories; click to hide or show. " + " ".join(
                      f"{c.label}: {c.description}" for c in present))
if not chosen:
    st.info(f"0 of {total:,} patients: every category is hidden. Pick one or more categories above to "
            "list their patients.", icon=":material/filter_alt_off:")
    st.stop()
wanted = tuple(c.id for c in present if c.id in chosen)
matching = int(sum(counts[c] for c in wanted))

try:
    shown = data.caseload(settings, scale_id, categories=wanted, limit=data.CASELOAD_ROWS)
except (ImportError, AttributeError) as exc:
    ui.unavailable("The caseload", exc)
    st.stop()

MARK = {"safety": "⚠ ", "deteriorating": "▼ ", "not_on_track": "✕ ", "ready_for_review": "✓ ", "improving": "↘ ",
        "stuck": "■ "}
# a patient on the disengagement watch list keeps their category, marked "drifting away" (the reason
# is the last on the patient page and in the download)
view = shown.assign(label=[MARK.get(c, "") + lbl + (" · drifting away" if isinstance(d, str) and d else "")
                           for c, lbl, d in zip(shown["category"], shown["label"], shown["disengagement"])])
view = view.rename(columns={
    "label": "Category", "patient_id": "Patient", "clinician_id": "Clinician", "trend": f"{scale.name} so far",
    "first": "First", "latest": "Latest", "change": "Change", "attended_sessions": "Sessions",
    "last_session": "Last attended", "next_booked": "Next booked", "reason": "Why",
})
columns = ["Category", "Patient"] + (["Clinician"] if not f.clinician_id else []) + [
    "Why", f"{scale.name} so far", "First", "Latest", "Change", "Sessions", "Last attended", "Next booked"]
better = "fall" if scale.higher_is_worse else "rise"

cutoff = f"; clinical cutoff {scale.cutoff:g}" if scale.cutoff is not None else ""
st.caption(f"{len(shown):,} of {total:,} patients. Select a row (the box at its left) to open the patient. "
           f"{scale.name}: a {better} is an improvement{cutoff}.")
if len(shown) < matching:
    st.info(f"The first {len(shown):,} of the {matching:,} patients in the chosen categories are listed, in the "
            "order above (safety first). Choose a clinician or a site in the sidebar, or fewer categories, to "
            "see the others; `waypoint readiness --format json` lists every one.",
            icon=":material/list:")
# The reason is the clinically key column, and up to some 230 characters long: it comes right after
# the patient, with the most room and rows tall enough for Streamlit to wrap it in four lines (rows
# taller than 4 rem wrap their text); the score and date columns get as little as their values need.
NARROW, DATE_WIDTH, WHY_WIDTH, ROW_HEIGHT = 58, 96, 400, 92
round_ = st.session_state.setdefault("caseload-round", 0)
event = ui.table(
    view, f"caseload {f.clinician_id or 'all clinicians'}", key=f"caseload-{round_}",
    column_order=columns, on_select="rerun", selection_mode="single-row",
    height=min(880, 38 + ROW_HEIGHT * len(view)),
    csv=view.drop(columns=[f"{scale.name} so far", "category", "Why"]).rename(
        columns={"reasons": "Reasons", "disengagement": "Drifting away"}),
    column_config={
        "Category": st.column_config.TextColumn(pinned=True, help="Readiness category (safety first); "
                                                "\"drifting away\": on the disengagement watch list (missed "
                                                "sessions in a row, or no attended session for weeks)"),
        "Patient": st.column_config.TextColumn(pinned=True),
        f"{scale.name} so far": st.column_config.LineChartColumn(
            width=100, help=f"Every {scale.name} score of this episode, in order (empty with a single score: "
                            "see First)", y_min=scale.min, y_max=scale.max),
        "First": st.column_config.NumberColumn(width=NARROW, help=f"First {scale.name} score of the episode"),
        "Latest": st.column_config.NumberColumn(width=NARROW, help=f"Latest {scale.name} score"),
        "Change": st.column_config.NumberColumn(width=NARROW, format="%+d", help=f"Latest − first ({better} = better)"),
        "Sessions": st.column_config.NumberColumn(width=NARROW, help="Attended sessions in this episode"),
        "Last attended": st.column_config.DateColumn(format="D MMM YYYY", width=DATE_WIDTH,
                                                     help="Latest attended session (no-shows and cancellations "
                                                          "are not counted)"),
        "Next booked": st.column_config.DateColumn(format="D MMM YYYY", width=DATE_WIDTH,
                                                   help="Next booked appointment, if any"),
        "Why": st.column_config.TextColumn(width=WHY_WIDTH, help="The first reason, in full (the row is tall enough "
                                           "to wrap it); the patient page lists them all"),
    },
    row_height=ROW_HEIGHT,
)
rows = getattr(getattr(event, "selection", None), "rows", None) or []
if rows:
    picked = shown.iloc[rows[0]]
    st.session_state["patient_id"] = picked["patient_id"]
    st.session_state["caseload-round"] = round_ + 1  # a fresh table (no selection) when coming back
    st.switch_page("views/patient.py", query_params=filters.url_params(f, patient=str(picked["patient_id"])))
