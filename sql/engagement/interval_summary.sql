-- Intervals by session number, to show tapering (engagement issue, "Frequency"): over the intervals
-- of the view (intervals_in_scope.sql, given to this query as the relation `intervals`), per
-- session number: how many intervals, their median and mean in days, and how many fell in each
-- cadence band.
-- mean_days is rounded to 1 place by the caller (Python's round, the same everywhere).
SELECT session_number,
       CAST(count(*) AS INTEGER) AS intervals,
       CAST(median(days_since_previous) AS DOUBLE) AS median_days,
       CAST(avg(days_since_previous) AS DOUBLE) AS mean_days,
       CAST(sum(CASE WHEN cadence = 'weekly' THEN 1 ELSE 0 END) AS INTEGER) AS weekly,
       CAST(sum(CASE WHEN cadence = 'fortnightly' THEN 1 ELSE 0 END) AS INTEGER) AS fortnightly,
       CAST(sum(CASE WHEN cadence = 'monthly' THEN 1 ELSE 0 END) AS INTEGER) AS monthly,
       CAST(sum(CASE WHEN cadence = 'longer' THEN 1 ELSE 0 END) AS INTEGER) AS longer
FROM intervals
GROUP BY session_number
ORDER BY session_number
