-- Case-mix-adjusted recovery by clinician (outcomes issue, "Clinicians compared fairly").
-- Cases: episodes in w_outcome_scope that ended in the range, paired and at caseness (the
-- denominator of the recovery rate). Each case is expected to recover at the clinic-wide recovery
-- rate of its intake-severity band (the PHQ-9 band of its first PHQ-9; 'not banded' when the score
-- falls in no band). expected = the sum of those rates over the clinician's cases; observed = the
-- clinician's recoveries. The ratio observed / expected and its interval are computed by the caller.
WITH cases AS (
    SELECT clinician_id, coalesce(intake_band, 'not banded') AS intake_band, recovered
    FROM w_outcome_scope
    WHERE in_rates = 1 AND paired = 1 AND at_caseness = 1
),
band AS (
    SELECT intake_band, CAST(sum(recovered) AS DOUBLE) / count(*) AS band_rate
    FROM cases
    GROUP BY intake_band
)
SELECT c.clinician_id,
       CAST(count(*) AS INTEGER)        AS cases,
       CAST(sum(c.recovered) AS INTEGER) AS observed,
       sum(b.band_rate)                 AS expected
FROM cases c
JOIN band b ON b.intake_band = c.intake_band
GROUP BY c.clinician_id
ORDER BY c.clinician_id
