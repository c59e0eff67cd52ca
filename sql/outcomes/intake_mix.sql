-- Severity at intake: the episodes of the view (w_outcome_scope, open in the period) that STARTED in
-- the period ($date_from .. $date_to, each NULL for open-ended), by the severity band (scale_bands,
-- from the registry) of their first score on $scale (w_scale_pairs.first_score). band is NULL for
-- an episode not scored on the scale (or scored outside every band): "not scored".
SELECT b.label AS band, CAST(count(*) AS BIGINT) AS episodes
FROM w_outcome_scope o
LEFT JOIN w_scale_pairs p ON p.episode_id = o.episode_id AND p.scale = $scale
LEFT JOIN scale_bands b ON b.scale = $scale AND p.first_score BETWEEN b.low AND b.high
WHERE o.in_range = 1
  AND ($date_from IS NULL OR o.start_date >= $date_from)
  AND ($date_to IS NULL OR o.start_date <= $date_to)
GROUP BY b.label
