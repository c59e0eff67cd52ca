-- Remitted and still attending (engagement issue, "Capacity"): one row per episode active on the
-- as-of date (not ended) that has scores.
-- Caseness per scale from the registry (outcome scales with a cutoff; higher_is_worse and
-- caseness_at_cutoff give the side and whether the cutoff itself is clinical).
-- A scale is below caseness since the first score after its latest score at caseness (its first
-- score when none was); NULL when its latest score is at caseness. The episode is below caseness on
-- every scale since remitted_since = the latest of those dates, NULL when any scale is at caseness.
--   remitted_days        remitted_since -> the latest attended session
--   remitted_attending   1 when remitted_days >= 7 * $remitted_weeks and the latest attended session
--                        is no more than $disengaged_days days before the as-of date (still attending)
WITH scored AS (
    SELECT sc.episode_id, sc.scale, sc.session_number, sc.session_date,
           CASE WHEN (r.higher_is_worse AND r.caseness_at_cutoff AND sc.score >= r.cutoff)
                  OR (r.higher_is_worse AND NOT r.caseness_at_cutoff AND sc.score > r.cutoff)
                  OR (NOT r.higher_is_worse AND r.caseness_at_cutoff AND sc.score <= r.cutoff)
                  OR (NOT r.higher_is_worse AND NOT r.caseness_at_cutoff AND sc.score < r.cutoff)
                THEN 1 ELSE 0 END AS at_caseness
    FROM w_scores sc
    JOIN scale_registry r ON r.scale = sc.scale
    WHERE r.is_outcome AND r.cutoff IS NOT NULL
      AND sc.episode_id IN (SELECT episode_id FROM w_episodes WHERE ended = 0)   -- only these are shown
),
last_case AS (
    SELECT episode_id, scale,
           coalesce(max(CASE WHEN at_caseness = 1 THEN session_number END), 0) AS last_case_number
    FROM scored
    GROUP BY episode_id, scale
),
per_scale AS (
    SELECT s.episode_id, s.scale, min(s.session_date) AS below_since
    FROM scored s
    JOIN last_case l ON l.episode_id = s.episode_id AND l.scale = s.scale
    WHERE s.session_number > l.last_case_number
    GROUP BY s.episode_id, s.scale
),
per_episode AS (
    SELECT l.episode_id,
           CASE WHEN count(*) = count(p.below_since) THEN max(p.below_since) END AS remitted_since
    FROM last_case l
    LEFT JOIN per_scale p ON p.episode_id = l.episode_id AND p.scale = l.scale
    GROUP BY l.episode_id
)
SELECT e.episode_id, e.patient_id, e.clinician_id, e.last_attended_date, p.remitted_since,
       CAST(date_diff('day', p.remitted_since, e.last_attended_date) AS INTEGER) AS remitted_days,
       CASE WHEN p.remitted_since IS NOT NULL
             AND date_diff('day', p.remitted_since, e.last_attended_date) >= 7 * $remitted_weeks
             AND date_diff('day', e.last_attended_date, $as_of) <= $disengaged_days
            THEN 1 ELSE 0 END AS remitted_attending
FROM w_episodes e
JOIN per_episode p ON p.episode_id = e.episode_id
WHERE e.ended = 0
ORDER BY e.episode_id
