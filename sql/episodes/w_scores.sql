-- Work table w_scores: every scale score taken at an attended session on or before the as-of
-- date, with its episode and attended-session number. A score from a wide session log belongs to
-- its session; one from a long measurement file is matched to the patient's attended session on
-- the same date (the first by clinician when there are several). Scores with no attended session
-- are kept in measurements but count in no figure.
-- (The two ways of matching are two equi-joins put together: one join ON a OR b cannot use a hash
-- join and takes time quadratic in the number of rows.)
-- A score with its session's key matches that one session (session_key is unique), so only scores
-- matched by date need ranking: the window runs over those alone.
WITH by_session AS (
    SELECT s.episode_id, s.patient_id, s.clinician_id, s.session_key, s.session_date, s.session_number,
           m.scale, m.score, m.measurement_key
    FROM measurements m
    JOIN w_sessions s ON s.session_key = m.session_key
    WHERE m.session_key IS NOT NULL AND s.status = 'attended'
),
by_date AS (
    SELECT s.episode_id, s.patient_id, s.clinician_id, s.session_key, s.session_date, s.session_number,
           m.scale, m.score, m.measurement_key,
           row_number() OVER (PARTITION BY m.measurement_key ORDER BY s.clinician_id, s.session_key) AS rn
    FROM measurements m
    JOIN w_sessions s ON s.patient_id = m.patient_id AND s.session_date = m.measure_date
    WHERE m.session_key IS NULL AND s.status = 'attended'
)
SELECT * FROM by_session
UNION ALL
SELECT * EXCLUDE (rn) FROM by_date WHERE rn = 1
