"""Small numbers: in clinician comparisons and their downloads, every figure resting on fewer than
5 episodes (configurable) reads "fewer than 5", never a rate."""
from __future__ import annotations

import pandas as pd
import pytest

from analytics import engagement, outcomes
from analytics.access import load_access_config, suppress_comparison, suppress_small_numbers
from analytics.errors import WaypointError
from analytics.safecsv import to_csv_bytes
from analytics.settings import Settings
from tests.builders import S, clinic


def _finished(prefix: str, clinician: str, n: int) -> list[S]:
    rows = []
    for i in range(n):
        rows += [S(f"{prefix}{i}", "2024-01-01", clinician_id=clinician, phq9=15, gad7=10),
                 S(f"{prefix}{i}", "2024-02-01", clinician_id=clinician, phq9=5, gad7=3, discharge_reason="planned")]
    return rows


@pytest.fixture(scope="module")
def con():
    c = clinic(_finished("a", "c1", 5) + _finished("b", "c2", 4))  # c1: five episodes, c2: four
    yield c
    c.close()


def test_four_episodes_read_fewer_than_5_and_five_show_their_rate(con):
    shown = suppress_comparison(outcomes.clinician_comparison(con, Settings()))
    recovery = shown[shown["measure"] == "recovery"].set_index("clinician_id")
    assert recovery.loc["c1", "rate"] == 1.0 and recovery.loc["c1", "denominator"] == 5
    assert recovery.loc["c1", "numerator"] == 5
    for column in ("numerator", "denominator", "rate", "ci_low", "ci_high", "signal", "oe_ratio", "expected"):
        assert recovery.loc["c2", column] == "fewer than 5", column
    assert recovery.loc["c2", "target"] == 1.0  # the clinic's rate is not c2's figure


def test_dropout_by_clinician_is_suppressed_on_its_ended_episodes(con):
    shown = suppress_comparison(engagement.dropout_by_clinician(con, Settings())).set_index("clinician_id")
    assert shown.loc["c2", "ended"] == "fewer than 5" and shown.loc["c2", "dropout_rate"] == "fewer than 5"
    assert shown.loc["c1", "ended"] == 5 and shown.loc["c1", "dropout_rate"] == 0.0


def test_the_threshold_is_configurable(con, tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text("[access]\nsuppress_below = 4\n")
    threshold = load_access_config(path).suppress_below
    assert threshold == 4
    shown = suppress_comparison(outcomes.clinician_comparison(con, Settings()), threshold)
    recovery = shown[shown["measure"] == "recovery"].set_index("clinician_id")
    assert recovery.loc["c2", "rate"] == 1.0 and recovery.loc["c2", "denominator"] == 4
    shown = suppress_comparison(outcomes.clinician_comparison(con, Settings()), 6)
    assert (shown[shown["measure"] == "recovery"]["rate"] == "fewer than 6").all()


def test_a_zero_or_negative_threshold_is_a_clear_error(tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text("[access]\nsuppress_below = 0\n")
    with pytest.raises(WaypointError, match="suppress_below"):
        load_access_config(path)


def test_the_download_of_a_suppressed_comparison_holds_no_small_rate(con):
    shown = suppress_comparison(outcomes.clinician_comparison(con, Settings()))
    import io

    back = pd.read_csv(io.BytesIO(to_csv_bytes(shown)), encoding="utf-8-sig", dtype=str)
    c2 = back[back["clinician_id"] == "c2"]
    assert len(c2) == 3
    for column in ("numerator", "denominator", "rate", "ci_low", "ci_high"):
        assert set(c2[column]) == {"fewer than 5"}, column
    assert "0.5101" not in to_csv_bytes(shown).decode("utf-8-sig")  # c2's interval bound is nowhere


def test_suppression_works_on_any_frame_given_its_count_column():
    frame = pd.DataFrame({"site": ["A", "B"], "episodes": [5, 4], "rate": [0.4, 0.25]})
    shown = suppress_small_numbers(frame, count_column="episodes")
    assert list(shown["rate"]) == [0.4, "fewer than 5"] and list(shown["episodes"]) == [5, "fewer than 5"]
    assert list(shown["site"]) == ["A", "B"]
    assert list(frame["rate"]) == [0.4, 0.25]  # the input is left as it was
