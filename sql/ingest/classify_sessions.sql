-- Decide what happens to each checked row of a session log: rejected (any invalid field, or a
-- conflict: another row of the file with the same session key and different values), duplicate
-- (an exact copy of an earlier row of the file), or new / updated / unchanged against the
-- sessions already in the database. The key is (patient, clinician, date, time if given); the
-- hash covers every canonical value and score, so a changed score is an update. Scores already
-- stored in columns the file does not have (_in_carried_lines, sql/ingest/carried_scores.sql) count
-- in the hash as if the file had repeated them: a file without a GAD-7 column changes no GAD-7.
-- (Written for files of millions of rows: the costly steps are each done once per distinct value,
-- and the rare cases -- invalid scores, keys given twice -- are worked out apart from the rest.
-- Keys given twice are first looked for by a number hashed from the key, which groups ten million
-- rows faster and in less memory than the text; the text key then decides, so two keys that happen
-- to share a hash are still two keys. The scores are read from _in_scores where they are used, not
-- copied: at ten million sessions the copy was 24 million rows beyond the memory limit.)
WITH row_scores AS NOT MATERIALIZED (
    SELECT line, scale, item, score FROM _in_scores WHERE reason IS NULL
    UNION ALL
    SELECT line, scale, item, score FROM _in_carried_lines
),
digests AS (
    -- each distinct valid "scale:item=score" hashed once: a few thousand texts, not one per cell
    SELECT scale, item, score, md5_number_lower(scale || ':' || item || '=' || score) AS digest
    FROM (SELECT DISTINCT scale, item, score FROM row_scores) d
),
score_agg AS (
    -- order-independent digest of a row's valid scores (cheaper than an ordered string_agg)
    SELECT s.line, CAST(bit_xor(d.digest) AS VARCHAR) AS score_text
    FROM row_scores s
    JOIN digests d ON d.scale = s.scale AND d.item = s.item AND d.score = s.score
    GROUP BY s.line
),
score_reasons AS (
    SELECT line, list_sort(list(reason)) AS score_reasons
    FROM _in_scores
    WHERE reason IS NOT NULL
    GROUP BY line
),
keyed AS MATERIALIZED (
    -- reasons: NULL for a valid row (not an empty list, which every row would carry); key_hash:
    -- only within this query (DuckDB's hash() may change between versions; row_hash is stored)
    SELECT s.line,
           CASE WHEN len(s.reasons) > 0 OR r.line IS NOT NULL
                THEN list_concat(s.reasons, coalesce(r.score_reasons, [])) END AS reasons,
           s.session_key,
           hash(s.session_key) AS key_hash,
           md5(CAST([s.status, s.episode_id, s.session_type, s.modality, s.site,
                     CAST(s.referral_date AS VARCHAR), s.discharge_reason, a.score_text] AS VARCHAR)) AS row_hash
    FROM _in_sessions s
    LEFT JOIN score_agg a USING (line)
    LEFT JOIN score_reasons r USING (line)
),
shared_hashes AS (
    -- hashes of more than one valid row: keys given twice, and any two keys that share a hash
    SELECT key_hash FROM keyed WHERE reasons IS NULL GROUP BY key_hash HAVING count(*) > 1
),
repeated AS (
    -- by the text key, the valid rows of those hashes: how many versions, the first line, the lines
    SELECT k.session_key, min(k.line) AS first_line,
           CASE WHEN min(k.row_hash) = max(k.row_hash) THEN 1 ELSE 2 END AS versions,
           list(k.line ORDER BY k.line) AS lines
    FROM keyed k JOIN shared_hashes h USING (key_hash)
    WHERE k.reasons IS NULL
    GROUP BY k.session_key
)
SELECT k.line, k.session_key, k.row_hash,
       CASE WHEN k.reasons IS NOT NULL THEN k.reasons
            WHEN r.versions > 1
            THEN ['conflicts with line ' || array_to_string(list_filter(r.lines, lambda x: x <> k.line), ', ')
                  || ': same patient, clinician, date and time but different values']
            ELSE [] END AS reasons,
       CASE WHEN k.reasons IS NOT NULL OR r.versions > 1 THEN 'rejected'
            WHEN k.line > r.first_line THEN 'duplicate'
            WHEN old.session_key IS NULL THEN 'new'
            WHEN old.row_hash = k.row_hash THEN 'unchanged'
            ELSE 'updated' END AS outcome
FROM keyed k
LEFT JOIN repeated r ON r.session_key = k.session_key AND k.reasons IS NULL
LEFT JOIN sessions old ON old.session_key = k.session_key AND k.reasons IS NULL AND coalesce(r.versions, 1) = 1
