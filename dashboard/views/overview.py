"""Clinic overview (directors): the period's headline outcomes with their counts and the change
since the previous period, monthly trends with 95 % intervals, who comes in, the work delivered,
and where the active caseload stands."""
import streamlit as st

from dashboard import charts, data, filters, ui

f = filters.current()
settings = f.settings()
registry = data.scale_registry()
as_of = f"on {f.as_of:%-d %b %Y}" if f.as_of else "on the latest session date"

st.title("Clinic overview")
scope = (f" · clinician {ui.md(f.clinician_id)}" if f.clinician_id else "") + (f" · {ui.md(f.site)}" if f.site else "")
st.caption(f"Episodes of care that ended {f.period_label}{scope}. Definitions follow NHS Talking Therapies: "
           "a patient is counted when they finished treatment (2 or more sessions) with PHQ-9 and GAD-7 scored "
           "at the start and the end.")

kpis = ui.safe("The headline figures", "outcomes.kpis", settings)
previous_settings = f.previous_settings()
before = ui.safe("Last period's figures", "outcomes.kpis", previous_settings) if previous_settings else None


def _att(k: dict | None) -> dict:
    return (k or {}).get("attendance") or {}


def _took_place(a: dict) -> int | None:
    if not a:
        return None
    return int(a["attended"]) + int(a["no_show"]) + int(a["late_cancel"])


# (label, rate key, numerator key, denominator key, higher is better, what the count is of, help)
TILES = [
    ("Recovery", "recovery_rate", "recovered", "at_caseness", True, "patients at caseness",
     "Moved from at or above the cutoff (PHQ-9 10 or GAD-7 8) to below both by their last session."),
    ("Reliable improvement", "reliable_improvement_rate", "reliable_improvement", "paired", True,
     "patients with scores at start and end",
     "PHQ-9 fell by 6 or more or GAD-7 by 4 or more, and neither rose by as much."),
    ("Reliable deterioration", "reliable_deterioration_rate", "reliable_deterioration", "paired", False,
     "patients with scores at start and end",
     "PHQ-9 rose by 6 or more or GAD-7 by 4 or more, and neither fell by as much."),
    ("Reliable recovery", "reliable_recovery_rate", "reliable_recovery", "at_caseness", True,
     "patients at caseness", "Recovered and reliably improved."),
    ("Paired scores", "paired_completeness", "paired", "finished_treatment", True,
     "patients who finished treatment",
     "Finished treatment with PHQ-9 and GAD-7 scored at two or more sessions. Missing scores bias every rate."),
]

def _delta(now, then):
    return None if ui.is_missing(now) or ui.is_missing(then) else now - then


def _tile(col, label: str, value: str, *, delta=None, good_when_up: bool = True, help: str, count_text: str,
          small: bool = False, change_note: str | None = None, before_counts: str | None = None) -> None:
    with col.container(border=True, height="stretch"):
        unchanged = delta is not None and round(float(delta) * 1000) == 0   # 0.0 pp: no arrow, no colour
        st.metric(label, value, delta=ui.points(delta),
                  delta_color="off" if unchanged else ("normal" if good_when_up else "inverse"),
                  delta_arrow="off" if unchanged else "auto",
                  help=help, delta_description="vs previous period" if delta is not None else None)
        st.caption(count_text + (f" ({before_counts} before)" if before_counts and delta is not None else "")
                   + (" · :material/warning: small number, read with care" if small else ""))
        if change_note:
            st.caption(f":material/block: {change_note}")


def _rate_tile(label: str, now: tuple, then: tuple, *, unit: str, help: str, good_when_up: bool) -> dict:
    """A rate card from (rate, count, out of) in this period and the previous one: marked small when
    it rests on fewer than settings.small_number, its change shown only when both periods rest on
    at least that many (else the reason, in words), the previous period's counts in its help."""
    (rate, num, den), (rate_then, num_then, den_then) = now, then
    note = ui.change_withheld(den, den_then, settings.small_number, unit) if before else None
    if before:
        help += f"\n\nPrevious period: {ui.pct(rate_then)} ({ui.count(num_then)} of {ui.count(den_then)} {unit})."
    return dict(label=label, value=ui.pct(rate), delta=None if note else _delta(rate, rate_then),
                good_when_up=good_when_up, help=help, count_text=f"{ui.count(num)} of {ui.count(den)} {unit}",
                small=ui.is_small(den, settings.small_number), change_note=note,
                before_counts=f"{ui.count(num_then)} of {ui.count(den_then)}" if before else None)


