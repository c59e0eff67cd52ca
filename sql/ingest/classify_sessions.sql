-- Decide what happens to each checked row of a session log: rejected (any invalid field, or a
-- conflict: another row of the file with the same session key and different values), duplicate
-- (an exact copy of an earlier row of the file), or new / updated / unchanged against the
-- sessions already in the database. The key is (patient, clinician, date, time if given); the
-- hash covers every canonical value and score, so a changed score is an update.
WITH score_agg AS (
    -- order-independent digest of a row's valid scores (cheaper than an ordered string_agg)
    SELECT line,
           list_sort(list(reason) FILTER (WHERE reason IS NOT NULL)) AS score_reasons,
           CAST(bit_xor(md5_number_lower(scale || ':' || item || '=' || score)) FILTER (WHERE reason IS NULL)
                AS VARCHAR) AS score_text
    FROM _in_scores
    GROUP BY line
),
keyed AS MATERIALIZED (
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
    SELECT session_key, CASE WHEN min(row_hash) = max(row_hash) THEN 1 ELSE 2 END AS versions, min(line) AS first_line
    FROM keyed
    WHERE len(reasons) = 0
    GROUP BY session_key
),
conflicts AS (
    SELECT k.session_key, list(k.line ORDER BY k.line) AS lines
    FROM keyed k JOIN valid v USING (session_key)
    WHERE v.versions > 1 AND len(k.reasons) = 0
    GROUP BY k.session_key
)
SELECT k.line, k.session_key, k.row_hash,
       CASE WHEN len(k.reasons) > 0 THEN k.reasons
            WHEN v.versions > 1
            THEN ['conflicts with line ' || array_to_string(list_filter(c.lines, lambda x: x <> k.line), ', ')
                  || ': same patient, clinician, date and time but different values']
            ELSE [] END AS reasons,
       CASE WHEN len(k.reasons) > 0 OR v.versions > 1 THEN 'rejected'
            WHEN k.line > v.first_line THEN 'duplicate'
            WHEN old.session_key IS NULL THEN 'new'
            WHEN old.row_hash = k.row_hash THEN 'unchanged'
            ELSE 'updated' END AS outcome
FROM keyed k
LEFT JOIN valid v ON v.session_key = k.session_key AND len(k.reasons) = 0
LEFT JOIN conflicts c ON c.session_key = k.session_key AND len(k.reasons) = 0
LEFT JOIN sessions old ON old.session_key = k.session_key AND len(k.reasons) = 0 AND v.versions = 1
