-- Outcome-scale scores of the active episodes in scope (readiness issue), one row per score.
-- Input: readiness_active (active_episodes.sql). Only outcome scales (registry is_outcome; the
-- SRS alliance measure is not one). Scores are those at attended sessions (w_scores).
-- seq: 1 = the first score of that scale in the episode; from_end: 1 = the latest;
-- n_scored: scored sessions of that scale (attended sessions with a score of it).
-- clinician_id: the episode's main clinician (for picking out one caseload).
-- (A scale's scores in an episode are ordered by session number, then by tie_key, which only two
-- scores at one session carry, both of them, and which differs between them: the order is total
-- and NULLs never meet, so the latest is numbered n of n and from_end is n + 1 - seq. One
-- ordering of the scores, not two.)
WITH numbered AS (
    SELECT a.episode_id, a.clinician_id, w.scale, w.session_number, w.session_date, w.score,
           row_number() OVER (PARTITION BY w.episode_id, w.scale
                              ORDER BY w.session_number, w.tie_key) AS seq,
           count(*) OVER (PARTITION BY w.episode_id, w.scale) AS n_scored
    FROM readiness_active a
    JOIN w_scores w ON w.episode_id = a.episode_id
    JOIN scale_registry r ON r.scale = w.scale
    WHERE r.is_outcome = TRUE
)
SELECT episode_id, clinician_id, scale, session_number, session_date, score, seq,
       n_scored + 1 - seq AS from_end, n_scored
FROM numbered
