-- Sessions delivered (engagement issue, "Capacity"): attended sessions per clinician per month
-- (YYYY-MM of the session date), on or before the as-of date.
-- Scope: the session's clinician ($clinician_id), site ($site) and date ($date_from .. $date_to),
-- NULL for all.
WITH per_patient AS (
    -- patients counted by grouping twice (a session count per patient, then patients), which
    -- DuckDB does in one hash pass each, rather than count(DISTINCT patient_id)
    SELECT EXTRACT(YEAR FROM session_date) AS y, EXTRACT(MONTH FROM session_date) AS m, clinician_id,
           patient_id, count(*) AS n
    FROM w_sessions
    WHERE status = 'attended'
      AND ($clinician_id IS NULL OR clinician_id = $clinician_id)
      AND ($site IS NULL OR site = $site)
      AND ($date_from IS NULL OR session_date >= $date_from)
      AND ($date_to IS NULL OR session_date <= $date_to)
    GROUP BY 1, 2, 3, 4
),
counts AS (
    SELECT y, m, clinician_id, CAST(sum(n) AS INTEGER) AS attended_sessions,
           CAST(count(*) AS INTEGER) AS patients
    FROM per_patient
    GROUP BY 1, 2, 3
)
SELECT CAST(y AS VARCHAR) || '-' || lpad(CAST(m AS VARCHAR), 2, '0') AS month,
       clinician_id, attended_sessions, patients
FROM counts
ORDER BY 1, 2
