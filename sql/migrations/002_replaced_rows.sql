-- Version 2: undo keeps typed copies of the rows an import replaced (replaced_sessions,
-- replaced_measurements, replaced_item_scores) instead of JSON in row_history.
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

DROP TABLE IF EXISTS row_history;
