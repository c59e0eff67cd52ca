-- Outcome-scale scores of the active episodes in scope (readiness issue), one row per score.
-- Input: readiness_active (active_episodes.sql). Only outcome scales (registry is_outcome; the
-- SRS alliance measure is not one). Scores are those at attended sessions (w_scores).
-- seq: 1 = the first score of that scale in the episode; from_end: 1 = the latest;
-- n_scored: scored sessions of that scale (attended sessions with a score of it).
-- clinician_id: the episode's main clinician (for picking out one caseload).
SELECT a.episode_id, a.clinician_id, w.scale, w.session_number, w.session_date, w.score,
       row_number() OVER (PARTITION BY w.episode_id, w.scale
                          ORDER BY w.session_number, w.tie_key) AS seq,
       row_number() OVER (PARTITION BY w.episode_id, w.scale
                          ORDER BY w.session_number DESC, w.tie_key DESC) AS from_end,
       count(*) OVER (PARTITION BY w.episode_id, w.scale) AS n_scored
FROM readiness_active a
JOIN w_scores w ON w.episode_id = a.episode_id
JOIN scale_registry r ON r.scale = w.scale
WHERE r.is_outcome = TRUE
