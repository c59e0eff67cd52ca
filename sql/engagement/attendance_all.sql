-- Attendance counts by every dimension at once (engagement issue, "Attendance"): what
-- attendance.sql gives for each dimension, in one pass over the sessions instead of eight
-- (`waypoint attendance` shows them all; at ten million sessions eight queries took 1.0 s, this
-- one 0.6 s). Same sessions, same values: see attendance.sql.
-- One row per group: dimension ('overall', 'clinician_id', 'month', 'weekday', 'hour', 'modality',
-- 'site', 'session_number'), value (text; NULL = not recorded), attended, no_show, late_cancel,
-- cancelled. Overall has no row when no session is in scope, as in attendance.sql.
-- Over `scoped`, the sessions attendance_scope.sql keeps (given to this query).
WITH valued AS (
    SELECT status, clinician_id, modality, site, booked_number,
           EXTRACT(YEAR FROM session_date) AS year_value,
           EXTRACT(MONTH FROM session_date) AS month_value,
           date_diff('day', DATE '1900-01-01', session_date) % 7 + 1 AS weekday_value,
           session_time IS NOT NULL AS timed,
           EXTRACT(HOUR FROM session_time) AS hour_value
    FROM scoped
),
counts AS (
    -- GROUPING(x) = 0 on the rows grouped by x; the hour is grouped with `timed`, so that sessions
    -- without a time can be left out below
    SELECT GROUPING(clinician_id) AS by_clinician, GROUPING(year_value) AS by_month,
           GROUPING(weekday_value) AS by_weekday, GROUPING(timed) AS by_hour,
           GROUPING(modality) AS by_modality, GROUPING(site) AS by_site,
           GROUPING(booked_number) AS by_session_number,
           clinician_id, year_value, month_value, weekday_value, timed, hour_value, modality, site,
           booked_number,
           CAST(sum(CASE WHEN status = 'attended' THEN 1 ELSE 0 END) AS INTEGER)    AS attended,
           CAST(sum(CASE WHEN status = 'no_show' THEN 1 ELSE 0 END) AS INTEGER)     AS no_show,
           CAST(sum(CASE WHEN status = 'late_cancel' THEN 1 ELSE 0 END) AS INTEGER) AS late_cancel,
           CAST(sum(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS INTEGER)   AS cancelled
    FROM valued
    GROUP BY GROUPING SETS ((), (clinician_id), (year_value, month_value), (weekday_value),
                            (timed, hour_value), (modality), (site), (booked_number))
    HAVING count(*) > 0
)
SELECT CASE WHEN by_clinician = 0 THEN 'clinician_id'
            WHEN by_month = 0 THEN 'month'
            WHEN by_weekday = 0 THEN 'weekday'
            WHEN by_hour = 0 THEN 'hour'
            WHEN by_modality = 0 THEN 'modality'
            WHEN by_site = 0 THEN 'site'
            WHEN by_session_number = 0 THEN 'session_number'
            ELSE 'overall'
       END AS dimension,
       CASE WHEN by_clinician = 0 THEN clinician_id
            WHEN by_month = 0
            THEN CAST(year_value AS VARCHAR) || '-' || lpad(CAST(month_value AS VARCHAR), 2, '0')
            WHEN by_weekday = 0 THEN CAST(weekday_value AS VARCHAR)
            WHEN by_hour = 0 THEN CAST(hour_value AS VARCHAR)
            WHEN by_modality = 0 THEN modality
            WHEN by_site = 0 THEN site
            WHEN by_session_number = 0 THEN CAST(booked_number AS VARCHAR)
            ELSE 'all'
       END AS value,
       attended, no_show, late_cancel, cancelled
FROM counts
WHERE by_hour = 1 OR timed
