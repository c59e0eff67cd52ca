"""The demo clinic: deterministic for a seed, in the documented input format, and realistic.

Realism is checked on one 2,000-patient clinic (seed 42) against ../shared/clinical-reference.md
and issue 2: 8-12 % no-shows, a few % late cancellations, a fifth or more dropping out early,
intake severity at caseness, occasional item-9 responses, clinicians who genuinely differ,
tapering sessions, remitted patients who keep coming, referrals before first sessions.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analytics import cli, demo
from analytics.errors import WaypointError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"

# The input format of issue 2 (wide session log): required and optional canonical columns.
REQUIRED = ["patient_id", "clinician_id", "session_date", "status"]
OPTIONAL = ["session_time", "episode_id", "session_type", "modality", "site", "referral_date", "discharge_reason"]
STATUSES = {"attended", "no_show", "late_cancel", "cancelled", "scheduled"}
DISCHARGE_REASONS = {"planned", "dropout", "transferred", "other"}
SCORE_RANGES = {"phq9": (0, 27), "gad7": (0, 21), "phq9_item9": (0, 3), "core10": (0, 40), "wsas": (0, 40)}

SMALL = demo.DemoConfig(patients=300, clinicians=5, seed=11, chunk_patients=70)


# ---------------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------------
def test_the_same_seed_writes_the_same_bytes_twice(tmp_path):
    first = demo.write_csv(SMALL, tmp_path / "a.csv").read_bytes()
    second = demo.write_csv(SMALL, tmp_path / "b.csv").read_bytes()
    assert first == second
    assert len(first.splitlines()) > 1000


def test_a_different_seed_gives_a_different_clinic(tmp_path):
    first = demo.write_csv(SMALL, tmp_path / "a.csv").read_bytes()
    other = demo.write_csv(demo.DemoConfig(patients=300, clinicians=5, seed=12, chunk_patients=70),
                           tmp_path / "b.csv").read_bytes()
    assert first != other


def test_the_chunked_file_holds_exactly_the_generated_frame(tmp_path):
    written = demo.write_csv(SMALL, tmp_path / "a.csv").read_text(encoding="utf-8")
    assert written == demo.to_csv_text(demo.generate(SMALL))


def test_no_partial_file_is_left_beside_the_export(tmp_path):
    demo.write_csv(SMALL, tmp_path / "a.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_the_committed_sample_is_what_the_documented_command_writes(tmp_path, capsys):
    out = tmp_path / "demo_clinic.csv"
    assert cli.main(["demo", "--patients", "40", "--seed", "7", "--csv", str(out)]) == 0
    assert out.read_bytes() == (SAMPLE / "demo_clinic.csv").read_bytes()
    assert "waypoint demo --patients 40 --seed 7 --csv sample_data/demo_clinic.csv" in (SAMPLE / "README.md").read_text()


def test_the_committed_messy_sample_is_what_the_documented_command_writes(tmp_path):
    export, mapping = demo.write_messy_sample(SAMPLE / "demo_clinic.csv", tmp_path)
    assert export.read_bytes() == (SAMPLE / "messy_export.csv").read_bytes()
    assert mapping.read_bytes() == (SAMPLE / "messy_mapping.toml").read_bytes()
    assert "python -m analytics.demo messy sample_data/demo_clinic.csv" in (SAMPLE / "README.md").read_text()


@pytest.mark.parametrize("field, value", [("patients", 0), ("clinicians", 0), ("years", 0.0), ("seed", -1)])
def test_a_nonsensical_demo_size_is_refused_with_its_name(field, value):
    with pytest.raises(WaypointError, match=f"--{field}"):
        demo.generate(demo.DemoConfig(**{field: value}))


# ---------------------------------------------------------------------------------------------
# the input format
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return demo.generate(SMALL)


def test_the_header_is_the_canonical_wide_session_log():
    header = (SAMPLE / "demo_clinic.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == list(demo.COLUMNS)
    assert set(REQUIRED + ["phq9", "gad7", "phq9_item9"]) <= set(header)
    assert set(header) <= set(REQUIRED + OPTIONAL) | set(SCORE_RANGES)


def test_statuses_and_discharge_reasons_are_canonical(small):
    assert set(small["status"]) == STATUSES
    assert set(small["discharge_reason"]) - {""} == DISCHARGE_REASONS


def test_dates_are_iso_and_times_are_hh_mm(small):
    for column in ("session_date", "referral_date"):
        assert small[column].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
        pd.to_datetime(small[column], format="%Y-%m-%d")  # real dates
    assert small["session_time"].str.fullmatch(r"\d{2}:\d{2}").all()


def test_scores_are_whole_numbers_within_each_scale_and_only_at_attended_sessions(small):
    for column, (low, high) in SCORE_RANGES.items():
        given = small[column].dropna()
        assert given.between(low, high).all(), column
    assert small.loc[small["status"] != "attended", list(SCORE_RANGES)].isna().all().all()
    scored = small.dropna(subset=["phq9"])
    assert (scored["phq9_item9"] <= scored["phq9"]).all()
    assert scored["phq9_item9"].notna().all()


def test_no_row_is_dated_after_the_end_and_only_bookings_after_today(small):
    assert SMALL.end == date(2026, 10, 31) and SMALL.today == date(2026, 10, 17)
    assert small["session_date"].max() <= str(SMALL.end)
    after_today = small["session_date"] > str(SMALL.today)
    assert set(small.loc[after_today, "status"]) == {"scheduled"}
    assert set(small.loc[~after_today, "status"]) == STATUSES - {"scheduled"}


def test_every_session_comes_after_its_referral(small):
    assert (small["referral_date"] < small["session_date"]).all()


def test_the_messy_export_is_windows_1252_semicolons_crlf_and_us_dates():
    raw = (SAMPLE / "messy_export.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    header = text.split("\r\n", 1)[0].split(";")
    for name in ("Client ID", "Therapist", "Appointment Date", "Attendance", "PHQ-9 Total", "GAD-7 Total"):
        assert name in header
    rows = pd.read_csv(SAMPLE / "messy_export.csv", sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    clean = pd.read_csv(SAMPLE / "demo_clinic.csv", dtype=str, keep_default_na=False)
    assert len(rows) == len(clean)
    assert set(rows["Attendance"]) == {"Show", "No Show", "Late Cancel", "Cancelled", "Booked"}
    assert rows["Appointment Date"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    assert (pd.to_datetime(rows["Appointment Date"], format="%m/%d/%Y").dt.strftime("%Y-%m-%d")
            == clean["session_date"]).all()
    assert rows["Notes"].str.contains("\n").any() and rows["Notes"].str.contains(";").any()
    assert text.count("\r\n") == len(rows) + 1


# ---------------------------------------------------------------------------------------------
# realism, on a 2,000-patient clinic
# ---------------------------------------------------------------------------------------------
CLINIC = demo.DemoConfig(patients=2000, seed=42)


@pytest.fixture(scope="module")
def clinic() -> pd.DataFrame:
    frame = demo.generate(CLINIC)
    frame["date"] = pd.to_datetime(frame["session_date"])
    gap = frame.groupby("patient_id")["date"].diff().dt.days
    frame["episode"] = (gap.isna() | (gap > 180)).cumsum()          # the 180-day gap rule
    return frame


@pytest.fixture(scope="module")
def episodes(clinic) -> pd.DataFrame:
    att = clinic[clinic["status"] == "attended"]
    scored = att.dropna(subset=["phq9", "gad7"])
    out = clinic.groupby("episode").agg(
        clinician=("clinician_id", "first"), first=("date", "min"), last=("date", "max"),
        referral=("referral_date", "first"), reasons=("discharge_reason", lambda s: set(s) - {""}))
    out["attended"] = att.groupby("episode").size().reindex(out.index, fill_value=0)
    for scale in ("phq9", "gad7"):
        out[f"{scale}_first"] = scored.groupby("episode")[scale].first()
        out[f"{scale}_last"] = scored.groupby("episode")[scale].last()
    # Ended: no contact in the 90 days before the clinic's today (settings.lost_contact_days).
    out["ended"] = out["last"] < pd.Timestamp(CLINIC.today) - pd.Timedelta(days=90)
    return out


def test_no_shows_are_8_to_12_percent_of_bookings_that_fell_due(clinic):
    due = clinic[clinic["status"] != "scheduled"]
    share = (due["status"] == "no_show").mean()
    assert 0.08 <= share <= 0.12


def test_late_cancellations_are_a_few_percent(clinic):
    due = clinic[clinic["status"] != "scheduled"]
    assert 0.01 <= (due["status"] == "late_cancel").mean() <= 0.05


def test_a_fifth_or_more_of_ended_episodes_drop_out_early(episodes):
    ended = episodes[episodes["ended"]]
    early = (ended["attended"] <= 3) & ended["reasons"].map(lambda r: not r & {"planned", "transferred", "other"})
    assert early.mean() >= 0.20
    assert ended["reasons"].map(lambda r: "dropout" in r).any()                 # some dropouts are recorded


def test_intake_severity_sits_at_caseness(episodes):
    intake = episodes.dropna(subset=["phq9_first"])
    # NHS Talking Therapies referrals start around moderate-to-moderately-severe depression and
    # anxiety (caseness PHQ-9 >= 10, GAD-7 >= 8: clinical-reference.md; demo.PHQ9_INTAKE_MEAN).
    assert 13 <= intake["phq9_first"].mean() <= 17
    assert 10 <= intake["gad7_first"].mean() <= 14
    at_caseness = (intake["phq9_first"] >= 10) | (intake["gad7_first"] >= 8)
    assert 0.80 <= at_caseness.mean() <= 0.95                                  # some below-caseness maintenance


def test_item_nine_is_occasionally_above_zero(clinic):
    scored = clinic.dropna(subset=["phq9_item9"])
    assert 0.01 <= (scored["phq9_item9"] > 0).mean() <= 0.08
    assert set(scored["phq9_item9"]) == {0, 1, 2, 3}


def _recovery(episodes: pd.DataFrame) -> pd.Series:
    """NHS Talking Therapies recovery per finished episode that started at caseness."""
    finished = episodes[episodes["ended"] & (episodes["attended"] >= 2)].dropna(subset=["phq9_first", "phq9_last"])
    finished = finished[(finished["phq9_first"] >= 10) | (finished["gad7_first"] >= 8)]
    return ((finished["phq9_last"] < 10) & (finished["gad7_last"] < 8)).groupby(finished["clinician"]).agg(["mean", "size"])


def test_overall_recovery_is_near_the_national_figures(episodes):
    by_clinician = _recovery(episodes)
    overall = (by_clinician["mean"] * by_clinician["size"]).sum() / by_clinician["size"].sum()
    assert 0.40 <= overall <= 0.60       # 44.8 % (2014-15) to 52.1 % (2018-19), clinical-reference.md


def test_clinicians_outcomes_genuinely_differ(episodes):
    profile = demo.clinic_profile(CLINIC)
    rates = _recovery(episodes)["mean"]
    best, worst = profile.clinician_ids[profile.best], profile.clinician_ids[profile.worst]
    assert rates[best] - rates[worst] >= 0.15
    assert rates.max() - rates.min() >= 0.15


def test_sessions_taper_as_patients_improve(clinic):
    att = clinic[clinic["status"] == "attended"].copy()
    att["k"] = att.groupby("episode").cumcount() + 1
    att["interval"] = att.groupby("episode")["date"].diff().dt.days
    weekly_phase = att.loc[att["k"].between(3, 4), "interval"]
    later = att.loc[att["k"] >= 8, "interval"]
    assert weekly_phase.median() == 7
    assert later.median() >= 14
    assert (later >= 28).mean() > 2 * (weekly_phase >= 28).mean()


def test_some_remitted_patients_keep_attending_for_months(clinic):
    att = clinic[clinic["status"] == "attended"]
    remitted = att[att["phq9"] < 5].groupby("episode")["date"].min()            # remission: PHQ-9 < 5
    last = att.groupby("episode")["date"].max().reindex(remitted.index)
    months_after = (last - remitted).dt.days >= 90
    assert months_after.sum() >= 100
    assert 0.2 <= months_after.mean() <= 0.7


def test_referral_waits_resemble_the_access_standard(episodes):
    wait = (episodes["first"] - pd.to_datetime(episodes["referral"])).dt.days
    assert (wait > 0).all()
    assert 0.65 <= (wait <= 42).mean() <= 0.90      # standard: 75 % within 6 weeks (clinical-reference.md)
    assert 0.90 <= (wait <= 126).mean() < 1.0       # standard: 95 % within 18 weeks; some breach it


# ---------------------------------------------------------------------------------------------
# import (runs once analytics.ingest exists)
# ---------------------------------------------------------------------------------------------
def test_the_clean_and_the_messy_sample_import_to_the_same_sessions():
    from analytics import ingest
    from analytics.db import connect

    clean_con, messy_con = connect(":memory:"), connect(":memory:")
    clean = ingest.ingest_files(clean_con, [SAMPLE / "demo_clinic.csv"])[0]
    messy = ingest.ingest_files(messy_con, [SAMPLE / "messy_export.csv"], mapping=SAMPLE / "messy_mapping.toml")[0]
    rows = len(pd.read_csv(SAMPLE / "demo_clinic.csv"))
    assert (clean.rows_read, clean.new_rows, clean.rejected) == (rows, rows, 0)
    assert (messy.rows_read, messy.new_rows, messy.rejected) == (rows, rows, 0)
    query = """SELECT s.session_date, s.session_time, s.status, s.referral_date, s.discharge_reason,
                      m.scale, m.score
               FROM sessions s LEFT JOIN measurements m USING (session_key)
               ORDER BY ALL"""
    assert clean_con.execute(query).fetchall() == messy_con.execute(query).fetchall()


def test_the_demo_is_not_mixed_into_a_clinic_s_own_imports(tmp_path):
    from analytics.db import connect
    from analytics.errors import WaypointError
    from analytics.ingest import ingest_files

    con = connect(tmp_path / "clinic.duckdb")
    export = tmp_path / "march.csv"
    export.write_text("patient_id,clinician_id,session_date,status\np00001,c01,2025-03-03,attended\n")
    ingest_files(con, [export])
    with pytest.raises(WaypointError, match=r"holds imports of a clinic's own files \(march.csv\).*"
                                            r"waypoint demo --db demo.duckdb"):
        demo.build_demo(con, demo.DemoConfig(patients=5, clinicians=2, years=0.5, seed=1))
    assert con.execute("SELECT count(*) FROM sessions").fetchall() == [(1,)]


def test_building_the_demo_again_in_its_own_database_changes_nothing(tmp_path):
    from analytics.db import connect

    con = connect(tmp_path / "demo.duckdb")
    config = demo.DemoConfig(patients=5, clinicians=2, years=0.5, seed=1)
    first = demo.build_demo(con, config)
    again = demo.build_demo(con, config)
    assert first.new_rows > 0 and (again.new_rows, again.unchanged) == (0, first.new_rows)
