-- Parse and check every score cell of a wide session log (_in_cells: line, scale, item, raw text;
-- item 0 is the scale's total) against the scale registry (scale_registry). One row per cell:
-- the whole-number score, or a reason why it is not valid.
WITH parsed AS (
    SELECT c.line, c.scale, c.item, c.raw, r.name, r.min_score, r.max_score, r.item_min, r.item_max, r.items,
           try_cast(replace(c.raw, ',', '.') AS DOUBLE) AS value
    FROM _in_cells c
    JOIN scale_registry r ON r.scale = c.scale
)
SELECT line, scale, item,
       CASE WHEN value = floor(value) AND abs(value) < 1e9 AND NOT isnan(value) THEN CAST(value AS INTEGER) END
           AS score,  -- a score too large for an integer (1e23) is set aside below, never cast
       CASE
           WHEN value IS NULL OR isnan(value) OR isinf(value)
               THEN name || CASE WHEN item > 0 THEN ' item ' || item ELSE '' END
                    || ' ''' || raw || ''' is not a number'
           WHEN value <> floor(value)
               THEN name || CASE WHEN item > 0 THEN ' item ' || item ELSE '' END
                    || ' ' || raw || ' is not a whole number'
           WHEN item = 0 AND (value < min_score OR value > max_score)
               THEN name || ' ' || (CASE WHEN abs(value) < 1e9 THEN CAST(CAST(value AS BIGINT) AS VARCHAR) ELSE trim(raw) END) || ' is outside '
                    || min_score || '–' || max_score
           WHEN item > items
               THEN name || ' has no item ' || item || ' (it has ' || items || ' items)'
           WHEN item > 0 AND (value < item_min OR value > item_max)
               THEN name || ' item ' || item || ' score ' || (CASE WHEN abs(value) < 1e9 THEN CAST(CAST(value AS BIGINT) AS VARCHAR) ELSE trim(raw) END)
                    || ' is outside ' || item_min || '–' || item_max
       END AS reason
FROM parsed
