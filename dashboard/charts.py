"""Plotly figures in one calm style: Okabe–Ito colours, light shading for bands, and meaning
carried by marker shape, dash and labels as well as colour.

Each builder takes frames returned by analytics/ and draws them; none computes a figure (funnel
control limits come from ``analytics.stats.funnel_limits``).
"""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd
import plotly.graph_objects as go

from .ui import OKABE_ITO, SERIES, is_missing

FONT = dict(family="Source Sans Pro, Segoe UI, Helvetica, Arial, sans-serif", size=13, color="#31333F")
GRID = "#E6E6E6"
BAND_LABEL_MARGIN = 110  # px right of a patient chart for its severity bands' names (about 18 characters at 10 px)
BAND_FILLS = ["#FFFFFF", "#F4F4F4", "#EAEAEA", "#DFDFDF", "#D4D4D4", "#C9C9C9"]  # light → darker greys


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def base(fig: go.Figure, *, height: int = 320, y_title: str | None = None, x_title: str | None = None,
         percent: bool = False, legend: bool = True) -> go.Figure:
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10), font=FONT,
        plot_bgcolor="white", paper_bgcolor="white", hovermode="closest",
        showlegend=legend,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, title=None),
    )
    fig.update_xaxes(showgrid=False, linecolor="#BBBBBB", title=x_title, ticks="outside")
    fig.update_yaxes(gridcolor=GRID, zeroline=False, title=y_title)
    if percent:
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def _series(index: int) -> str:
    return SERIES[index % len(SERIES)]


DAY_MS = 86_400_000


def is_months(values: Iterable[Any]) -> bool:
    """True when every value is a month as the analytics hand it over ("2026-09")."""
    import re

    present = [v for v in values if not is_missing(v)]
    return bool(present) and all(isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}", v) for v in present)


def month_axis(fig: go.Figure, months: Iterable[Any], *, axis: str = "x") -> go.Figure:
    """A time axis of months labelled "Sep 2026", one tick a month (at most 12 months; Plotly's own
    spacing beyond): left alone, a chart of a single month showed a split second of its first day
    ("23:59:59.999 Aug 31, 2026"). A single month gets a range of a month around it."""
    distinct = sorted({pd.Timestamp(f"{m}-01") for m in months if not is_missing(m)})
    update = fig.update_yaxes if axis == "y" else fig.update_xaxes
    update(type="date", tickformat="%b %Y", hoverformat="%b %Y", **({"dtick": "M1"} if len(distinct) <= 12 else {}))
    if len(distinct) == 1:
        only = distinct[0]
        update(range=[only - pd.Timedelta(days=16), only + pd.Timedelta(days=16)])
    return fig


