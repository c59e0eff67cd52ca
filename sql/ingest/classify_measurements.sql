-- Decide what happens to each checked row of a long measurement file, keyed by
-- (patient, date, scale): rejected (invalid, or a conflict with another row of the same key and a
-- different score), duplicate, or new / updated / unchanged against the measurements stored.
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
            ELSE [] END AS reasons,
       CASE WHEN len(k.reasons) > 0 OR v.versions > 1 THEN 'rejected'
            WHEN k.line > v.first_line THEN 'duplicate'
            WHEN old.measurement_key IS NULL THEN 'new'
            WHEN old.score = k.score THEN 'unchanged'
            ELSE 'updated' END AS outcome
FROM keyed k
LEFT JOIN valid v ON v.measurement_key = k.measurement_key AND len(k.reasons) = 0
LEFT JOIN conflicts c ON c.measurement_key = k.measurement_key AND len(k.reasons) = 0
LEFT JOIN measurements old ON old.measurement_key = k.measurement_key AND len(k.reasons) = 0 AND v.versions = 1
