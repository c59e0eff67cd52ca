"""Access: referral -> first attended session, first -> second; the share waiting more than 6 and
18 weeks (exactly 6 or 18 weeks is within)."""
from datetime import date, timedelta

import pytest

from analytics.engagement import access_by_episode, access_waits
from analytics.settings import Settings
from tests.builders import S, clinic

FIRST = date(2024, 6, 3)


def referred(patient, days_before_first, **kw):
    return S(patient, str(FIRST), referral_date=str(FIRST - timedelta(days=days_before_first)), **kw)


@pytest.mark.parametrize("days, over6, over18", [(42, 0, 0), (43, 1, 0), (126, 1, 0), (127, 1, 1)])
def test_waits_over_6_and_18_weeks_at_their_edges(days, over6, over18):
    frame = access_by_episode(clinic([referred("p1", days)]), Settings())
    row = frame.iloc[0]
    assert (row["days_referral_to_first"], row["over_6_weeks"], row["over_18_weeks"]) == (days, over6, over18)


def test_summary_shares_and_medians():
    con = clinic([
        referred("p1", 10), S("p1", str(FIRST + timedelta(days=7))),
        referred("p2", 50), S("p2", str(FIRST + timedelta(days=14))),
        referred("p3", 130),
        S("p4", str(FIRST)),                                        # no referral date
        referred("p5", -3),                                          # referral after first session
    ])
    assert access_waits(con, Settings())["referral_to_first"] == {
        "episodes": 3, "median_days": 50.0, "over_6_weeks": 2, "over_6_weeks_share": round(2 / 3, 4),
        "over_18_weeks": 1, "over_18_weeks_share": round(1 / 3, 4), "referral_after_first_session": 1,
    }
    assert access_waits(con, Settings())["first_to_second"] == {"episodes": 2, "median_days": 10.5}


def test_second_session_counts_attended_sessions_only():
    con = clinic([S("p1", "2024-01-01"), S("p1", "2024-01-08", "no_show"), S("p1", "2024-01-22")])
    assert list(access_by_episode(con, Settings())["days_first_to_second"]) == [21]


def test_referred_patients_not_yet_seen_are_waiting():
    con = clinic([
        S("p1", "2024-03-01", "cancelled", referral_date="2024-01-01"),
        S("p2", "2024-03-10", "no_show", referral_date="2024-02-20"),
        S("p3", "2024-03-10"),
    ])
    waits = access_waits(con, Settings(as_of=date(2024, 3, 10)))
    assert waits["waiting"] == {"episodes": 2, "median_days": (69 + 19) / 2, "over_6_weeks": 1, "over_18_weeks": 0}
    assert waits["referral_to_first"]["episodes"] == 0
    assert waits["referral_to_first"]["over_6_weeks_share"] is None


def test_date_range_applies_to_the_first_attended_session():
    con = clinic([referred("p1", 10), S("p2", "2024-01-02", referral_date="2024-01-01")])
    frame = access_by_episode(con, Settings(date_from=date(2024, 6, 1)))
    assert list(frame["patient_id"]) == ["p1"]
