-- Take back batch $batch: delete the rows it wrote, and put back the versions it replaced — except
-- where a later import has since written that row again (the later values stay). Its own
-- versions kept by later imports are dropped, so undoing those later never revives them.
CREATE OR REPLACE TEMP TABLE _undo_restored AS
SELECT session_key AS row_key FROM replaced_sessions
WHERE replaced_by = $batch AND session_key IN (SELECT session_key FROM sessions WHERE batch_id = $batch)
UNION ALL
SELECT measurement_key FROM replaced_measurements
WHERE replaced_by = $batch AND session_key IS NULL
  AND measurement_key IN (SELECT measurement_key FROM measurements WHERE batch_id = $batch);

DELETE FROM item_scores WHERE batch_id = $batch;
DELETE FROM measurements WHERE batch_id = $batch;
DELETE FROM sessions WHERE batch_id = $batch;

INSERT INTO sessions
SELECT session_key, patient_id, clinician_id, session_date, session_time, status, source_episode_id,
       session_type, modality, site, referral_date, discharge_reason, episode_id, row_hash, batch_id
FROM replaced_sessions
WHERE replaced_by = $batch AND session_key IN (SELECT row_key FROM _undo_restored);

INSERT INTO measurements
SELECT measurement_key, session_key, patient_id, measure_date, scale, score, batch_id
FROM replaced_measurements
WHERE replaced_by = $batch
  AND (session_key IN (SELECT row_key FROM _undo_restored)
       OR (session_key IS NULL AND measurement_key IN (SELECT row_key FROM _undo_restored)));

INSERT INTO item_scores
SELECT measurement_key, item, score, batch_id FROM replaced_item_scores
WHERE replaced_by = $batch
  AND regexp_replace(measurement_key, '\|[^|]*$', '') IN (SELECT row_key FROM _undo_restored);

DELETE FROM replaced_sessions WHERE replaced_by = $batch OR batch_id = $batch;
DELETE FROM replaced_measurements WHERE replaced_by = $batch OR batch_id = $batch;
DELETE FROM replaced_item_scores WHERE replaced_by = $batch OR batch_id = $batch;

DELETE FROM patients
WHERE patient_id NOT IN (SELECT patient_id FROM sessions)
  AND patient_id NOT IN (SELECT patient_id FROM measurements);
DELETE FROM clinicians WHERE clinician_id NOT IN (SELECT clinician_id FROM sessions);
