-- Frequency: attended sessions per active patient per month (engagement issue, "Frequency").
-- A patient is active in a month when one of their episodes in scope is in progress in it: the
-- episode's first attended session falls on or before the month's end and its last attended
-- session on or after the month's start. Sessions: attended sessions of those episodes in the month.
-- Months: every month with any session in the clinic on or before the as-of date (a calendar
-- without a generator, so that the query stays portable); $date_from / $date_to keep the months
-- that overlap the range.
-- Scope: the episode's clinician ($clinician_id) and site ($site), NULL for all.
-- sessions_per_patient = attended_sessions / active_patients (computed by the caller).
WITH months AS (
    SELECT DISTINCT CAST(date_trunc('month', session_date) AS DATE) AS month_start
    FROM w_sessions
),
episodes AS (
    SELECT episode_id, patient_id,
           CAST(date_trunc('month', first_attended_date) AS DATE) AS first_month,
           CAST(date_trunc('month', last_attended_date) AS DATE)  AS last_month
    FROM w_episodes
    WHERE first_attended_date IS NOT NULL
      AND ($clinician_id IS NULL OR clinician_id = $clinician_id)
      AND ($site IS NULL OR site = $site)
),
active AS (
    SELECT m.month_start, e.episode_id, e.patient_id
    FROM months m
    JOIN episodes e ON m.month_start BETWEEN e.first_month AND e.last_month
),
attended AS (
    SELECT CAST(date_trunc('month', s.session_date) AS DATE) AS month_start,
           CAST(count(*) AS INTEGER) AS attended_sessions
    FROM w_sessions s
    JOIN episodes e ON e.episode_id = s.episode_id
    WHERE s.status = 'attended'
    GROUP BY CAST(date_trunc('month', s.session_date) AS DATE)
)
SELECT CAST(EXTRACT(YEAR FROM a.month_start) AS VARCHAR) || '-'
           || lpad(CAST(EXTRACT(MONTH FROM a.month_start) AS VARCHAR), 2, '0') AS month,
       CAST(count(DISTINCT a.patient_id) AS INTEGER) AS active_patients,
       CAST(coalesce(max(t.attended_sessions), 0) AS INTEGER) AS attended_sessions
FROM active a
LEFT JOIN attended t ON t.month_start = a.month_start
WHERE ($date_from IS NULL OR a.month_start >= CAST(date_trunc('month', CAST($date_from AS DATE)) AS DATE))
  AND ($date_to IS NULL OR a.month_start <= $date_to)
GROUP BY a.month_start
ORDER BY a.month_start
