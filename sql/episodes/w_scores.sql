-- Work table w_scores: every scale score taken at an attended session on or before the as-of
-- date, with its episode and attended-session number. A score from a wide session log belongs to
-- its session; one from a long measurement file is matched to the patient's attended session on
-- the same date (the first by clinician when there are several). Scores with no attended session
-- are kept in measurements but count in no figure.
-- (The two ways of matching are two equi-joins put together: one join ON a OR b cannot use a hash
-- join and takes time quadratic in the number of rows.)
WITH candidates AS (
    SELECT m.measurement_key, m.scale, m.score, s.session_key, s.clinician_id
    FROM measurements m
    JOIN w_sessions s ON s.session_key = m.session_key
    WHERE m.session_key IS NOT NULL AND s.status = 'attended'
    UNION ALL
    SELECT m.measurement_key, m.scale, m.score, s.session_key, s.clinician_id
    FROM measurements m
    JOIN w_sessions s ON s.patient_id = m.patient_id AND s.session_date = m.measure_date
    WHERE m.session_key IS NULL AND s.status = 'attended'
),
matched AS (
    SELECT measurement_key, scale, score, session_key,
           row_number() OVER (PARTITION BY measurement_key ORDER BY clinician_id, session_key) AS rn
    FROM candidates
)
SELECT s.episode_id, s.patient_id, s.clinician_id, s.session_key, s.session_date, s.session_number,
       x.scale, x.score, x.measurement_key
FROM matched x
JOIN w_sessions s ON s.session_key = x.session_key
WHERE x.rn = 1
