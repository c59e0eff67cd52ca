-- Score trajectories (outcomes issue, "Trajectories"): every score at an attended session (w_scores)
-- of the episodes asked for ($patient_id, $episode_id, the episode's main $clinician_id and $site;
-- each NULL for all), with
--   session_number     the attended-session number within the episode
--   weeks              weeks since the episode's first session (of any status)
--   change_from_first  score - the episode's first score on that scale (w_scale_pairs)
--   severity_band      the registry band of the score (scale_bands), NULL for scales without bands
--   reliable           whether the change so far is reliable:
--                      scales with a published threshold (registry reliable_change: PHQ-9 6, GAD-7 4;
--                      NHS Talking Therapies Manual 2023): |change| >= threshold, a change exactly at
--                      it being reliable; other scales: Jacobson & Truax, |change| > 1.96 * S_diff of
--                      the clinic's reference sample (w_jt_reference; strict, J&T 1991); NULL when
--                      neither can be had (no reliability, or fewer than two reference pairs).
--   reliable_direction 'improvement' | 'deterioration' when reliable, else NULL.
SELECT episode_id, patient_id, clinician_id, scale, session_date, session_number, weeks,
       score, first_score, change_from_first, severity_band,
       reliable_threshold, threshold_source, reliable,
       CASE WHEN reliable AND toward_health > 0 THEN 'improvement'
            WHEN reliable AND toward_health < 0 THEN 'deterioration'
       END AS reliable_direction
FROM (
    SELECT s.episode_id, s.patient_id, e.clinician_id, s.scale, s.session_date, s.session_number,
           s.tie_key,
           round(date_diff('day', e.start_date, s.session_date) / 7.0, 2) AS weeks,
           s.score, p.first_score,
           s.score - p.first_score AS change_from_first,
           CASE WHEN j.higher_is_worse THEN p.first_score - s.score ELSE s.score - p.first_score END AS toward_health,
           b.label AS severity_band,
           coalesce(j.reliable_change, j.rc_points) AS reliable_threshold,
           CASE WHEN j.reliable_change IS NOT NULL THEN 'published'
                WHEN j.rc_points IS NOT NULL THEN 'jacobson_truax' END AS threshold_source,
           CASE WHEN j.reliable_change IS NOT NULL THEN abs(s.score - p.first_score) >= j.reliable_change
                WHEN j.rc_points IS NOT NULL THEN abs(s.score - p.first_score) > j.rc_points
           END AS reliable
    FROM w_scores s
    JOIN w_episodes e ON e.episode_id = s.episode_id
    JOIN w_scale_pairs p ON p.episode_id = s.episode_id AND p.scale = s.scale
    LEFT JOIN w_jt_reference j ON j.scale = s.scale
    LEFT JOIN scale_bands b ON b.scale = s.scale AND s.score BETWEEN b.low AND b.high
    WHERE ($patient_id IS NULL OR s.patient_id = $patient_id)
      AND ($patient_id IS NULL OR e.patient_id = $patient_id)   -- (the same rows: lets w_episodes be read for one patient)
      AND ($episode_id IS NULL OR s.episode_id = $episode_id)
      AND ($clinician_id IS NULL OR e.clinician_id = $clinician_id)
      AND ($site IS NULL OR e.site = $site)
) t
ORDER BY episode_id, scale, session_number, tie_key
