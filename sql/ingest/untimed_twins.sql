-- A row of a session log without a time, on a day when the same file has a row of that patient and
-- clinician with a time: the same session written twice (once without its time), or two sessions?
-- The file cannot say, and counting it twice would double the session, so the row without a time
-- is set aside with the line that has the time. (Against the sessions already stored, the same
-- question is settled by match_times.sql.)
UPDATE _in_sessions
SET reasons = list_append(_in_sessions.reasons,
    'no session time, and line ' || t.first_line || ' has this patient, clinician and day at '
    || t.first_time || ': the same session? Give its time, or remove the row if it repeats line '
    || t.first_line)
FROM (
    SELECT patient_id, clinician_id, session_date, min(line) AS first_line,
           substr(CAST(arg_min(session_time, line) AS VARCHAR), 1, 5) AS first_time
    FROM _in_sessions
    WHERE session_time IS NOT NULL AND len(reasons) = 0
      AND (patient_id, clinician_id, session_date) IN (
          SELECT patient_id, clinician_id, session_date FROM _in_sessions
          WHERE session_time IS NULL AND len(reasons) = 0)
    GROUP BY patient_id, clinician_id, session_date
) t
WHERE _in_sessions.session_time IS NULL AND len(_in_sessions.reasons) = 0
  AND _in_sessions.patient_id = t.patient_id AND _in_sessions.clinician_id = t.clinician_id
  AND _in_sessions.session_date = t.session_date;
