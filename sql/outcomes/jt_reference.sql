-- Work table w_jt_reference: Jacobson & Truax (1991) reference figures for every scale in the
-- registry (outcomes issue, "Scores and definitions").
-- Reference sample: the clinic's finished episodes (w_episodes: every clinician and site, on or
-- before the as-of date) with the scale scored at two or more attended sessions. As in the published
-- method, SD = the sample SD (n - 1) of the first (pre) scores of those complete pairs.
-- The threshold is a property of the clinic and the scale, not of a filter, so every clinician is
-- judged on the same yardstick.
--   s_diff    = sqrt(2) * SD * sqrt(1 - reliability)     (J&T 1991, eq. 2; reliability: registry)
--   rc_points = 1.96 * s_diff: a change of MORE than this is reliable (J&T 1991: |RC| > 1.96)
--   cutoff    the registry's clinical cutoff (cutoff_source 'registry'); for a scale without one,
--             J&T cutoff a = mean of the first scores -/+ 2 SD toward the healthy side ('a').
-- SD from exact integer sums (n, sum of x, sum of x squared), so that it is the same on every run
-- (stddev_samp's parallel partial results can differ in the last digit between runs).
WITH sums AS (
    SELECT r.scale, r.name, r.higher_is_worse, r.is_outcome, r.reliability, r.reliable_change,
           r.caseness_at_cutoff, r.cutoff,
           count(x.episode_id)                                  AS n,
           avg(x.first_score)                                   AS mean_score,
           sum(CAST(x.first_score AS BIGINT))                   AS sx,
           sum(CAST(x.first_score AS BIGINT) * x.first_score)   AS sxx
    FROM scale_registry r
    LEFT JOIN (
        SELECT p.episode_id, p.scale, p.first_score
        FROM w_scale_pairs p
        JOIN w_episodes e ON e.episode_id = p.episode_id
        WHERE e.finished_treatment = 1 AND p.scored_sessions >= 2
    ) x ON x.scale = r.scale
    GROUP BY r.scale, r.name, r.higher_is_worse, r.is_outcome, r.reliability, r.reliable_change,
             r.caseness_at_cutoff, r.cutoff
),
spread AS (
    SELECT *, CASE WHEN n >= 2 THEN sqrt(CAST(n * sxx - sx * sx AS DOUBLE) / (n * (n - 1))) END AS sd
    FROM sums
)
SELECT scale, name, higher_is_worse, is_outcome, reliability, reliable_change, caseness_at_cutoff,
       CAST(n AS INTEGER)                                   AS reference_n,
       mean_score                                           AS reference_mean,
       sd                                                   AS reference_sd,
       sqrt(2) * sd * sqrt(1 - reliability)                 AS s_diff,
       1.96 * sqrt(2) * sd * sqrt(1 - reliability)          AS rc_points,
       CASE WHEN cutoff IS NOT NULL THEN cutoff
            WHEN higher_is_worse THEN mean_score - 2 * sd
            ELSE mean_score + 2 * sd
       END                                                  AS cutoff,
       CASE WHEN cutoff IS NOT NULL THEN 'registry'
            WHEN n >= 2 THEN 'a'
       END                                                  AS cutoff_source
FROM spread
ORDER BY scale