def day_axis(fig: go.Figure, dates: Iterable[Any], *, pad_days: int = 7) -> go.Figure:
    """A time axis of days labelled "13 Oct 2026", never finer than a day: a patient seen once (or
    within a few days) got ticks of milliseconds. A span under two weeks is widened to
    ``pad_days`` either side."""
    stamps = pd.to_datetime(pd.Series([d for d in dates if not is_missing(d)], dtype=object), errors="coerce").dropna()
    fig.update_xaxes(type="date", tickformat="%-d %b %Y", hoverformat="%-d %b %Y")
    if len(stamps) and stamps.max() - stamps.min() < pd.Timedelta(days=14):
        fig.update_xaxes(range=[stamps.min() - pd.Timedelta(days=pad_days), stamps.max() + pd.Timedelta(days=pad_days)],
                         dtick=DAY_MS * max(1, (2 * pad_days) // 7))
    return fig


# ---------------------------------------------------------------------------------------------
# rates over time with their 95 % intervals
# ---------------------------------------------------------------------------------------------
def rate_trend(frame: pd.DataFrame, *, x: str, rate: str, low: str, high: str, numerator: str, denominator: str,
               group: str | None = None, y_title: str = "", height: int = 300, colour_index: int = 0) -> go.Figure:
    """A monthly rate as a line with markers, its Wilson 95 % interval as a light band. A month with
    no row (nothing to count) breaks the line and the band: no point, and nothing drawn across it; a
    month standing alone shows its interval as an error bar."""
    fig = go.Figure()
    groups: Iterable[tuple[Any, pd.DataFrame]] = frame.groupby(group, sort=True) if group else [(None, frame)]
    symbols = ["circle", "square", "diamond", "triangle-up", "x", "cross"]
    for i, (name, part) in enumerate(groups):
        colour = _series(colour_index + i)
        runs = month_runs(part, x) if is_months(part[x]) else [part.sort_values(x)]
        label = str(name[0] if isinstance(name, tuple) else name) if group else y_title
        band_x, band_y, line = [], [], []
        for run in runs:   # one closed band per run of months, separated by a gap (None)
            band_x += list(run[x]) + list(run[x])[::-1] + [None]
            band_y += list(run[high]) + list(run[low])[::-1] + [None]
            line.append(run)
        line = _with_gaps(line, x)
        fig.add_trace(go.Scatter(
            x=band_x, y=band_y, mode="lines", fill="toself", fillcolor=_rgba(colour, 0.15), line=dict(width=0),
            hoverinfo="skip", showlegend=False, name=f"{label} 95 % interval",
        ))
        fig.add_trace(go.Scatter(
            x=line[x], y=line[rate], mode="lines+markers", name=label, connectgaps=False,
            line=dict(color=colour, width=2), marker=dict(symbol=symbols[i % len(symbols)], size=7),
            customdata=list(zip(line[numerator], line[denominator], line[low], line[high])),
            hovertemplate="%{x}<br>%{y:.1%} (%{customdata[0]} of %{customdata[1]})"
                          "<br>95 % interval %{customdata[2]:.1%}–%{customdata[3]:.1%}<extra>" + label + "</extra>",
        ))
        alone = [run for run in runs if len(run) == 1]
        if alone:
            single = pd.concat(alone)
            fig.add_trace(go.Scatter(
                x=single[x], y=single[rate], mode="markers", marker=dict(size=1, color=colour, opacity=0),
                error_y=dict(type="data", symmetric=False, array=list(single[high] - single[rate]),
                             arrayminus=list(single[rate] - single[low]), color=_rgba(colour, 0.45), thickness=6,
                             width=0),
                hoverinfo="skip", showlegend=False, name=f"{label} 95 % interval (single month)",
            ))
    fig = base(fig, height=height, y_title=y_title, percent=True, legend=bool(group))
    if is_months(frame[x]):
        month_axis(fig, frame[x])
    return fig


def month_runs(frame: pd.DataFrame, x: str) -> list[pd.DataFrame]:
    """The rows of ``frame`` (one a month, months as "2026-09") in runs of consecutive months."""
    rows = frame.sort_values(x)
    months = pd.PeriodIndex([pd.Period(m, freq="M") for m in rows[x]])
    if rows.empty:
        return []
    starts = [0] + [i for i in range(1, len(months)) if (months[i] - months[i - 1]).n != 1]
    return [rows.iloc[a:b] for a, b in zip(starts, starts[1:] + [len(rows)])]


def _with_gaps(runs: list[pd.DataFrame], x: str) -> pd.DataFrame:
    """The runs one after another, with an empty row (no value) between two runs, so that a line
    drawn through them breaks there instead of joining across the months without data."""
    parts = []
    for k, run in enumerate(runs):
        if k:
            parts.append(pd.DataFrame({x: [_month_after(runs[k - 1][x].iloc[-1])]}))
        parts.append(run)
    if not parts:
        return pd.DataFrame(columns=[x])
    out = pd.concat(parts, ignore_index=True)
    return out.astype(object).where(out.notna(), None)


def _month_after(month: Any) -> Any:
    return str(pd.Period(month, freq="M") + 1) if is_months([month]) else month


# ---------------------------------------------------------------------------------------------
# funnel plots (Spiegelhalter 2005): rate against number of cases, with control limits
# ---------------------------------------------------------------------------------------------
def funnel(frame: pd.DataFrame, *, label: str, n: str, rate: str, target: float | None, small: str | None = None,
           y_title: str = "", height: int = 380, higher_is_better: bool = True) -> go.Figure:
    """Each clinician a point at (episodes, rate); the clinic's overall rate and its 95 % (dashed)
    and 99.8 % (dotted) control limits. Points beyond a limit get a triangle and a label; points
    resting on few cases are hollow and marked "small number"."""
    from analytics.stats import funnel_limits

    fig = go.Figure()
    keep = [not is_missing(v) and not is_missing(r) and float(v) > 0 for v, r in zip(frame[n], frame[rate])]
    valid = frame.loc[pd.Series(keep, index=frame.index, dtype=bool)]   # (frame[[]] would pick no columns)
    if target is not None and not is_missing(target) and len(valid):
        top = int(max(valid[n].max() * 1.1, 10))
        grid = sorted(set([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200, 300, 400, 600,
                           800, 1000, 1500, 2000, 3000, 5000, 10000]) | {top})
        grid = [g for g in grid if g <= top]
        for coverage, dash, name in ((0.95, "dash", "95 % limits"), (0.998, "dot", "99.8 % limits")):
            lows, highs = zip(*(funnel_limits(float(target), g, coverage) for g in grid))
            for ys, show in ((highs, True), (lows, False)):
                fig.add_trace(go.Scatter(x=grid, y=ys, mode="lines", name=name, showlegend=show,
                                         legendgroup=name, line=dict(color="#777777", width=1, dash=dash,
                                                                     shape="hv"), hoverinfo="skip"))
        fig.add_hline(y=float(target), line=dict(color=OKABE_ITO["black"], width=1),
                      annotation_text=f"clinic {float(target):.0%}", annotation_position="top left")
    for is_small in (False, True):
        part = valid[valid[small].fillna(False).astype(bool) == is_small] if small else (valid if not is_small else valid.iloc[0:0])
        if part.empty:
            continue
        signals = part["signal"].fillna("within") if "signal" in part else pd.Series(["within"] * len(part), index=part.index)
        symbols = ["triangle-up" if "above" in s else "triangle-down" if "below" in s else "circle" for s in signals]
        good = [("above" in s) == higher_is_better for s in signals]
        colours = [OKABE_ITO["blue"] if s == "within" else (OKABE_ITO["green"] if g else OKABE_ITO["vermillion"])
                   for s, g in zip(signals, good)]
        texts = [str(lbl) if (s != "within" or is_small) else str(lbl) for lbl, s in zip(part[label], signals)]
        fig.add_trace(go.Scatter(
            x=part[n], y=part[rate], mode="markers+text", text=texts, textposition="top center",
            textfont=dict(size=11, color="#555555"),
            name="small number (hollow)" if is_small else "clinician",
            marker=dict(size=11, symbol=[f"{s}-open" if is_small else s for s in symbols], color=colours,
                        line=dict(width=1.5, color=colours)),
            customdata=list(zip(part[label], signals)),
            hovertemplate="%{customdata[0]}: %{y:.1%} of %{x} episodes<br>%{customdata[1]}<extra></extra>",
        ))
    fig = base(fig, height=height, y_title=y_title, x_title="Episodes (the denominator)", percent=True)
    fig.update_yaxes(range=[0, 1.05])
    return fig


# ---------------------------------------------------------------------------------------------
# a patient's scores against the scale's cutoff and severity bands
# ---------------------------------------------------------------------------------------------
def trajectory(scores: pd.DataFrame, scale, *, x: str = "session_date", y: str = "score",
               expected: pd.DataFrame | None = None, missed: pd.DataFrame | None = None,
               reliable_change: float | None = None, height: int = 340) -> go.Figure:
    """One scale's scores over time. Shaded severity bands (labelled), the clinical cutoff
    (dashed), the reliable-change band around the first score, the expected range at each
    session for patients who started at the same severity (p10–p90, when given), and the
    no-shows and late cancellations on the timeline."""
    fig = go.Figure()
    scores = scores.sort_values(x)
    lo, hi = scale.min, scale.max
    span_x = (scores[x].min(), scores[x].max()) if len(scores) else (None, None)
    for i, band in enumerate(scale.severity):
        fill = BAND_FILLS[min(i, len(BAND_FILLS) - 1)] if scale.higher_is_worse else BAND_FILLS[max(0, len(scale.severity) - 1 - i)]
        y0, y1 = (band.low - 0.5 if band.low > lo else lo), (band.high + 0.5 if band.high < hi else hi)
        fig.add_hrect(y0=y0, y1=y1, fillcolor=fill, line_width=0, layer="below")
        # the band's name in the right margin, clear of the data
        fig.add_annotation(text=band_label(band.label), xref="paper", x=1.01, xanchor="left", y=(y0 + y1) / 2,
                           yref="y", showarrow=False, align="left", font=dict(size=10, color="#666666"))
    if scale.cutoff is not None:
        fig.add_hline(y=scale.cutoff, line=dict(color=OKABE_ITO["vermillion"], width=1.5, dash="dash"))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"clinical cutoff {scale.cutoff:g}",
                                 line=dict(color=OKABE_ITO["vermillion"], width=1.5, dash="dash")))
    rc = reliable_change if reliable_change is not None and not is_missing(reliable_change) else scale.reliable_change
    if len(scores) and rc:
        first = float(scores[y].iloc[0])
        fig.add_trace(go.Scatter(
            x=[span_x[0], span_x[1], span_x[1], span_x[0]],
            y=[first - rc, first - rc, first + rc, first + rc],
            mode="lines", fill="toself", fillcolor=_rgba(OKABE_ITO["sky"], 0.10), line=dict(width=1.5, color=OKABE_ITO["sky"], dash="dot"),
            name=f"no reliable change (first score ± {float(rc):.3g})", hoverinfo="skip",
        ))
    if draws_expected(expected, x=x):
        e = expected.sort_values(x)
        fig.add_trace(go.Scatter(
            x=list(e[x]) + list(e[x])[::-1], y=list(e["p90"]) + list(e["p10"])[::-1],
            mode="lines", fill="toself", fillcolor=_rgba(OKABE_ITO["green"], 0.14), line=dict(width=0),
            name="expected range (similar patients, 10th–90th centile)", hoverinfo="skip",
        ))
        fig.add_trace(go.Scatter(x=e[x], y=e["p50"], mode="lines", name="expected (median)",
                                 line=dict(color=OKABE_ITO["green"], width=1, dash="dot"), hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=scores[x], y=scores[y], mode="lines+markers+text", name=scale.name,
        text=[f"{v:g}" for v in scores[y]], textposition="top center", textfont=dict(size=11),
        line=dict(color=OKABE_ITO["blue"], width=2.5), marker=dict(size=8, symbol="circle"),
        hovertemplate="%{x|%d %b %Y}: %{y}<extra>" + scale.name + "</extra>",
    ))
    if missed is not None and len(missed):
        styles = {"no_show": ("x", OKABE_ITO["vermillion"], "no-show"),
                  "late_cancel": ("triangle-down-open", OKABE_ITO["orange"], "late cancellation")}
        for status, (symbol, colour, label) in styles.items():
            part = missed[missed["status"] == status]
            if part.empty:
                continue
            fig.add_trace(go.Scatter(
                x=part["session_date"], y=[lo + (hi - lo) * 0.02] * len(part), mode="markers", name=label,
                marker=dict(symbol=symbol, size=10, color=colour, line=dict(width=2, color=colour)),
                hovertemplate="%{x|%d %b %Y}: " + label + "<extra></extra>",
            ))
    fig = base(fig, height=height, y_title=f"{scale.name} score")
    fig.update_yaxes(range=[lo - 0.5, hi + 0.5])
    fig.update_layout(margin=dict(l=10, r=BAND_LABEL_MARGIN, t=40, b=10))
    if len(scores) and pd.api.types.is_datetime64_any_dtype(scores[x]):
        # a date axis (the legend-only cutoff entry must not make it numeric), in days
        day_axis(fig, list(scores[x]) + (list(missed["session_date"]) if missed is not None and len(missed) else []))
    return fig