if kpis:
    att_now, att_then = _att(kpis), _att(before)
    then = before or {}
    tiles = []
    for label, key, num, den, higher_better, of_what, explain in TILES:
        tiles.append(_rate_tile(label, (kpis[key], kpis[num], kpis[den]), (then.get(key), then.get(num), then.get(den)),
                                unit=of_what, help=explain, good_when_up=higher_better))
    tiles.insert(5, _rate_tile(
        "Attendance", (att_now.get("attendance_rate"), att_now.get("attended"), _took_place(att_now)),
        (att_then.get("attendance_rate"), att_then.get("attended"), _took_place(att_then)),
        unit="sessions that went ahead or were missed", good_when_up=True,
        help="Attended ÷ (attended + no-shows + late cancellations), over sessions in the period. "
             "Cancellations made in good time are not counted against it."))
    tiles.insert(6, _rate_tile(
        "Dropout", (kpis["dropout_rate"], kpis["dropout"], kpis["ended"]),
        (then.get("dropout_rate"), then.get("dropout"), then.get("ended")), unit="episodes that ended",
        good_when_up=False, help="Ended without a planned ending: discharged as dropout, or no contact for 90 days."))
    tiles.append(dict(
        label="Still in treatment", value=ui.count(kpis["active"]),
        help=f"Of the episodes open at some time in the period, those still in treatment {as_of} (the latest "
             "session date). Every patient in treatment on that date, whatever the period, is counted under "
             "“Where active patients stand” below.",
        count_text=f"of the {ui.count(kpis['episodes'])} episodes open in the period, those still in treatment "
                   f"{as_of}"))
    for row in range(0, len(tiles), 4):
        for col, tile in zip(st.columns(4), tiles[row:row + 4]):
            _tile(col, **tile)
    if previous_settings:
        st.caption(f"Changes are in percentage points against the previous {(f.date_to - f.date_from).days + 1} days "
                   f"({previous_settings.date_from:%d %b %Y} – {previous_settings.date_to:%d %b %Y}). "
                   "For deterioration and dropout a fall is good, and is shown in green. A change is not shown "
                   f"when either period rests on fewer than {settings.small_number}: so few can swing widely by chance.")

    # opened on demand (on_change="rerun"): in a large clinic this table and its CSV are most of
    # what a page run costs, and most visits do not open it
    behind_box = st.expander("The episodes behind these figures", key="behind-open", on_change="rerun")
    with behind_box:
        if behind_box.open:
            behind = data.outcome_episodes(settings)
            st.caption("Every episode that ended in the period, with its scores and how it was counted "
                       "(1 = counted in that figure, 0 = not, empty = not applicable).")
            ui.table(behind, "episodes behind the headline figures", key="behind",
                     labels=ui.column_labels(behind.columns, {s.id: s.name for s in registry.values()}))
    ui.sql_picker({"Recovery": "recovery_rate", "Reliable improvement": "reliable_improvement_rate",
                   "Reliable deterioration": "reliable_deterioration_rate", "Reliable recovery": "reliable_recovery_rate",
                   "Paired scores": "paired_completeness", "Attendance": "attendance", "Dropout": "dropout_rate",
                   "Still in treatment": "active"}, key="sql-figure")

st.subheader("Monthly trends")
st.caption("By month the episode ended. The shaded band is the 95 % interval: a month with few endings has a wide band, "
           "so read single months with care.")
MEASURES = {"recovery": "Recovery", "reliable_improvement": "Reliable improvement",
            "reliable_deterioration": "Reliable deterioration", "reliable_recovery": "Reliable recovery",
            "paired_completeness": "Paired scores", "dropout": "Dropout"}
chosen = st.segmented_control("Measure", list(MEASURES), format_func=MEASURES.get, default="recovery",
                              key="trend-measure", label_visibility="collapsed") or "recovery"
