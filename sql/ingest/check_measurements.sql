-- Parse and check every row of a long measurement file (_in_rows: line, patient_id, date, measure,
-- score as text). The measure is matched to the registry by id or name in normal form
-- (_in_measures: raw_norm, scale). A date before 1900 is not taken as one (see check_sessions.sql).
WITH read_dates AS (
    SELECT r.line, r.patient_id, r.date AS date_text, r.measure AS measure_text, r.score AS score_text,
           CAST(try_strptime(r.date, $date_formats) AS DATE) AS any_measure_date,
           m.scale, g.name, g.min_score, g.max_score,
           try_cast(replace(r.score, ',', '.') AS DOUBLE) AS value
    FROM _in_rows r
    LEFT JOIN _in_measures m ON m.raw_norm = regexp_replace(lower(r.measure), '[^0-9a-z]', '', 'g')
    LEFT JOIN scale_registry g ON g.scale = m.scale
),
parsed AS (
    SELECT *, CASE WHEN any_measure_date >= DATE '1900-01-01' THEN any_measure_date END AS measure_date
    FROM read_dates
)
SELECT line, patient_id, measure_date, scale,
       CASE WHEN value = floor(value) AND abs(value) < 1e9 AND NOT isnan(value) THEN CAST(value AS INTEGER) END
           AS score,  -- a score too large for an integer (1e23) is set aside below, never cast
       list_filter([
           CASE WHEN patient_id IS NULL THEN 'patient ID is missing' END,
           CASE WHEN date_text IS NULL THEN 'date is missing'
                WHEN measure_date IS NULL AND any_measure_date IS NOT NULL
                THEN 'date ''' || date_text || ''' is not a real date: read as ' || $date_label
                     || ' it falls before 1900 (for two-digit years, say %y in [dates] format)'
                WHEN measure_date IS NULL
                THEN 'date ''' || date_text || ''' is not a real date (expected ' || $date_label || ')' END,
           CASE WHEN measure_date > $today
                THEN 'score dated ' || strftime(measure_date, '%Y-%m-%d') || ' is in the future' END,
           CASE WHEN measure_text IS NULL THEN 'measure is missing'
                WHEN scale IS NULL
                THEN 'measure ''' || measure_text || ''' is not in the scale registry' END,
           CASE WHEN score_text IS NULL THEN 'score is missing'
                WHEN value IS NULL OR isnan(value) OR isinf(value)
                THEN coalesce(name, 'score') || ' ''' || score_text || ''' is not a number'
                WHEN value <> floor(value) THEN coalesce(name, 'score') || ' ' || score_text || ' is not a whole number'
                WHEN scale IS NOT NULL AND (value < min_score OR value > max_score)
                THEN name || ' ' || (CASE WHEN abs(value) < 1e9 THEN CAST(CAST(value AS BIGINT) AS VARCHAR) ELSE trim(score_text) END) || ' is outside ' || min_score || '–' || max_score
           END
       ], lambda x: x IS NOT NULL) AS reasons
FROM parsed
