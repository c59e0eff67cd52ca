-- Decide what happens to each checked row of a session log: rejected (any invalid field, or a
-- conflict: another row of the file with the same session key and different values), duplicate
-- (an exact copy of an earlier row of the file), or new / updated / unchanged against the
-- sessions already in the database. The key is (patient, clinician, date, time if given); the
-- hash covers every canonical value and score, so a changed score is an update.
WITH score_agg AS (
    SELECT line,
           list(reason ORDER BY scale, item) FILTER (WHERE reason IS NOT NULL) AS score_reasons,
           string_agg(scale || ':' || item || '=' || score, ',' ORDER BY scale, item)
               FILTER (WHERE reason IS NULL) AS score_text
    FROM _in_scores
    GROUP BY line
),
keyed AS (
    SELECT s.line,
           list_concat(s.reasons, coalesce(a.score_reasons, [])) AS reasons,
           s.patient_id || '|' || s.clinician_id || '|' || strftime(s.session_date, '%Y-%m-%d') || '|'
               || coalesce(substr(CAST(s.session_time AS VARCHAR), 1, 5), '') AS session_key,
           md5(CAST([s.status, s.episode_id, s.session_type, s.modality, s.site,
                     CAST(s.referral_date AS VARCHAR), s.discharge_reason, a.score_text] AS VARCHAR)) AS row_hash
    FROM _in_sessions s
    LEFT JOIN score_agg a USING (line)
),
valid AS (
    SELECT line, session_key, row_hash,
           count(DISTINCT row_hash) OVER (PARTITION BY session_key) AS versions,
           list(line) OVER (PARTITION BY session_key) AS same_key_lines,
           row_number() OVER (PARTITION BY session_key ORDER BY line) AS copy
    FROM keyed
    WHERE len(reasons) = 0
)
SELECT k.line, k.session_key, k.row_hash,
       CASE WHEN len(k.reasons) > 0 THEN k.reasons
            WHEN v.versions > 1
            THEN ['conflicts with line ' || array_to_string(list_filter(v.same_key_lines, lambda x: x <> k.line), ', ')
                  || ': same patient, clinician, date and time but different values']
            ELSE [] END AS reasons,
       CASE WHEN len(k.reasons) > 0 OR v.versions > 1 THEN 'rejected'
            WHEN v.copy > 1 THEN 'duplicate'
            WHEN old.session_key IS NULL THEN 'new'
            WHEN old.row_hash = k.row_hash THEN 'unchanged'
            ELSE 'updated' END AS outcome
FROM keyed k
LEFT JOIN valid v USING (line)
LEFT JOIN sessions old ON old.session_key = k.session_key AND v.versions = 1
