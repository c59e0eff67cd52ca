-- The readiness category of every active episode (readiness issue): the first rule that applies,
-- in the order of analytics/readiness.py CATEGORIES. The overview's chart counts these rows; the
-- reasons in words are written in Python, by the rule of the category decided here.
-- Inputs (work tables of analytics/readiness.py): readiness_active (active_episodes.sql),
-- readiness_status (scale_status.sql), readiness_trend (trend.sql), readiness_risk
-- (risk_items.sql) and readiness_expected (expected_band.sql, the clinic's reference cells).
-- Parameters: the thresholds of analytics/readiness.toml.
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
--                     trend_scores scores (trend.sql) wholly on the improving side of 0
--   stuck             $stuck_min_attended attended sessions and a scale at caseness at the start
--                     and now, its last $stuck_scores scores within less than the reliable change
--   maintenance       scored, and at caseness at the start on no scale
--   too_early         no scale scored $min_scored_sessions times
--   on_track          none of these
-- other_category: for safety, the category that applies apart from risk (else NULL).
WITH scale_flags AS (
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
           CASE WHEN t.trend_high < 0 AND st.higher_is_worse THEN 1
                WHEN t.trend_low > 0 AND NOT st.higher_is_worse THEN 1
                ELSE 0 END                                                          AS trend_improving,
           CASE WHEN st.first_at_caseness = 1 AND st.last_at_caseness = 1 AND st.n_scored >= $stuck_scores
                     AND st.reliable_change IS NOT NULL AND st.still_range < st.reliable_change
                THEN 1 ELSE 0 END                                                   AS no_movement
    FROM readiness_status st
    JOIN readiness_active a ON a.episode_id = st.episode_id
    LEFT JOIN readiness_expected c
      ON c.scale = st.scale AND c.severity_band = st.severity_band AND c.session_number = st.last_session_number
    LEFT JOIN readiness_trend t ON t.episode_id = st.episode_id AND t.scale = st.scale
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
