"""Data: import CSV exports (checked before anything is written), the import history, and undo."""
import streamlit as st

from analytics.errors import WaypointError
from dashboard import data, importer, ui

st.title("Data")
st.caption("Import your practice-management system's session exports. Re-importing a file is safe: "
           "unchanged rows are skipped, changed rows are updated, and any import can be undone.")

with st.container(border=True):
    st.subheader("Import an export")
    importer.sample_link()
    importer.flow()

st.subheader("Import history")
history = data.list_imports()
if history.empty:
    st.caption("Nothing imported yet.")
else:
    LABELS = {"batch_id": "Import", "file_name": "File", "sha256": "File fingerprint (SHA-256)", "kind": "Kind",
              "rows_read": "Rows read", "new_rows": "New", "updated_rows": "Changed", "unchanged": "Unchanged",
              "duplicates": "Duplicates", "rejected": "Rejected", "imported_by": "Imported by",
              "imported_at": "Imported at", "undone_at": "Undone at"}
    history = history.sort_values("batch_id", ascending=False, kind="stable")   # the latest first
    ui.table(history, "import history", key="imports",
             column_config={c: st.column_config.Column(label) for c, label in LABELS.items() if c in history})
    undoable = history[history["undone_at"].isna()] if "undone_at" in history else history
    if len(undoable):
        with st.expander("Undo an import"):
            st.caption("Undo takes back exactly what one import added or changed: rows it added are removed "
                       "and rows it changed get their previous values back.")
            batch = st.selectbox(
                "Import to undo", list(undoable["batch_id"]), key="undo-batch",
                format_func=lambda b: " · ".join(
                    str(v) for v in undoable.loc[undoable["batch_id"] == b, ["batch_id", "file_name", "imported_at"]]
                    .iloc[0].tolist()),
            )
            sure = st.checkbox("I understand this changes the figures on every page", key="undo-sure")
            chosen = undoable.loc[undoable["batch_id"] == batch].iloc[0]
            if st.button(f"Undo import {int(batch)} ({chosen['file_name']}: {int(chosen['new_rows']):,} new, "
                         f"{int(chosen['updated_rows']):,} changed row(s))", disabled=not sure, key="undo-go",
                         icon=":material/undo:"):
                try:
                    st.session_state["flash"] = data.undo_import(int(batch))
                except WaypointError as exc:
                    st.error(ui.md(exc))
                else:
                    for key in ("undo-sure", "undo-batch"):      # not left armed for a second click
                        st.session_state.pop(key, None)
                    st.rerun()
