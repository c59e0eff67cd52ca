"""Shared presentation: number formats, tables with a CSV download, the SQL behind a figure.

Presentation only: nothing here computes a figure.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable

import pandas as pd
import streamlit as st

from . import data

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Meaning is never carried by colour alone (markers, dashes and labels too).
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
    "grey": "#8C8C8C",
}
SERIES = [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "yellow", "black")]


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def pct(value: Any, decimals: int = 1) -> str:
    """A rate held as a fraction, shown as a percentage ("—" when there is none)."""
    if is_missing(value):
        return "—"
    return f"{float(value) * 100:.{decimals}f} %"


def count(value: Any) -> str:
    if is_missing(value):
        return "—"
    return f"{int(value):,}"


def points(delta: Any) -> str | None:
    """A change between two rates, in percentage points (for st.metric's delta)."""
    if is_missing(delta):
        return None
    return f"{float(delta) * 100:+.1f} pp"


def number(value: Any, decimals: int = 1) -> str:
    if is_missing(value):
        return "—"
    value = float(value)
    return f"{value:.0f}" if value.is_integer() else f"{value:.{decimals}f}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "table"


def table(frame: pd.DataFrame, name: str, *, column_config: dict | None = None, key: str | None = None,
          height: int | str = "auto", column_order: list[str] | None = None, csv: pd.DataFrame | None = None,
          labels: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """A table with a "Download CSV" button under it (every table is downloadable); ``csv`` is what
    the download holds when it should differ from what is shown (e.g. without sparkline lists);
    ``labels`` are column headings to show instead of the column names (the download keeps the
    names)."""
    kwargs.setdefault("placeholder", "—")
    csv = frame if csv is None else csv
    frame = iso_dates_as_dates(frame)
    frame, column_config = percents_to_one_decimal(frame, with_date_columns(frame, column_config))
    column_config = with_labels(column_config, labels)
    shown = st.dataframe(frame, hide_index=True, column_config=column_config, key=key, height=height,
                         column_order=column_order, **kwargs)
    st.download_button(
        "Download CSV", exported_csv(csv, name), file_name=f"waypoint-{slug(name)}.csv",
        mime="text/csv", key=f"dl-{key or slug(name)}", icon=":material/download:", on_click="ignore",
        help=f"{name}: every row and column of this table as a CSV file.",
    )
    return shown


def exported_csv(frame: pd.DataFrame, name: str) -> Callable[[], bytes]:
    """What a table's download button gives: the file, made when the viewer clicks (Streamlit runs
    it outside the page's script run), after the audit log has recorded who exported which table.
    The row is written before the file exists, so no download leaves without its row, even when the
    viewer moves to another page or closes the tab at once (recorded on the rerun after the click, it
    could be lost then). The viewer is the one the page was drawn for."""
    viewer = data.current_viewer()

    def make() -> bytes:
        data.audit_export(name, viewer)
        return csv_bytes(frame)

    return make


def with_labels(column_config: dict | None, labels: dict[str, str] | None) -> dict | None:
    """``column_config`` with each column of ``labels`` headed by its label, keeping its format."""
    if not labels:
        return column_config
    config = dict(column_config or {})
    for name, label in labels.items():
        config[name] = {**(config.get(name) or {}), "label": label}
    return config


# A chart with one bar or row per clinician is drawn up to this many clinicians; beyond it (a
# network of thousands) the chart would be metres tall, and the table beside it lists them all.
CHART_ROWS = 60

_LABELS = {"episode_id": "Episode", "patient_id": "Patient", "clinician_id": "Clinician", "in_rates": "In the rates",
           "rc": "reliable change index", "jt_category": "Jacobson–Truax category", "first": "first", "last": "last",
           "change": "change", "first_date": "first date", "last_date": "last date",
           "scored_sessions": "scored sessions", "intake_band": "Severity at intake"}


def column_labels(names: Any, scales: dict[str, str] | None = None) -> dict[str, str]:
    """Readable headings for the analytics' column names: "first_attended_date" → "First attended
    date", "phq9_last_date" → "PHQ-9 last date", "episode_id" → "Episode" (``scales``: scale id →
    name)."""
    out = {}
    for name in map(str, names):
        if name in _LABELS:
            out[name] = _LABELS[name]
            continue
        prefix = next((sid for sid in sorted(scales or {}, key=len, reverse=True) if name.startswith(sid + "_")), None)
        if prefix:
            rest = name[len(prefix) + 1:]
            out[name] = f"{scales[prefix]} {_LABELS.get(rest, rest.replace('_', ' '))}"
        else:
            text = name.replace("_", " ")
            out[name] = text[:1].upper() + text[1:]
    return out


def with_date_columns(frame: pd.DataFrame, column_config: dict | None) -> dict | None:
    """``column_config`` plus a date format ("9 Jul 2026") for every column of dates, whether held
    as timestamps at midnight (which a table would show as "2026-07-09 00:00:00") or as dates
    ("2026-07-09"), and an hours-and-minutes format ("10:30") for every column of times of day
    (shown as "10:30:00"). Downloads keep the values as they are."""
    config = dict(column_config or {})
    for name in frame.columns:
        if name in config:
            continue
        kind = _temporal_kind(frame[name])
        if kind == "date":
            config[name] = st.column_config.DateColumn(format="D MMM YYYY")
        elif kind == "time":
            config[name] = st.column_config.TimeColumn(format="HH:mm")
    return config or None


def percents_to_one_decimal(frame: pd.DataFrame, column_config: dict | None) -> tuple[pd.DataFrame, dict | None]:
    """Every column a page formats as a percentage (``NumberColumn(format="percent")``, fractions)
    shown with one decimal, "80.5 %", as the headline figures are: Streamlit's own percent format
    shows "80.52%" beside "9.2%" and "0%". Display only: the fractions are multiplied by 100 in a
    copy, and the download keeps the fractions."""
    if not column_config:
        return frame, column_config
    scaled, config = {}, dict(column_config)
    for name, cfg in column_config.items():
        kind = cfg.get("type_config") if isinstance(cfg, dict) else None
        if not (kind and kind.get("type") == "number" and kind.get("format") == "percent" and name in frame.columns):
            continue
        fractions = _numbers(frame[name])
        if fractions is not None:
            scaled[name] = fractions * 100
            config[name] = {**cfg, "type_config": {**kind, "format": "%.1f %%"}}
    return (frame.assign(**scaled) if scaled else frame), config


def _numbers(column: pd.Series) -> pd.Series | None:
    """``column`` as floats when every value is a number or missing (a column of Python numbers
    and None arrives as objects), else None (e.g. a rate shown as "fewer than 5" for some rows)."""
    import decimal
    import numbers

    if pd.api.types.is_bool_dtype(column):
        return None
    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64") if not isinstance(column.dtype, pd.ArrowDtype) else column
    if not pd.api.types.is_object_dtype(column):
        return None
    present = column.dropna()
    if not all(isinstance(v, (numbers.Real, decimal.Decimal)) and not isinstance(v, bool) for v in present):
        return None
    return pd.to_numeric(column, errors="coerce").astype("float64")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_dates_as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column of ISO date text ("2026-08-31", as the analytics hand dates to
    JSON) holding dates instead, so that a table shows them as it shows every other date. The
    caller's frame is not changed (a download keeps the text)."""
    import numpy as np

    converted = {}
    for name in frame.columns:
        column = frame[name]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        present = column.dropna()
        if present.empty or not isinstance(present.iloc[0], str) or not _ISO_DATE.fullmatch(present.iloc[0]):
            continue
        codes, uniques = pd.factorize(column)          # each distinct text once: a table has few dates
        if not all(isinstance(v, str) and _ISO_DATE.fullmatch(v) for v in uniques):
            continue
        dates = pd.to_datetime(pd.Series(uniques, dtype=object), format="%Y-%m-%d", errors="coerce")
        if dates.isna().any():                          # the shape of a date but no such day: text
            continue
        table = np.empty(len(uniques) + 1, dtype=object)
        table[:-1] = [d.date() for d in dates]
        table[-1] = None                                # code -1: missing
        converted[name] = pd.Series(table[codes], index=frame.index, dtype=object)
    return frame.assign(**converted) if converted else frame


def _temporal_kind(column: pd.Series) -> str | None:
    """"date" for a column of dates (midnight timestamps or ``datetime.date``), "time" for one of
    ``datetime.time``, else None. A column of dates that is empty for now is still one of dates."""
    import datetime as dt

    if pd.api.types.is_datetime64_any_dtype(column):
        values = column.dropna()
        return "date" if (values.dt.normalize() == values).all() else None
    if column.dtype != object:
        return None
    values = column.dropna()
    if values.empty:
        return None
    kinds = {type(v) for v in values}
    if kinds == {dt.date}:
        return "date"
    if kinds == {dt.time}:
        return "time"
    return None


def content_digest(frame: pd.DataFrame) -> str | None:
    """A digest of everything a CSV of ``frame`` shows (column names, dtypes, every cell), or None
    when a cell cannot be hashed (e.g. a list)."""
    import hashlib

    try:
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    except TypeError:
        return None
    digest = hashlib.sha256(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(rows.tobytes())
    return digest.hexdigest()


@st.cache_data(show_spinner=False, max_entries=32)
def _csv_for(digest: str, _frame: pd.DataFrame) -> bytes:
    from analytics.safecsv import to_csv_bytes

    return to_csv_bytes(_frame)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The download of a table (formulas made inert: a cell starting with =, +, -, @ ...). Kept
    by the content's digest, so a page rerun does not write a large table's CSV again (only the
    same content ever gets the same bytes, whoever asks)."""
    from analytics.safecsv import to_csv_bytes

    digest = content_digest(frame)
    return to_csv_bytes(frame) if digest is None else _csv_for(digest, frame)


def show_sql(*names: str) -> None:
    """An expander with the SQL behind a figure, where analytics offers it."""
    texts = [(n, data.sql_for(n)) for n in names]
    texts = [(n, t) for n, t in texts if t]
    if not texts:
        return
    with st.expander("How this is calculated (SQL)"):
        for name, text in texts:
            st.caption(name)
            st.code(text, language="sql")


def small_note(n: Any, threshold: int) -> str:
    """Plain words for a figure resting on few episodes."""
    if is_missing(n):
        return ""
    return f"Small number: based on {int(n)} episode{'s' if int(n) != 1 else ''} (fewer than {threshold}); read with care."


def is_small(n: Any, threshold: int) -> bool:
    """A figure resting on some, but fewer than ``threshold``, cases (settings.small_number)."""
    return not is_missing(n) and 0 < int(n) < threshold


def change_withheld(now_n: Any, then_n: Any, threshold: int, unit: str) -> str | None:
    """Why the change between two periods' rates is not shown (None: it is shown): either period
    rests on fewer than ``threshold`` ``unit`` (e.g. "patients at caseness"), too few to call a
    change. A period with none has no rate, hence no change to withhold: None."""
    counts = [None if is_missing(n) else int(n) for n in (now_n, then_n)]
    if None in counts or 0 in counts or min(counts) >= threshold:
        return None
    now, then = counts
    which, numbers = (("both periods", f"{now} and {then}") if max(counts) < threshold else
                      ("this period", f"{now}") if now < threshold else ("the previous period", f"{then}"))
    return f"Change not shown: fewer than {threshold} in {which} ({numbers} {unit})."


def unavailable(what: str, exc: Exception) -> None:
    """A part of the page whose analytics function is missing or failed: say so calmly."""
    st.info(f"{what} is not available yet ({type(exc).__name__}: {md(exc)}).", icon=":material/hourglass_empty:")


def safe(what: str, function: str, settings, **kwargs: Any) -> Any:
    """``data.compute``; a user-facing error or a missing analytics function is shown, not raised."""
    from analytics.errors import WaypointError

    try:
        return data.compute(function, settings, **kwargs)
    except WaypointError as exc:
        st.error(md(exc))
    except (ImportError, AttributeError, NotImplementedError) as exc:
        unavailable(what, exc)
    return None


def finite(value: Any) -> bool:
    return not is_missing(value) and not (isinstance(value, float) and math.isinf(value))


def days(value: Any) -> str:
    if is_missing(value):
        return "—"
    value = float(value)
    return f"{value:.0f} days" if value.is_integer() else f"{value:.1f} days"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def md(text: Any) -> str:
    """Text from the data made inert for Streamlit markdown: every markdown character escaped, so
    an id or a note can never become a link, a heading, an icon, a colour or HTML."""
    return _MD_SPECIAL.sub(r"\\\1", "" if is_missing(text) else str(text))


def date_text(value: Any) -> str:
    """3 Feb 2025 (— when missing)."""
    if is_missing(value):
        return "—"
    return f"{pd.Timestamp(value):%-d %b %Y}"


def partial_months(start: Any, end: Any) -> str:
    """A note on the first and last months of a period when it cuts them, so that a short bar is
    not read as a drop ("" when both months are whole, or the period is unknown)."""
    if is_missing(start) or is_missing(end):
        return ""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    cut_start, cut_end = start.day != 1, not end.is_month_end
    if start.to_period("M") == end.to_period("M"):
        return f"{start:%b %Y} is partial ({date_text(start)} to {date_text(end)})." if cut_start or cut_end else ""
    parts = ([f"{start:%b %Y} from {date_text(start)}"] if cut_start else []) \
        + ([f"{end:%b %Y} up to {date_text(end)}"] if cut_end else [])
    return f"Partial months: {'; '.join(parts)}." if parts else ""


def sql_picker(figures: dict[str, str], *, key: str, title: str = "How these figures are calculated (SQL)") -> None:
    """An expander where the reader picks a figure (label -> ``analytics.outcomes.sql_for`` name) and
    sees the SQL behind it."""
    offered = {label: name for label, name in figures.items() if data.sql_for(name)}
    if not offered:
        return
    with st.expander(title):
        label = st.selectbox("Figure", list(offered), key=key)
        st.caption("The work tables it reads come first, then the figure's own query; every file is under sql/.")
        st.code(data.sql_for(offered[label]), language="sql")
