-- Parse and check every row of a wide session log, as read into _in_rows (all text, trimmed,
-- NULL when empty). One output row per input line: the typed canonical values and `reasons`,
-- every way the row is invalid (empty when it is valid). Value spellings are mapped through
-- _in_values (field, normal form of the file's value, canonical value).
--   $date_formats  the date pattern(s) the file uses (ISO 8601 unless the mapping says otherwise)
--   $date_label    how that pattern is shown to a person, e.g. YYYY-MM-DD
--   $today         the importing machine's date: kept sessions cannot be later than this
-- A date before 1900 is not taken as one: DuckDB's %Y reads "26" as the year 26, so a file of
-- two-digit years read as DD/MM/YYYY would store dates two thousand years ago. A time in the
-- session date ("2026-08-31 10:30") is the session's time when the time column has none.
WITH read_dates AS (
    SELECT r.line, r.patient_id, r.clinician_id, r.session_date AS date_text, r.session_time AS time_text,
           r.status AS status_text, r.episode_id, r.session_type, r.modality, r.site,
           r.referral_date AS referral_text, r.discharge_reason AS discharge_text,
           try_strptime(r.session_date, $date_formats) AS session_stamp,
           CAST(try_strptime(r.referral_date, $date_formats) AS DATE) AS any_referral_date,
           CAST(try_strptime(r.session_time, ['%H:%M', '%H:%M:%S', '%I:%M %p', '%I:%M%p', '%H.%M']) AS TIME)
               AS time_of_day,
           st.canonical AS status,
           dr.canonical AS discharge_reason
    FROM _in_rows r
    LEFT JOIN _in_values st
      ON st.field = 'status' AND st.raw_norm = regexp_replace(lower(r.status), '[^0-9a-z]', '', 'g')
    LEFT JOIN _in_values dr
      ON dr.field = 'discharge_reason' AND dr.raw_norm = regexp_replace(lower(r.discharge_reason), '[^0-9a-z]', '', 'g')
),
parsed AS (
    SELECT *,
           CAST(session_stamp AS DATE) AS any_session_date,
           CASE WHEN session_stamp >= TIMESTAMP '1900-01-01' THEN CAST(session_stamp AS DATE) END AS session_date,
           -- the time column's time; else a time written in the date ("2026-08-31T10:30"), unless
           -- it is midnight, which is how spreadsheets write a date with no time
           coalesce(time_of_day,
                    CASE WHEN time_text IS NULL AND CAST(session_stamp AS TIME) <> TIME '00:00:00'
                         THEN CAST(session_stamp AS TIME) END) AS session_time,
           CASE WHEN any_referral_date >= DATE '1900-01-01' THEN any_referral_date END AS referral_date
    FROM read_dates
)
SELECT line, patient_id, clinician_id, session_date, session_time, status, episode_id, session_type,
       modality, site, referral_date, discharge_reason,
       time_of_day IS NULL AND session_time IS NOT NULL AS time_from_date,
       -- the session's key: (patient, clinician, date, time if given)
       patient_id || '|' || clinician_id || '|' || strftime(session_date, '%Y-%m-%d') || '|'
           || coalesce(substr(CAST(session_time AS VARCHAR), 1, 5), '') AS session_key,
       list_filter([
           CASE WHEN patient_id IS NULL THEN 'patient ID is missing' END,
           CASE WHEN clinician_id IS NULL THEN 'clinician ID is missing' END,
           CASE WHEN date_text IS NULL THEN 'session date is missing'
                WHEN session_date IS NULL AND any_session_date IS NOT NULL
                THEN 'session date ''' || date_text || ''' is not a real date: read as ' || $date_label
                     || ' it falls before 1900 (for two-digit years, say %y in [dates] format)'
                WHEN session_date IS NULL
                THEN 'session date ''' || date_text || ''' is not a real date (expected ' || $date_label || ')' END,
           CASE WHEN time_text IS NOT NULL AND session_time IS NULL
                THEN 'session time ''' || time_text || ''' is not a time of day (expected hh:mm)' END,
           CASE WHEN status_text IS NULL THEN 'status is missing'
                WHEN status IS NULL
                THEN 'status ''' || status_text || ''' is not one of attended, no_show, late_cancel, cancelled, '
                     || 'scheduled (map it under [values.status])' END,
           CASE WHEN discharge_text IS NOT NULL AND discharge_reason IS NULL
                THEN 'discharge reason ''' || discharge_text || ''' is not one of planned, dropout, transferred, '
                     || 'other (map it under [values.discharge_reason])' END,
           CASE WHEN referral_text IS NOT NULL AND referral_date IS NULL
                THEN 'referral date ''' || referral_text || ''' is not a real date (expected ' || $date_label || ')' END,
           CASE WHEN status IN ('attended', 'no_show', 'late_cancel') AND session_date > $today
                THEN 'session on ' || strftime(session_date, '%Y-%m-%d') || ' is marked ' || status
                     || ' but is in the future' END
       ], lambda x: x IS NOT NULL) AS reasons
FROM parsed
