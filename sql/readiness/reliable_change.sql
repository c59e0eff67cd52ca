-- Reliable-change threshold of each scale, in points (readiness issue).
-- published: the registry's threshold (NHS Talking Therapies: PHQ-9 6, GAD-7 4; others in
--            analytics/scales.toml with their sources). A change of exactly it is reliable.
-- derived:   for a scale without one (WSAS, K10), Jacobson & Truax (1991):
--            RC points = 1.96 * sqrt(2) * SD * sqrt(1 - r), with SD the sample SD (n - 1) of the
--            first score of that scale in each of the clinic's episodes (every episode in
--            w_episodes, any clinician, ended or not; w_scale_pairs.first_score) and r the
--            registry's reliability.
-- NULL:      no reliability, fewer than 2 episodes with the scale, or SD 0: the scale is then left
--            out of every reliable-change rule (the readiness reasons say so).
WITH firsts AS (
    -- the first score of each scale in each episode: w_scale_pairs (outcomes/scale_pairs.sql)
    SELECT scale, first_score AS score
    FROM w_scale_pairs
),
sums AS (
    -- exact integer sums (n, sum of x, sum of x squared): the sample SD from them is the same on
    -- every run, where stddev_samp's parallel partial results can differ in the last digit
    SELECT scale, count(*) AS baseline_n, sum(CAST(score AS BIGINT)) AS sx,
           sum(CAST(score AS BIGINT) * score) AS sxx
    FROM firsts
    GROUP BY scale
),
spread AS (
    SELECT scale, baseline_n,
           CASE WHEN baseline_n >= 2
                THEN sqrt(CAST(baseline_n * sxx - sx * sx AS DOUBLE) / (baseline_n * (baseline_n - 1)))
           END AS baseline_sd
    FROM sums
)
SELECT r.scale,
       CASE WHEN r.reliable_change IS NOT NULL THEN r.reliable_change
            WHEN r.reliability IS NOT NULL AND s.baseline_n >= 2 AND s.baseline_sd > 0
            THEN 1.96 * sqrt(2.0) * s.baseline_sd * sqrt(1.0 - r.reliability)
       END AS reliable_change,
       CASE WHEN r.reliable_change IS NOT NULL THEN 'published'
            WHEN r.reliability IS NOT NULL AND s.baseline_n >= 2 AND s.baseline_sd > 0 THEN 'derived'
       END AS rc_source,
       r.reliability,
       coalesce(s.baseline_n, 0) AS baseline_n,
       s.baseline_sd
FROM scale_registry r
LEFT JOIN spread s ON s.scale = r.scale
