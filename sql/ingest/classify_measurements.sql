-- Decide what happens to each checked row of a long measurement file, keyed by
-- (patient, date, scale): rejected (invalid, or a conflict with another row of the same key and a
-- different score), duplicate, or new / updated / unchanged against the measurements stored.
-- A score a session log already holds for that patient, date and scale is not stored twice: the
-- same score is unchanged; a different one is set aside (the session log's stands).
WITH keyed AS (
    SELECT line, reasons, patient_id, measure_date, scale, score,
           patient_id || '|' || strftime(measure_date, '%Y-%m-%d') || '|' || scale AS measurement_key
    FROM _in_long
),
valid AS (
    SELECT measurement_key, count(DISTINCT score) AS versions, min(line) AS first_line
    FROM keyed
    WHERE len(reasons) = 0
    GROUP BY measurement_key
),
from_log AS (
    -- scores of session logs (session_key given) on the patients, dates and scales of the file
    SELECT m.patient_id, m.measure_date, m.scale, min(m.score) AS low, max(m.score) AS high,
           min(m.batch_id) AS batch_id
    FROM measurements m
    WHERE m.session_key IS NOT NULL
      AND m.patient_id IN (SELECT patient_id FROM keyed)
    GROUP BY m.patient_id, m.measure_date, m.scale
),
conflicts AS (
    SELECT k.measurement_key, list(k.line ORDER BY k.line) AS lines
    FROM keyed k JOIN valid v USING (measurement_key)
    WHERE v.versions > 1 AND len(k.reasons) = 0
    GROUP BY k.measurement_key
)
SELECT k.line, k.measurement_key AS session_key, CAST(k.score AS VARCHAR) AS row_hash,
       CASE WHEN len(k.reasons) > 0 THEN k.reasons
            WHEN v.versions > 1
            THEN ['conflicts with line ' || array_to_string(list_filter(c.lines, lambda x: x <> k.line), ', ')
                  || ': same patient, date and measure but a different score']
            WHEN g.low IS NOT NULL AND (g.low <> k.score OR g.high <> k.score)
            THEN ['a session log already holds ' || g.scale || ' ' || CAST(g.low AS VARCHAR)
                  || CASE WHEN g.high <> g.low THEN '–' || CAST(g.high AS VARCHAR) ELSE '' END
                  || ' for this patient on this date (batch ' || g.batch_id
                  || '); correct the score there, or in this file']
            ELSE [] END AS reasons,
       CASE WHEN len(k.reasons) > 0 OR v.versions > 1 THEN 'rejected'
            WHEN g.low IS NOT NULL AND (g.low <> k.score OR g.high <> k.score) THEN 'rejected'
            WHEN k.line > v.first_line THEN 'duplicate'
            WHEN g.low IS NOT NULL THEN 'unchanged'
            WHEN old.measurement_key IS NULL THEN 'new'
            WHEN old.score = k.score THEN 'unchanged'
            ELSE 'updated' END AS outcome
FROM keyed k
LEFT JOIN valid v ON v.measurement_key = k.measurement_key AND len(k.reasons) = 0
LEFT JOIN conflicts c ON c.measurement_key = k.measurement_key AND len(k.reasons) = 0
LEFT JOIN measurements old ON old.measurement_key = k.measurement_key AND len(k.reasons) = 0 AND v.versions = 1
LEFT JOIN from_log g ON g.patient_id = k.patient_id AND g.measure_date = k.measure_date AND g.scale = k.scale
                    AND len(k.reasons) = 0 AND v.versions = 1
