-- Access (engagement issue, "Access"): one row per episode in scope with
--   days_referral_to_first  referral date -> first attended session (when a referral date is given;
--                           negative when the referral is recorded after the first session)
--   days_first_to_second    first -> second attended session
--   over_6_weeks / over_18_weeks  the referral wait is more than 42 / 126 days (exactly 6 or 18 weeks
--                           is within). NHS Talking Therapies waiting-time standards: 75 % start
--                           within 6 weeks of referral, 95 % within 18 weeks (NHS England, NHS
--                           Talking Therapies Manual 2023; clinical-reference.md).
--   waiting                 referred, not ended and no attended session yet on the as-of date,
--                           with days_waiting so far (referral -> as-of).
-- Scope: the episode's clinician ($clinician_id) and site ($site); $date_from / $date_to on the first
-- attended session's date (episodes still waiting are kept whatever the range); NULL for all.
WITH second AS (
    SELECT episode_id, session_date AS second_attended_date
    FROM w_sessions
    WHERE status = 'attended' AND session_number = 2
),
episodes AS (
    SELECT e.episode_id, e.patient_id, e.clinician_id, e.referral_date, e.first_attended_date,
           x.second_attended_date, e.ended,
           CAST(date_diff('day', e.referral_date, e.first_attended_date) AS INTEGER) AS days_referral_to_first,
           CAST(date_diff('day', e.first_attended_date, x.second_attended_date) AS INTEGER) AS days_first_to_second
    FROM w_episodes e
    LEFT JOIN second x ON x.episode_id = e.episode_id
    WHERE ($clinician_id IS NULL OR e.clinician_id = $clinician_id)
      AND ($site IS NULL OR e.site = $site)
)
SELECT episode_id, patient_id, clinician_id, referral_date, first_attended_date, second_attended_date,
       days_referral_to_first, days_first_to_second,
       CASE WHEN days_referral_to_first IS NULL THEN NULL
            WHEN days_referral_to_first > 42 THEN 1 ELSE 0 END AS over_6_weeks,
       CASE WHEN days_referral_to_first IS NULL THEN NULL
            WHEN days_referral_to_first > 126 THEN 1 ELSE 0 END AS over_18_weeks,
       CASE WHEN first_attended_date IS NULL AND ended = 0 AND referral_date IS NOT NULL
            THEN 1 ELSE 0 END AS waiting,
       CASE WHEN first_attended_date IS NULL AND ended = 0 AND referral_date IS NOT NULL
            THEN CAST(date_diff('day', referral_date, $as_of) AS INTEGER) END AS days_waiting
FROM episodes
WHERE (first_attended_date IS NULL AND ended = 0 AND referral_date IS NOT NULL)
   OR (first_attended_date IS NOT NULL
       AND ($date_from IS NULL OR first_attended_date >= $date_from)
       AND ($date_to IS NULL OR first_attended_date <= $date_to))
ORDER BY episode_id
