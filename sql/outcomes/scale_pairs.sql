-- Work table w_scale_pairs: the first and last score of each scale in each episode
-- (outcomes issue, "Scores and definitions").
-- first: the score at the earliest attended session at which the scale was scored; last: at the
-- latest one (sessions ordered by attended-session number: date, then time, then session key).
-- scored_sessions: the number of different attended sessions at which the scale was scored; a
-- pair (a change to measure) needs two or more. With one scored session first = last.
-- Two scores of one scale at the same session (a session log and a measurement file) are ordered
-- by measurement key (w_scores.tie_key), so the result is the same on every run.
-- (Two scores of a scale at one session both have a tie_key, and measurement keys are unique, so
-- the order is total and the last score is the one numbered n of n: one sort of the scores, not
-- two. Attended sessions are numbered 1, 2, 3 ... within their episode, so different sessions have
-- different numbers: sessions are counted by number, not by their longer text key.)
WITH ordered AS (
    SELECT episode_id, scale, score, session_date, session_number,
           row_number() OVER (PARTITION BY episode_id, scale
                              ORDER BY session_number, tie_key) AS rn_first,
           count(*) OVER (PARTITION BY episode_id, scale) AS n_scores
    FROM w_scores
)
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