def draws_expected(expected: pd.DataFrame | None, *, x: str = "session_date") -> bool:
    """Whether :func:`trajectory` draws the expected range: it needs two sessions or more (a band
    over one session has no width, and its legend entries would name nothing on the chart)."""
    return expected is not None and len(expected) > 0 and expected[x].nunique() >= 2


def band_label(label: str, width: int = 18) -> str:
    """A severity band's name for the chart's right margin, on two lines when long ("moderately
    severe or worse" was cut off at the chart's edge)."""
    import textwrap

    return "<br>".join(textwrap.wrap(label, width)) or label


# ---------------------------------------------------------------------------------------------
# simple bars and curves
# ---------------------------------------------------------------------------------------------
LABEL_ROOM = 1.2  # a horizontal bar chart's axis reaches 20 % past its longest bar


def bars(frame: pd.DataFrame, *, x: str, y: str, y_title: str = "", percent: bool = False, height: int = 280,
         text: str | None = None, horizontal: bool = False, colour: str | None = None,
         hover: str | None = None) -> go.Figure:
    colour = colour or OKABE_ITO["blue"]
    values = frame[y]
    labels = frame[text] if text else [("{:.0%}" if percent else "{:,}").format(v) if not is_missing(v) else "" for v in values]
    kwargs = dict(x=values, y=frame[x], orientation="h") if horizontal else dict(x=frame[x], y=values)
    fig = go.Figure(go.Bar(**kwargs, marker_color=colour, text=labels, textposition="outside", cliponaxis=False,
                           hovertemplate=hover or None))
    fig = base(fig, height=height, y_title=None if horizontal else y_title,
               x_title=y_title if horizontal else None, percent=False, legend=False)
    if percent:
        (fig.update_xaxes if horizontal else fig.update_yaxes)(tickformat=".0%", rangemode="tozero")
    if is_months(frame[x]):
        month_axis(fig, frame[x], axis="y" if horizontal else "x")
        if frame[x].nunique() == 1:   # one bar on a date axis is otherwise a sliver or the whole width
            fig.update_traces(width=DAY_MS * 20)
    if horizontal:
        fig.update_yaxes(autorange="reversed", showgrid=False)
        fig.update_xaxes(showgrid=True, gridcolor=GRID)
        top = pd.to_numeric(pd.Series(values), errors="coerce").max()
        if pd.notna(top) and top > 0:
            # room beyond the longest bar for its label (written outside the bar): without it the
            # label of the largest count was cut off at the chart's edge
            fig.update_xaxes(range=[0, float(top) * LABEL_ROOM])
    return fig


