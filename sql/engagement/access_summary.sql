-- Access waits summarised (engagement issue, "Access"), over the rows of access.sql (given to this
-- query as the relation `access`): the referral -> first session wait of the episodes with both
-- dates (a referral recorded after the first session, a negative wait, is counted apart and left
-- out of the median and the counts), the first -> second session wait, and the episodes still
-- waiting on the as-of date. Shares are worked out by the caller.
SELECT
    CAST(count(CASE WHEN days_referral_to_first >= 0 THEN 1 END) AS INTEGER)          AS referral_episodes,
    CAST(median(CASE WHEN days_referral_to_first >= 0 THEN days_referral_to_first END) AS DOUBLE)
                                                                                     AS referral_median_days,
    CAST(count(CASE WHEN days_referral_to_first >= 0 AND over_6_weeks = 1 THEN 1 END) AS INTEGER)  AS over_6_weeks,
    CAST(count(CASE WHEN days_referral_to_first >= 0 AND over_18_weeks = 1 THEN 1 END) AS INTEGER) AS over_18_weeks,
    CAST(count(CASE WHEN days_referral_to_first < 0 THEN 1 END) AS INTEGER)           AS referral_after_first_session,
    CAST(count(days_first_to_second) AS INTEGER)                                     AS second_episodes,
    CAST(median(days_first_to_second) AS DOUBLE)                                     AS second_median_days,
    CAST(count(CASE WHEN waiting = 1 THEN 1 END) AS INTEGER)                          AS waiting_episodes,
    CAST(median(CASE WHEN waiting = 1 THEN days_waiting END) AS DOUBLE)              AS waiting_median_days,
    CAST(count(CASE WHEN waiting = 1 AND days_waiting > 42 THEN 1 END) AS INTEGER)    AS waiting_over_6_weeks,
    CAST(count(CASE WHEN waiting = 1 AND days_waiting > 126 THEN 1 END) AS INTEGER)   AS waiting_over_18_weeks
FROM access
