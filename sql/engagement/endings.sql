-- Endings by clinician (engagement issue, "Endings"), over episodes ended on the as-of date
-- (w_episodes.ended) whose end date is within $date_from .. $date_to (NULL: any).
--   planned, transferred   the latest discharge reason
--   dropout                ending 'dropout': an explicit dropout discharge (dropout_explicit) or no
--                          session for more than the lost-contact days (lost_contact)
--   other                  any other discharge reason
--   treated_once           ended after exactly one attended session (whatever the ending)
-- dropout_rate = dropout / ended (computed by the caller, with funnel limits).
-- Scope: the episode's clinician ($clinician_id) and site ($site), NULL for all.
SELECT clinician_id,
       CAST(count(*) AS INTEGER) AS ended,
       CAST(sum(CASE WHEN ending = 'planned' THEN 1 ELSE 0 END) AS INTEGER) AS planned,
       CAST(sum(CASE WHEN ending = 'dropout' THEN 1 ELSE 0 END) AS INTEGER) AS dropout,
       CAST(sum(CASE WHEN ending = 'dropout' AND lost_contact = 0 THEN 1 ELSE 0 END) AS INTEGER) AS dropout_explicit,
       CAST(sum(CASE WHEN lost_contact = 1 THEN 1 ELSE 0 END) AS INTEGER) AS lost_contact,
       CAST(sum(CASE WHEN ending = 'transferred' THEN 1 ELSE 0 END) AS INTEGER) AS transferred,
       CAST(sum(CASE WHEN ending NOT IN ('planned', 'dropout', 'transferred') THEN 1 ELSE 0 END) AS INTEGER) AS other,
       CAST(sum(CASE WHEN attended_sessions = 1 THEN 1 ELSE 0 END) AS INTEGER) AS treated_once
FROM w_episodes
WHERE ended = 1
  AND ($clinician_id IS NULL OR clinician_id = $clinician_id)
  AND ($site IS NULL OR site = $site)
  AND ($date_from IS NULL OR end_date >= $date_from)
  AND ($date_to IS NULL OR end_date <= $date_to)
GROUP BY clinician_id
ORDER BY clinician_id
