-- Retention counts for every grouping at once (engagement issue, "Retention"): what
-- retention_counts.sql gives for each of its groupings, from one pass over the rows of
-- retention.sql (given to this query as the relation `retention`) instead of three, for
-- `waypoint attendance`, which shows all three curves (at ten million sessions 0.52 s -> 0.24 s).
-- grouping: 'all', 'clinician_id' or 'intake_severity'; grp, grp_order, sessions, dropout,
-- episodes: as in retention_counts.sql.
SELECT CASE WHEN GROUPING(clinician_id) = 0 THEN 'clinician_id'
            WHEN GROUPING(intake_severity) = 0 THEN 'intake_severity'
            ELSE 'all'
       END AS grouping,
       CASE WHEN GROUPING(clinician_id) = 0 THEN clinician_id
            WHEN GROUPING(intake_severity) = 0 THEN intake_severity
            ELSE 'all'
       END AS grp,
       intake_severity_order AS grp_order,
       sessions, dropout, CAST(count(*) AS INTEGER) AS episodes
FROM retention
GROUP BY GROUPING SETS ((sessions, dropout), (clinician_id, sessions, dropout),
                        (intake_severity, intake_severity_order, sessions, dropout))
