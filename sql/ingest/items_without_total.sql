-- Rows of a checked session log that give item scores of a scale but no total of it (a valid
-- total neither in the row nor, when the file has no total column for the scale, stored for that
-- session): PHQ-9 item 9 asked on its own as a risk screen, or a questionnaire left incomplete.
-- The item scores are written all the same; a risk item among them counts for safety
-- (sql/readiness/risk_items.sql). One row per scale: how many such rows, and the first line.
-- Inputs: _in_scores (check_scores.sql), _in_checked (classify_sessions.sql), _in_file_columns.
WITH itemised AS (
    -- (line, scale) with a valid item score and no valid total, among the scales with item columns
    SELECT line, scale
    FROM _in_scores
    WHERE reason IS NULL AND scale IN (SELECT scale FROM _in_file_columns WHERE item > 0)
    GROUP BY line, scale
    HAVING max(CASE WHEN item = 0 THEN 1 ELSE 0 END) = 0 AND max(item) > 0
)
SELECT i.scale, count(*) AS n_rows, min(i.line) AS first_line
FROM itemised i
JOIN _in_checked k ON k.line = i.line AND k.outcome IN ('new', 'updated', 'unchanged')
WHERE i.scale IN (SELECT scale FROM _in_file_columns WHERE item = 0)
   OR NOT EXISTS (SELECT 1 FROM measurements m WHERE m.measurement_key = k.session_key || '|' || i.scale)
GROUP BY i.scale
ORDER BY i.scale
