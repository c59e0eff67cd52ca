-- The latest recorded risk item of each active patient, per scale with a risk item (readiness
-- issue, "safety"): PHQ-9 item 9, CORE-10 item 6 (registry risk_item / risk_threshold, with
-- their sources in analytics/scales.toml). PHQ-8 has no risk item and so gives no row: Waypoint
-- never reads "no risk" from it.
-- Latest: the most recent measurement of that scale, on or before the as-of date, with the risk
-- item recorded, across all the patient's episodes; several on that date: the highest item score.
-- Read from measurements rather than w_scores on purpose: a risk answer counts even when it was
-- not given at an attended session, or its scale's total was left blank.
-- flagged = 1 when the item score is at least the registry's risk threshold. clinician_id: the
-- episode's main clinician (for picking out one caseload).
-- Input: readiness_active (active_episodes.sql); only its patients' measurements are read, so a
-- caseload costs what the caseload holds, not what the clinic holds.
-- A risk item answered at a session whose total was left blank (the item asked on its own, as a
-- risk screen, or a questionnaire left incomplete) has no row in measurements: it is read through
-- its session (an item score's measurement_key is the session key, '|', the scale), so that the
-- answer still counts.
WITH risk_scales AS (
    SELECT scale, CAST(risk_item AS INTEGER) AS risk_item, risk_threshold
    FROM scale_registry
    WHERE risk_item IS NOT NULL
),
answers AS (
    -- every recorded risk item, with its measurement when the scale's total was given
    SELECT i.measurement_key, i.score AS item_score, r.scale, r.risk_item, r.risk_threshold,
           m.patient_id, m.measure_date
    FROM item_scores i
    JOIN risk_scales r ON i.item = r.risk_item AND right(i.measurement_key, length(r.scale) + 1) = '|' || r.scale
    LEFT JOIN measurements m ON m.measurement_key = i.measurement_key
),
recorded AS (
    SELECT a.patient_id, a.scale, a.measure_date, a.item_score, a.risk_item, a.risk_threshold
    FROM answers a
    WHERE a.patient_id IS NOT NULL
      AND a.measure_date <= $as_of
      AND a.patient_id IN (SELECT patient_id FROM readiness_active)
    UNION ALL
    SELECT s.patient_id, a.scale, s.session_date AS measure_date, a.item_score, a.risk_item, a.risk_threshold
    FROM answers a
    JOIN sessions s
      ON s.session_key = substring(a.measurement_key, 1, length(a.measurement_key) - length(a.scale) - 1)
    WHERE a.patient_id IS NULL
      AND s.session_date <= $as_of
      AND s.patient_id IN (SELECT patient_id FROM readiness_active)
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
