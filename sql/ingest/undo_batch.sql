-- Take back batch $batch: delete the rows it wrote, and put back the versions it replaced — except
-- where a later import has since written that row again (the later values stay). The batch's own
-- versions kept by later imports are dropped, so undoing those later never revives them. A
-- measurement file's score that a session log replaced (write_sessions.sql) comes back like the rest.
CREATE OR REPLACE TEMP TABLE _undo_restored AS
SELECT session_key AS row_key FROM replaced_sessions
WHERE replaced_by = $batch AND session_key IN (SELECT session_key FROM sessions WHERE batch_id = $batch)
UNION ALL
SELECT measurement_key FROM replaced_measurements
WHERE replaced_by = $batch AND session_key IS NULL
  AND measurement_key NOT IN (SELECT measurement_key FROM measurements WHERE batch_id <> $batch);

-- Versions this batch replaced, of rows a later import has since written again: they pass to that
-- later import, so that undoing it too brings back what was there before this batch (dropped with
-- this batch's own versions, they were lost when batches were undone out of order).
CREATE OR REPLACE TEMP TABLE _undo_handover AS
SELECT session_key AS row_key, replaced_by AS later FROM replaced_sessions
WHERE batch_id = $batch AND replaced_by <> $batch
UNION ALL
SELECT measurement_key, replaced_by FROM replaced_measurements
WHERE batch_id = $batch AND session_key IS NULL AND replaced_by <> $batch;

UPDATE replaced_sessions SET replaced_by = h.later
FROM _undo_handover h
WHERE replaced_sessions.replaced_by = $batch AND replaced_sessions.session_key = h.row_key;

UPDATE replaced_measurements SET replaced_by = h.later
FROM _undo_handover h
WHERE replaced_measurements.replaced_by = $batch
  AND (replaced_measurements.session_key = h.row_key
       OR (replaced_measurements.session_key IS NULL AND replaced_measurements.measurement_key = h.row_key));

UPDATE replaced_item_scores SET replaced_by = h.later
FROM _undo_handover h
WHERE replaced_item_scores.replaced_by = $batch
  AND regexp_replace(replaced_item_scores.measurement_key, '\|[^|]*$', '') = h.row_key;

DROP TABLE _undo_handover;

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
