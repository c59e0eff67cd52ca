-- Write the new and updated rows of a checked long measurement file as batch $batch, keeping the
-- scores an update replaces in replaced_measurements for `waypoint undo-import`.
CREATE OR REPLACE TEMP TABLE _in_write AS
SELECT c.line, c.session_key AS measurement_key, c.outcome FROM _in_checked c WHERE c.outcome IN ('new', 'updated');

INSERT INTO replaced_measurements
SELECT $batch, m.* FROM measurements m
WHERE m.measurement_key IN (SELECT measurement_key FROM _in_write WHERE outcome = 'updated');

DELETE FROM measurements WHERE measurement_key IN (SELECT measurement_key FROM _in_write WHERE outcome = 'updated');

INSERT INTO patients
SELECT DISTINCT l.patient_id FROM _in_write w JOIN _in_long l USING (line)
WHERE l.patient_id NOT IN (SELECT patient_id FROM patients);

INSERT INTO measurements (measurement_key, session_key, patient_id, measure_date, scale, score, batch_id)
SELECT w.measurement_key, NULL, l.patient_id, l.measure_date, l.scale, l.score, $batch
FROM _in_write w JOIN _in_long l USING (line);

DROP TABLE _in_write;
