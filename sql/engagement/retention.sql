-- Retention (engagement issue, "Retention"): one row per episode in scope, the input to the
-- Kaplan-Meier curve of staying in treatment.
--   sessions      time: attended sessions in the episode on the as-of date
--   dropout       event: 1 when the episode ended in dropout (explicit or lost contact); planned,
--                 transferred and other endings and active episodes are censored (0)
--   intake_severity  severity band of the episode's first PHQ-9 (w_severity_bands, from the scale
--                 registry); NULL when the episode has no PHQ-9
-- Scope: the episode's clinician ($clinician_id) and site ($site), NULL for all.
WITH first_phq9 AS (
    SELECT episode_id, score
    FROM (
        SELECT episode_id, score,
               row_number() OVER (PARTITION BY episode_id ORDER BY session_number, measurement_key) AS rn
        FROM w_scores
        WHERE scale = 'phq9'
    ) f
    WHERE rn = 1
)
SELECT e.episode_id, e.clinician_id, CAST(e.attended_sessions AS INTEGER) AS sessions,
       CASE WHEN e.ending = 'dropout' THEN 1 ELSE 0 END AS dropout,
       b.label AS intake_severity, b.band_order AS intake_severity_order
FROM w_episodes e
LEFT JOIN first_phq9 p ON p.episode_id = e.episode_id
LEFT JOIN w_severity_bands b ON b.scale = 'phq9' AND p.score BETWEEN b.low AND b.high
WHERE ($clinician_id IS NULL OR e.clinician_id = $clinician_id)
  AND ($site IS NULL OR e.site = $site)
ORDER BY e.episode_id
