-- Work table w_missed_in_a_row: for each active episode (w_episodes.ended = 0) with a missed session
-- since its latest attended one, how many (engagement issue, the disengagement watch list; the
-- readiness reasons repeat it). Missed: no-show or late cancel. A cancelled or scheduled session
-- neither breaks nor extends the run; with no attended session, every missed one counts.
-- Read by sql/engagement/watch_list.sql and sql/readiness/active_episodes.sql (an episode with no
-- row has missed none in a row).
WITH attended AS (
    -- a missed session after the latest attended one was booked as session (attended so far) + 1;
    -- one before it as an earlier number (w_sessions.booked_number): no need to order the sessions
    SELECT episode_id, coalesce(max(session_number), 0) AS attended_so_far
    FROM w_sessions
    WHERE status = 'attended'
    GROUP BY episode_id
)
SELECT s.episode_id, CAST(count(*) AS INTEGER) AS missed_in_a_row
FROM w_sessions s
LEFT JOIN attended a ON a.episode_id = s.episode_id
WHERE s.status IN ('no_show', 'late_cancel')
  AND s.booked_number = coalesce(a.attended_so_far, 0) + 1
  AND s.episode_id IN (SELECT episode_id FROM w_episodes WHERE ended = 0)
GROUP BY s.episode_id
