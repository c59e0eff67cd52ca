-- The Theil-Sen trend of each scale's last $trend_scores scores in each active episode (readiness
-- issue, "improving"; Sen 1968): the slope in points a week (x: weeks since the first of those
-- scores) and its interval at confidence trend_confidence, as scipy.stats.theilslopes computes
-- them, step by step in double precision: the median of the slopes of the pairs with a later
-- date; the interval's ends are the sorted slopes at ranks (nt -/+ z * sigma) / 2, rounded half to
-- even, with sigma^2 the variance of Kendall's S less its tie terms. tests/test_readiness_trend.py
-- holds the figures to scipy's, bit for bit.
-- Input: readiness_scores (episode_scores.sql). Parameters: $trend_scores; $trend_z, the normal
-- quantile scipy.stats.norm.ppf(alpha / 2) with alpha = 1 - trend_confidence.
-- One row per episode and scale scored at least $trend_scores times on two dates or more;
-- trend_low and trend_high are NULL when the variance is negative (scipy: NaN).
WITH trend_points AS (
    SELECT episode_id, clinician_id, scale, CAST(score AS DOUBLE) AS y,
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
    SELECT a.episode_id, a.clinician_id, a.scale, (a.y - b.y) / (a.x - b.x) AS slope,
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
    SELECT episode_id, scale, nt, sigsq,
           (CAST(nt AS DOUBLE) - $trend_z * sqrt(CASE WHEN sigsq >= 0 THEN sigsq END)) / CAST(2 AS DOUBLE) AS upper_at,
           (CAST(nt AS DOUBLE) + $trend_z * sqrt(CASE WHEN sigsq >= 0 THEN sigsq END)) / CAST(2 AS DOUBLE) AS lower_at
    FROM spread
),
rank_index AS (
    -- Python's round(): half to even
    SELECT episode_id, scale, nt, sigsq,
           least(CASE WHEN upper_at - floor(upper_at) = 0.5
                      THEN floor(upper_at) + (floor(upper_at) - 2 * floor(floor(upper_at) / 2))
                      ELSE round(upper_at) END, nt - 1) AS upper_idx,
           greatest(CASE WHEN lower_at - floor(lower_at) = 0.5
                         THEN floor(lower_at) + (floor(lower_at) - 2 * floor(floor(lower_at) / 2))
                         ELSE round(lower_at) END - 1, 0) AS lower_idx
    FROM ranks
)
SELECT s.episode_id, s.clinician_id, s.scale,
       CASE WHEN r.nt - 2 * floor(r.nt / 2) = 1
            THEN max(CASE WHEN s.idx = floor(r.nt / 2) THEN s.slope END)
            ELSE (max(CASE WHEN s.idx = floor(r.nt / 2) - 1 THEN s.slope END)
                  + max(CASE WHEN s.idx = floor(r.nt / 2) THEN s.slope END)) / CAST(2 AS DOUBLE)
       END                                                                  AS trend_slope,
       CASE WHEN r.sigsq >= 0 THEN max(CASE WHEN s.idx = r.lower_idx THEN s.slope END) END AS trend_low,
       CASE WHEN r.sigsq >= 0 THEN max(CASE WHEN s.idx = r.upper_idx THEN s.slope END) END AS trend_high
FROM rank_index r
JOIN slopes s ON s.episode_id = r.episode_id AND s.scale = r.scale
GROUP BY s.episode_id, s.clinician_id, s.scale, r.nt, r.sigsq
