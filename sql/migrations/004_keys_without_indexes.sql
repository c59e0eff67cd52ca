-- Version 4: sessions, measurements and item_scores keep their keys unique without a primary-key
-- index. An import is one transaction, and DuckDB keeps a primary-key index's new entries in
-- memory until the transaction commits (they cannot spill to disk), so memory grew with the file:
-- 12.8 GB to import ten million sessions, and an import under a memory limit failed. Without the
-- indexes an import runs under the same memory limit as the figures, and 30 % faster.
--
-- The import keeps each key unique itself: every row of a file is classified against the stored
-- rows by its key (new, updated, unchanged; a repeat in the file is a duplicate or a conflict),
-- an update deletes the version it replaces before inserting the new one, writes take turns, and
-- before it commits the import checks that no key it wrote occurs twice
-- (sql/ingest/check_unique_keys.sql), rolling back if one does.
CREATE TABLE sessions_v4 (
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
INSERT INTO sessions_v4
SELECT session_key, patient_id, clinician_id, session_date, session_time, status, source_episode_id,
       session_type, modality, site, referral_date, discharge_reason, episode_id, row_hash, batch_id
FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v4 RENAME TO sessions;

CREATE TABLE measurements_v4 (
    measurement_key  VARCHAR NOT NULL,
    session_key      VARCHAR,
    patient_id       VARCHAR NOT NULL,
    measure_date     DATE NOT NULL,
    scale            VARCHAR NOT NULL,
    score            INTEGER NOT NULL,
    batch_id         INTEGER NOT NULL
);
INSERT INTO measurements_v4
SELECT measurement_key, session_key, patient_id, measure_date, scale, score, batch_id FROM measurements;
DROP TABLE measurements;
ALTER TABLE measurements_v4 RENAME TO measurements;

CREATE TABLE item_scores_v4 (
    measurement_key  VARCHAR NOT NULL,
    item             INTEGER NOT NULL,
    score            INTEGER NOT NULL,
    batch_id         INTEGER NOT NULL
);
INSERT INTO item_scores_v4 SELECT measurement_key, item, score, batch_id FROM item_scores;
DROP TABLE item_scores;
ALTER TABLE item_scores_v4 RENAME TO item_scores;
