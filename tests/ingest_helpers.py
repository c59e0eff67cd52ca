"""Small helpers for the import tests: write a CSV, import it, read back what landed."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from analytics.db import connect
from analytics.ingest import ingest_files

TODAY = date(2025, 6, 30)
HEADER = "patient_id,clinician_id,session_date,status,phq9,gad7"


def csv_file(folder: Path, text: str, name: str = "export.csv", encoding: str = "utf-8",
             newline: str = "\n") -> Path:
    path = folder / name
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def ingest(con, path, **kw):
    kw.setdefault("today", TODAY)
    return ingest_files(con, [path], **kw)[0]


def fresh():
    return connect(":memory:")


def sessions(con) -> list[tuple]:
    return con.execute(
        "SELECT patient_id, clinician_id, CAST(session_date AS VARCHAR), status FROM sessions ORDER BY session_key"
    ).fetchall()


def scores(con) -> list[tuple]:
    return con.execute(
        "SELECT patient_id, CAST(measure_date AS VARCHAR), scale, score FROM measurements ORDER BY measurement_key"
    ).fetchall()


def rejects(con, batch: int) -> list[tuple]:
    return con.execute(
        "SELECT line_number, reasons FROM rejected_rows WHERE batch_id = ? ORDER BY line_number", [batch]
    ).fetchall()


def snapshot(con) -> dict[str, list[tuple]]:
    """Every canonical table's rows, to compare a database before and after."""
    out = {}
    for table in ("patients", "clinicians", "sessions", "episodes", "measurements", "item_scores"):
        out[table] = sorted(map(tuple, con.execute(f"SELECT * FROM {table}").fetchall()), key=repr)
    return out
