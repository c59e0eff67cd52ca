-- Work table w_scores: every scale score taken at an attended session on or before the as-of
-- date, with its episode and attended-session number. A score from a wide session log belongs to
-- its session; one from a long measurement file is matched to the patient's attended session on
-- the same date (the first by clinician when there are several). Scores with no attended session
-- are kept in measurements but count in no figure.
-- (The two ways of matching are two equi-joins put together: one join ON a OR b cannot use a hash
-- join and takes time quadratic in the number of rows.)
-- A score with its session's key matches that one session (session_key is unique), so only scores
-- matched by date need ranking: the window runs over those alone.
-- An attended session is (episode_id, session_number): its episode numbers its attended sessions
-- 1, 2, 3 ... Neither its text key nor each score's measurement key is carried, but for tie_key:
-- two scores of one scale at one session are ordered by measurement key, so tie_key holds it on
-- such scores and is NULL on every other. Only a session log's score and a measurement file's of
-- the same patient, date and scale can share a session (their keys are session_key|scale and
-- patient|date|scale, each unique), and an import now keeps only the session log's; a database
-- imported into before 2 Dec 2026 may hold both. Ordered by (session_number, tie_key), scores come
-- in the order of (session_number, measurement_key). Stored in patient order (below), the
-- two keys of about 60 characters were most of the sort: at ten million sessions the table
-- was built in 26.5 s with them, in 8.9 s without.
WITH by_date AS (
    SELECT s.episode_id, s.patient_id, s.clinician_id, s.session_key, s.session_date, s.session_number,
           m.scale, m.score, m.measurement_key,
           row_number() OVER (PARTITION BY m.measurement_key ORDER BY s.clinician_id, s.session_key) AS rn
    FROM measurements m
    JOIN w_sessions s ON s.patient_id = m.patient_id AND s.session_date = m.measure_date
    WHERE m.session_key IS NULL AND s.status = 'attended'
),
matched_by_date AS (
    SELECT * EXCLUDE (rn) FROM by_date WHERE rn = 1
),
by_session AS (
    SELECT s.episode_id, s.patient_id, s.clinician_id, s.session_date, s.session_number,
           m.scale, m.score,
           CASE WHEN t.session_key IS NOT NULL THEN m.measurement_key END AS tie_key
    FROM measurements m
    JOIN w_sessions s ON s.session_key = m.session_key
    LEFT JOIN (SELECT DISTINCT session_key, scale FROM matched_by_date) t
           ON t.session_key = m.session_key AND t.scale = m.scale
    WHERE m.session_key IS NOT NULL AND s.status = 'attended'
),
scores AS (
    SELECT * FROM by_session
    UNION ALL
    SELECT episode_id, patient_id, clinician_id, session_date, session_number, scale, score,
           measurement_key AS tie_key
    FROM matched_by_date
),
-- Stored in patient order (one patient's scores in few row groups): by patient, episode and
-- session number. An episode has one patient, so its place among the episodes in that order
-- (w_episodes: one row per episode of w_sessions) stands for both texts, and the sort compares
-- two numbers: at ten million sessions (16.8 million scores) the table was built in 8.9 s
-- instead of 10.4-11.1 s (benchmarks/RESULTS.md, twentieth round).
episode_order AS (
    SELECT episode_id, row_number() OVER (ORDER BY patient_id, episode_id) AS episode_pos
    FROM w_episodes
)
SELECT x.*
FROM scores x
JOIN episode_order o ON o.episode_id = x.episode_id
ORDER BY o.episode_pos, x.session_number
