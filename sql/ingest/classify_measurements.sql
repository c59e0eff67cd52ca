-- Decide what happens to each checked row of a long measurement file, keyed by
-- (patient, date, scale): rejected (invalid, or a conflict with another row of the same key and a
-- different score), duplicate, or new / updated / unchanged against the measurements stored.
-- A score a session log already holds for that patient, date and scale is not stored twice: the
-- same score is unchanged; a different one is set aside (the session log's stands).
-- Keys given twice are first looked for by a number hashed from the key, as in
-- classify_sessions.sql: only the few hashes seen on more than one row are grouped by the key
-- itself, which decides.
WITH keyed AS MATERIALIZED (
    -- reasons: NULL for a valid row; key_hash: only within this query
    SELECT *, hash(measurement_key) AS key_hash
    FROM (SELECT line, CASE WHEN len(reasons) > 0 THEN reasons END AS reasons, patient_id, measure_date, scale,
                 score, patient_id || '|' || strftime(measure_date, '%Y-%m-%d') || '|' || scale AS measurement_key
          FROM _in_long) AS l
),
shared_hashes AS (
    -- hashes of more than one valid row: keys given twice, and any two keys that share a hash
    SELECT key_hash FROM keyed WHERE reasons IS NULL GROUP BY key_hash HAVING count(*) > 1
),
repeated AS (
    -- by the key itself, the valid rows of those hashes: how many scores, the first line, the lines
    SELECT k.measurement_key, count(DISTINCT k.score) AS versions, min(k.line) AS first_line,
           list(k.line ORDER BY k.line) AS lines
    FROM keyed k JOIN shared_hashes h USING (key_hash)
    WHERE k.reasons IS NULL
    GROUP BY k.measurement_key
),
from_log AS (
    -- scores of session logs (session_key given) on the patients, dates and scales of the file
    SELECT m.patient_id, m.measure_date, m.scale, min(m.score) AS low, max(m.score) AS high,
           min(m.batch_id) AS batch_id
    FROM measurements m
    WHERE m.session_key IS NOT NULL
      AND m.patient_id IN (SELECT patient_id FROM keyed)
    GROUP BY m.patient_id, m.measure_date, m.scale
)
SELECT k.line, k.measurement_key AS session_key, CAST(k.score AS VARCHAR) AS row_hash,
       CASE WHEN k.reasons IS NOT NULL THEN k.reasons
            WHEN r.versions > 1
            THEN ['conflicts with line ' || array_to_string(list_filter(r.lines, lambda x: x <> k.line), ', ')
                  || ': same patient, date and measure but a different score']
            WHEN g.low IS NOT NULL AND (g.low <> k.score OR g.high <> k.score)
            THEN ['a session log already holds ' || g.scale || ' ' || CAST(g.low AS VARCHAR)
                  || CASE WHEN g.high <> g.low THEN '–' || CAST(g.high AS VARCHAR) ELSE '' END
                  || ' for this patient on this date (batch ' || g.batch_id
                  || '); correct the score there, or in this file']
            ELSE [] END AS reasons,
       CASE WHEN k.reasons IS NOT NULL OR r.versions > 1 THEN 'rejected'
            WHEN g.low IS NOT NULL AND (g.low <> k.score OR g.high <> k.score) THEN 'rejected'
            WHEN k.line > r.first_line THEN 'duplicate'
            WHEN g.low IS NOT NULL THEN 'unchanged'
            WHEN old.measurement_key IS NULL THEN 'new'
            WHEN old.score = k.score THEN 'unchanged'
            ELSE 'updated' END AS outcome
FROM keyed k
LEFT JOIN repeated r ON r.measurement_key = k.measurement_key AND k.reasons IS NULL
LEFT JOIN measurements old ON old.measurement_key = k.measurement_key AND k.reasons IS NULL
                          AND coalesce(r.versions, 1) = 1
LEFT JOIN from_log g ON g.patient_id = k.patient_id AND g.measure_date = k.measure_date AND g.scale = k.scale
                    AND k.reasons IS NULL AND coalesce(r.versions, 1) = 1