monthly = ui.safe("Monthly trends", "outcomes.rates_by_month", settings)
if monthly is not None:
    part = monthly[(monthly["measure"] == chosen) & (monthly["denominator"] > 0)]
    if part.empty:
        st.caption("No episode ended in this view yet.")
    else:
        st.plotly_chart(charts.rate_trend(part, x="month", rate="rate", low="ci_low", high="ci_high",
                                          numerator="numerator", denominator="denominator",
                                          y_title=MEASURES[chosen]), key="trend")
        with st.expander("Monthly figures"):
            ui.table(monthly.assign(measure=monthly["measure"].map(MEASURES)).rename(columns={
                "month": "Month", "measure": "Measure", "numerator": "Count", "denominator": "Out of",
                "rate": "Rate", "ci_low": "95 % low", "ci_high": "95 % high"}), "monthly outcome rates", key="monthly",
                column_config={c: st.column_config.NumberColumn(format="percent") for c in ("Rate", "95 % low", "95 % high")})
            ui.show_sql("rates_by_month")

left, right = st.columns(2, gap="large")
with left:
    scale = data.intake_scale(f.scale)
    st.subheader("Severity at intake")
    st.caption(f"Episodes that started in the period, by their first {registry[scale].name} score.")
    try:
        mix = data.intake_mix(settings, scale)
    except (ImportError, AttributeError, KeyError) as exc:
        ui.unavailable("The intake mix", exc)
        mix = None
    if mix is not None and mix["episodes"].sum() > 0:
        st.plotly_chart(charts.bars(mix, x="band", y="episodes", y_title="Episodes", horizontal=True,
                                    text=None, height=60 + 36 * len(mix),
                                    hover="%{y}: %{x} episodes<extra></extra>"), key="intake")
        with st.expander("Intake table"):
            ui.table(mix.rename(columns={"band": "Severity at intake", "episodes": "Episodes", "share": "Share"}),
                     "severity at intake", key="intake-table",
                     column_config={"Share": st.column_config.NumberColumn(format="percent")})
            ui.show_sql("intake_mix")
    elif mix is not None:
        st.caption("No episode started in this view.")
with right:
    st.subheader("Sessions delivered")
    st.caption(" ".join(filter(None, ["Attended sessions by month.", ui.partial_months(f.date_from, f.date_to)])))
    try:
        delivered = data.sessions_by_month(settings)
    except (ImportError, AttributeError) as exc:
        ui.unavailable("Sessions delivered", exc)
        delivered = None
    if delivered is not None and len(delivered):
        st.plotly_chart(charts.bars(delivered, x="month", y="attended_sessions", y_title="Attended sessions",
                                    hover="%{x}: %{y} sessions<extra></extra>"), key="delivered")
        with st.expander("Sessions table"):
            ui.table(delivered.rename(columns={"month": "Month", "attended_sessions": "Attended sessions"}),
                     "sessions delivered by month", key="delivered-table")
    elif delivered is not None:
        st.caption("No attended session in this view.")

st.subheader("Where active patients stand")
try:
    counts = data.readiness_counts(settings)
except (ImportError, AttributeError) as exc:
    ui.unavailable("Readiness", exc)
    counts = None
total = f"{ui.count(counts['patients'].sum())} patients" if counts is not None else "Every patient"
st.caption(f"{total} in treatment {as_of}{scope}, whatever the period (the “Still in treatment” figure above counts "
           "only the episodes open in the period), in one readiness category each (safety first). Open the caseload "
           "to see who and why. Waypoint shows the evidence; the clinician decides.")
if counts is not None:
    st.plotly_chart(charts.bars(counts, x="label", y="patients", y_title="Patients in treatment", horizontal=True,
                                height=60 + 30 * len(counts), hover="%{y}: %{x} patients<extra></extra>"),
                    key="readiness-bars")
    st.page_link("views/caseload.py", label="Open the caseload", icon=":material/assignment_ind:")
    with st.expander("Readiness counts table"):
        ui.table(counts.drop(columns=["category"]).rename(columns={
            "label": "Category", "description": "What it means", "patients": "Patients"}),
            "readiness categories", key="readiness-counts")
    ui.show_sql("readiness_categories")
