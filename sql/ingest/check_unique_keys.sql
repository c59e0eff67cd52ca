-- Keys the import wrote (batch $batch) that now occur more than once: there must be none. Sessions,
-- measurements and item scores are kept unique by the import, not by a primary-key index
-- (sql/migrations/004_keys_without_indexes.sql); this is the check before it commits. A key can
-- repeat within the batch, or match a row another batch wrote. Within the batch, the keys are first
-- grouped by a number hashed from them (faster, and in less memory, than ten million texts); only
-- the rows of a hash seen twice are then grouped by the key itself, which decides.
SELECT * FROM (
    SELECT 'sessions' AS table_name, session_key AS key_value FROM sessions
    WHERE batch_id = $batch
      AND hash(session_key) IN (SELECT hash(session_key) FROM sessions WHERE batch_id = $batch
                                GROUP BY 1 HAVING count(*) > 1)
    GROUP BY session_key HAVING count(*) > 1
    UNION ALL
    SELECT 'sessions', session_key FROM sessions
    WHERE batch_id <> $batch AND session_key IN (SELECT session_key FROM sessions WHERE batch_id = $batch)
    UNION ALL
    SELECT 'measurements', measurement_key FROM measurements
    WHERE batch_id = $batch
      AND hash(measurement_key) IN (SELECT hash(measurement_key) FROM measurements WHERE batch_id = $batch
                                    GROUP BY 1 HAVING count(*) > 1)
    GROUP BY measurement_key HAVING count(*) > 1
    UNION ALL
    SELECT 'measurements', measurement_key FROM measurements
    WHERE batch_id <> $batch AND measurement_key IN (SELECT measurement_key FROM measurements WHERE batch_id = $batch)
    UNION ALL
    SELECT 'item_scores', measurement_key || ' item ' || CAST(item AS VARCHAR) FROM item_scores
    WHERE batch_id = $batch
      AND hash(measurement_key, item) IN (SELECT hash(measurement_key, item) FROM item_scores
                                          WHERE batch_id = $batch GROUP BY 1 HAVING count(*) > 1)
    GROUP BY measurement_key, item HAVING count(*) > 1
    UNION ALL
    SELECT 'item_scores', i.measurement_key || ' item ' || CAST(i.item AS VARCHAR) FROM item_scores i
    WHERE i.batch_id <> $batch AND EXISTS (SELECT 1 FROM item_scores w WHERE w.batch_id = $batch
                                            AND w.measurement_key = i.measurement_key AND w.item = i.item)
) AS repeated
GROUP BY ALL
ORDER BY table_name, key_value
LIMIT 5