def retention(frame: pd.DataFrame, *, group: str = "group", height: int = 340) -> go.Figure:
    """Kaplan–Meier: the share of episodes still engaged after each attended session, with the
    95 % band; step lines, one colour and dash per group."""
    fig = go.Figure()
    dashes = ["solid", "dash", "dot", "dashdot", "longdash"]
    groups = list(frame.groupby(group, sort=True)) if group in frame and frame[group].nunique() > 1 else [(None, frame)]
    for i, (name, part) in enumerate(groups):
        colour = _series(i)
        part = part.sort_values("sessions")
        label = "all episodes" if name is None else str(name[0] if isinstance(name, tuple) else name)
        # the 95 % band as two step lines filled between (a reversed polygon would cut the steps)
        fig.add_trace(go.Scatter(x=part["sessions"], y=part["ci_high"], mode="lines", line=dict(width=0, shape="hv"),
                                 hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=part["sessions"], y=part["ci_low"], mode="lines", line=dict(width=0, shape="hv"),
                                 fill="tonexty", fillcolor=_rgba(colour, 0.15), hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(
            x=part["sessions"], y=part["survival"], mode="lines+markers", name=label,
            line=dict(color=colour, width=2, shape="hv", dash=dashes[i % len(dashes)]), marker=dict(size=5),
            customdata=part[["at_risk"]] if "at_risk" in part else None,
            hovertemplate="after %{x} sessions: %{y:.0%} still engaged"
                          + ("<br>%{customdata[0]} at risk" if "at_risk" in part else "") + "<extra></extra>",
        ))
    fig = base(fig, height=height, y_title="Still engaged", x_title="Attended sessions", percent=True,
               legend=len(groups) > 1)
    fig.update_yaxes(range=[0, 1.02])
    return fig


def week_histogram(frame: pd.DataFrame, *, x_title: str, y_title: str, height: int = 260) -> go.Figure:
    """A histogram counted before it reaches the browser: one bar per row of ``frame`` (from_days,
    to_days, episodes), a week wide, on a day axis."""
    fig = go.Figure(go.Bar(
        x=(frame["from_days"] + frame["to_days"]) / 2, y=frame["episodes"], width=7,
        customdata=list(zip(frame["from_days"], frame["to_days"])), marker_color=OKABE_ITO["blue"],
        marker_line=dict(width=1, color="white"),
        hovertemplate="%{customdata[0]}–%{customdata[1]} days: %{y:,}<extra></extra>"))
    fig.update_layout(bargap=0)
    return base(fig, height=height, x_title=x_title, y_title=y_title, legend=False)


# ---------------------------------------------------------------------------------------------
# case-mix-adjusted ratios with their intervals (a forest plot)
# ---------------------------------------------------------------------------------------------
def ratio_intervals(frame: pd.DataFrame, *, label: str, ratio: str, low: str, high: str, small: str | None = None,
                    observed: str | None = None, expected: str | None = None, height: int | None = None,
                    x_title: str = "Observed ÷ expected (dashed line at 1: as expected for their case mix)") -> go.Figure:
    """One row per clinician: the ratio as a point with its 95 % interval as a bar, against a
    vertical line at 1 (as expected for their case mix). Hollow points rest on small numbers."""
    fig = go.Figure()
    rows = frame.loc[pd.Series([not is_missing(v) for v in frame[ratio]], index=frame.index, dtype=bool)]
    fig.add_vline(x=1.0, line=dict(color=OKABE_ITO["black"], width=1, dash="dash"))
    for is_small in (False, True):
        part = rows[rows[small].fillna(False).astype(bool) == is_small] if small else (rows if not is_small else rows.iloc[0:0])
        if part.empty:
            continue
        custom = list(zip(part[observed] if observed else [""] * len(part),
                          part[expected] if expected else [""] * len(part), part[low], part[high]))
        fig.add_trace(go.Scatter(
            x=part[ratio], y=part[label], mode="markers",
            name="small number (hollow)" if is_small else "clinician",
            error_x=dict(type="data", symmetric=False, array=list(part[high] - part[ratio]),
                         arrayminus=list(part[ratio] - part[low]), color="#777777", thickness=1.5, width=4),
            marker=dict(size=10, symbol="diamond-open" if is_small else "diamond", color=OKABE_ITO["blue"],
                        line=dict(width=1.5, color=OKABE_ITO["blue"])),
            customdata=custom,
            hovertemplate="%{y}: %{x:.2f}<br>observed %{customdata[0]}, expected %{customdata[1]:.1f}"
                          "<br>95 % interval %{customdata[2]:.2f}–%{customdata[3]:.2f}<extra></extra>",
        ))
    fig = base(fig, height=height or 80 + 34 * max(1, len(rows)), x_title=x_title, legend=bool(small))
    fig.update_xaxes(showgrid=True, gridcolor=GRID, rangemode="tozero")
    order = sorted(str(v) for v in rows[label])
    fig.update_yaxes(showgrid=False, type="category", categoryorder="array", categoryarray=order[::-1])
    return fig
