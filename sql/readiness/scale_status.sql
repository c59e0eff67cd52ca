-- Per active episode and outcome scale: the facts the readiness rules test (readiness issue).
-- Inputs: readiness_scores (episode_scores.sql), readiness_rc (reliable_change.sql),
-- readiness_bands (the registry's severity bands: scale, band_order, low, high, label).
-- clinician_id: the episode's main clinician (for picking out one caseload).
--   at caseness       on the clinical side of the cutoff; a score exactly at it counts when the
--                     registry's caseness_at_cutoff is true (PHQ-9 >= 10, GAD-7 >= 8; ORS < 25)
--   improvement       change first -> latest in the healthy direction (positive = better)
--   reliably_improved improvement >= RC; reliably_worse: improvement <= -RC (a change of exactly
--                     RC is reliable); NULL with one score only or no RC for the scale
--   recent_*          the last $stable_scores scores: how many, the date of the earliest, their
--                     span in days to the latest, max - min, and how many are at caseness
--   still_*           the last $stuck_scores scores: how many, the date of the earliest, max - min
--                     (for "no movement")
--   fall_fraction     improvement / (first score - the scale's healthy end): for a scale whose
--                     healthy end is 0 (PHQ-9, GAD-7) the fall as a fraction of the first score;
--                     NULL when the first score is already at the healthy end
--   severity_band     the registry severity band of the first score (NULL: the scale has none)
-- (The counts are cast to INTEGER: DuckDB sums them as HUGEINT, which Python reads about twice as
-- slowly, and readiness reads a row per scale per active episode.)
WITH scored AS (
    SELECT s.*,
           CASE WHEN r.cutoff IS NULL THEN 0
                WHEN r.higher_is_worse
                THEN CASE WHEN s.score > r.cutoff OR (r.caseness_at_cutoff AND s.score = r.cutoff) THEN 1 ELSE 0 END
                ELSE CASE WHEN s.score < r.cutoff OR (r.caseness_at_cutoff AND s.score = r.cutoff) THEN 1 ELSE 0 END
           END AS at_caseness
    FROM readiness_scores s
    JOIN scale_registry r ON r.scale = s.scale
),
per_scale AS (
    SELECT episode_id, clinician_id, scale,
           max(n_scored)                                                        AS n_scored,
           max(CASE WHEN seq = 1 THEN score END)                                AS first_score,
           max(CASE WHEN seq = 1 THEN session_date END)                         AS first_date,
           max(CASE WHEN seq = 1 THEN session_number END)                       AS first_session_number,
           max(CASE WHEN seq = 1 THEN at_caseness END)                          AS first_at_caseness,
           max(CASE WHEN from_end = 1 THEN score END)                           AS last_score,
           max(CASE WHEN from_end = 1 THEN session_date END)                    AS last_date,
           max(CASE WHEN from_end = 1 THEN session_number END)                  AS last_session_number,
           max(CASE WHEN from_end = 1 THEN at_caseness END)                     AS last_at_caseness,
           CAST(sum(CASE WHEN from_end <= $stable_scores THEN 1 ELSE 0 END) AS INTEGER) AS recent_n,
           min(CASE WHEN from_end <= $stable_scores THEN session_date END)      AS recent_start,
           max(CASE WHEN from_end <= $stable_scores THEN score END)
             - min(CASE WHEN from_end <= $stable_scores THEN score END)         AS recent_range,
           CAST(sum(CASE WHEN from_end <= $stable_scores THEN at_caseness ELSE 0 END) AS INTEGER) AS recent_at_caseness,
           CAST(sum(CASE WHEN from_end <= $stuck_scores THEN 1 ELSE 0 END) AS INTEGER) AS still_n,
           min(CASE WHEN from_end <= $stuck_scores THEN session_date END)       AS still_start,
           max(CASE WHEN from_end <= $stuck_scores THEN score END)
             - min(CASE WHEN from_end <= $stuck_scores THEN score END)          AS still_range
    FROM scored
    GROUP BY episode_id, clinician_id, scale
),
changed AS (
    SELECT p.*, r.name, r.higher_is_worse, r.cutoff, r.caseness_at_cutoff, r.min_score, r.max_score,
           rc.reliable_change, rc.rc_source, rc.reliability, rc.baseline_n, rc.baseline_sd,
           CASE WHEN r.higher_is_worse THEN p.first_score - p.last_score
                ELSE p.last_score - p.first_score END                           AS improvement,
           CASE WHEN r.higher_is_worse THEN p.first_score - r.min_score
                ELSE r.max_score - p.first_score END                            AS room_to_improve,
           date_diff('day', p.recent_start, p.last_date)                        AS recent_span_days
    FROM per_scale p
    JOIN scale_registry r ON r.scale = p.scale
    LEFT JOIN readiness_rc rc ON rc.scale = p.scale
)
SELECT c.*,
       CASE WHEN c.reliable_change IS NULL OR c.n_scored < 2 THEN NULL
            WHEN c.improvement >= c.reliable_change THEN 1 ELSE 0 END           AS reliably_improved,
       CASE WHEN c.reliable_change IS NULL OR c.n_scored < 2 THEN NULL
            WHEN c.improvement <= -c.reliable_change THEN 1 ELSE 0 END          AS reliably_worse,
       CASE WHEN c.room_to_improve > 0 THEN CAST(c.improvement AS DOUBLE) / c.room_to_improve END AS fall_fraction,
       b.label                                                                  AS severity_band,
       b.low                                                                    AS severity_low,
       b.high                                                                   AS severity_high
FROM changed c
LEFT JOIN readiness_bands b ON b.scale = c.scale AND c.first_score BETWEEN b.low AND b.high
ORDER BY c.episode_id, c.scale
