-- Numerators and denominators of every outcome rate (outcomes issue, "Clinic trends"), over the
-- episodes in w_outcome_scope that ENDED in the date range (in_rates = 1), grouped by
-- $period ('month': YYYY-MM of the episode's end; 'all': one period, NULL) and by $by
-- (NULL: no grouping; 'clinician_id', 'site' or 'program': the episode's main one).
--   ended                  episodes that ended
--   dropout                of those, ending 'dropout'             dropout rate = dropout / ended
--   finished_treatment     ended with >= 2 attended treatment sessions
--   paired                 finished with PHQ-9 and GAD-7 pairs     completeness = paired / finished_treatment
--   at_caseness            paired and at caseness at the start
--   recovered              recovery rate = recovered / at_caseness
--   reliable_improvement   rate = reliable_improvement / paired
--   reliable_deterioration rate = reliable_deterioration / paired
--   reliable_recovery      rate = reliable_recovery / at_caseness
-- (definitions: sql/outcomes/episode_outcomes.sql)
SELECT period, grp,
       CAST(count(*) AS INTEGER)                          AS ended,
       CAST(sum(dropout) AS INTEGER)                      AS dropout,
       CAST(sum(finished_treatment) AS INTEGER)           AS finished_treatment,
       CAST(sum(paired) AS INTEGER)                       AS paired,
       CAST(sum(CASE WHEN paired = 1 AND at_caseness = 1 THEN 1 ELSE 0 END) AS INTEGER) AS at_caseness,
       CAST(sum(coalesce(recovered, 0)) AS INTEGER)              AS recovered,
       CAST(sum(coalesce(reliable_improvement, 0)) AS INTEGER)   AS reliable_improvement,
       CAST(sum(coalesce(reliable_deterioration, 0)) AS INTEGER) AS reliable_deterioration,
       CAST(sum(coalesce(reliable_recovery, 0)) AS INTEGER)      AS reliable_recovery
FROM (
    SELECT o.*,
           CASE WHEN $period = 'month' THEN o.end_month END AS period,
           CASE $by WHEN 'clinician_id' THEN o.clinician_id
                    WHEN 'site' THEN o.site
                    WHEN 'program' THEN o.program
           END AS grp
    FROM w_outcome_scope o
    WHERE o.in_rates = 1
) x
GROUP BY period, grp
ORDER BY period, grp
