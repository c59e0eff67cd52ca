-- Work table w_outcome_scope: the episodes (w_outcomes) of the clinician ($clinician_id) and site
-- ($site) asked for, each NULL for all, with two flags for the date range $date_from .. $date_to
-- (each NULL for open-ended):
--   in_rates  the episode ENDED in the range: every rate, and the counts ended, finished_treatment,
--             paired, at_caseness, recovered, ... count these (rates by month of episode end).
--   in_range  the episode was open at some time in the range (its first session on or before
--             $date_to and its latest session on or after $date_from): the counts `episodes` and
--             `active` (of those, the ones still active at the as-of date). Without a range every
--             episode is in range, and episodes = active + ended.
-- Episodes belong to their main clinician and main site (w_episodes).
SELECT o.*,
       CASE WHEN o.ended = 1
             AND ($date_from IS NULL OR o.end_date >= $date_from)
             AND ($date_to IS NULL OR o.end_date <= $date_to)
            THEN 1 ELSE 0 END AS in_rates,
       CASE WHEN ($date_from IS NULL OR o.last_session_date >= $date_from)
             AND ($date_to IS NULL OR o.start_date <= $date_to)
            THEN 1 ELSE 0 END AS in_range
FROM w_outcomes o
WHERE ($clinician_id IS NULL OR o.clinician_id = $clinician_id)
  AND ($site IS NULL OR o.site = $site)
