"""Clinicians (directors): each clinician's outcomes against the clinic's, fairly — funnel plots
with control limits, and recovery adjusted for how unwell each clinician's patients were at the start.

Never a bare league table: every rate is shown with its number of cases and its interval, in
clinician order, not ranked.

Small numbers (access issue): a clinician's figures resting on fewer episodes than the clinic's
threshold ([access] suppress_below, default 5) read "fewer than 5" in every table and download and
are not plotted (``analytics.access.suppress_comparison``)."""
import pandas as pd
import streamlit as st

from analytics.access import COMPARISON_LABELS, FEWER_THAN, suppress_comparison
from analytics.errors import WaypointError
from dashboard import charts, data, filters, ui

f = filters.current()
settings = f.settings()
THRESHOLD = data.suppress_below()
FEWER = FEWER_THAN.format(n=THRESHOLD)
NONE = "no episodes"
# A small number (settings.small_number) shown with a mark can only occur when it is above the
# suppression threshold: otherwise every small figure reads "fewer than N" and a "Small number"
# column or hollow points would always be empty.
SMALL_SHOWN = settings.small_number > THRESHOLD

st.title("Clinicians")
st.caption(f"Episodes that ended {f.period_label}" + (f" · {ui.md(f.site)}" if f.site else "")
           + ". Every clinician who saw patients in the period is shown, whatever the clinician filter says, so that "
             "each is seen against the clinic; one with no episode ended in it reads \"no episodes\".")

with st.expander("How to read these charts", expanded=False, icon=":material/help:"):
    st.markdown(
        "- Each point is a clinician: their rate (up the side) against the number of episodes it rests on "
        "(along the bottom).\n"
        "- The solid line is the clinic's rate. The dashed and dotted funnels are the 95 % and 99.8 % limits: "
        "where a clinician's rate would fall by chance alone, for that many episodes. A clinician with few "
        "episodes can sit far from the clinic's rate and still be within chance.\n"
        "- A point outside a limit is drawn as a triangle (▲ above, ▼ below) and is worth a conversation, "
        "not a verdict: check the case mix and the data first.\n"
        + (f"- Hollow points rest on fewer than {settings.small_number} episodes: read them with great care.\n"
           if SMALL_SHOWN else f"- A clinician with fewer than {THRESHOLD} episodes is named under the chart, not drawn.\n")
        + "- Case-mix-adjusted recovery compares each clinician's recoveries with the number expected if their "
        "patients had recovered at the clinic's rate for their severity at intake. 1 means as expected."
    )


def _comparison():
    """Every clinician of the view against the clinic (``data.clinician_comparison``), or None
    when it cannot be computed (said on the page)."""
    try:
        return data.clinician_comparison(settings)
    except WaypointError as exc:
        st.error(ui.md(exc))
    except (ImportError, AttributeError, NotImplementedError) as exc:
        ui.unavailable("The comparison", exc)
    return None


comparison = _comparison()

MEASURES = {
    "recovery": ("Recovery", True, "of patients at caseness who recovered"),
    "reliable_improvement": ("Reliable improvement", True, "of patients with paired scores who reliably improved"),
    "dropout": ("Dropout", False, "of ended episodes that ended in dropout"),
}
SIGNALS = {
    "within": "within the limits",
    "above 95 %": "above the 95 % limit",
    "above 99.8 %": "above the 99.8 % limit",
    "below 95 %": "below the 95 % limit",
    "below 99.8 %": "below the 99.8 % limit",
}


def _as_text_percent(frame, columns):
    """Columns holding "fewer than 5" for some rows: every value as text, so a table shows them
    alike (rates in ``columns`` as percentages, counts as whole numbers)."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype != object:
            continue
        if not any(isinstance(v, str) and v in (FEWER, NONE) for v in out[c]):
            try:  # nothing suppressed: keep it numeric so the table formats it (as a percentage)
                out[c] = pd.to_numeric(out[c])
            except (TypeError, ValueError):
                pass
            continue
        out[c] = [None if not isinstance(v, str) and ui.is_missing(v) else v if isinstance(v, str)
                  else ui.pct(v) if c in columns
                  else str(int(v)) if float(v).is_integer() else f"{float(v):.2f}" for v in out[c]]
    return out


def _hidden(part) -> pd.Series:
    return pd.to_numeric(part["denominator"], errors="coerce").fillna(0) < THRESHOLD


def _none(part) -> pd.Series:
    return pd.to_numeric(part["denominator"], errors="coerce").fillna(0) == 0


def _suppressed(part):
    """The comparison rows with every figure of a row resting on too few episodes reading "fewer
    than 5", and of a row resting on none reading "no episodes"."""
    out = suppress_comparison(part, THRESHOLD)
    figures = [c for c in out.columns if c not in COMPARISON_LABELS]
    out.loc[_none(part).to_numpy(), figures] = NONE
    return out


