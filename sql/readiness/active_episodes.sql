-- Active episodes in scope for the readiness list (readiness issue).
-- Active: w_episodes.ended = 0 (no discharge reason and a session within the lost-contact window
-- before the as-of date). Scope: the episode's main clinician ($clinician_id) and site ($site),
-- each NULL for all. The reference data (expected band, derived reliable change) are never scoped:
-- they come from the whole clinic.
-- last_session: the latest attended session on or before the as-of date (NULL: none yet).
-- next_booked: the earliest session after the as-of date still in the diary as 'scheduled'.
-- missed_in_a_row, days_since_attended: as the disengagement watch list counts them
-- (sql/engagement/watch_list.sql, whose rule the readiness reasons repeat; both read
-- w_missed_in_a_row, sql/engagement/missed_in_a_row.sql), so that a patient drifting away is
-- named on the caseload too.
WITH booked AS (
    SELECT episode_id, min(session_date) AS next_booked
    FROM sessions
    WHERE status = 'scheduled' AND session_date > $as_of
    GROUP BY episode_id
)
SELECT e.episode_id, e.patient_id, e.clinician_id, e.site, e.start_date,
       e.last_attended_date AS last_session, e.attended_sessions, b.next_booked,
       CAST(coalesce(m.missed_in_a_row, 0) AS INTEGER) AS missed_in_a_row,
       CAST(date_diff('day', coalesce(e.last_attended_date, e.start_date), $as_of) AS INTEGER) AS days_since_attended
FROM w_episodes e
LEFT JOIN booked b ON b.episode_id = e.episode_id
LEFT JOIN w_missed_in_a_row m ON m.episode_id = e.episode_id
WHERE e.ended = 0
  AND ($clinician_id IS NULL OR e.clinician_id = $clinician_id)
  AND ($site IS NULL OR e.site = $site)
