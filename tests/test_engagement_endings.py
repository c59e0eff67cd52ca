"""Endings: planned, dropout (explicit or lost contact), transferred, other, treated once; dropout
rate by clinician with funnel-plot limits around the clinic's rate."""
from datetime import date

import pytest

from analytics.engagement import dropout_by_clinician, endings
from analytics.settings import Settings
from analytics.stats import funnel_limits
from tests.builders import S, clinic


def ended_clinic():
    return clinic([
        S("a", "2024-01-01"), S("a", "2024-01-08"), S("a", "2024-01-15", discharge_reason="planned"),
        S("b", "2024-01-01", discharge_reason="dropout"),                          # treated once
        S("c", "2024-01-01"), S("c", "2024-01-08"),                                # lost contact
        S("d", "2024-02-01", clinician_id="c2", discharge_reason="transferred"),   # treated once
        S("e", "2024-02-01", clinician_id="c2"), S("e", "2024-02-08", "no_show", clinician_id="c2", discharge_reason="other"),
        S("f", "2024-06-01", clinician_id="c2"),                                   # active: not ended
    ])


def test_overall_endings_counts_and_rates():
    assert endings(ended_clinic(), Settings()) == {
        "ended": 5, "planned": 1, "dropout": 2, "dropout_explicit": 1, "lost_contact": 1,
        "transferred": 1, "other": 1, "treated_once": 3,
        "dropout_rate": 0.4, "treated_once_rate": 0.6,
    }


def test_treated_once_means_exactly_one_attended_session():
    con = clinic([S("a", "2024-01-01", "no_show"), S("a", "2024-01-08", discharge_reason="planned"),
                  S("b", "2024-01-01", "no_show", discharge_reason="dropout"),
                  S("c", "2024-01-01"), S("c", "2024-01-08", discharge_reason="planned")])
    assert endings(con, Settings())["treated_once"] == 1


@pytest.mark.parametrize("date_from, date_to, ended", [
    (date(2024, 2, 1), None, 2),             # end date on date_from counts
    (None, date(2024, 1, 15), 3),            # lost contact c ended on its last session, 2024-01-08
    (date(2024, 1, 9), date(2024, 1, 31), 1),
])
def test_date_range_applies_to_the_end_date(date_from, date_to, ended):
    assert endings(ended_clinic(), Settings(date_from=date_from, date_to=date_to))["ended"] == ended


def test_dropout_by_clinician_with_funnel_limits_around_the_clinic_rate():
    frame = dropout_by_clinician(ended_clinic(), Settings())
    assert frame[["clinician_id", "ended", "dropout", "dropout_rate", "target"]].to_dict("records") == [
        {"clinician_id": "c1", "ended": 3, "dropout": 2, "dropout_rate": round(2 / 3, 4), "target": 0.4},
        {"clinician_id": "c2", "ended": 2, "dropout": 0, "dropout_rate": 0.0, "target": 0.4},
    ]
    low95, high95 = funnel_limits(0.4, 3, 0.95)
    assert (frame.loc[0, "lower95"], frame.loc[0, "upper95"]) == (round(low95, 4), round(high95, 4))
    assert list(frame["small"]) == [True, True]


def test_one_clinicians_row_keeps_the_whole_clinics_target():
    frame = dropout_by_clinician(ended_clinic(), Settings(clinician_id="c2"))
    assert list(frame["clinician_id"]) == ["c2"]
    assert frame.loc[0, "target"] == 0.4


def test_no_ended_episodes_gives_null_rates():
    result = endings(clinic([S("a", "2024-01-01")]), Settings())
    assert result["ended"] == 0 and result["dropout_rate"] is None and result["treated_once_rate"] is None