def _small_marks(part) -> list[str]:
    """"small number" for a row shown (not suppressed) that rests on fewer than settings.small_number."""
    return ["small number" if s and not h else "" for s, h in zip(part["small"].fillna(False).astype(bool), _hidden(part))]


def _shown(part):
    """The comparison rows in clinicians' words, in clinician order (not ranked); figures resting on
    too few episodes read "fewer than 5"."""
    part = part.sort_values("clinician_id", kind="stable")
    out = _as_text_percent(_suppressed(part), ("rate", "ci_low", "ci_high"))
    return out.assign(
        signal=[s if s in (FEWER, NONE) else SIGNALS.get(s, NONE) if not ui.is_missing(s) else NONE
                for s in out["signal"]],
        small=_small_marks(part),
    )[["clinician_id", "numerator", "denominator", "rate", "ci_low", "ci_high", "target", "signal"]
      + (["small"] if SMALL_SHOWN else [])].rename(columns={
        "clinician_id": "Clinician", "numerator": "Count", "denominator": "Episodes", "rate": "Rate",
        "ci_low": "95 % low", "ci_high": "95 % high", "target": "Clinic rate", "signal": "Against the funnel",
        "small": "Small number",
    })


CASE_MIX_VS_FUNNEL = (
    ":material/info: The funnels above compare each clinician's raw recovery rate with the clinic's; this ratio also "
    "allows for how unwell their patients were at the start. So a clinician can sit below a funnel limit and still be "
    "within chance here once their case mix is allowed for, or the other way round.")

PERCENT = {c: st.column_config.NumberColumn(format="percent") for c in ("Rate", "95 % low", "95 % high", "Clinic rate")}

if comparison is not None:
    if comparison.empty:
        st.info("No episode ended in this view yet, so there is nothing to compare.", icon=":material/info:")
    else:
        tabs = st.tabs([label for label, _, _ in MEASURES.values()])
        for tab, (measure, (label, higher_better, what)) in zip(tabs, MEASURES.items()):
            with tab:
                part = comparison[comparison["measure"] == measure]
                target = part["target"].dropna()
                target = float(target.iloc[0]) if len(target) else None
                st.caption(f"{label}: the share {what}. Clinic rate "
                           + (f"{target:.1%}" if target is not None else "—")
                           + ("; higher is better." if higher_better else "; lower is better."))
                plotted = part[~_hidden(part)]
                if (pd.to_numeric(plotted["denominator"], errors="coerce") > 0).any():
                    st.plotly_chart(charts.funnel(plotted, label="clinician_id", n="denominator", rate="rate", target=target,
                                                  small="small", y_title=label, higher_is_better=higher_better),
                                    key=f"funnel-{measure}")
                else:  # an empty funnel says nothing: say so in words
                    st.info(f"No clinician has {FEWER.replace('fewer than', 'at least')} episodes for this measure in "
                            "this period, so there is no funnel to draw. Choose a longer period in the sidebar.",
                            icon=":material/visibility_off:")
                hidden = part[_hidden(part) & (pd.to_numeric(part["denominator"], errors="coerce") > 0)]
                if len(hidden):
                    st.caption(f":material/visibility_off: Not shown, {FEWER} episodes: "
                               + ", ".join(ui.md(c) for c in sorted(hidden["clinician_id"]))
                               + ". A rate resting on so few episodes says little and could identify patients.")
                nobody = part[_none(part)]
                if len(nobody):
                    st.caption(":material/block: No episodes for this measure in the period: "
                               + ", ".join(ui.md(c) for c in sorted(nobody["clinician_id"])) + ".")
                small = part[part["small"].fillna(False).astype(bool) & ~_hidden(part)]
                if len(small):
                    st.caption(f":material/warning: Small numbers (fewer than {settings.small_number} episodes): "
                               + ", ".join(f"{ui.md(c)} ({int(n)})" for c, n in zip(small["clinician_id"], small["denominator"]))
                               + ". Their rates can swing widely by chance.")
                table = _shown(part)
                ui.table(table, f"{label} by clinician", key=f"table-{measure}",
                         column_config={c: v for c, v in PERCENT.items() if pd.api.types.is_numeric_dtype(table[c])})

        st.subheader("Recovery adjusted for case mix")
        st.caption("Observed recoveries ÷ the recoveries expected had each patient recovered at the clinic's rate for "
                   "their PHQ-9 severity at intake. Above 1: more recoveries than expected for their case mix; the bar is "
                   "the 95 % interval, and an interval that crosses 1 is consistent with chance.")
        mix = comparison[comparison["measure"] == "recovery"]
        if mix["oe_ratio"].notna().any():
            drawn = mix[~_hidden(mix)]
            if drawn["oe_ratio"].notna().sum() > ui.CHART_ROWS:
                # thousands of clinicians: draw those whose interval lies wholly above or below 1
                apart = data.ratio_beyond_chance(drawn)
                many = f"{int(drawn['oe_ratio'].notna().sum()):,} clinicians are too many to draw one row each"
                if apart.any():
                    shown = "the one" if apart.sum() == 1 else f"the {int(apart.sum()):,}"
                    st.caption(f"{many}: the chart shows {shown} whose 95 % interval does not cross 1 (more or "
                               "fewer recoveries than their case mix explains), and the table lists everyone.")
                else:
                    st.caption(f"{many}, and every one's 95 % interval crosses 1: their recoveries are within what "
                               "their case mix explains, so there is no chart. The table lists everyone.")
                drawn = drawn[apart.to_numpy()]
            if drawn["oe_ratio"].notna().any():
                st.plotly_chart(charts.ratio_intervals(drawn, label="clinician_id", ratio="oe_ratio", low="oe_ci_low",
                                                       high="oe_ci_high", small="small", observed="numerator",
                                                       expected="expected"), key="case-mix")
                st.caption(CASE_MIX_VS_FUNNEL)
            mix = mix.sort_values("clinician_id", kind="stable")
            ui.table(_as_text_percent(_suppressed(mix), ()).assign(small=_small_marks(mix))[
                ["clinician_id", "denominator", "numerator", "expected", "oe_ratio", "oe_ci_low", "oe_ci_high"]
                + (["small"] if SMALL_SHOWN else [])].rename(columns={
                    "clinician_id": "Clinician", "denominator": "Patients at caseness", "numerator": "Recovered",
                    "expected": "Expected recoveries", "oe_ratio": "Observed ÷ expected", "oe_ci_low": "95 % low",
                    "oe_ci_high": "95 % high", "small": "Small number"}),
                "case-mix-adjusted recovery", key="table-case-mix",
                column_config={c: st.column_config.NumberColumn(format="%.2f") for c in (
                    "Expected recoveries", "Observed ÷ expected", "95 % low", "95 % high")
                    if not _hidden(mix).any()})
        else:
            st.caption("No clinician has a patient at caseness with paired scores in this view.")
        ui.show_sql("clinician_comparison")

