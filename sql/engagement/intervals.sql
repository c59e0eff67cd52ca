-- Work table w_intervals: the intervals between consecutive attended sessions (engagement issue,
-- "Frequency"), one row per attended session after the first in its episode, with the days since
-- the episode's previous attended session, so that tapering (weekly -> fortnightly -> monthly)
-- shows by session number. cadence (Waypoint's bands, not a published standard): weekly <= 10 days,
-- fortnightly 11-21, monthly 22-45, longer > 45. clinician_id and site are the episode's.
-- Kept with the work tables, for every episode: the figures over it (interval_summary.sql,
-- gap_histogram.sql, engagement.session_intervals) take the rows of their view through
-- intervals_in_scope.sql, without joining ten million sessions to themselves each time.
WITH attended AS (
    SELECT s.episode_id, s.patient_id, e.clinician_id, e.site, s.session_number, s.session_date
    FROM w_sessions s
    JOIN w_episodes e ON e.episode_id = s.episode_id
    WHERE s.status = 'attended'
),
paired AS (
    -- attended sessions are numbered 1, 2, 3 ... within their episode (w_sessions), so the previous
    -- one is number n - 1: a join, not a window over the episode's sessions in order
    SELECT a.episode_id, a.patient_id, a.clinician_id, a.site, a.session_number, a.session_date,
           p.session_date AS previous_date
    FROM attended a
    JOIN attended p ON p.episode_id = a.episode_id AND p.session_number = a.session_number - 1
)
SELECT episode_id, patient_id, clinician_id, site, CAST(session_number AS INTEGER) AS session_number,
       session_date, previous_date,
       CAST(date_diff('day', previous_date, session_date) AS INTEGER) AS days_since_previous,
       CASE WHEN date_diff('day', previous_date, session_date) <= 10 THEN 'weekly'
            WHEN date_diff('day', previous_date, session_date) <= 21 THEN 'fortnightly'
            WHEN date_diff('day', previous_date, session_date) <= 45 THEN 'monthly'
            ELSE 'longer' END AS cadence
FROM paired
