"""episode_outcomes for one patient (the patient page): that patient's rows of the clinic's table,
with the same columns, whatever the scope or the period."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analytics import outcomes
from analytics.settings import Settings
from tests.builders import demo_clinic


@pytest.fixture(scope="module")
def con():
    con = demo_clinic(patients=300, clinicians=6, seed=5)
    yield con
    con.close()


@pytest.mark.parametrize("settings", [Settings(), Settings(clinician_id="c02"),
                                      Settings(date_from=date(2025, 6, 1), date_to=date(2026, 3, 31))])
def test_one_patients_episodes_are_their_rows_of_the_clinics_table(con, settings):
    clinic = outcomes.episode_outcomes(con, settings)
    several = clinic["patient_id"].value_counts()
    patients = [several.index[0], clinic["patient_id"].iloc[-1]]     # one with the most episodes, one more
    for patient in patients:
        mine = outcomes.episode_outcomes(con, settings, patient_id=patient)
        assert len(mine) >= 1
        pd.testing.assert_frame_equal(mine, clinic[clinic["patient_id"] == patient].reset_index(drop=True))


def test_a_patient_without_episodes_gets_the_columns_and_no_rows(con):
    mine = outcomes.episode_outcomes(con, Settings(), patient_id="no-such-patient")
    assert mine.empty
    assert list(mine.columns) == list(outcomes.episode_outcomes(con, Settings()).columns)
