-- The intervals of the view (engagement issue, "Frequency"): the rows of the work table
-- w_intervals (intervals.sql) of episodes of the clinician ($clinician_id) and site ($site) asked
-- for, whose later session is dated in $date_from .. $date_to; NULL for all. Unordered.
SELECT episode_id, patient_id, clinician_id, session_number, session_date, previous_date,
       days_since_previous, cadence
FROM w_intervals
WHERE ($clinician_id IS NULL OR clinician_id = $clinician_id)
  AND ($site IS NULL OR site = $site)
  AND ($date_from IS NULL OR session_date >= $date_from)
  AND ($date_to IS NULL OR session_date <= $date_to)
