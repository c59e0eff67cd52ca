-- Retention (engagement issue, "Retention"): one row per episode in scope, the input to the
-- Kaplan-Meier curve of staying in treatment.
--   sessions      time: attended sessions in the episode on the as-of date
--   dropout       event: 1 when the episode ended in dropout (explicit or lost contact); planned,
--                 transferred and other endings and active episodes are censored (0)
--   intake_severity  severity band of the episode's first PHQ-9 (w_scale_pairs.first_score, in
--                 w_severity_bands from the scale registry); NULL when the episode has no PHQ-9
-- Scope: the episode's clinician ($clinician_id) and site ($site), NULL for all.
-- Unordered: retention_counts.sql counts these rows for the curves; engagement.retention_episodes
-- returns them in episode order.
SELECT e.episode_id, e.clinician_id, CAST(e.attended_sessions AS INTEGER) AS sessions,
       CASE WHEN e.ending = 'dropout' THEN 1 ELSE 0 END AS dropout,
       b.label AS intake_severity, b.band_order AS intake_severity_order
FROM w_episodes e
LEFT JOIN w_scale_pairs p ON p.episode_id = e.episode_id AND p.scale = 'phq9'
LEFT JOIN w_severity_bands b ON b.scale = 'phq9' AND p.first_score BETWEEN b.low AND b.high
WHERE ($clinician_id IS NULL OR e.clinician_id = $clinician_id)
  AND ($site IS NULL OR e.site = $site)