st.subheader("Data completeness")
st.caption("Missing scores bias every rate above: a clinician who scores only at good sessions looks better than one "
           "who scores every time. Paired completeness is the share of finished episodes with PHQ-9 and GAD-7 at the "
           "start and the end.")
QUALITY = {"paired_completeness": "Paired scores (finished episodes)", "sessions_scored": "Attended sessions with a score"}


def _quality_table(frame: pd.DataFrame, name: str, key: str, by_month: bool) -> None:
    shown = _as_text_percent(_suppressed(frame), ("rate", "ci_low", "ci_high"))   # 0 of 0 reads "no episodes"
    shown = shown.assign(measure=[QUALITY.get(m, m) for m in shown["measure"]])
    if not by_month:
        shown = shown.drop(columns=["month"])
    names = {"measure": "Measure", "clinician_id": "Clinician", "month": "Month", "numerator": "Count",
             "denominator": "Out of", "rate": "Rate", "ci_low": "95 % low", "ci_high": "95 % high"}
    ui.table(shown.rename(columns=names), name, key=key, height=min(620, 38 + 35 * len(shown)),
             column_config={names[c]: st.column_config.NumberColumn(format="percent")
                            for c in ("rate", "ci_low", "ci_high") if pd.api.types.is_numeric_dtype(shown[c])})


everyone = settings.with_(clinician_id=None)
quality = ui.safe("Data quality", "outcomes.data_quality", everyone, by_month=False)
if quality is not None and len(quality):
    _quality_table(quality, "data completeness by clinician", "quality", by_month=False)
    # a toggle, not an expander: an expander's contents are computed on every run, and the months of
    # thousands of clinicians are a table of a hundred thousand rows (2.5 s to compute at 1e7)
    if st.toggle("By month", key="quality-by-month",
                 help="Each clinician's months: to find when scoring lapsed."):
        st.caption(f"One clinician's month rests on few episodes, and a count under {THRESHOLD} reads "
                   f"\"{FEWER}\": use this to find when scoring lapsed, not to compare clinicians.")
        monthly = ui.safe("Data quality by month", "outcomes.data_quality", everyone)
        if monthly is not None and len(monthly):
            _quality_table(monthly, "data completeness by clinician and month", "quality-monthly", by_month=True)
