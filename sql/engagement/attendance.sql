-- Attendance counts (engagement issue, "Attendance").
-- Sessions on or before the as-of date (w_sessions) in scope: the session's clinician ($clinician_id),
-- the session's site ($site) and the session date ($date_from .. $date_to), each NULL for all.
-- attended, no_show, late_cancel, cancelled: sessions with that status; 'scheduled' counts nowhere.
-- Rates (computed by the caller): attendance = attended / (attended + no_show + late_cancel),
-- no-show = no_show / (attended + no_show + late_cancel).
-- Grouped by $dimension, its value in `value` (text; NULL = not recorded):
--   overall         one group, 'all'
--   clinician_id    the session's clinician
--   month           YYYY-MM of the session date
--   weekday         ISO weekday, 1 = Monday .. 7 = Sunday (days since Monday 1900-01-01, mod 7)
--   hour            hour of the session time; sessions without a time are left out
--   modality, site  as recorded on the session
--   session_number  the attended-session number the appointment was booked as (w_sessions
--                   booked_number: numbered over the whole episode before the scope filters apply).
WITH scoped AS (
    SELECT *
    FROM w_sessions
    WHERE status IN ('attended', 'no_show', 'late_cancel', 'cancelled')
      AND ($clinician_id IS NULL OR clinician_id = $clinician_id)
      AND ($site IS NULL OR site = $site)
      AND ($date_from IS NULL OR session_date >= $date_from)
      AND ($date_to IS NULL OR session_date <= $date_to)
      AND ($dimension <> 'hour' OR session_time IS NOT NULL)
),
valued AS (
    SELECT status,
           CASE $dimension
               WHEN 'overall' THEN 'all'
               WHEN 'clinician_id' THEN clinician_id
               WHEN 'month' THEN CAST(EXTRACT(YEAR FROM session_date) AS VARCHAR) || '-'
                                 || lpad(CAST(EXTRACT(MONTH FROM session_date) AS VARCHAR), 2, '0')
               WHEN 'weekday' THEN CAST(date_diff('day', DATE '1900-01-01', session_date) % 7 + 1 AS VARCHAR)
               WHEN 'hour' THEN CAST(EXTRACT(HOUR FROM session_time) AS VARCHAR)
               WHEN 'modality' THEN modality
               WHEN 'site' THEN site
               WHEN 'session_number' THEN CAST(booked_number AS VARCHAR)
           END AS value
    FROM scoped
)
SELECT value,
       CAST(sum(CASE WHEN status = 'attended' THEN 1 ELSE 0 END) AS INTEGER)    AS attended,
       CAST(sum(CASE WHEN status = 'no_show' THEN 1 ELSE 0 END) AS INTEGER)     AS no_show,
       CAST(sum(CASE WHEN status = 'late_cancel' THEN 1 ELSE 0 END) AS INTEGER) AS late_cancel,
       CAST(sum(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS INTEGER)   AS cancelled
FROM valued
GROUP BY value
