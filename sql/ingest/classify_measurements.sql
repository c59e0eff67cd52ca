-- Decide what happens to each checked row of a long measurement file, keyed by
-- (patient, date, scale): rejected (invalid, or a conflict with another row of the same key and a
-- different score), duplicate, or new / updated / unchanged against the measurements stored.
WITH keyed AS (
    SELECT line, reasons, patient_id, measure_date, scale, score,
           patient_id || '|' || strftime(measure_date, '%Y-%m-%d') || '|' || scale AS measurement_key
    FROM _in_long
),
valid AS (
    SELECT line, measurement_key, score,
           count(DISTINCT score) OVER (PARTITION BY measurement_key) AS versions,
           list(line) OVER (PARTITION BY measurement_key) AS same_key_lines,
           row_number() OVER (PARTITION BY measurement_key ORDER BY line) AS copy
    FROM keyed
    WHERE len(reasons) = 0
)
SELECT k.line, k.measurement_key AS session_key, CAST(k.score AS VARCHAR) AS row_hash,
       CASE WHEN len(k.reasons) > 0 THEN k.reasons
            WHEN v.versions > 1
            THEN ['conflicts with line ' || array_to_string(list_filter(v.same_key_lines, lambda x: x <> k.line), ', ')
                  || ': same patient, date and measure but a different score']
            ELSE [] END AS reasons,
       CASE WHEN len(k.reasons) > 0 OR v.versions > 1 THEN 'rejected'
            WHEN v.copy > 1 THEN 'duplicate'
            WHEN old.measurement_key IS NULL THEN 'new'
            WHEN old.score = k.score THEN 'unchanged'
            ELSE 'updated' END AS outcome
FROM keyed k
LEFT JOIN valid v USING (line)
LEFT JOIN measurements old ON old.measurement_key = k.measurement_key AND v.versions = 1
