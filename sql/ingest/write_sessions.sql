-- Write the new and updated rows of a checked session log as batch $batch. The versions an update
-- replaces are copied to replaced_* first so that `waypoint undo-import` can put them back.
CREATE OR REPLACE TEMP TABLE _in_write AS
SELECT c.line, c.session_key, c.row_hash, c.outcome FROM _in_checked c WHERE c.outcome IN ('new', 'updated');

-- An update replaces the session and its scores in the file's score columns (_in_file_columns);
-- stored scores in columns the file does not have stay as they are (sql/ingest/carried_scores.sql).
CREATE OR REPLACE TEMP TABLE _in_old_measurements AS
SELECT m.* FROM measurements m
WHERE m.session_key IN (SELECT session_key FROM _in_write WHERE outcome = 'updated')
  AND m.scale IN (SELECT scale FROM _in_file_columns WHERE item = 0);

CREATE OR REPLACE TEMP TABLE _in_old_items AS
SELECT i.* FROM item_scores i
JOIN (SELECT w.session_key || '|' || f.scale AS measurement_key, f.item
      FROM _in_write w, _in_file_columns f WHERE w.outcome = 'updated' AND f.item > 0) x
  ON x.measurement_key = i.measurement_key AND x.item = i.item;

INSERT INTO replaced_sessions
SELECT $batch, s.* FROM sessions s
WHERE s.session_key IN (SELECT session_key FROM _in_write WHERE outcome = 'updated');

INSERT INTO replaced_measurements SELECT $batch, m.* FROM _in_old_measurements m;

INSERT INTO replaced_item_scores SELECT $batch, i.* FROM _in_old_items i;

DELETE FROM item_scores i USING _in_old_items o WHERE i.measurement_key = o.measurement_key AND i.item = o.item;

DELETE FROM measurements WHERE measurement_key IN (SELECT measurement_key FROM _in_old_measurements);

DELETE FROM sessions WHERE session_key IN (SELECT session_key FROM _in_write WHERE outcome = 'updated');

INSERT INTO patients
SELECT DISTINCT s.patient_id FROM _in_write w JOIN _in_sessions s USING (line)
WHERE s.patient_id NOT IN (SELECT patient_id FROM patients);

INSERT INTO clinicians
SELECT DISTINCT s.clinician_id FROM _in_write w JOIN _in_sessions s USING (line)
WHERE s.clinician_id NOT IN (SELECT clinician_id FROM clinicians);

INSERT INTO sessions (session_key, patient_id, clinician_id, session_date, session_time, status,
                      source_episode_id, session_type, modality, site, referral_date, discharge_reason,
                      episode_id, row_hash, batch_id)
SELECT w.session_key, s.patient_id, s.clinician_id, s.session_date, s.session_time, s.status,
       s.episode_id, s.session_type, s.modality, s.site, s.referral_date, s.discharge_reason,
       NULL, w.row_hash, $batch
FROM _in_write w JOIN _in_sessions s USING (line);

INSERT INTO measurements (measurement_key, session_key, patient_id, measure_date, scale, score, batch_id)
SELECT w.session_key || '|' || c.scale, w.session_key, s.patient_id, s.session_date, c.scale, c.score, $batch
FROM _in_write w JOIN _in_sessions s USING (line) JOIN _in_scores c ON c.line = w.line
WHERE c.item = 0;

INSERT INTO item_scores (measurement_key, item, score, batch_id)
SELECT w.session_key || '|' || c.scale, c.item, c.score, $batch
FROM _in_write w JOIN _in_scores c ON c.line = w.line
WHERE c.item > 0;

DROP TABLE _in_write;
DROP TABLE _in_old_measurements;
DROP TABLE _in_old_items;

-- Scores a measurement file stored (no session key) for the patient, date and scale of a score
-- this session log has just written: the session log's replaces them (the later file wins, and a
-- score is never counted twice), kept in replaced_measurements for `waypoint undo-import`.
CREATE OR REPLACE TEMP TABLE _in_superseded AS
SELECT m.* FROM measurements m
WHERE m.session_key IS NULL
  AND EXISTS (SELECT 1 FROM measurements n
              WHERE n.batch_id = $batch AND n.session_key IS NOT NULL
                AND n.patient_id = m.patient_id AND n.measure_date = m.measure_date AND n.scale = m.scale);

INSERT INTO replaced_measurements SELECT $batch, s.* FROM _in_superseded s;

DELETE FROM measurements WHERE measurement_key IN (SELECT measurement_key FROM _in_superseded);

DROP TABLE _in_superseded;
