"""The import flow shared by the first-run screen and the Data page:
upload → detected columns (editable) with the first rows → validation report → confirm → import.

Nothing is written before "Import": the preview is ``analytics.ingest.preview`` (no writes).
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analytics.errors import WaypointError
from analytics.ingest import ENCODING_NAMES

from . import data, ui

UPLOADER_KEY = "upload-round"   # bumped after an import, which empties the file input
# The text encodings offered (label -> Python codec; None: Waypoint tells UTF-8 from Windows-1252).
ENCODINGS: dict[str, str | None] = {
    "Detect (UTF-8 or Windows-1252)": None,
    "UTF-8": "utf-8",
    "Windows-1252 (Western European)": "cp1252",
    "Windows-1250 (Central European)": "cp1250",
    "Shift-JIS (Japanese, cp932)": "cp932",
    "GB18030 (Chinese, simplified)": "gb18030",
    "Big5 (Chinese, traditional)": "big5",
    "Korean (cp949)": "cp949",
}
# The date layouts offered (label -> the mapping's [dates] format; None: ISO, else the one layout
# every date fits, never a guess between day-first and month-first).
DATE_LAYOUTS: dict[str, str | None] = {
    "Detect (asks when unclear)": None,
    "Day first: 31/08/2026": "%d/%m/%Y",
    "Month first: 08/31/2026": "%m/%d/%Y",
    "Day first, dots: 31.08.2026": "%d.%m.%Y",
    "Day first, dashes: 31-08-2026": "%d-%m-%Y",
    "Day first, two-digit year: 31/08/26": "%d/%m/%y",
    "Month first, two-digit year: 08/31/26": "%m/%d/%y",
    "ISO: 2026-08-31": "%Y-%m-%d",
}


def flash_text(message: str) -> str:
    """A summary from analytics (lines; file names and words from the data in them) as inert
    markdown, a line each: escaped, so that nothing in a file can become a link or a heading."""
    return "  \n".join(ui.md(line.strip()) for line in str(message).splitlines() if line.strip())


def sample_link() -> None:
    path = data.sample_export_path()
    if path.exists():
        st.download_button(
            "Download the demo clinic's export (CSV)", path.read_bytes(), file_name=path.name, mime="text/csv",
            icon=":material/download:", key="dl-sample", on_click="ignore",
            help="A synthetic export in the format Waypoint reads: see the column names and values it expects.",
        )


def _uploads() -> list[tuple[str, bytes]]:
    round_ = st.session_state.setdefault(UPLOADER_KEY, 0)
    files = st.file_uploader(
        # other types too, so that Waypoint says what a workbook or an archive is and what to do
        "Session export(s) — CSV", type=["csv", "txt", "tsv", "xlsx", "xls", "gz", "zip"],
        accept_multiple_files=True, key=f"uploader-{round_}",
        help="Exports from your practice-management system, one row per appointment. Several files at once "
             "are fine (for example one per year or per site). Up to "
             f"{st.get_option('server.maxUploadSize')} MB per file; for bigger exports use `waypoint ingest` "
             "with the dashboard stopped.",
    )
    return [(f.name, f.getvalue()) for f in files or []]


def _encoding_choice(round_: int) -> tuple[str | None, str | None]:
    """The text encoding and the date layout chosen above the checks (None: detect)."""
    left, right, _ = st.columns([1, 1, 1])
    dates = right.selectbox(
        "Date layout", list(DATE_LAYOUTS), key=f"dates-{round_}",
        help="Waypoint finds the layout when only one fits every date in the file. When day and month "
             "could be either (no day above 12), it asks: choose the layout your system exports here.")
    label = left.selectbox(
        "Text encoding", list(ENCODINGS), key=f"encoding-{round_}",
        help="Waypoint reads UTF-8 and Windows-1252 files by itself. Choose the encoding your system exports in "
             "if Waypoint asks for it, or if names in the first rows below show the wrong characters.")
    return ENCODINGS[label], DATE_LAYOUTS[dates]


def _full_mapping(mapping: dict[str, str | None] | None, encoding: str | None,
                  date_format: str | None = None) -> dict[str, Any] | None:
    """The columns chosen on the page, the encoding and the date layout, as ``ingest`` takes a mapping."""
    if encoding is None and date_format is None:
        return mapping or None
    full: dict[str, Any] = {"columns": dict(mapping or {})}
    if encoding is not None:
        full["file"] = {"encoding": encoding}
    if date_format is not None:
        full["dates"] = {"format": date_format}
    return full


@st.cache_data(show_spinner="Reading the file(s)…", max_entries=4)
def _preview(uploads: tuple[tuple[str, bytes], ...], mapping: tuple | None, encoding: str | None = None,
             version: Any = None, date_format: str | None = None) -> Any:
    """The checks of the uploads against the database as it is (``version``: a preview made before
    an import or an undo is not shown after it)."""
    return data.preview_uploads(list(uploads), _full_mapping(dict(mapping) if mapping else None, encoding, date_format))


def _mapping_editor(detected: dict[str, str | None], headers: list[str], key: str) -> dict[str, str | None]:
    """The detected column for each Waypoint field, editable (a header of the file, or none)."""
    frame = pd.DataFrame({"Waypoint field": list(detected), "Column in your file": [detected[k] for k in detected]})
    edited = st.data_editor(
        frame, key=key, hide_index=True, disabled=["Waypoint field"], num_rows="fixed",
        column_config={
            "Waypoint field": st.column_config.TextColumn(help="What Waypoint needs to know"),
            "Column in your file": st.column_config.SelectboxColumn(
                options=headers, help="The column that holds it; leave empty when your export has none."),
        },
    )
    return {f: (None if ui.is_missing(c) or c == "" else str(c))
            for f, c in zip(edited["Waypoint field"], edited["Column in your file"])}


def _report(preview: Any) -> tuple[int, pd.DataFrame]:
    """Show the validation counts and the rejected rows; returns (rows to import, rejected rows)."""
    report = getattr(preview, "report", preview)
    counts: dict[str, Any] = dict(getattr(report, "counts", None) or report.get("counts", {}))
    rejected = getattr(report, "rejected", None)
    if rejected is None and isinstance(report, dict):
        rejected = report.get("rejected")
    rejected = rejected if isinstance(rejected, pd.DataFrame) else pd.DataFrame()
    labels = {"rows_read": "Rows read", "new_rows": "New", "updated_rows": "Changed", "unchanged": "Unchanged",
              "duplicates": "Duplicates", "rejected": "Rejected"}
    shown = [(labels.get(k, k.replace("_", " ").capitalize()), v) for k, v in counts.items() if isinstance(v, (int, float))]
    if shown:
        for col, (label, value) in zip(st.columns(len(shown)), shown):
            col.metric(label, ui.count(value))
    if len(rejected):
        st.warning(f"{len(rejected):,} row(s) will not be imported. Each has its reasons below; download them, "
                   "fix them in your system or the file, and upload again.", icon=":material/warning:")
        ui.table(rejected, "rejected rows", key="rejected", height=min(400, 38 + 35 * len(rejected)))
    else:
        st.success("Every row passed validation.", icon=":material/check_circle:")
    to_import = int(counts.get("new_rows", 0) or 0) + int(counts.get("updated_rows", 0) or 0)
    return to_import, rejected


def flow(*, imported_by: str = "dashboard") -> None:
    """Upload, check, confirm, import."""
    if msg := st.session_state.pop("flash", None):
        if st.session_state.pop("flash-warn", False):   # rows set aside, or notes to read
            st.warning(flash_text(msg), icon=":material/warning:")
        else:
            st.success(flash_text(msg), icon=":material/check_circle:")
    uploads = _uploads()
    if not uploads:
        return
    round_ = st.session_state[UPLOADER_KEY]
    mapping_key = f"mapping-{round_}"
    # column matches belong to the files they were made for: another set of files starts afresh
    files = tuple(name for name, _ in uploads)
    if st.session_state.get(f"{mapping_key}-files") != files:
        st.session_state.pop(mapping_key, None)
        st.session_state.pop(f"mapping-editor-{round_}", None)
        st.session_state[f"{mapping_key}-files"] = files
    mapping = st.session_state.get(mapping_key)
    encoding, date_format = _encoding_choice(round_)
    try:
        preview = _preview(tuple(uploads), tuple(sorted(mapping.items())) if mapping else None, encoding,
                           data.data_version(), date_format)
    except WaypointError as exc:
        st.error(ui.md(exc), icon=":material/error:")
        if "[file] encoding" in str(exc):
            st.info("Here, choose the file's encoding in the **Text encoding** list above instead of writing a "
                    "mapping file.", icon=":material/translate:")
        if "[dates] format" in str(exc):
            st.info("Here, choose the layout in the **Date layout** list above instead of writing a mapping "
                    "file.", icon=":material/calendar_month:")
        return

    st.subheader("1 · Columns found")
    st.caption("Waypoint matched your file's columns to what it needs. Change a match if it is wrong; "
               "the preview and the checks below follow.")
    detected = dict(getattr(preview, "mapping", {}) or {})
    headers = list(getattr(preview, "headers", []) or [])
    if not headers and getattr(preview, "head", None) is not None:
        headers = [str(c) for c in preview.head.columns]
    edited = _mapping_editor(detected, headers, key=f"mapping-editor-{round_}")
    if edited != detected and edited != mapping:
        st.session_state[mapping_key] = edited
        st.rerun()
    head = getattr(preview, "head", None)
    if isinstance(head, pd.DataFrame) and len(head):
        read_as = {ENCODING_NAMES.get(r.encoding, r.encoding) for r in getattr(preview, "results", [])
                   if r.encoding not in ("utf-8", "utf-8-sig")}
        if encoding is None and read_as:
            st.caption(f"Your file is not UTF-8, so Waypoint read it as {' and '.join(sorted(read_as))}: check "
                       "that names with accents look right below; if they do not, choose the file's encoding "
                       "in the Text encoding list above.")
        for result in getattr(preview, "results", []):
            for note in getattr(result, "notes", ()):
                st.warning(ui.md(f"{result.file_name}: {note}"), icon=":material/spellcheck:")
            if getattr(result, "ignored_columns", ()):
                st.warning(ui.md(f"{result.file_name}: columns not used: {', '.join(result.ignored_columns)}. If one "
                                 "holds a score or a field Waypoint needs, match it in the table above (a scale's "
                                 "column can be named in a mapping file: see Your export in the README)."),
                           icon=":material/view_column:")
        st.caption("The first rows of your file:")
        st.dataframe(head, hide_index=True, height=min(250, 38 + 35 * len(head)))

    st.subheader("2 · Checks")
    if len(uploads) > 1:
        st.caption("The files are checked in the order listed, each after the ones before it, as the import "
                   "will do: a row that two of them share is new in the first and unchanged in the next.")
    to_import, _ = _report(preview)

    st.subheader("3 · Import")
    names = ", ".join(name for name, _ in uploads)
    if st.button(f"Import {to_import:,} row(s) from {names}", type="primary", key=f"confirm-{round_}",
                 disabled=to_import == 0, icon=":material/download_done:"):
        with st.spinner("Importing…"):
            try:
                results = data.import_uploads(uploads, mapping=_full_mapping(mapping, encoding, date_format),
                                              imported_by=imported_by)
            except WaypointError as exc:
                st.error(ui.md(exc), icon=":material/error:")
                return
        st.session_state["flash"] = "\n".join(r.summary() for r in results)
        st.session_state["flash-warn"] = any(r.rejected or r.notes for r in results)
        st.session_state[UPLOADER_KEY] = round_ + 1
        st.rerun()
    if to_import == 0:
        st.caption("Nothing new to import.")
