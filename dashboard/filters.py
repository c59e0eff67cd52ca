"""Sidebar filters (period, site, clinician, scale), kept in the URL so a view can be bookmarked.

The URL (``st.query_params``) and the widgets are kept in step: a link opened fresh sets the
widgets; a widget change rewrites the URL; moving between pages (which clears the URL) keeps the
widgets and writes them back. A page switched to from code (``st.switch_page``, which forgets every
widget's value) is given the filters in its URL (:func:`url_params`), and the widgets take them back
from there. Keys in the URL: ``from``, ``to`` (ISO dates), ``site``, ``clinician``, ``scale``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Callable

import streamlit as st

from analytics.settings import Settings

from . import data, ui

ALL = "__all__"
# what the Scale selector changes, and what it does not (dashboard/views: caseload.py, overview.py)
SCALE_HELP = ("Changes the scores on the Caseload page (sparkline, first, latest, change) and the overview's "
              "severity at intake (PHQ-9 for a scale without severity bands). It does not change the headline "
              "rates or monthly trends, which use PHQ-9 and GAD-7 together (NHS Talking Therapies), nor the "
              "patient view, which shows every scale.")
_SYNCED = "_filters_synced_url"  # the URL values this session last wrote


@dataclass(frozen=True)
class Filters:
    date_from: date | None
    date_to: date | None
    site: str | None
    clinician_id: str | None
    scale: str
    as_of: date | None

    def settings(self) -> Settings:
        """The analytics Settings for this view (clinic thresholds from the clinic config)."""
        return data.base_settings().with_(
            date_from=self.date_from, date_to=self.date_to,
            site=self.site, clinician_id=self.clinician_id,
        )

    def previous_settings(self) -> Settings | None:
        """The period of the same length just before this one (for "change since")."""
        if self.date_from is None or self.date_to is None:
            return None
        length = (self.date_to - self.date_from).days + 1
        return self.settings().with_(date_from=self.date_from - timedelta(days=length),
                                     date_to=self.date_from - timedelta(days=1))

    @property
    def period_label(self) -> str:
        if self.date_from is None or self.date_to is None:
            return "all time"
        return f"{self.date_from:%d %b %Y} – {self.date_to:%d %b %Y}"


def default_period(first: date | None, last: date | None) -> tuple[date, date] | None:
    """The twelve months up to the latest session (or all the data, when it is shorter)."""
    if first is None or last is None:
        return None
    return (max(first, last - timedelta(days=364)), last)


def default_scale(scales: tuple[str, ...]) -> str:
    """PHQ-9 when the data have it, else the first scale scored."""
    return "phq9" if "phq9" in scales or not scales else scales[0]


def defaults() -> Filters:
    """The view a first visit opens with: the whole clinic, the default period, the default scale
    (what :func:`sidebar` shows before anything is chosen)."""
    opts = data.options()
    date_from, date_to = default_period(opts.first_date, opts.last_date) or (None, None)
    return Filters(date_from=date_from, date_to=date_to, site=None, clinician_id=None,
                   scale=default_scale(opts.scales), as_of=opts.last_date)


def _parse_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _url_value(key: str) -> str | None:
    value = st.query_params.get(key)
    return None if value in (None, "") else str(value)


def _seed(widget_key: str, url_keys: tuple[str, ...], parse: Callable[[tuple], Any], default: Any) -> bool:
    """Set a widget's value from the URL when the URL was changed from outside (a bookmark or a
    shared link) or the widget has lost its value (``st.switch_page`` forgets every widget's
    value), else keep the widget's own value; the default on a first visit. True when the URL's
    value was from outside and could not be used (the widget keeps its value or the default)."""
    synced = st.session_state.setdefault(_SYNCED, {})
    url = tuple(_url_value(k) for k in url_keys)
    from_outside = url != tuple(synced.get(k) for k in url_keys) or widget_key not in st.session_state
    rejected = False
    if any(v is not None for v in url) and from_outside:
        parsed = parse(url)
        if parsed is not None:
            st.session_state[widget_key] = parsed
            return False
        rejected = True
    if widget_key not in st.session_state:
        st.session_state[widget_key] = default
    return rejected


_PERIOD_NOTE = "_filters_period_note"  # (the notice, the period shown instead) after a bookmark's period was not used


def period_problem(url: tuple, first: date | None, last: date | None) -> str:
    """Why a URL's period (``from``, ``to`` as written) cannot be shown: "not a valid period" or
    "had no data" (it lies wholly outside ``first`` – ``last``)."""
    start, end = (_parse_date(u) if u else None for u in url)
    if start is None or end is None or start > end:
        return "was not a valid period"
    if first and last and (end < first or start > last):
        return "had no data"
    return "could not be shown"


def _period_text(url: tuple) -> str:
    start, end = (_parse_date(u) if u else None for u in url)
    if start and end:
        return f"{start:%-d %b %Y} – {end:%-d %b %Y}"
    return " – ".join(ui.md(u) if u else "…" for u in url)


def _note_period(url: tuple, opts: data.Options) -> None:
    """Remember a notice for a bookmarked period that was not used, with the period shown instead."""
    shown = st.session_state.get("f_period")
    if not (isinstance(shown, (tuple, list)) and len(shown) == 2):
        return
    problem = period_problem(url, opts.first_date, opts.last_date)
    text = (f"The bookmarked period ({_period_text(url)}) {problem}: showing "
            f"{_period_text(tuple(d.isoformat() for d in shown))} instead"
            + (f" (the data run from {opts.first_date:%-d %b %Y} to {opts.last_date:%-d %b %Y})."
               if problem == "had no data" else "."))
    st.session_state[_PERIOD_NOTE] = (text, tuple(shown))


def _show_period_note() -> None:
    """The notice stays while the period shown is the one put in the bookmark's place."""
    note = st.session_state.get(_PERIOD_NOTE)
    if note and tuple(st.session_state.get("f_period") or ()) == note[1]:
        st.info(note[0], icon=":material/event_busy:")
    elif note:
        del st.session_state[_PERIOD_NOTE]


