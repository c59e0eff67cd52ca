-- Waypoint canonical schema. A new database is created from this file and stamped with the
-- latest version; an older database is brought up to date by sql/migrations/NNN_*.sql in order.
-- Kept to portable types (VARCHAR, INTEGER, DATE, TIME, TIMESTAMP) so the same tables can be
-- exported to Parquet and read by Spark.

CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER NOT NULL,
    applied_at  TIMESTAMP NOT NULL
);

-- Settings that change stored data (e.g. the episode gap the episodes were derived with).
CREATE TABLE IF NOT EXISTS meta (
    key    VARCHAR PRIMARY KEY,
    value  VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS clinicians (
    clinician_id  VARCHAR PRIMARY KEY
);

CREATE TABLE IF NOT EXISTS patients (
    patient_id    VARCHAR PRIMARY KEY
);

-- sessions, measurements and item_scores: each key occurs once, kept so by the import (it
-- classifies every row against the stored ones by key and checks before it commits), not by a
-- primary-key index, whose entries DuckDB holds in memory until an import commits (migration 004).

-- One row per scheduled appointment, keyed by (patient, clinician, date, time if given).
CREATE TABLE IF NOT EXISTS sessions (
    session_key        VARCHAR NOT NULL,
    patient_id         VARCHAR NOT NULL,
    clinician_id       VARCHAR NOT NULL,
    session_date       DATE NOT NULL,
    session_time       TIME,
    status             VARCHAR NOT NULL,  -- attended | no_show | late_cancel | cancelled | scheduled
    source_episode_id  VARCHAR,           -- episode_id as given by the export, if any
    session_type       VARCHAR,           -- e.g. assessment | treatment (free text from the export)
    modality           VARCHAR,
    site               VARCHAR,
    referral_date      DATE,
    discharge_reason   VARCHAR,           -- planned | dropout | transferred | other
    episode_id         VARCHAR,           -- assigned: source_episode_id, or derived by the gap rule
    row_hash           VARCHAR NOT NULL,  -- hash of the canonical values, to spot changes on re-import
    batch_id           INTEGER NOT NULL   -- the import that last wrote this row
);

-- Episodes of care, rebuilt from sessions after every import (analytics/episodes.py).
CREATE TABLE IF NOT EXISTS episodes (
    episode_id    VARCHAR PRIMARY KEY,
    patient_id    VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,       -- export | derived
    start_date    DATE NOT NULL,
    last_date     DATE NOT NULL
);

-- One row per scale score. From a wide session log the score belongs to a session; from a long
-- measurement file it has a patient and a date (session_key may then be NULL).
CREATE TABLE IF NOT EXISTS measurements (
    measurement_key  VARCHAR NOT NULL,     -- session_key|scale, or patient_id|date|scale
    session_key      VARCHAR,
    patient_id       VARCHAR NOT NULL,
    measure_date     DATE NOT NULL,
    scale            VARCHAR NOT NULL,     -- registry id: phq9, gad7, ...
    score            INTEGER NOT NULL,
    batch_id         INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS item_scores (
    measurement_key  VARCHAR NOT NULL,
    item             INTEGER NOT NULL,     -- 1-based item number
    score            INTEGER NOT NULL,
    batch_id         INTEGER NOT NULL      -- key: (measurement_key, item)
);

-- The import log.
CREATE TABLE IF NOT EXISTS imports (
    batch_id      INTEGER PRIMARY KEY,
    file_name     VARCHAR NOT NULL,
    sha256        VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,        -- sessions | measurements
    rows_read     INTEGER NOT NULL,
    new_rows      INTEGER NOT NULL,
    updated_rows  INTEGER NOT NULL,
    duplicates    INTEGER NOT NULL,
    unchanged     INTEGER NOT NULL,
    rejected      INTEGER NOT NULL,
    imported_by   VARCHAR NOT NULL,
    imported_at   TIMESTAMP NOT NULL,
    undone_at     TIMESTAMP
);

CREATE TABLE IF NOT EXISTS rejected_rows (
    batch_id     INTEGER NOT NULL,
    line_number  INTEGER NOT NULL,
    raw_row      VARCHAR NOT NULL,
    reasons      VARCHAR NOT NULL           -- every reason, joined by "; "
);

-- What each import replaced, so that `waypoint undo-import BATCH` can put it back: the earlier
-- version of every row that batch `replaced_by` updated (new rows need no copy: undo deletes them).
CREATE TABLE IF NOT EXISTS replaced_sessions (
    replaced_by        INTEGER NOT NULL,
    session_key        VARCHAR NOT NULL,
    patient_id         VARCHAR NOT NULL,
    clinician_id       VARCHAR NOT NULL,
    session_date       DATE NOT NULL,
    session_time       TIME,
    status             VARCHAR NOT NULL,
    source_episode_id  VARCHAR,
    session_type       VARCHAR,
    modality           VARCHAR,
    site               VARCHAR,
    referral_date      DATE,
    discharge_reason   VARCHAR,
    episode_id         VARCHAR,
    row_hash           VARCHAR NOT NULL,
    batch_id           INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS replaced_measurements (
    replaced_by      INTEGER NOT NULL,
    measurement_key  VARCHAR NOT NULL,
    session_key      VARCHAR,
    patient_id       VARCHAR NOT NULL,
    measure_date     DATE NOT NULL,
    scale            VARCHAR NOT NULL,
    score            INTEGER NOT NULL,
    batch_id         INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS replaced_item_scores (
    replaced_by      INTEGER NOT NULL,
    measurement_key  VARCHAR NOT NULL,
    item             INTEGER NOT NULL,
    score            INTEGER NOT NULL,
    batch_id         INTEGER NOT NULL
);

-- The audit log (migration 003; analytics/audit.py): rows are only ever added.
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id    BIGINT PRIMARY KEY,           -- 1, 2, 3, ... in the order written
    logged_at   TIMESTAMP NOT NULL,
    user_id     VARCHAR NOT NULL,
    role        VARCHAR,
    action      VARCHAR NOT NULL,
    patient_id  VARCHAR,
    batch_id    INTEGER,
    detail      VARCHAR
);
