-- Caseload counts of `waypoint kpis` (outcomes issue, "Interfaces"), over w_outcome_scope:
-- episodes: episodes open at some time in the date range (all episodes without a range);
-- active:   of those, the ones not ended at the as-of date.
SELECT CAST(coalesce(sum(in_range), 0) AS INTEGER) AS episodes,
       CAST(coalesce(sum(CASE WHEN in_range = 1 AND ended = 0 THEN 1 ELSE 0 END), 0) AS INTEGER) AS active
FROM w_outcome_scope
