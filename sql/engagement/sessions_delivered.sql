-- Sessions delivered (engagement issue, "Capacity"): attended sessions per clinician per month
-- (YYYY-MM of the session date), on or before the as-of date.
-- Scope: the session's clinician ($clinician_id), site ($site) and date ($date_from .. $date_to),
-- NULL for all.
WITH counts AS (
    SELECT EXTRACT(YEAR FROM session_date) AS y, EXTRACT(MONTH FROM session_date) AS m, clinician_id,
           CAST(count(*) AS INTEGER) AS attended_sessions,
           CAST(count(DISTINCT patient_id) AS INTEGER) AS patients
    FROM w_sessions
    WHERE status = 'attended'
      AND ($clinician_id IS NULL OR clinician_id = $clinician_id)
      AND ($site IS NULL OR site = $site)
      AND ($date_from IS NULL OR session_date >= $date_from)
      AND ($date_to IS NULL OR session_date <= $date_to)
    GROUP BY 1, 2, 3
)
SELECT CAST(y AS VARCHAR) || '-' || lpad(CAST(m AS VARCHAR), 2, '0') AS month,
       clinician_id, attended_sessions, patients
FROM counts
ORDER BY 1, 2
