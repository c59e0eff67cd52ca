-- Assign every session to an episode of care (outcomes issue, "Episodes and endings").
-- The export's episode_id when it has one (prefixed with "patient:" when the same id is used by
-- more than one patient); otherwise (as "patient#n") a new episode starts at a patient's first session and after
-- any gap of more than $gap_days days between consecutive sessions (of any status).
-- One row per session: its key, episode and the episode id's source, with the session's patient and
-- date, from which the episodes table is made without reading the sessions again.
WITH shared_ids AS (
    SELECT source_episode_id
    FROM sessions
    WHERE source_episode_id IS NOT NULL
    GROUP BY source_episode_id
    HAVING count(DISTINCT patient_id) > 1
),
ordered AS (
    SELECT session_key, patient_id, session_date, session_time,
           lag(session_date) OVER (PARTITION BY patient_id ORDER BY session_date, session_time, session_key) AS prev_date
    FROM sessions
    WHERE source_episode_id IS NULL
),
numbered AS (
    SELECT session_key, patient_id, session_date,
           sum(CASE WHEN prev_date IS NULL OR date_diff('day', prev_date, session_date) > $gap_days THEN 1 ELSE 0 END)
               OVER (PARTITION BY patient_id ORDER BY session_date, session_time, session_key
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n
    FROM ordered
)
SELECT session_key, patient_id || '#' || CAST(n AS VARCHAR) AS episode_id, 'derived' AS source,
       patient_id, session_date
FROM numbered
UNION ALL
SELECT s.session_key,
       CASE WHEN x.source_episode_id IS NULL THEN s.source_episode_id
            ELSE s.patient_id || ':' || s.source_episode_id END AS episode_id,
       'export' AS source, s.patient_id, s.session_date
FROM sessions s
LEFT JOIN shared_ids x ON x.source_episode_id = s.source_episode_id
WHERE s.source_episode_id IS NOT NULL
