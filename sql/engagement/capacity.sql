-- Capacity by clinician (engagement issue, "Capacity"), on the as-of date:
--   active_caseload            episodes not ended, by the episode's clinician
--   remitted_attending         of those, episodes below caseness on every scale for $remitted_weeks
--                              weeks or more and still attending (w_remitted, from remitted.sql)
--   recent_sessions            attended sessions with the clinician in the 7 * $remitted_weeks days
--                              up to and including the as-of date
--   recent_sessions_remitted   of those, sessions of remitted_attending episodes
-- remitted_share = recent_sessions_remitted / recent_sessions (computed by the caller).
-- Scope: the clinician ($clinician_id) and site ($site: the episode's for caseloads, the session's
-- for sessions), NULL for all.
WITH caseload AS (
    SELECT e.clinician_id,
           CAST(count(*) AS INTEGER) AS active_caseload,
           CAST(sum(coalesce(r.remitted_attending, 0)) AS INTEGER) AS remitted_attending
    FROM w_episodes e
    LEFT JOIN w_remitted r ON r.episode_id = e.episode_id
    WHERE e.ended = 0
      AND ($site IS NULL OR e.site = $site)
    GROUP BY e.clinician_id
),
recent AS (
    SELECT s.clinician_id,
           CAST(count(*) AS INTEGER) AS recent_sessions,
           CAST(sum(coalesce(r.remitted_attending, 0)) AS INTEGER) AS recent_sessions_remitted
    FROM w_sessions s
    LEFT JOIN w_remitted r ON r.episode_id = s.episode_id
    WHERE s.status = 'attended'
      AND date_diff('day', s.session_date, $as_of) < 7 * $remitted_weeks
      AND ($site IS NULL OR s.site = $site)
    GROUP BY s.clinician_id
),
clinicians AS (
    SELECT clinician_id FROM caseload
    UNION
    SELECT clinician_id FROM recent
)
SELECT c.clinician_id,
       CAST(coalesce(l.active_caseload, 0) AS INTEGER) AS active_caseload,
       CAST(coalesce(l.remitted_attending, 0) AS INTEGER) AS remitted_attending,
       CAST(coalesce(r.recent_sessions, 0) AS INTEGER) AS recent_sessions,
       CAST(coalesce(r.recent_sessions_remitted, 0) AS INTEGER) AS recent_sessions_remitted
FROM clinicians c
LEFT JOIN caseload l ON l.clinician_id = c.clinician_id
LEFT JOIN recent r ON r.clinician_id = c.clinician_id
WHERE $clinician_id IS NULL OR c.clinician_id = $clinician_id
ORDER BY c.clinician_id
