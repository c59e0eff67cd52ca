-- Work table w_outcomes: one row per episode (w_episodes) with its NHS Talking Therapies outcome
-- (outcomes issue, "Scores and definitions"; ../shared/clinical-reference.md).
-- Reads w_episodes, w_sessions, w_scale_pairs, scale_registry and scale_bands.
--
-- phq9_* / gad7_*: first and last score (w_scale_pairs), change = last - first.
-- paired: finished treatment, and PHQ-9 and GAD-7 each scored at two or more different attended
--     sessions.
-- at_caseness: first PHQ-9 >= its cutoff or first GAD-7 >= its cutoff (a score exactly at the cutoff
--     is caseness); NULL when neither reaches its cutoff and one of them was never scored.
-- recovered: paired, at caseness, last PHQ-9 < cutoff and last GAD-7 < cutoff.
-- reliable_improvement: paired; PHQ-9 fell by >= its reliable change or GAD-7 by >= its, and
--     neither rose by its threshold. A change exactly at the threshold is reliable.
-- reliable_deterioration: paired; either rose by >= its threshold and neither fell by its threshold.
-- reliable_recovery: recovered and reliable improvement.
-- recovered and reliable_recovery are NULL unless paired and at caseness; reliable_improvement
-- and reliable_deterioration are NULL unless paired (not applicable, so they count in no rate).
-- Cutoffs and thresholds come from the scale registry (analytics/scales.toml): PHQ-9 caseness >= 10
-- and reliable change 6, GAD-7 caseness >= 8 and reliable change 4 (NHS Talking Therapies Manual,
-- NHS England 2023).
-- dropout: the ending is 'dropout' (a dropout discharge reason, or lost contact: w_episodes).
-- intake_band: the PHQ-9 severity band of the first PHQ-9 (Kroenke 2001 bands), for case mix.
-- program: the modality of most attended sessions (ties: the latest session, then the name).
-- end_month: YYYY-MM of the end date.
WITH thresholds AS (
    SELECT max(CASE WHEN scale = 'phq9' THEN cutoff END)          AS phq9_cutoff,
           max(CASE WHEN scale = 'phq9' THEN reliable_change END) AS phq9_rc,
           max(CASE WHEN scale = 'gad7' THEN cutoff END)          AS gad7_cutoff,
           max(CASE WHEN scale = 'gad7' THEN reliable_change END) AS gad7_rc
    FROM scale_registry
),
program AS (
    SELECT episode_id, modality AS program
    FROM (
        SELECT episode_id, modality,
               row_number() OVER (PARTITION BY episode_id
                                  ORDER BY sum(CASE WHEN status = 'attended' THEN 1 ELSE 0 END) DESC,
                                           max(session_date) DESC, modality) AS rn
        FROM w_sessions
        WHERE modality IS NOT NULL
        GROUP BY episode_id, modality
    ) m
    WHERE rn = 1
),
scored AS (
    SELECT e.*, g.program,
           p.first_score AS phq9_first, p.last_score AS phq9_last,
           p.first_date AS phq9_first_date, p.last_date AS phq9_last_date,
           coalesce(p.scored_sessions, 0) AS phq9_scored_sessions,
           p.last_score - p.first_score AS phq9_change,
           a.first_score AS gad7_first, a.last_score AS gad7_last,
           a.first_date AS gad7_first_date, a.last_date AS gad7_last_date,
           coalesce(a.scored_sessions, 0) AS gad7_scored_sessions,
           a.last_score - a.first_score AS gad7_change,
           t.phq9_cutoff, t.phq9_rc, t.gad7_cutoff, t.gad7_rc
    FROM w_episodes e
    CROSS JOIN thresholds t
    LEFT JOIN program g ON g.episode_id = e.episode_id
    LEFT JOIN w_scale_pairs p ON p.episode_id = e.episode_id AND p.scale = 'phq9'
    LEFT JOIN w_scale_pairs a ON a.episode_id = e.episode_id AND a.scale = 'gad7'
),
flags AS (
    SELECT s.*,
           CASE WHEN s.finished_treatment = 1 AND s.phq9_scored_sessions >= 2 AND s.gad7_scored_sessions >= 2
                THEN 1 ELSE 0 END AS paired,
           CASE WHEN s.phq9_first >= s.phq9_cutoff OR s.gad7_first >= s.gad7_cutoff THEN 1
                WHEN s.phq9_first IS NOT NULL AND s.gad7_first IS NOT NULL THEN 0
           END AS at_caseness,
           CASE WHEN s.phq9_last < s.phq9_cutoff AND s.gad7_last < s.gad7_cutoff THEN 1 ELSE 0 END AS below_caseness_at_end,
           CASE WHEN s.phq9_change <= -s.phq9_rc OR s.gad7_change <= -s.gad7_rc THEN 1 ELSE 0 END AS reliable_fall,
           CASE WHEN s.phq9_change >= s.phq9_rc OR s.gad7_change >= s.gad7_rc THEN 1 ELSE 0 END AS reliable_rise
    FROM scored s
)
SELECT f.episode_id, f.patient_id, f.clinician_id, f.site, f.program,
       f.start_date, f.first_attended_date, f.last_session_date, f.last_attended_date, f.end_date,
       CASE WHEN f.end_date IS NULL THEN NULL
            ELSE CAST(EXTRACT(YEAR FROM f.end_date) AS VARCHAR) || '-'
                 || lpad(CAST(EXTRACT(MONTH FROM f.end_date) AS VARCHAR), 2, '0') END AS end_month,
       CASE WHEN f.ended = 1 THEN 'ended' ELSE 'active' END AS status,
       f.ended, f.ending, f.lost_contact,
       CASE WHEN f.ending = 'dropout' THEN 1 ELSE 0 END AS dropout,
       f.sessions, f.attended_sessions, f.treatment_sessions, f.finished_treatment,
       f.phq9_first, f.phq9_last, f.phq9_change, f.phq9_first_date, f.phq9_last_date, f.phq9_scored_sessions,
       f.gad7_first, f.gad7_last, f.gad7_change, f.gad7_first_date, f.gad7_last_date, f.gad7_scored_sessions,
       b.label AS intake_band,
       f.paired, f.at_caseness,
       CASE WHEN f.paired = 1 AND f.at_caseness = 1 THEN f.below_caseness_at_end END AS recovered,
       CASE WHEN f.paired = 1 THEN CASE WHEN f.reliable_fall = 1 AND f.reliable_rise = 0 THEN 1 ELSE 0 END
       END AS reliable_improvement,
       CASE WHEN f.paired = 1 THEN CASE WHEN f.reliable_rise = 1 AND f.reliable_fall = 0 THEN 1 ELSE 0 END
       END AS reliable_deterioration,
       CASE WHEN f.paired = 1 AND f.at_caseness = 1
            THEN CASE WHEN f.below_caseness_at_end = 1 AND f.reliable_fall = 1 AND f.reliable_rise = 0
                      THEN 1 ELSE 0 END
       END AS reliable_recovery
FROM flags f
LEFT JOIN scale_bands b ON b.scale = 'phq9' AND f.phq9_first BETWEEN b.low AND b.high
