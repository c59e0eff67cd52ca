-- Work table w_scale_pairs: the first and last score of each scale in each episode
-- (outcomes issue, "Scores and definitions").
-- first: the score at the earliest attended session at which the scale was scored; last: at the
-- latest one (sessions ordered by attended-session number: date, then time, then session key).
-- scored_sessions: the number of different attended sessions at which the scale was scored; a
-- pair (a change to measure) needs two or more. With one scored session first = last.
-- Two scores of one scale at the same session (a session log and a measurement file) are ordered
-- by measurement key (w_scores.tie_key), so the result is the same on every run.
-- (Attended sessions are numbered 1, 2, 3 ... within their episode, in date order, so different
-- sessions have different numbers and the first session's date is the earliest. Almost every
-- episode's scale has one score per session: its first and last score are those of its lowest
-- and highest session number, and it was scored at as many sessions as it has scores, found in
-- one pass of grouping. Only the episodes' scales with two scores at one session -- both carry a
-- tie_key, and a measurement file's score always does -- are ordered score by score. At ten
-- million sessions 1.2 s instead of 6 to 7 s, when every episode's scale was ordered.)
WITH tied AS (
    SELECT DISTINCT episode_id, scale
    FROM w_scores
    WHERE tie_key IS NOT NULL
    GROUP BY episode_id, scale, session_number
    HAVING count(*) > 1
),
untied AS (
    SELECT episode_id, scale,
           CAST(count(*) AS INTEGER)          AS scored_sessions,
           arg_min(score, session_number)     AS first_score,
           min(session_date)                  AS first_date,
           min(session_number)                AS first_session,
           arg_max(score, session_number)     AS last_score,
           max(session_date)                  AS last_date,
           max(session_number)                AS last_session
    FROM w_scores s
    WHERE NOT EXISTS (SELECT 1 FROM tied t WHERE t.episode_id = s.episode_id AND t.scale = s.scale)
    GROUP BY episode_id, scale
),
-- the tied ones: the last score is the one numbered n of n (measurement keys are unique, so the
-- order is total: one sort of the scores, not two)
ordered AS (
    SELECT s.episode_id, s.scale, s.score, s.session_date, s.session_number,
           row_number() OVER (PARTITION BY s.episode_id, s.scale
                              ORDER BY s.session_number, s.tie_key) AS rn_first,
           count(*) OVER (PARTITION BY s.episode_id, s.scale) AS n_scores
    FROM w_scores s
    JOIN tied t ON t.episode_id = s.episode_id AND t.scale = s.scale
)
SELECT * FROM untied
UNION ALL
SELECT episode_id, scale,
       CAST(count(DISTINCT session_number) AS INTEGER)               AS scored_sessions,
       max(CASE WHEN rn_first = 1 THEN score END)                    AS first_score,
       max(CASE WHEN rn_first = 1 THEN session_date END)             AS first_date,
       max(CASE WHEN rn_first = 1 THEN session_number END)           AS first_session,
       max(CASE WHEN rn_first = n_scores THEN score END)             AS last_score,
       max(CASE WHEN rn_first = n_scores THEN session_date END)      AS last_date,
       max(CASE WHEN rn_first = n_scores THEN session_number END)    AS last_session
FROM ordered
GROUP BY episode_id, scale
