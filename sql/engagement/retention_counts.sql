-- Retention counts (engagement issue, "Retention"): the Kaplan-Meier input of retention.sql (given
-- to this query as the relation `retention`) counted, so that a curve is computed from a few
-- thousand rows instead of one per episode (a million at ten million sessions). Per group, attended
-- sessions and dropout (1 = the event): how many episodes.
-- Groups ($group): 'all' (one group), 'clinician_id' (the episode's clinician) or 'intake_severity'
-- (the band of the first PHQ-9, NULL without one; grp_order is the band's order).
SELECT CASE $group WHEN 'clinician_id' THEN clinician_id
                   WHEN 'intake_severity' THEN intake_severity
                   ELSE 'all' END AS grp,
       CASE WHEN $group = 'intake_severity' THEN intake_severity_order END AS grp_order,
       sessions, dropout, CAST(count(*) AS INTEGER) AS episodes
FROM retention
GROUP BY 1, 2, 3, 4
