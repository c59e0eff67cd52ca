-- The wait from the first to the second attended session, as a histogram in weeks (the Attendance
-- page's "From first to second session"): over the intervals of the view (intervals_in_scope.sql,
-- given to this query as the relation `intervals`), the episodes whose second attended session
-- came 0-6 days after the first, 7-13 days, and so on. Only the weeks with an episode are listed. The dashboard draws it as a bar chart; counting here, not in the browser,
-- keeps a clinic of a million episodes to a few dozen rows.
SELECT CAST(7 * floor(days_since_previous / 7.0) AS INTEGER) AS from_days,
       CAST(7 * floor(days_since_previous / 7.0) + 6 AS INTEGER) AS to_days,
       CAST(count(*) AS INTEGER) AS episodes
FROM intervals
WHERE session_number = 2
GROUP BY 7 * floor(days_since_previous / 7.0)
ORDER BY from_days
