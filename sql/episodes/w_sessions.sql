-- Work table w_sessions: every session on or before the as-of date, with its episode and the
-- number of the attended session within the episode (NULL for sessions not attended), and
-- booked_number: the attended-session number the appointment was booked as, 1 + the attended
-- sessions before it in the episode (an attended session's own number; a missed or cancelled one
-- shares the number of the attended session that replaced it).
-- A treatment session is an attended session whose session_type is not an assessment (any type
-- containing 'assess', e.g. 'Assessment', 'Initial assessment'; a missing type counts as treatment).
-- Access scope ($scope_clinician_id, analytics/access.py): when set, only the sessions of patients
-- who have at least one session (of any status, any date) with that clinician; NULL: the whole clinic.
-- Every figure derives from this table, so a clinician's scope holds in every figure.
-- The import's bookkeeping (source_episode_id, row_hash, batch_id) is left out: no figure reads it,
-- and at ten million sessions the row hashes alone are hundreds of megabytes held under the memory
-- limit.
-- (session_key is unique, so the order is total and an attended session's number is exactly its
-- booked_number: one window, one sort.)
WITH numbered AS (
    SELECT s.*,
           1 + coalesce(sum(CASE WHEN s.status = 'attended' THEN 1 ELSE 0 END)
                    OVER (PARTITION BY s.episode_id ORDER BY s.session_date, s.session_time, s.session_key
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS booked_number
    FROM sessions s
    WHERE s.session_date <= $as_of
      AND ($scope_clinician_id IS NULL
           OR s.patient_id IN (SELECT v.patient_id FROM sessions v WHERE v.clinician_id = $scope_clinician_id))
)
SELECT * EXCLUDE (booked_number, source_episode_id, row_hash, batch_id),
       CASE WHEN status = 'attended'
                 AND (session_type IS NULL OR lower(session_type) NOT LIKE '%assess%')
            THEN 1 ELSE 0 END AS is_treatment,
       CASE WHEN status = 'attended' THEN CAST(booked_number AS BIGINT) END AS session_number,
       booked_number
FROM numbered
