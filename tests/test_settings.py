"""Clinic settings from TOML, with command-line overrides."""
from datetime import date

import pytest

from analytics.errors import WaypointError

from analytics.settings import Settings, load_settings


def test_defaults_are_the_published_rules():
    s = Settings()
    assert (s.episode_gap_days, s.lost_contact_days, s.min_treatment_sessions) == (180, 90, 2)


def test_clinic_file_overrides_defaults_and_flags_override_the_file(tmp_path):
    cfg = tmp_path / "clinic.toml"
    cfg.write_text("[settings]\nlost_contact_days = 60\nepisode_gap_days = 120\n")
    s = load_settings(cfg, lost_contact_days=None, as_of=date(2025, 1, 31))
    assert (s.lost_contact_days, s.episode_gap_days, s.as_of) == (60, 120, date(2025, 1, 31))


def test_unknown_setting_is_refused_naming_it(tmp_path):
    cfg = tmp_path / "clinic.toml"
    cfg.write_text("[settings]\nlost_contact_dayz = 60\n")
    with pytest.raises(WaypointError) as info:
        load_settings(cfg)
    message = str(info.value)
    assert message.startswith(f"{cfg}: [settings] has unknown setting(s) lost_contact_dayz; the settings are ")
    assert "lost_contact_days" in message and "scope_clinician_id" not in message


def test_a_config_that_is_not_valid_toml_says_where(tmp_path):
    cfg = tmp_path / "clinic.toml"
    cfg.write_text("[settings]\nlost_contact_days = \n")
    with pytest.raises(WaypointError, match=r"clinic.toml: not valid TOML \(.*line 2"):
        load_settings(cfg)
