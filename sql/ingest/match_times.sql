-- Sessions stored with a time that a later export gives without one, and the reverse. The key of
-- a session is (patient, clinician, date, time if given), so without this an export that drops or
-- adds the time column would store every session a second time.
-- Candidates: valid rows of the file whose key matches no stored session, paired with the stored
-- sessions of the same patient, clinician and date whose time is given where the row's is not
-- (or the reverse). A pair counts when neither side has another partner.
--   * the row has no time, the stored session has one: the row is that session (a file without a
--     time says nothing about it, as for a score column the file lacks): it takes the stored time
--     and key, and is compared with it as usual.
--   * the row has a time, the stored session none: set aside with what to do (matching it would
--     change the stored session's key, which `waypoint undo-import` could not take back) -- unless
--     the time was written in the date ("2025-01-06 10:00"), which earlier versions did not read:
--     then the row is the stored session, as before, and keeps no time.
CREATE OR REPLACE TEMP TABLE _in_time_matches AS
WITH file_rows AS (
    SELECT line, patient_id, clinician_id, session_date, session_time, session_key, time_from_date
    FROM _in_sessions WHERE len(reasons) = 0
),
opposite AS (
    -- each side filtered by whether its time is given before the join, so that a file and a
    -- database that agree (the usual case) join nothing
    SELECT f.line, f.session_key, f.session_time AS file_time, f.time_from_date, o.session_key AS stored_key,
           o.session_time AS stored_time, o.batch_id
    FROM (SELECT * FROM file_rows WHERE session_time IS NULL) f
    JOIN (SELECT * FROM sessions WHERE session_time IS NOT NULL) o
      ON o.patient_id = f.patient_id AND o.clinician_id = f.clinician_id AND o.session_date = f.session_date
    UNION ALL
    SELECT f.line, f.session_key, f.session_time, f.time_from_date, o.session_key, o.session_time, o.batch_id
    FROM (SELECT * FROM file_rows WHERE session_time IS NOT NULL) f
    JOIN (SELECT * FROM sessions WHERE session_time IS NULL) o
      ON o.patient_id = f.patient_id AND o.clinician_id = f.clinician_id AND o.session_date = f.session_date
),
pairs AS (
    SELECT p.line, p.file_time, p.time_from_date, p.stored_key, p.stored_time, p.batch_id
    FROM opposite p
    WHERE NOT EXISTS (SELECT 1 FROM sessions o WHERE o.session_key = p.session_key)       -- the row's own key is new
      AND p.stored_key NOT IN (SELECT session_key FROM _in_sessions WHERE session_key IS NOT NULL)  -- nor another row's
)
SELECT p.*, count(*) OVER (PARTITION BY p.line) AS partners_of_row,
       count(*) OVER (PARTITION BY p.stored_key) AS partners_of_stored
FROM pairs p;

UPDATE _in_sessions
SET session_time = m.stored_time, session_key = m.stored_key
FROM _in_time_matches m
WHERE _in_sessions.line = m.line AND (m.file_time IS NULL OR m.time_from_date)
  AND m.partners_of_row = 1 AND m.partners_of_stored = 1;

-- a row without a time on a day with several stored sessions: which one it is cannot be told
UPDATE _in_sessions
SET reasons = list_append(_in_sessions.reasons,
    'no session time, and ' || a.n || ' sessions are stored for this patient, clinician and day (at '
    || a.times || '): which one this is cannot be told. Give the time')
FROM (SELECT line, count(*) AS n,
             string_agg(substr(CAST(stored_time AS VARCHAR), 1, 5), ', ' ORDER BY stored_time) AS times
      FROM _in_time_matches WHERE file_time IS NULL GROUP BY line HAVING count(*) > 1) a
WHERE _in_sessions.line = a.line;

UPDATE _in_sessions
SET reasons = list_append(_in_sessions.reasons,
    'this session is stored without a time (batch ' || m.batch_id || '), and this file gives '
    || substr(CAST(m.file_time AS VARCHAR), 1, 5) || ': a file that adds times cannot be matched to it. '
    || 'Undo batch ' || m.batch_id || ' and import this file again, or leave the time column out')
FROM _in_time_matches m
WHERE _in_sessions.line = m.line AND m.file_time IS NOT NULL AND NOT m.time_from_date AND m.partners_of_stored = 1;

DROP TABLE _in_time_matches;
