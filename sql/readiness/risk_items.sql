-- The latest recorded risk item of each active patient, per scale with a risk item (readiness
-- issue, "safety"): PHQ-9 item 9, CORE-10 item 6 (registry risk_item / risk_threshold, with
-- their sources in analytics/scales.toml). PHQ-8 has no risk item and so gives no row: Waypoint
-- never reads "no risk" from it.
-- Latest: the most recent measurement of that scale, on or before the as-of date, with the risk
-- item recorded, across all the patient's episodes; several on that date: the highest item score.
-- Read from measurements rather than w_scores on purpose: a risk answer counts even when it was
-- not given at an attended session.
-- flagged = 1 when the item score is at least the registry's risk threshold. clinician_id: the
-- episode's main clinician (for picking out one caseload).
-- Input: readiness_active (active_episodes.sql); only its patients' measurements are read, so a
-- caseload costs what the caseload holds, not what the clinic holds.
WITH recorded AS (
    SELECT m.patient_id, m.scale, m.measure_date, i.score AS item_score,
           CAST(r.risk_item AS INTEGER) AS risk_item, r.risk_threshold
    FROM measurements m
    JOIN scale_registry r ON r.scale = m.scale
    JOIN item_scores i ON i.measurement_key = m.measurement_key AND i.item = CAST(r.risk_item AS INTEGER)
    WHERE r.risk_item IS NOT NULL
      AND m.measure_date <= $as_of
      AND m.patient_id IN (SELECT patient_id FROM readiness_active)
),
latest AS (
    SELECT patient_id, scale, max(measure_date) AS measure_date
    FROM recorded
    GROUP BY patient_id, scale
)
SELECT a.episode_id, a.clinician_id, x.scale, x.measure_date,
       max(x.risk_item)      AS risk_item,
       max(x.risk_threshold) AS risk_threshold,
       max(x.item_score)     AS item_score,
       CASE WHEN max(x.item_score) >= max(x.risk_threshold) THEN 1 ELSE 0 END AS flagged
FROM readiness_active a
JOIN latest l ON l.patient_id = a.patient_id
JOIN recorded x ON x.patient_id = l.patient_id AND x.scale = l.scale AND x.measure_date = l.measure_date
GROUP BY a.episode_id, a.clinician_id, x.scale, x.measure_date
ORDER BY a.episode_id, x.scale
