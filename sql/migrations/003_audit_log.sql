-- Version 3: the audit log (access issue): who viewed which patient, who exported what, who
-- imported or undid which batch, and when. Rows are only ever added (analytics/audit.py).
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id    BIGINT PRIMARY KEY,           -- 1, 2, 3, ... in the order written
    logged_at   TIMESTAMP NOT NULL,          -- UTC
    user_id     VARCHAR NOT NULL,            -- the signed-in identity, 'local-demo', or 'cli:<os user>'
    role        VARCHAR,                     -- admin | director | clinician (NULL: command line)
    action      VARCHAR NOT NULL,            -- view_patient | export | import | undo | refused
    patient_id  VARCHAR,                     -- the patient viewed (view_patient)
    batch_id    INTEGER,                     -- the import batch (import, undo)
    detail      VARCHAR                      -- what was exported, the file imported, ...
);
