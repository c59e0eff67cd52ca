-- Data quality by clinician and month (outcomes issue, "Data quality"): missing scores bias every
-- rate, so both shares are shown with their counts.
--   paired_completeness  episodes that ended in the range ($date_from .. $date_to) having finished
--                        treatment: numerator paired, denominator finished treatment; by the
--                        episode's main clinician and month (YYYY-MM) of its end.
--   sessions_scored      attended sessions dated in the range: numerator those with any scale score
--                        (w_scores), denominator attended sessions; by the session's clinician and
--                        the month of the session. $clinician_id / $site (NULL for all) filter the
--                        session's clinician and site.
-- $by_month: one row per clinician and month; false: one per clinician over the whole range (month
-- NULL), the counts a comparison of clinicians needs (a month of one clinician is a handful).
SELECT 'paired_completeness' AS measure, clinician_id, month,
       CAST(sum(paired) AS INTEGER) AS numerator,
       CAST(count(*) AS INTEGER)    AS denominator
FROM (
    SELECT clinician_id, CASE WHEN $by_month THEN end_month END AS month, paired
    FROM w_outcome_scope
    WHERE in_rates = 1 AND finished_treatment = 1
) e
GROUP BY clinician_id, month
UNION ALL
SELECT 'sessions_scored' AS measure, clinician_id,
       -- the month made text once grouped (formatting every session's date took most of the time)
       CASE WHEN $by_month THEN CAST(y AS VARCHAR) || '-' || lpad(CAST(m AS VARCHAR), 2, '0') END AS month,
       CAST(sum(scored) AS INTEGER) AS numerator,
       CAST(count(*) AS INTEGER)    AS denominator
FROM (
    SELECT s.clinician_id,
           CASE WHEN $by_month THEN EXTRACT(YEAR FROM s.session_date) END AS y,
           CASE WHEN $by_month THEN EXTRACT(MONTH FROM s.session_date) END AS m,
           CASE WHEN sc.session_number IS NOT NULL THEN 1 ELSE 0 END AS scored
    FROM w_sessions s
    -- a score's clinician and date are its session's (w_scores), so the sessions it can match are
    -- narrowed by the same filters before they are made distinct (half the time at 1e7); an
    -- attended session is its episode and attended-session number (w_scores carries no text key)
    LEFT JOIN (SELECT DISTINCT episode_id, session_number FROM w_scores
               WHERE ($clinician_id IS NULL OR clinician_id = $clinician_id)
                 AND ($date_from IS NULL OR session_date >= $date_from)
                 AND ($date_to IS NULL OR session_date <= $date_to)) sc
           ON sc.episode_id = s.episode_id AND sc.session_number = s.session_number
    WHERE s.status = 'attended'
      AND ($clinician_id IS NULL OR s.clinician_id = $clinician_id)
      AND ($site IS NULL OR s.site = $site)
      AND ($date_from IS NULL OR s.session_date >= $date_from)
      AND ($date_to IS NULL OR s.session_date <= $date_to)
) x
GROUP BY clinician_id, y, m
