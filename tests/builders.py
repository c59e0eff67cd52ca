"""Tiny hand-built clinics for tests: write canonical rows straight into a fresh database.

    con = clinic([
        S("p1", "2024-01-01", phq9=18, gad7=12),          # attended by default, clinician c1
        S("p1", "2024-01-08", status="no_show"),
        S("p1", "2024-01-15", phq9=11, phq9_items={9: 1}),
    ])

Bypasses CSV import on purpose: these fixtures test the analytics, and the import has its own tests.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

import duckdb

from analytics.db import connect
from analytics.episodes import assign_episodes


def d(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


@dataclass
class S:
    patient_id: str
    session_date: str | date
    status: str = "attended"
    clinician_id: str = "c1"
    session_time: str | None = None
    episode_id: str | None = None
    session_type: str | None = None
    modality: str | None = None
    site: str | None = None
    referral_date: str | None = None
    discharge_reason: str | None = None
    scores: dict[str, int] = field(default_factory=dict)
    items: dict[str, dict[int, int]] = field(default_factory=dict)

    def __init__(self, patient_id, session_date, status="attended", clinician_id="c1", *,
                 session_time=None, episode_id=None, session_type=None, modality=None, site=None,
                 referral_date=None, discharge_reason=None, **scales):
        self.patient_id, self.session_date, self.status = patient_id, session_date, status
        self.clinician_id, self.session_time, self.episode_id = clinician_id, session_time, episode_id
        self.session_type, self.modality, self.site = session_type, modality, site
        self.referral_date, self.discharge_reason = referral_date, discharge_reason
        self.scores, self.items = {}, {}
        for key, value in scales.items():
            if key.endswith("_items"):
                self.items[key[: -len("_items")]] = value
            else:
                self.scores[key] = value

    @property
    def key(self) -> str:
        return "|".join([self.patient_id, self.clinician_id, str(d(self.session_date)), self.session_time or ""])


def clinic(rows: list[S], *, gap_days: int = 180, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    con = con or connect(":memory:")
    for r in rows:
        con.execute("INSERT OR IGNORE INTO patients VALUES (?)", [r.patient_id])
        con.execute("INSERT OR IGNORE INTO clinicians VALUES (?)", [r.clinician_id])
        con.execute(
            """INSERT INTO sessions (session_key, patient_id, clinician_id, session_date, session_time, status,
                   source_episode_id, session_type, modality, site, referral_date, discharge_reason, row_hash, batch_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'test', 0)""",
            [r.key, r.patient_id, r.clinician_id, d(r.session_date),
             time.fromisoformat(r.session_time) if r.session_time else None, r.status, r.episode_id,
             r.session_type, r.modality, r.site, d(r.referral_date) if r.referral_date else None,
             r.discharge_reason],
        )
        for scale, score in r.scores.items():
            mkey = f"{r.key}|{scale}"
            con.execute("INSERT INTO measurements VALUES (?, ?, ?, ?, ?, ?, 0)",
                        [mkey, r.key, r.patient_id, d(r.session_date), scale, score])
            for item, item_score in r.items.get(scale, {}).items():
                con.execute("INSERT INTO item_scores VALUES (?, ?, ?, 0)", [mkey, item, item_score])
    assign_episodes(con, gap_days)
    return con


def two_clinicians(path) -> None:
    """A clinic file for the access tests: p1 seen by c1 only, secret-p2 by c2 only (three PHQ-9
    scores each), written to ``path`` and closed."""
    con = connect(path)
    clinic([
        S("p1", "2024-01-01", clinician_id="c1", phq9=18), S("p1", "2024-01-08", clinician_id="c1", phq9=14),
        S("p1", "2024-01-15", clinician_id="c1", phq9=9),
        S("secret-p2", "2024-01-02", clinician_id="c2", phq9=20), S("secret-p2", "2024-01-09", clinician_id="c2", phq9=19),
        S("secret-p2", "2024-01-16", clinician_id="c2", phq9=17),
    ], con=con)
    con.close()


def demo_clinic(patients: int, clinicians: int, seed: int) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding a synthetic demo clinic (analytics.demo, through the real
    import): for tests that need every readiness category and many episodes, not a hand-built few."""
    from analytics.demo import DemoConfig, build_demo

    con = connect(":memory:")
    build_demo(con, DemoConfig(patients=patients, clinicians=clinicians, seed=seed))
    return con
