-- Attendance counts (engagement issue, "Attendance"), over `scoped`: the sessions in scope on or
-- before the as-of date, as attendance_scope.sql keeps them (it is given to this query).
-- attended, no_show, late_cancel, cancelled: sessions with that status.
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
WITH valued AS (
    -- the dimension's value as it is grouped: text as recorded, or numbers (made text only once
    -- grouped: formatting ten million dates as text took 0.8 s, grouping them by number 0.1 s)
    SELECT status,
           CASE $dimension
               WHEN 'overall' THEN 'all'
               WHEN 'clinician_id' THEN clinician_id
               WHEN 'modality' THEN modality
               WHEN 'site' THEN site
           END AS text_value,
           CASE $dimension
               WHEN 'month' THEN EXTRACT(YEAR FROM session_date)
               WHEN 'weekday' THEN date_diff('day', DATE '1900-01-01', session_date) % 7 + 1
               WHEN 'hour' THEN EXTRACT(HOUR FROM session_time)
               WHEN 'session_number' THEN booked_number
           END AS number_value,
           CASE WHEN $dimension = 'month' THEN EXTRACT(MONTH FROM session_date) END AS month_value
    FROM scoped
    WHERE $dimension <> 'hour' OR session_time IS NOT NULL
),
counts AS (
    SELECT text_value, number_value, month_value,
           CAST(sum(CASE WHEN status = 'attended' THEN 1 ELSE 0 END) AS INTEGER)    AS attended,
           CAST(sum(CASE WHEN status = 'no_show' THEN 1 ELSE 0 END) AS INTEGER)     AS no_show,
           CAST(sum(CASE WHEN status = 'late_cancel' THEN 1 ELSE 0 END) AS INTEGER) AS late_cancel,
           CAST(sum(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS INTEGER)   AS cancelled
    FROM valued
    GROUP BY text_value, number_value, month_value
)
SELECT CASE WHEN $dimension IN ('overall', 'clinician_id', 'modality', 'site') THEN text_value
            WHEN $dimension = 'month'
            THEN CAST(number_value AS VARCHAR) || '-' || lpad(CAST(month_value AS VARCHAR), 2, '0')
            ELSE CAST(number_value AS VARCHAR)
       END AS value,
       attended, no_show, late_cancel, cancelled
FROM counts
