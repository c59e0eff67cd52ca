-- The readiness category of every active episode (readiness issue): the first rule that applies,
-- in the order of analytics/readiness.py CATEGORIES. The rules' words (the reasons) are written in
-- Python, for the episodes it lists; the overview's chart counts these rows and reads no scores.
-- Inputs (work tables of analytics/readiness.py): readiness_active (active_episodes.sql),
-- readiness_scores (episode_scores.sql), readiness_status (scale_status.sql), readiness_risk
-- (risk_items.sql) and readiness_expected (expected_band.sql, the clinic's reference cells).
-- Parameters: the thresholds of analytics/readiness.toml, and $trend_z, the normal quantile of the
-- Theil-Sen interval (scipy.stats.norm.ppf(alpha / 2) with alpha = 1 - trend_confidence).
--   safety            the latest recorded risk item at or above its threshold (readiness_risk)
--   deteriorating     a scale reliably worse than at the start
--   not_on_track      a scale scored at least $min_scored_sessions times whose latest score is
--                     beyond the expected band's edge (a cell of at least $min_reference_episodes
--                     finished episodes); else, for a scale at caseness at the start, after
--                     $fallback_min_attended attended sessions, a fall below $fallback_min_fall
--   ready_for_review  at caseness at the start on some scale, reliably improved on some scale,
--                     and every scale stable: its last $stable_scores scores all on the healthy
--                     side, spanning at least $stable_min_weeks weeks and (with a reliable-change
--                     threshold) differing by less than it
--   improving         a scale reliably improved, or the Theil-Sen interval of its last
--                     $trend_scores scores (x: weeks since the first of them) wholly on the
--                     improving side of 0
--   stuck             $stuck_min_attended attended sessions and a scale at caseness at the start
--                     and now, its last $stuck_scores scores within less than the reliable change
--   maintenance       scored, and at caseness at the start on no scale
--   too_early         no scale scored $min_scored_sessions times
--   on_track          none of these
-- other_category: for safety, the category that applies apart from risk (else NULL).
-- The Theil-Sen interval is scipy.stats.theilslopes' (Sen 1968), step by step in double precision
-- as analytics/readiness.py computes it: the sorted slopes of the pairs with a later date, the
-- variance of Kendall's S with its tie terms, and ranks rounded half to even.
WITH trend_points AS (
    SELECT episode_id, scale, CAST(score AS DOUBLE) AS y,
           CAST(date_diff('day', max(CASE WHEN from_end = $trend_scores THEN session_date END)
                                     OVER (PARTITION BY episode_id, scale), session_date) AS DOUBLE)
             / CAST(7 AS DOUBLE) AS x
    FROM readiness_scores
    WHERE n_scored >= $trend_scores AND from_end <= $trend_scores
),
x_ties AS (
    SELECT episode_id, scale, sum(k * (k - 1) * (2 * k + 5)) AS ties
    FROM (SELECT episode_id, scale, count(*) AS k FROM trend_points GROUP BY episode_id, scale, x) t
    GROUP BY episode_id, scale
),
y_ties AS (
    SELECT episode_id, scale, sum(k * (k - 1) * (2 * k + 5)) AS ties
    FROM (SELECT episode_id, scale, count(*) AS k FROM trend_points GROUP BY episode_id, scale, y) t
    GROUP BY episode_id, scale
),
slopes AS (
    SELECT a.episode_id, a.scale, (a.y - b.y) / (a.x - b.x) AS slope,
           row_number() OVER (PARTITION BY a.episode_id, a.scale ORDER BY (a.y - b.y) / (a.x - b.x)) - 1 AS idx,
           count(*) OVER (PARTITION BY a.episode_id, a.scale) AS nt
    FROM trend_points a
    JOIN trend_points b ON b.episode_id = a.episode_id AND b.scale = a.scale AND a.x - b.x > 0
),
spread AS (
    SELECT s.episode_id, s.scale, s.nt,
           (CAST(1 AS DOUBLE) / CAST(18 AS DOUBLE))
             * CAST($trend_scores * ($trend_scores - 1) * (2 * $trend_scores + 5) - x.ties - y.ties AS DOUBLE) AS sigsq
    FROM (SELECT DISTINCT episode_id, scale, nt FROM slopes) s
    JOIN x_ties x ON x.episode_id = s.episode_id AND x.scale = s.scale
    JOIN y_ties y ON y.episode_id = s.episode_id AND y.scale = s.scale
),
ranks AS (
    SELECT episode_id, scale, nt,
           (CAST(nt AS DOUBLE) - $trend_z * sqrt(sigsq)) / CAST(2 AS DOUBLE) AS upper_at,
           (CAST(nt AS DOUBLE) + $trend_z * sqrt(sigsq)) / CAST(2 AS DOUBLE) AS lower_at
    FROM spread
    WHERE sigsq >= 0
),
rank_index AS (
    -- Python's round(): half to even
    SELECT episode_id, scale,
           least(CASE WHEN upper_at - floor(upper_at) = 0.5
                      THEN floor(upper_at) + (floor(upper_at) - 2 * floor(floor(upper_at) / 2))
                      ELSE round(upper_at) END, nt - 1) AS upper_idx,
           greatest(CASE WHEN lower_at - floor(lower_at) = 0.5
                         THEN floor(lower_at) + (floor(lower_at) - 2 * floor(floor(lower_at) / 2))
                         ELSE round(lower_at) END - 1, 0) AS lower_idx
    FROM ranks
),
trend AS (
    SELECT r.episode_id, r.scale,
           max(CASE WHEN s.idx = r.lower_idx THEN s.slope END) AS low_slope,
           max(CASE WHEN s.idx = r.upper_idx THEN s.slope END) AS high_slope
    FROM rank_index r
    JOIN slopes s ON s.episode_id = r.episode_id AND s.scale = r.scale
    GROUP BY r.episode_id, r.scale
),
scale_flags AS (
    SELECT st.episode_id, st.n_scored,
           CASE WHEN st.reliably_worse = 1 THEN 1 ELSE 0 END                        AS worse,
           CASE WHEN st.reliably_improved = 1 THEN 1 ELSE 0 END                     AS improved,
           CASE WHEN st.first_at_caseness = 1 THEN 1 ELSE 0 END                     AS at_caseness_at_start,
           CASE WHEN st.n_scored < $min_scored_sessions THEN 0
                WHEN c.n_episodes >= $min_reference_episodes
                THEN CASE WHEN st.higher_is_worse AND st.last_score > c.p_upper THEN 1
                          WHEN NOT st.higher_is_worse AND st.last_score < c.p_lower THEN 1
                          ELSE 0 END
                WHEN st.first_at_caseness = 0 OR st.fall_fraction IS NULL THEN 0
                WHEN coalesce(a.attended_sessions, 0) < $fallback_min_attended THEN 0
                WHEN st.fall_fraction < $fallback_min_fall THEN 1
                ELSE 0 END                                                          AS off_track,
           CASE WHEN st.n_scored >= $stable_scores AND st.recent_at_caseness = 0
                     AND st.recent_span_days >= $stable_min_weeks * 7
                     AND (st.reliable_change IS NULL OR st.recent_range < st.reliable_change)
                THEN 1 ELSE 0 END                                                   AS stable,
           CASE WHEN t.high_slope < 0 AND st.higher_is_worse THEN 1
                WHEN t.low_slope > 0 AND NOT st.higher_is_worse THEN 1
                ELSE 0 END                                                          AS trend_improving,
           CASE WHEN st.first_at_caseness = 1 AND st.last_at_caseness = 1 AND st.n_scored >= $stuck_scores
                     AND st.reliable_change IS NOT NULL AND st.still_range < st.reliable_change
                THEN 1 ELSE 0 END                                                   AS no_movement
    FROM readiness_status st
    JOIN readiness_active a ON a.episode_id = st.episode_id
    LEFT JOIN readiness_expected c
      ON c.scale = st.scale AND c.severity_band = st.severity_band AND c.session_number = st.last_session_number
    LEFT JOIN trend t ON t.episode_id = st.episode_id AND t.scale = st.scale
),
episode_flags AS (
    SELECT episode_id, count(*) AS n_scales, max(n_scored) AS most_scored,
           max(worse) AS any_worse, max(improved) AS any_improved,
           max(at_caseness_at_start) AS any_at_caseness_at_start, max(off_track) AS any_off_track,
           min(stable) AS all_stable, max(CASE WHEN improved = 1 OR trend_improving = 1 THEN 1 ELSE 0 END) AS any_improving,
           max(no_movement) AS any_no_movement
    FROM scale_flags
    GROUP BY episode_id
),
flagged AS (
    SELECT episode_id, max(flagged) AS at_risk
    FROM readiness_risk
    GROUP BY episode_id
),
apart AS (
    SELECT a.episode_id, a.clinician_id, a.site, coalesce(r.at_risk, 0) AS at_risk,
           CASE WHEN f.any_worse = 1 THEN 'deteriorating'
                WHEN f.any_off_track = 1 THEN 'not_on_track'
                WHEN f.any_at_caseness_at_start = 1 AND f.any_improved = 1 AND f.all_stable = 1 THEN 'ready_for_review'
                WHEN f.any_improving = 1 THEN 'improving'
                WHEN coalesce(a.attended_sessions, 0) >= $stuck_min_attended AND f.any_no_movement = 1 THEN 'stuck'
                WHEN f.n_scales > 0 AND f.any_at_caseness_at_start = 0 THEN 'maintenance'
                WHEN coalesce(f.most_scored, 0) < $min_scored_sessions THEN 'too_early'
                ELSE 'on_track' END AS category
    FROM readiness_active a
    LEFT JOIN episode_flags f ON f.episode_id = a.episode_id
    LEFT JOIN flagged r ON r.episode_id = a.episode_id
)
SELECT episode_id, clinician_id, site,
       CASE WHEN at_risk = 1 THEN 'safety' ELSE category END AS category,
       CASE WHEN at_risk = 1 THEN category END              AS other_category
FROM apart
