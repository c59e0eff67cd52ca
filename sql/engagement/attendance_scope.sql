-- The sessions the attendance counts count (engagement issue, "Attendance"), given to
-- attendance.sql and attendance_all.sql as the relation `scoped`: sessions on or before the as-of
-- date (w_sessions) with a status that counts (attended, no_show, late_cancel, cancelled;
-- 'scheduled' counts nowhere), in scope: the session's clinician ($clinician_id), the session's site
-- ($site) and the session date ($date_from .. $date_to), each NULL for all.
SELECT status, clinician_id, modality, site, session_date, session_time, booked_number
FROM w_sessions
WHERE status IN ('attended', 'no_show', 'late_cancel', 'cancelled')
  AND ($clinician_id IS NULL OR clinician_id = $clinician_id)
  AND ($site IS NULL OR site = $site)
  AND ($date_from IS NULL OR session_date >= $date_from)
  AND ($date_to IS NULL OR session_date <= $date_to)
