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
-- Input: w_missed_in_a_row (missed_in_a_row.sql) beside the episode work tables.
WITH next_booked AS (
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
    LEFT JOIN w_missed_in_a_row m ON m.episode_id = e.episode_id
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
