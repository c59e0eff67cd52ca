-- Work table w_episodes: one row per episode with anything on or before the as-of date.
-- ended: any row carries a discharge reason (the latest one is the ending), or else the latest
--        session of any status is more than $lost_contact_days days before the as-of date
--        (ending 'dropout', lost_contact = 1). Otherwise active.
-- finished_treatment: ended with at least $min_treatment_sessions attended treatment sessions
--        (NHS Talking Therapies: a finished course of treatment).
-- clinician_id: the clinician of most attended sessions; site: the site of most attended sessions,
--        each chosen on its own (ties: the latest session, then the name).
WITH per_episode AS (
    SELECT episode_id,
           min(patient_id)                                        AS patient_id,
           min(session_date)                                      AS start_date,
           max(session_date)                                      AS last_session_date,
           min(CASE WHEN status = 'attended' THEN session_date END) AS first_attended_date,
           max(CASE WHEN status = 'attended' THEN session_date END) AS last_attended_date,
           CAST(count(*) AS INTEGER)                               AS sessions,
           CAST(sum(CASE WHEN status = 'attended' THEN 1 ELSE 0 END) AS INTEGER) AS attended_sessions,
           CAST(sum(is_treatment) AS INTEGER)                       AS treatment_sessions,
           min(referral_date)                                     AS referral_date
    FROM w_sessions
    GROUP BY episode_id
),
discharge AS (
    SELECT episode_id, discharge_reason, session_date AS discharge_date
    FROM (
        SELECT episode_id, discharge_reason, session_date,
               row_number() OVER (PARTITION BY episode_id ORDER BY session_date DESC, session_time DESC, session_key DESC) AS rn
        FROM w_sessions
        WHERE discharge_reason IS NOT NULL
    ) d
    WHERE rn = 1
),
main_clinician AS (
    SELECT episode_id, clinician_id
    FROM (
        SELECT episode_id, clinician_id,
               row_number() OVER (PARTITION BY episode_id
                                  ORDER BY sum(CASE WHEN status = 'attended' THEN 1 ELSE 0 END) DESC,
                                           max(session_date) DESC, clinician_id) AS rn
        FROM w_sessions
        GROUP BY episode_id, clinician_id
    ) c
    WHERE rn = 1
),
main_site AS (
    SELECT episode_id, site
    FROM (
        SELECT episode_id, site,
               row_number() OVER (PARTITION BY episode_id
                                  ORDER BY sum(CASE WHEN status = 'attended' THEN 1 ELSE 0 END) DESC,
                                           max(session_date) DESC, site) AS rn
        FROM w_sessions
        GROUP BY episode_id, site
    ) x
    WHERE rn = 1
)
SELECT p.episode_id, p.patient_id, c.clinician_id, ms.site,
       p.start_date, p.first_attended_date, p.last_session_date, p.last_attended_date,
       p.sessions, p.attended_sessions, p.treatment_sessions, p.referral_date,
       CASE WHEN d.discharge_reason IS NOT NULL
              OR date_diff('day', p.last_session_date, $as_of) > $lost_contact_days
            THEN 1 ELSE 0 END AS ended,
       CASE WHEN d.discharge_reason IS NOT NULL THEN d.discharge_reason
            WHEN date_diff('day', p.last_session_date, $as_of) > $lost_contact_days THEN 'dropout'
       END AS ending,
       CASE WHEN d.discharge_reason IS NULL
             AND date_diff('day', p.last_session_date, $as_of) > $lost_contact_days
            THEN 1 ELSE 0 END AS lost_contact,
       CASE WHEN d.discharge_reason IS NOT NULL
              OR date_diff('day', p.last_session_date, $as_of) > $lost_contact_days
            THEN p.last_session_date END AS end_date,
       CASE WHEN (d.discharge_reason IS NOT NULL
                  OR date_diff('day', p.last_session_date, $as_of) > $lost_contact_days)
             AND p.treatment_sessions >= $min_treatment_sessions
            THEN 1 ELSE 0 END AS finished_treatment
FROM per_episode p
JOIN main_clinician c ON c.episode_id = p.episode_id
JOIN main_site ms ON ms.episode_id = p.episode_id
LEFT JOIN discharge d ON d.episode_id = p.episode_id
