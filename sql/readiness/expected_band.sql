-- Expected recovery band by intake severity and session number (readiness issue; after Lambert's
-- expected-recovery curves, Finch, Lambert & Schaalje 2001, here taken straight from the clinic's
-- own data instead of a fitted model).
-- Reference: the clinic's finished episodes (w_episodes.finished_treatment = 1, every clinician),
-- grouped by the registry severity band of the episode's first score of the scale (readiness_bands).
-- A cell is (scale, severity band, attended-session number); over the reference episodes' scores
-- of that scale at that session number it gives n_episodes (distinct episodes) and the 10th, 50th
-- and 90th percentiles (linear interpolation, percentile_cont), plus p_upper / p_lower at
-- $upper_percentile / $lower_percentile: the worse edge of the band is p_upper for a scale where
-- higher is worse and p_lower where higher is better.
WITH firsts AS (
    SELECT episode_id, scale, score
    FROM (
        SELECT w.episode_id, w.scale, w.score,
               row_number() OVER (PARTITION BY w.episode_id, w.scale ORDER BY w.session_number, w.measurement_key) AS rn
        FROM w_scores w
        JOIN w_episodes e ON e.episode_id = w.episode_id
        WHERE e.finished_treatment = 1
    ) f
    WHERE rn = 1
),
reference AS (
    SELECT f.episode_id, f.scale, b.label AS severity_band, b.band_order
    FROM firsts f
    JOIN readiness_bands b ON b.scale = f.scale AND f.score BETWEEN b.low AND b.high
)
SELECT x.scale, x.severity_band, x.band_order, w.session_number,
       count(DISTINCT w.episode_id)                                 AS n_episodes,
       percentile_cont(0.1) WITHIN GROUP (ORDER BY w.score)         AS p10,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY w.score)         AS p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY w.score)         AS p90,
       percentile_cont($upper_percentile) WITHIN GROUP (ORDER BY w.score) AS p_upper,
       percentile_cont($lower_percentile) WITHIN GROUP (ORDER BY w.score) AS p_lower
FROM reference x
JOIN w_scores w ON w.episode_id = x.episode_id AND w.scale = x.scale
JOIN scale_registry r ON r.scale = x.scale
WHERE r.is_outcome = TRUE
GROUP BY x.scale, x.severity_band, x.band_order, w.session_number
ORDER BY x.scale, x.band_order, w.session_number