def _write_url(values: dict[str, str | None]) -> None:
    synced = st.session_state.setdefault(_SYNCED, {})
    for key, value in values.items():
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != value:
            st.query_params[key] = value
        synced[key] = value


def sidebar() -> Filters:
    """Draw the filters in the sidebar and return the chosen view."""
    opts = data.options()
    registry = data.scale_registry()
    period_default = default_period(opts.first_date, opts.last_date)

    def parse_period(url: tuple) -> tuple[date, date] | None:
        start, end = (_parse_date(u) if u else None for u in url)
        if not (start and end and opts.first_date and opts.last_date):
            return None
        start, end = max(start, opts.first_date), min(end, opts.last_date)
        return (start, end) if start <= end else None

    def parse_choice(choices: tuple[str, ...]) -> Callable[[tuple], str | None]:
        return lambda url: url[0] if url[0] in choices else None

    if _seed("f_period", ("from", "to"), parse_period, period_default):
        _note_period(tuple(_url_value(k) for k in ("from", "to")), opts)
    _seed("f_site", ("site",), parse_choice(opts.sites), ALL)
    _seed("f_clinician", ("clinician",), parse_choice(opts.clinicians), ALL)
    scales = opts.scales or ("phq9",)
    _seed("f_scale", ("scale",), parse_choice(scales), default_scale(scales))
    if st.session_state.get("f_site") not in (ALL, *opts.sites):
        st.session_state["f_site"] = ALL
    if st.session_state.get("f_clinician") not in (ALL, *opts.clinicians):
        st.session_state["f_clinician"] = ALL
    if st.session_state.get("f_scale") not in scales:
        st.session_state["f_scale"] = scales[0]
    st.session_state["f_period"] = _within(st.session_state.get("f_period"), opts, period_default)

    with st.sidebar:
        st.markdown("**Filters**")
        period = st.date_input(
            "Period", key="f_period", min_value=opts.first_date, max_value=opts.last_date, format="DD/MM/YYYY",
            help="Rates count the episodes of care that ended in this period; "
                 "caseloads and readiness are as on the latest session date.",
        )
        if opts.sites:
            st.selectbox("Site or program", (ALL, *opts.sites), key="f_site",
                         format_func=lambda s: "All sites" if s == ALL else s)
        st.selectbox("Clinician", (ALL, *opts.clinicians), key="f_clinician",
                     format_func=lambda c: "All clinicians" if c == ALL else c)
        st.selectbox("Scale", scales, key="f_scale",
                     format_func=lambda s: registry[s].name if s in registry else s,
                     help=SCALE_HELP)
        if opts.last_date:
            st.caption(f"Data up to {opts.last_date:%d %b %Y}. Bookmark the page to keep this view.")

    if isinstance(period, (tuple, list)) and len(period) == 2:
        date_from, date_to = period
    else:  # mid-selection (one date picked): keep the default until the range is complete
        date_from, date_to = period_default or (None, None)
    site = st.session_state.get("f_site", ALL)
    clinician = st.session_state["f_clinician"]
    filters = Filters(
        date_from=date_from, date_to=date_to,
        site=None if site == ALL else site,
        clinician_id=None if clinician == ALL else clinician,
        scale=st.session_state["f_scale"], as_of=opts.last_date,
    )
    _write_url(_url_values(filters))
    _show_period_note()
    return filters


def _url_values(filters: Filters) -> dict[str, str | None]:
    return {
        "from": filters.date_from.isoformat() if filters.date_from else None,
        "to": filters.date_to.isoformat() if filters.date_to else None,
        "site": filters.site, "clinician": filters.clinician_id, "scale": filters.scale,
    }


def url_params(filters: Filters, **extra: str) -> dict[str, str]:
    """The URL of a view: its filters (those set) and ``extra`` keys, for ``st.switch_page``, which
    otherwise clears the URL and, with it, the sidebar's filters."""
    return {**{k: v for k, v in _url_values(filters).items() if v is not None}, **extra}


def _within(period: Any, opts: Any, default: Any) -> Any:
    """The chosen period kept inside the data's dates: an undo (or an import) can move them, and a
    period outside them would stop the page."""
    if not period or not opts.first_date or not opts.last_date:
        return period if period else default
    dates = tuple(period)
    clipped = tuple(min(max(d, opts.first_date), opts.last_date) for d in dates)
    if len(clipped) == 2 and clipped[0] > clipped[1]:
        return default
    return clipped


def current() -> Filters:
    """The filters drawn by the app shell for this run (pages read them from here)."""
    return st.session_state["_filters"]


def remember(filters: Filters) -> None:
    st.session_state["_filters"] = filters


def with_clinician(filters: Filters, clinician_id: str | None) -> Filters:
    return replace(filters, clinician_id=clinician_id)
