-- Disengagement watch list (engagement issue): episodes active on the as-of date (not ended) with
--   missed_in_a_row >= $consecutive_missed  the sessions missed (no-show or late cancel) since the
--                     episode's latest attended session (all of them when none was attended); a
--                     cancelled or scheduled session neither breaks nor extends the run
--   days_since_attended > $disengaged_days  days from the latest attended session (the episode's
--                     first session when none was attended) to the as-of date; exactly
--                     $disengaged_days is not yet on the list
-- with the last attended session and the next booked one: the patient's first 'scheduled' session
-- after the as-of date (read from sessions: later sessions count in no figure, but bookings are
-- exactly those).
-- Scope: the episode's clinician ($clinician_id) and site ($site), NULL for all.
WITH attended AS (
    -- a missed session after the latest attended one was booked as session (attended so far) + 1;
    -- one before it as an earlier number (w_sessions.booked_number): no need to order the sessions
    SELECT episode_id, coalesce(max(session_number), 0) AS attended_so_far
    FROM w_sessions
    WHERE status = 'attended'
    GROUP BY episode_id
),
missed AS (
    SELECT s.episode_id, CAST(count(*) AS INTEGER) AS missed_in_a_row
    FROM w_sessions s
    LEFT JOIN attended a ON a.episode_id = s.episode_id
    WHERE s.status IN ('no_show', 'late_cancel')
      AND s.booked_number = coalesce(a.attended_so_far, 0) + 1
      AND s.episode_id IN (SELECT episode_id FROM w_episodes WHERE ended = 0)
    GROUP BY s.episode_id
),
next_booked AS (
    SELECT patient_id, min(session_date) AS next_booked_date
    FROM sessions
    WHERE status = 'scheduled' AND session_date > $as_of
    GROUP BY patient_id
),
active AS (
    SELECT e.episode_id, e.patient_id, e.clinician_id, e.site, e.start_date, e.last_attended_date,
           e.attended_sessions,
           CAST(coalesce(m.missed_in_a_row, 0) AS INTEGER) AS missed_in_a_row,
           CAST(date_diff('day', coalesce(e.last_attended_date, e.start_date), $as_of) AS INTEGER) AS days_since_attended,
           n.next_booked_date
    FROM w_episodes e
    LEFT JOIN missed m ON m.episode_id = e.episode_id
    LEFT JOIN next_booked n ON n.patient_id = e.patient_id
    WHERE e.ended = 0
      AND ($clinician_id IS NULL OR e.clinician_id = $clinician_id)
      AND ($site IS NULL OR e.site = $site)
)
SELECT patient_id, episode_id, clinician_id, last_attended_date, days_since_attended, missed_in_a_row,
       next_booked_date,
       concat_ws('; ',
           CASE WHEN missed_in_a_row >= $consecutive_missed
                THEN CAST(missed_in_a_row AS VARCHAR) || ' missed in a row' END,
           CASE WHEN days_since_attended > $disengaged_days AND last_attended_date IS NULL
                THEN 'never attended, first booked ' || CAST(days_since_attended AS VARCHAR) || ' days ago'
                WHEN days_since_attended > $disengaged_days
                THEN 'no attended session for ' || CAST(days_since_attended AS VARCHAR) || ' days' END
       ) AS reasons
FROM active
WHERE missed_in_a_row >= $consecutive_missed
   OR days_since_attended > $disengaged_days
ORDER BY days_since_attended DESC, missed_in_a_row DESC, patient_id, episode_id
