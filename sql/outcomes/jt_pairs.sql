-- Pre/post pairs for Jacobson & Truax and the pre-post effect size (outcomes issue): the first and
-- last score of every scale in each episode of w_outcome_scope that finished treatment with the
-- scale scored at two or more attended sessions.
-- in_rates: the episode ended in the date range (summaries count only these);
-- paired: the NHS Talking Therapies paired flag (PHQ-9 and GAD-7 both paired; the PHQ-9 effect size
-- of `waypoint kpis` is over paired episodes).
-- Unordered: its readers order the rows they need in order (by scale and episode), and the episode
-- table only asks whether a pair is here (sorting every pair cost it 0.3 s at ten million sessions).
SELECT o.episode_id, p.scale, p.first_score, p.last_score, o.in_rates, o.paired
FROM w_outcome_scope o
JOIN w_scale_pairs p ON p.episode_id = o.episode_id
WHERE o.finished_treatment = 1 AND p.scored_sessions >= 2
