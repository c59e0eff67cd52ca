-- Scores already stored for the sessions of a wide session log in score columns the file does not
-- have (_in_file_columns lists those it has: scale, item; item 0 is the total). An export without
-- a GAD-7 column says nothing about GAD-7: the stored GAD-7 scores stay, and count in the row's
-- hash as if the file had repeated them, so the row is unchanged when nothing else changed.
-- (Blank cells in a column the file has are different: they say there is no score.)
-- One row per checked line and carried score; empty when every stored score is in the file's columns.
WITH stored AS (
    SELECT session_key, scale, 0 AS item, score
    FROM measurements
    WHERE session_key IS NOT NULL
    UNION ALL
    SELECT left(measurement_key, length(measurement_key) - length(scale) - 1) AS session_key, scale, item, score
    FROM (SELECT measurement_key, list_last(string_split(measurement_key, '|')) AS scale, item, score
          FROM item_scores) i
),
outside AS (
    SELECT st.* FROM stored st
    WHERE NOT EXISTS (SELECT 1 FROM _in_file_columns f WHERE f.scale = st.scale AND f.item = st.item)
)
SELECT s.line, o.scale, o.item, o.score
FROM _in_sessions s
JOIN outside o ON o.session_key = s.session_key
WHERE len(s.reasons) = 0
