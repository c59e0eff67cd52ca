-- Expected recovery band by intake severity and session number (readiness issue; after Lambert's
-- expected-recovery curves, Finch, Lambert & Schaalje 2001, here taken straight from the clinic's
-- own data instead of a fitted model).
-- Reference: the clinic's finished episodes (w_episodes.finished_treatment = 1, every clinician),
-- grouped by the registry severity band of the episode's first score of the scale (readiness_bands).
-- A cell is (scale, severity band, attended-session number); over the reference episodes' scores
-- of that scale at that session number it gives n_episodes (distinct episodes) and the 10th, 50th
-- and 90th percentiles, plus p_upper / p_lower at $upper_percentile / $lower_percentile: the worse
-- edge of the band is p_upper for a scale where higher is worse and p_lower where higher is better.
-- Percentiles interpolate linearly between the ordered scores (as percentile_cont, numpy's default
-- and R type 7): position h = (n - 1) * p counted from 0, value = x[floor h] + (h - floor h) *
-- (x[ceil h] - x[floor h]). Written out from each cell's histogram of scores so that it means the
-- same in every SQL engine (SQLGlot turns percentile_cont into Spark's approximate percentile).
WITH firsts AS (
    -- the first score of each scale in each finished episode (w_scale_pairs: outcomes/scale_pairs.sql)
    SELECT p.episode_id, p.scale, p.first_score AS score
    FROM w_scale_pairs p
    JOIN w_episodes e ON e.episode_id = p.episode_id
    WHERE e.finished_treatment = 1
),
reference AS (
    SELECT f.episode_id, f.scale, b.label AS severity_band, b.band_order
    FROM firsts f
    JOIN readiness_bands b ON b.scale = f.scale AND f.score BETWEEN b.low AND b.high
),
cell_scores AS (
    SELECT x.scale, x.severity_band, x.band_order, w.session_number, w.episode_id, w.score, w.tie_key
    FROM reference x
    JOIN w_scores w ON w.episode_id = x.episode_id AND w.scale = x.scale
    JOIN scale_registry r ON r.scale = x.scale
    WHERE r.is_outcome = TRUE
),
histogram AS (
    -- scores are whole numbers on a short scale, so a cell's ordered scores are its histogram:
    -- k scores of this value, after `below` lower ones, take the ranks below + 1 .. below + k
    -- (counted from 1); a count per value instead of a sort of every score
    SELECT scale, severity_band, band_order, session_number, score, k,
           CAST(sum(k) OVER (PARTITION BY scale, severity_band, session_number ORDER BY score
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) - k AS below,
           CAST(sum(k) OVER (PARTITION BY scale, severity_band, session_number) AS BIGINT) AS n
    FROM (SELECT scale, severity_band, band_order, session_number, score, count(*) AS k
          FROM cell_scores
          GROUP BY scale, severity_band, band_order, session_number, score) g
),
wanted AS (
    SELECT 'p10' AS which, CAST(0.1 AS DOUBLE) AS p
    UNION ALL SELECT 'p50', CAST(0.5 AS DOUBLE)
    UNION ALL SELECT 'p90', CAST(0.9 AS DOUBLE)
    UNION ALL SELECT 'p_upper', CAST($upper_percentile AS DOUBLE)
    UNION ALL SELECT 'p_lower', CAST($lower_percentile AS DOUBLE)
),
positions AS (   -- each percentile's position h, and the scores at ranks floor(h) + 1 and ceil(h) + 1
    SELECT c.scale, c.severity_band, c.band_order, c.session_number, q.which, (c.n - 1) * q.p AS h,
           CASE WHEN floor((c.n - 1) * q.p) + 1 > c.below AND floor((c.n - 1) * q.p) + 1 <= c.below + c.k
                THEN c.score END AS at_floor,
           CASE WHEN ceil((c.n - 1) * q.p) + 1 > c.below AND ceil((c.n - 1) * q.p) + 1 <= c.below + c.k
                THEN c.score END AS at_ceil
    FROM histogram c
    CROSS JOIN wanted q
),
interpolated AS (
    SELECT scale, severity_band, band_order, session_number, which,
           max(at_floor) + max(h - floor(h)) * (max(at_ceil) - max(at_floor)) AS value
    FROM positions
    GROUP BY scale, severity_band, band_order, session_number, which
),
counts AS (
    -- an episode's scale has one score at a session unless two were given there, and those two
    -- both carry a tie_key: so the episodes are the scores without one, and the distinct
    -- episodes of those with one (counting every distinct episode took three times as long)
    SELECT scale, severity_band, session_number,
           CAST(sum(CASE WHEN tie_key IS NULL THEN 1 ELSE 0 END)
                + count(DISTINCT CASE WHEN tie_key IS NOT NULL THEN episode_id END) AS BIGINT) AS n_episodes
    FROM cell_scores
    GROUP BY scale, severity_band, session_number
)
SELECT i.scale, i.severity_band, i.band_order, i.session_number,
       max(c.n_episodes)                                        AS n_episodes,
       max(CASE WHEN i.which = 'p10' THEN i.value END)          AS p10,
       max(CASE WHEN i.which = 'p50' THEN i.value END)          AS p50,
       max(CASE WHEN i.which = 'p90' THEN i.value END)          AS p90,
       max(CASE WHEN i.which = 'p_upper' THEN i.value END)      AS p_upper,
       max(CASE WHEN i.which = 'p_lower' THEN i.value END)      AS p_lower
FROM interpolated i
JOIN counts c ON c.scale = i.scale AND c.severity_band = i.severity_band AND c.session_number = i.session_number
GROUP BY i.scale, i.severity_band, i.band_order, i.session_number
ORDER BY i.scale, i.band_order, i.session_number
