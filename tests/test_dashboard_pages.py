"""Every dashboard page, run with streamlit.testing.v1.AppTest on a small demo clinic: it renders
without an exception AND shows the figures analytics/ computes for the same filters.

One demo clinic per module (120 patients, seed 4: every kind of readiness category including a
safety flag). The app opens the database through WAYPOINT_DB; the tests compute the expected
figures on their own connection to the same file with analytics/ directly.
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import engagement, outcomes, readiness
from analytics.db import connect
from analytics.settings import Settings
from dashboard import ui

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
DEMO = dict(patients=120, seed=4)


def build_clinic(path: Path) -> None:
    """The demo clinic through the real import (analytics.demo.build_demo)."""
    from analytics.demo import DemoConfig, build_demo

    con = connect(path)
    try:
        build_demo(con, DemoConfig(**DEMO))
    finally:
        con.close()


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    path = tmp_path_factory.mktemp("dashboard") / "clinic.duckdb"
    build_clinic(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAYPOINT_DB", str(path))
        mp.delenv("WAYPOINT_CONFIG", raising=False)
        con = connect(path)
        yield con
        con.close()


def run(page: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(f"views/{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def period(at: AppTest) -> tuple[date, date]:
    start, end = at.date_input(key="f_period").value
    return start, end


def charts(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def values(array) -> list:
    """A Plotly JSON array as a list (Plotly 6+ writes numeric arrays as base64 typed arrays)."""
    if isinstance(array, dict) and "bdata" in array:
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def metric(at: AppTest, label: str):
    found = [m for m in at.metric if m.label == label]
    assert found, f"no tile {label!r}; tiles: {[m.label for m in at.metric]}"
    return found[0]


def dataframe_with(at: AppTest, column: str) -> pd.DataFrame:
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a column {column!r}")


# ---------------------------------------------------------------------------------------------
# clinic overview
# ---------------------------------------------------------------------------------------------
TILES = {"Recovery": "recovery_rate", "Reliable improvement": "reliable_improvement_rate",
         "Reliable deterioration": "reliable_deterioration_rate", "Reliable recovery": "reliable_recovery_rate",
         "Paired scores": "paired_completeness", "Dropout": "dropout_rate"}


def test_overview_tiles_show_the_kpis_of_the_chosen_period_with_change_since_the_previous(clinic):
    at = run()
    start, end = period(at)
    settings = Settings(date_from=start, date_to=end)
    length = (end - start).days + 1
    previous = settings.with_(date_from=start - pd.Timedelta(days=length).to_pytimedelta(),
                              date_to=start - pd.Timedelta(days=1).to_pytimedelta())
    now, before = outcomes.kpis(clinic.cursor(), settings), outcomes.kpis(clinic.cursor(), previous)
    assert now["ended"] > 0
    for label, key in TILES.items():
        tile = metric(at, label)
        assert tile.value == ui.pct(now[key])
        expected_delta = None if now[key] is None or before[key] is None else ui.points(now[key] - before[key])
        assert tile.delta == expected_delta
    att = now["attendance"]
    assert metric(at, "Attendance").value == ui.pct(att["attendance_rate"])
    assert metric(at, "Still in treatment").value == f"{now['active']:,}"
    captions = [c.value for c in at.caption]
    assert (f"{now['recovered']:,} of {now['at_caseness']:,} patients at caseness "
            f"({before['recovered']:,} of {before['at_caseness']:,} before)") in captions
    assert f"{now['dropout']:,} of {now['ended']:,} episodes that ended ({before['dropout']:,} of {before['ended']:,} before)" in captions
    took_place = att["attended"] + att["no_show"] + att["late_cancel"]
    then = before["attendance"]
    assert (f"{att['attended']:,} of {took_place:,} sessions that went ahead or were missed "
            f"({then['attended']:,} of {then['attended'] + then['no_show'] + then['late_cancel']:,} before)") in captions


def test_overview_follows_the_clinician_and_period_in_the_url(clinic):
    at = run(clinician="c02", **{"from": "2025-06-01", "to": "2026-05-31"})
    assert period(at) == (date(2025, 6, 1), date(2026, 5, 31))
    settings = Settings(date_from=date(2025, 6, 1), date_to=date(2026, 5, 31), clinician_id="c02")
    now = outcomes.kpis(clinic.cursor(), settings)
    assert metric(at, "Recovery").value == ui.pct(now["recovery_rate"])
    assert metric(at, "Dropout").value == ui.pct(now["dropout_rate"])
    assert at.query_params["clinician"] == "c02"
    # a period that cuts its months says so under the sessions delivered by month
    assert "Attended sessions by month." in [c.value for c in at.caption]          # whole months: no note
    cut = run(**{"from": "2025-06-15", "to": "2026-05-31"})
    assert "Attended sessions by month. Partial months: Jun 2025 from 15 Jun 2025." in [c.value for c in cut.caption]


def test_overview_trend_readiness_and_sessions_come_from_analytics(clinic):
    at = run()
    start, end = period(at)
    settings = Settings(date_from=start, date_to=end)
    monthly = outcomes.rates_by_month(clinic.cursor(), settings)
    shown = dataframe_with(at, "Measure")
    assert len(shown) == len(monthly)
    assert list(shown["Count"]) == list(monthly["numerator"])
    recovery = monthly[(monthly["measure"] == "recovery") & (monthly["denominator"] > 0)]
    trend = [c for c in charts(at) if any(t.get("name") == "Recovery" for t in c["data"])]
    line = next(t for t in trend[0]["data"] if t.get("name") == "Recovery")
    drawn = [v for v in values(line["y"]) if v is not None]      # a month without endings is a gap (None)
    assert [round(v, 4) for v in drawn] == [round(float(v), 4) for v in recovery["rate"]]

    states = readiness.readiness_frame(clinic.cursor(), Settings())
    counts = dataframe_with(at, "What it means").set_index("Category")["Patients"]
    for category in readiness.CATEGORIES:
        assert counts[category.label] == int((states["category"] == category.id).sum())

    delivered = engagement.sessions_delivered(clinic.cursor(), settings)
    table = dataframe_with(at, "Attended sessions")
    assert int(table["Attended sessions"].sum()) == int(delivered["attended_sessions"].sum())


def test_overview_offers_the_sql_behind_each_headline_figure(clinic):
    at = run()
    assert outcomes.sql_for("recovery_rate").strip() in [c.value.strip() for c in at.code]
    at.selectbox(key="sql-figure").set_value("Attendance").run()
    assert outcomes.sql_for("attendance").strip() in [c.value.strip() for c in at.code]


def test_overview_offers_the_sql_that_decides_the_readiness_categories(clinic):
    at = run()
    text = outcomes.sql_for("readiness_categories")
    assert "-- ==== sql/readiness/categories.sql ====" in text
    assert "-- ==== sql/readiness/trend.sql  ->  TEMP TABLE readiness_trend ====" in text
    assert text.strip() in [c.value.strip() for c in at.code]


def test_the_episodes_behind_the_figures_are_listed_when_opened_with_their_download(clinic):
    at = run()
    assert not any("in_rates" in df.value.columns for df in at.dataframe)   # closed: not computed
    at.session_state["behind-open"] = True
    at.run()
    behind = dataframe_with(at, "in_rates")
    start, end = period(at)
    expected = outcomes.episode_outcomes(clinic.cursor(), Settings(date_from=start, date_to=end))
    ended = expected.loc[expected["in_rates"] == 1, "episode_id"]
    assert len(ended) > 0 and sorted(behind["episode_id"]) == sorted(ended)
    assert "dl-behind" in [b.key for b in at.get("download_button")]


# ---------------------------------------------------------------------------------------------
# clinicians
# ---------------------------------------------------------------------------------------------
def test_clinicians_funnels_show_every_clinician_with_intervals_and_mark_small_numbers(clinic):
    at = run("clinicians.py")
    start, end = period(at)
    comparison = outcomes.clinician_comparison(clinic.cursor(), Settings(date_from=start, date_to=end))
    funnels = [c for c in charts(at) if any(t.get("name") == "95 % limits" for t in c["data"])]
    assert len(funnels) == 3   # recovery, reliable improvement, dropout
    for label, measure in (("Recovery", "recovery"), ("Reliable improvement", "reliable_improvement"),
                           ("Dropout", "dropout")):
        part = comparison[comparison["measure"] == measure].sort_values("clinician_id")
        few = part["denominator"] < 5   # access issue: figures on fewer than 5 episodes read "fewer than 5"
        def shown(values):  # a column with a hidden row is all text
            return (["fewer than 5" if f else str(int(v)) for v, f in zip(values, few)] if few.any()
                    else list(values))
        episodes, count = shown(part["denominator"]), shown(part["numerator"])
        table = next(df.value for df in at.dataframe
                     if "Against the funnel" in df.value.columns
                     and list(df.value["Episodes"]) == episodes and list(df.value["Count"]) == count)
        assert list(table["Clinician"]) == sorted(part["clinician_id"])      # clinician order, not ranked
        assert {"95 % low", "95 % high"} <= set(table.columns)                # never a bare league table
        # both thresholds 5: every small figure reads "fewer than 5", so no always-empty "Small number" column
        assert "Small number" not in table.columns
    mix = dataframe_with(at, "Observed ÷ expected")
    recovery = comparison[comparison["measure"] == "recovery"].sort_values("clinician_id")
    few = recovery["denominator"] < 5
    if few.any():  # a column with a hidden row is all text: the ratio to 2 decimals, else "fewer than 5"
        assert list(mix["Observed ÷ expected"]) == ["fewer than 5" if f else f"{v:.2f}"
                                                    for v, f in zip(recovery["oe_ratio"], few)]
    else:
        assert list(mix["Observed ÷ expected"].round(4)) == list(recovery["oe_ratio"].round(4))


def test_clinicians_data_completeness_compares_clinicians_over_the_period_with_months_behind(clinic):
    at = run("clinicians.py")
    start, end = period(at)
    whole = outcomes.data_quality(clinic.cursor(), Settings(date_from=start, date_to=end), by_month=False)
    tables = [df.value for df in at.dataframe if "Measure" in df.value.columns and "Out of" in df.value.columns]
    overall = next(t for t in tables if "Month" not in t.columns)
    assert len(overall) == len(whole) == 2 * whole["clinician_id"].nunique()     # one row per measure and clinician
    paired = whole[whole["measure"] == "paired_completeness"].sort_values("clinician_id")
    shown = overall[overall["Measure"] == "Paired scores (finished episodes)"]
    assert list(shown["Clinician"]) == list(paired["clinician_id"])
    assert [str(v) for v in shown["Out of"]] == [str(v) if v >= 5 else "no episodes" if v == 0 else "fewer than 5"
                                                 for v in paired["denominator"]]
    assert not any("Month" in t.columns for t in tables)                       # the months wait to be asked for
    at.toggle(key="quality-by-month").set_value(True).run()
    tables = [df.value for df in at.dataframe if "Measure" in df.value.columns and "Out of" in df.value.columns]
    monthly = next(t for t in tables if "Month" in t.columns)
    assert len(monthly) > len(overall)


def test_clinicians_small_numbers_are_named_under_the_funnel(tmp_path):
    """A clinician with fewer than 5 episodes is named, but none of their figures is shown or drawn
    (access issue: small-number suppression)."""
    from tests.builders import S, clinic as build

    rows = []
    for i in range(6):  # c1: six finished episodes; c2: two
        rows += [S(f"a{i}", "2024-01-01", phq9=15, gad7=10), S(f"a{i}", "2024-02-01", phq9=5, gad7=3,
                                                                    discharge_reason="planned")]
    for i in range(2):
        rows += [S(f"b{i}", "2024-01-01", clinician_id="c2", phq9=15, gad7=10),
                 S(f"b{i}", "2024-02-01", clinician_id="c2", phq9=14, gad7=9, discharge_reason="planned")]
    path = tmp_path / "small.duckdb"
    con = build(rows, con=connect(path))
    con.close()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAYPOINT_DB", str(path))
        at = run("clinicians.py")
    assert any("Not shown, fewer than 5 episodes: c2." in c.value for c in at.caption)
    points = [t for c in charts(at) for t in c["data"] if t.get("mode", "").startswith("markers")]
    assert points and all("c2" not in list(t.get("text") or []) for t in points)
    table = next(df.value for df in at.dataframe if "Against the funnel" in df.value.columns)
    c2 = table[table["Clinician"] == "c2"].iloc[0]
    assert [c2["Count"], c2["Episodes"], c2["Rate"], c2["Against the funnel"]] == ["fewer than 5"] * 4
    assert table[table["Clinician"] == "c1"].iloc[0]["Episodes"] == "6"


def test_clinicians_page_renders_when_every_clinician_rests_on_small_numbers(tmp_path):
    """Two clinicians with two finished episodes each: nothing to plot, and no error."""
    from tests.builders import S, clinic as build

    rows = []
    for c in ("c1", "c2"):
        for i in range(2):
            rows += [S(f"{c}p{i}", "2024-01-01", clinician_id=c, phq9=15, gad7=10),
                     S(f"{c}p{i}", "2024-02-01", clinician_id=c, phq9=5, gad7=3, discharge_reason="planned")]
    path = tmp_path / "tiny.duckdb"
    build(rows, con=connect(path)).close()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAYPOINT_DB", str(path))
        at = run("clinicians.py")   # run() asserts no exception
    table = next(df.value for df in at.dataframe if "Against the funnel" in df.value.columns)
    assert sorted(table["Clinician"]) == ["c1", "c2"]
    assert not charts(at)                                   # no empty funnels or forest plot
    assert any("no funnel to draw" in i.value for i in at.info)


# ---------------------------------------------------------------------------------------------
# caseload
# ---------------------------------------------------------------------------------------------
def test_caseload_lists_active_patients_safety_first_with_scores(clinic):
    at = run("caseload.py")
    states = readiness.readiness_frame(clinic.cursor(), Settings())
    table = dataframe_with(at, "PHQ-9 so far")
    assert list(table["Patient"]) == list(states["patient_id"])
    assert table["Category"].iloc[0] == "⚠ Safety"
    first = states.iloc[0]
    scores, shown = [p["score"] for p in first["series"]["phq9"]], table["PHQ-9 so far"].iloc[0]
    assert list(shown) == scores if len(scores) >= 2 else shown is None     # a line needs two scores
    assert table["First"].iloc[0] == first["first_scores"]["phq9"]
    assert table["Latest"].iloc[0] == first["last_scores"]["phq9"]
    assert table["Sessions"].iloc[0] == first["attended_sessions"]


def test_a_single_score_draws_no_sparkline_and_shows_as_first_and_latest(tmp_path):
    """A line needs two scores: one score drawn as a sparkline is a flat line across the cell, as if
    the patient had scored it at every session. The single score shows as First and Latest."""
    from tests.builders import S

    path = _patient_clinic(tmp_path, [
        S("p1", "2025-02-03", phq9=27, gad7=18),
        S("p2", "2025-02-03", phq9=18), S("p2", "2025-02-10", phq9=15), S("p2", "2025-02-17", phq9=12),
    ])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAYPOINT_DB", str(path))
        at = run("caseload.py")
    table = dataframe_with(at, "PHQ-9 so far").set_index("Patient")
    assert table.loc["p1", "PHQ-9 so far"] is None
    assert (table.loc["p1", "First"], table.loc["p1", "Latest"]) == (27, 27)
    assert pd.isna(table.loc["p1", "Change"])
    assert list(table.loc["p2", "PHQ-9 so far"]) == [18, 15, 12]
    assert (table.loc["p2", "First"], table.loc["p2", "Latest"], table.loc["p2", "Change"]) == (18, 12, -6)


def test_caseload_of_one_clinician_filtered_by_category(clinic):
    states = readiness.readiness_frame(clinic.cursor(), Settings())
    clinician = states["clinician_id"].value_counts().index[0]
    mine = states[states["clinician_id"] == clinician]
    at = run("caseload.py", clinician=clinician)
    table = dataframe_with(at, "PHQ-9 so far")
    assert list(table["Patient"]) == list(mine["patient_id"])
    assert "Clinician" not in table.columns or set(table["Clinician"]) == {clinician}
    keep = mine["category"].iloc[-1]
    at.pills(key="caseload-categories").set_value([keep]).run()
    table = dataframe_with(at, "PHQ-9 so far")
    assert list(table["Patient"]) == list(mine.loc[mine["category"] == keep, "patient_id"])


def test_a_long_caseload_lists_its_first_rows_and_says_how_many_more_there_are(clinic, monkeypatch):
    from dashboard import data

    monkeypatch.setattr(data, "CASELOAD_ROWS", 5)
    states = readiness.readiness_frame(clinic.cursor(), Settings())
    at = run("caseload.py")
    table = dataframe_with(at, "PHQ-9 so far")
    assert list(table["Patient"]) == list(states["patient_id"][:5])
    assert f"5 of {len(states):,} patients." in " ".join(c.value for c in at.caption)
    assert any(f"The first 5 of the {len(states):,} patients in the chosen categories are listed" in i.value
               for i in at.info)
    # the counts on the category buttons are of every patient, not of the rows listed
    keep = states["category"].iloc[-1]
    at.pills(key="caseload-categories").set_value([keep]).run()
    table = dataframe_with(at, "PHQ-9 so far")
    assert list(table["Patient"]) == list(states.loc[states["category"] == keep, "patient_id"][:5])


def test_the_patient_picker_lists_the_first_patients_in_treatment_in_caseload_order(clinic, monkeypatch):
    from dashboard import data

    monkeypatch.setattr(data, "PICKER_PATIENTS", 3)
    states = readiness.readiness_frame(clinic.cursor(), Settings())
    at = run("patient.py")
    assert at.selectbox(key="patient-pick").options == list(dict.fromkeys(states["patient_id"]))[:3]


# ---------------------------------------------------------------------------------------------
# patient
# ---------------------------------------------------------------------------------------------
def test_patient_page_draws_each_scale_with_cutoff_bands_and_lists_the_reasons(clinic):
    states = readiness.readiness_frame(clinic.cursor(), Settings())
    safety = states[states["category"] == "safety"].iloc[0]
    at = run("patient.py", patient=safety["patient_id"])
    assert metric(at, "Patient").value == safety["patient_id"]
    trajectory = outcomes.trajectories(clinic.cursor(), Settings(), episode_id=safety["episode_id"])
    scales = [s for s in ("phq9", "gad7", "core10", "wsas") if (trajectory["scale"] == s).any()]
    figures = charts(at)
    assert len(figures) == len(scales)
    phq9 = trajectory[trajectory["scale"] == "phq9"]
    drawn = next(t for t in figures[0]["data"] if t.get("name") == "PHQ-9")
    assert values(drawn["y"]) == [int(v) for v in phq9["score"]]
    names = {t.get("name") for t in figures[0]["data"]}
    assert "clinical cutoff 10" in names and "no reliable change (first score ± 6)" in names
    assert len(figures[0]["layout"]["shapes"]) >= 5          # five PHQ-9 severity bands and the cutoff line
    warning = " ".join(w.value for w in at.warning)
    assert "Safety" in warning
    for reason in safety["reasons"]:
        assert ui.md(reason) in warning


def test_patient_page_marks_missed_sessions_and_lists_every_episode(clinic):
    row = clinic.execute(
        """SELECT s.patient_id, s.episode_id FROM sessions s
           WHERE s.status = 'no_show' AND s.episode_id IN (SELECT episode_id FROM measurements m
                JOIN sessions t ON t.session_key = m.session_key GROUP BY 1 HAVING count(*) >= 4)
           ORDER BY s.patient_id LIMIT 1""").fetchall()[0]
    patient_id, episode_id = row
    all_episodes = outcomes.episode_outcomes(clinic.cursor(), Settings())
    mine = all_episodes[all_episodes["patient_id"] == patient_id]
    at = run("patient.py", patient=patient_id)
    if len(mine) > 1:
        at.selectbox(key=f"episode-{patient_id}").set_value(episode_id).run()
    no_shows = clinic.execute("SELECT count(*) FROM sessions WHERE episode_id = ? AND status = 'no_show'",
                              [episode_id]).fetchall()[0][0]
    marks = [t for t in charts(at)[0]["data"] if t.get("name") == "no-show"]
    assert marks and len(values(marks[0]["x"])) == no_shows
    history = dataframe_with(at, "Episode")
    assert sorted(history["Episode"]) == sorted(mine["episode_id"])


def test_patient_page_without_a_patient_invites_a_choice(clinic):
    at = run("patient.py")
    assert any("Choose a patient" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_text_from_the_data_is_shown_as_text_not_markdown(tmp_path):
    from tests.builders import S, clinic as build

    odd = "[x](http://evil.example)*bold*:red[y]"
    path = tmp_path / "odd.duckdb"
    build([S(odd, "2024-01-01", phq9=15, gad7=10), S(odd, "2024-01-15", phq9=12, gad7=9)], con=connect(path)).close()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAYPOINT_DB", str(path))
        at = run("patient.py", patient=odd)
    assert metric(at, "Patient").value == odd            # a metric value is plain text
    rendered = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info] \
        + [w.value for w in at.warning]
    assert not any("](http://evil.example)" in text for text in rendered)


# ---------------------------------------------------------------------------------------------
# attendance, data, first run
# ---------------------------------------------------------------------------------------------
def test_attendance_page_shows_the_attendance_analytics_computes(clinic):
    at = run("attendance.py")
    start, end = period(at)
    overall = engagement.attendance_overall(clinic.cursor(), Settings(date_from=start, date_to=end))
    assert metric(at, "Attendance rate").value == ui.pct(overall["attendance_rate"])
    assert metric(at, "No-shows").value == f"{overall['no_show']:,}"
    note = ui.partial_months(start, end)
    assert note and f"{note} Their rates are fine to compare; their counts are of part of a month." in [
        c.value for c in at.caption]


@pytest.mark.parametrize("page, says", [("data_import.py", True), ("audit.py", True), ("overview.py", False)])
def test_the_data_and_audit_pages_say_the_sidebar_filters_do_not_apply_to_them(clinic, page, says):
    at = run(page)
    note = "These filters shape the figure pages; this page is not filtered by them."
    assert (note in [c.value for c in at.sidebar.caption]) is says


def test_data_page_lists_the_import_history(clinic):
    at = run("data_import.py")
    history = dataframe_with(at, "batch_id")
    assert len(history) == 1 and history["imported_by"].iloc[0] == "demo"


def test_empty_database_shows_the_first_run_screen(tmp_path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAYPOINT_DB", str(tmp_path / "empty.duckdb"))
        at = run()
    assert at.title[0].value == "Welcome to Waypoint"
    assert any(b.label == "Load the demo clinic" for b in at.button)


# ---------------------------------------------------------------------------------------------
# what each figure counts, said where it is shown; filters kept between pages
# ---------------------------------------------------------------------------------------------
FILTERS = {"from": "2026-01-01", "to": "2026-06-30", "clinician": "c02", "scale": "gad7"}


def test_opening_a_patient_from_the_caseload_keeps_every_filter(clinic):
    """st.switch_page clears the URL and forgets the sidebar's widgets: the filters go along in the
    patient's URL and the sidebar takes them back from there."""
    at = run(**FILTERS)
    at.switch_page("views/caseload.py").run()
    first = dataframe_with(at, "GAD-7 so far")["Patient"].iloc[0]
    at.session_state["caseload-0"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Patient" and metric(at, "Patient").value == first
    assert {k: at.query_params[k] for k in FILTERS} == FILTERS and at.query_params["patient"] == first
    assert period(at) == (date(2026, 1, 1), date(2026, 6, 30))
    assert at.selectbox(key="f_clinician").value == "c02" and at.selectbox(key="f_scale").value == "gad7"


def _patient_clinic(tmp_path, rows) -> Path:
    from tests.builders import clinic as build

    path = tmp_path / "patient.duckdb"
    build(rows, con=connect(path)).close()
    return path


def test_last_attended_ignores_no_shows_and_the_last_missed_appointment_is_said_apart(tmp_path):
    from tests.builders import S

    path = _patient_clinic(tmp_path, [
        S("p1", "2024-01-01", phq9=18, gad7=12), S("p1", "2024-01-08", phq9=16, gad7=11),
        S("p1", "2024-01-15", status="no_show"),
        S("p2", "2024-01-10", status="no_show"),
    ])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAYPOINT_DB", str(path))
        seen = run("patient.py", patient="p1")
        never = run("patient.py", patient="p2")
    assert metric(seen, "Last attended").value == "8 Jan 2024"
    assert "Last missed appointment: 15 Jan 2024 (no-show); 1 missed in this episode." in [c.value for c in seen.caption]
    assert metric(never, "Last attended").value == "—"
    assert not [m for m in never.metric if m.label == "Last seen"]


def test_a_single_score_reads_as_one_score_so_far(tmp_path):
    from tests.builders import S

    path = _patient_clinic(tmp_path, [S("p1", "2024-01-01", phq9=27, gad7=21)])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAYPOINT_DB", str(path))
        at = run("patient.py", patient="p1")
    lines = [m.value for m in at.markdown]
    assert "**PHQ\\-9**: one score so far (27)" in lines
    assert not any("→" in line and "PHQ" in line for line in lines)


def test_still_in_treatment_counts_the_periods_episodes_and_the_readiness_chart_every_active_patient(clinic):
    at = run()
    day = f"{period(at)[1]:%-d %b %Y}"   # the default period ends on the latest session date
    tile = metric(at, "Still in treatment")
    assert f"still in treatment on {day}" in tile.help
    start, end = period(at)
    now = outcomes.kpis(clinic.cursor(), Settings(date_from=start, date_to=end))
    captions = [c.value for c in at.caption]
    assert f"of the {now['episodes']:,} episodes open in the period, those still in treatment on {day}" in captions
    states = readiness.readiness_frame(clinic.cursor(), Settings())
    assert any(c.startswith(f"{len(states):,} patients in treatment on {day}, whatever the period") for c in captions)


def test_the_episodes_behind_the_figures_have_readable_headings_and_the_download_keeps_the_names(clinic):
    at = run()
    at.session_state["behind-open"] = True
    at.run()
    shown = next(df for df in at.dataframe if "in_rates" in df.value.columns)
    config = json.loads(shown.proto.columns)
    assert config["episode_id"]["label"] == "Episode"
    assert config["first_attended_date"]["label"] == "First attended date"
    assert config["first_attended_date"]["type_config"]["format"] == "D MMM YYYY"     # still shown as a date
    assert config["phq9_first"]["label"] == "PHQ-9 first"
    assert all("label" in config.get(c, {}) for c in shown.value.columns)


def test_attendance_says_what_the_period_does_not_filter_and_shows_retention_as_percentages(clinic):
    at = run("attendance.py")
    captions = " ".join(c.value for c in at.caption)
    assert "Every episode of the clinic's patients, whatever the period" in captions
    day = f"{period(at)[1]:%-d %b %Y}"   # the default period ends on the latest session date
    assert f"Patients in treatment on {day} (the latest session date, whatever the period)" in captions
    assert f"As on {day} (the latest session date, whatever the period)" in captions
    retention = next(df for df in at.dataframe if "Still engaged" in df.value.columns)
    config = json.loads(retention.proto.columns)
    assert all(config[c]["type_config"]["format"] == "%.1f %%" for c in ("Still engaged", "95 % low", "95 % high"))
    assert retention.value["Still engaged"].max() > 1          # shown as percentages, not fractions


def test_the_referral_wait_is_named_and_placed_apart_from_the_first_to_second_gap(clinic):
    at = run("attendance.py")
    labels = [m.label for m in at.metric]
    assert "Referral → first session over 6 weeks" in labels and "Waited over 6 weeks" not in labels
    headings = [h.value for h in at.subheader]
    assert headings.index("From referral to first session") + 1 == headings.index("From first to second session")
    assert labels.index("Referral → first session over 6 weeks") < labels.index("Median first → second session")


def test_caseload_with_every_category_hidden_lists_no_one_and_says_to_pick_one(clinic):
    states = readiness.readiness_frame(clinic.cursor(), Settings())
    clinician = states["clinician_id"].value_counts().index[0]
    at = run("caseload.py", clinician=clinician)
    at.pills(key="caseload-categories").set_value([]).run()
    assert not any("PHQ-9 so far" in df.value.columns for df in at.dataframe)
    assert any("every category is hidden. Pick one or more categories" in i.value for i in at.info)


def test_caseload_gives_the_reason_room_to_be_read(clinic):
    at = run("caseload.py")
    shown = next(df for df in at.dataframe if "PHQ-9 so far" in df.value.columns)
    config = json.loads(shown.proto.columns)
    order = list(shown.proto.column_order)
    assert order.index("Why") == order.index("Patient") + 2            # right after who (and their clinician)
    assert config["Why"]["width"] >= 2 * max(config[c]["width"] for c in ("First", "Latest", "Change", "Sessions",
                                                                           "Last attended", "Next booked"))
    assert shown.proto.row_height > 64                                 # taller than 4 rem: the text wraps


def test_caseload_marks_the_patients_of_the_watch_list_as_drifting_away(clinic):
    from analytics import engagement

    watched = set(engagement.watch_list(clinic.cursor(), Settings())["patient_id"])
    assert watched, "the demo clinic has someone on the watch list"
    table = dataframe_with(run("caseload.py"), "PHQ-9 so far")
    drifting = set(table.loc[table["Category"].str.endswith(" · drifting away"), "Patient"])
    assert drifting == watched


# ---------------------------------------------------------------------------------------------
# small numbers on the overview: every rate card, and the change judged on both periods
# ---------------------------------------------------------------------------------------------
def _episodes(prefix: str, start: str, end: str, n: int, *, recovered: int) -> list:
    """``n`` finished episodes at caseness from ``start`` to ``end``, the first ``recovered`` recovered."""
    from tests.builders import S

    rows = []
    for i in range(n):
        last = (5, 3) if i < recovered else (14, 9)
        rows += [S(f"{prefix}{i}", start, phq9=15, gad7=10),
                 S(f"{prefix}{i}", end, phq9=last[0], gad7=last[1], discharge_reason="planned")]
    return rows


@pytest.fixture
def few_then_more(tmp_path):
    """Three episodes ended in the first quarter of 2024, six in the second (and a session on 30 Jun)."""
    from tests.builders import S

    path = _patient_clinic(tmp_path, _episodes("a", "2024-01-01", "2024-03-01", 3, recovered=3)
                           + _episodes("b", "2024-04-01", "2024-05-01", 6, recovered=2)
                           + [S("z", "2024-06-30", phq9=12, gad7=9)])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAYPOINT_DB", str(path))
        yield


def test_a_change_resting_on_fewer_than_5_in_either_period_is_not_shown_as_a_change(few_then_more):
    at = run(**{"from": "2024-04-01", "to": "2024-06-30"})
    assert period(at) == (date(2024, 4, 1), date(2024, 6, 30))
    recovery = metric(at, "Recovery")
    assert recovery.value == "33.3 %" and not recovery.delta              # 2 of 6 against 3 of 3: no "-66.7 pp"
    assert "Previous period: 100.0 % (3 of 3 patients at caseness)." in recovery.help
    captions = [c.value for c in at.caption]
    assert "2 of 6 patients at caseness" in captions                        # no "(3 of 3 before)": no change shown
    assert ":material/block: Change not shown: fewer than 5 in the previous period (3 patients at caseness)." in captions
    assert not metric(at, "Dropout").delta
    assert metric(at, "Attendance").delta                                  # 13 sessions against 6: shown


def test_every_rate_card_resting_on_fewer_than_5_is_marked_small(few_then_more):
    at = run(**{"from": "2024-01-01", "to": "2024-03-31"})
    captions = [c.value for c in at.caption]
    mark = " · :material/warning: small number, read with care"
    assert "0 of 3 episodes that ended" + mark in captions                 # the dropout card, not only the first five
    assert "3 of 3 patients at caseness" + mark in captions
    assert "6 of 6 sessions that went ahead or were missed" in captions    # six sessions: not small


# ---------------------------------------------------------------------------------------------
# a bookmark whose period cannot be shown says so, and which period is shown instead
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("query, problem", [
    ({"from": "2015-01-01", "to": "2015-12-31"}, "(1 Jan 2015 – 31 Dec 2015) had no data"),
    ({"from": "2026-02-30", "to": "2026-03-31"}, "was not a valid period"),
    ({"from": "2026-03-31", "to": "2026-01-01"}, "(31 Mar 2026 – 1 Jan 2026) was not a valid period"),
])
def test_a_bookmarked_period_that_cannot_be_shown_is_named_with_the_period_shown_instead(clinic, query, problem):
    at = run(**query)
    start, end = period(at)
    notices = [i.value for i in at.info if i.value.startswith("The bookmarked period")]
    assert len(notices) == 1 and problem in notices[0]
    assert f"showing {start:%-d %b %Y} – {end:%-d %b %Y} instead" in notices[0]
    at.date_input(key="f_period").set_value((start, start)).run()       # another period chosen: the notice goes
    assert not any(i.value.startswith("The bookmarked period") for i in at.info)


def test_a_bookmarked_period_within_the_data_shows_no_notice(clinic):
    at = run(**{"from": "2025-06-01", "to": "2026-05-31"})
    assert not any(i.value.startswith("The bookmarked period") for i in at.info)


# ---------------------------------------------------------------------------------------------
# clinicians: every clinician of the view, and small-number marks only where they can show
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def four_clinicians(tmp_path):
    """c1 six finished episodes, c2 four, c3 two, c4 seeing a patient but with no episode ended."""
    from tests.builders import S

    rows = []
    for clinician, n in (("c1", 6), ("c2", 4), ("c3", 2)):
        for i in range(n):
            rows += [S(f"{clinician}p{i}", "2024-01-01", clinician_id=clinician, phq9=15, gad7=10),
                     S(f"{clinician}p{i}", "2024-02-01", clinician_id=clinician, phq9=5, gad7=3,
                       discharge_reason="planned")]
    rows += [S("c4p0", "2024-01-10", clinician_id="c4", phq9=15, gad7=10),
             S("c4p0", "2024-02-01", clinician_id="c4", phq9=12, gad7=9)]
    path = _patient_clinic(tmp_path, rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAYPOINT_DB", str(path))
        yield mp, tmp_path


def _comparison_tables(at: AppTest) -> list[pd.DataFrame]:
    return [df.value.set_index("Clinician") for df in at.dataframe if "Against the funnel" in df.value.columns]


def test_a_clinician_with_no_episode_ended_is_listed_as_no_episodes_not_fewer_than_5(four_clinicians):
    at = run("clinicians.py")
    tables = _comparison_tables(at)
    assert len(tables) == 3                                         # recovery, reliable improvement, dropout
    for table in tables:
        assert list(table.index) == ["c1", "c2", "c3", "c4"]
        assert list(table.loc["c4", ["Count", "Episodes", "Rate", "Against the funnel"]]) == ["no episodes"] * 4
        assert table.loc["c3", "Episodes"] == "fewer than 5"
    mix = dataframe_with(at, "Observed ÷ expected").set_index("Clinician")
    assert mix.loc["c4", "Patients at caseness"] == "no episodes"
    assert any(c.value.endswith("No episodes for this measure in the period: c4.") for c in at.caption)


def test_the_small_number_column_is_shown_only_when_a_small_number_can_be_shown(four_clinicians):
    mp, folder = four_clinicians
    at = run("clinicians.py")                                       # suppression 5 = small number 5
    assert all("Small number" not in t.columns for t in _comparison_tables(at))
    assert "Small number" not in dataframe_with(at, "Observed ÷ expected").columns
    config = folder / "clinic.toml"
    config.write_text("[access]\nsuppress_below = 3\n")
    mp.setenv("WAYPOINT_CONFIG", str(config))
    at = run("clinicians.py")                                       # 3 or 4 episodes: shown, marked small
    for table in _comparison_tables(at):
        assert dict(table["Small number"]) == {"c1": "", "c2": "small number", "c3": "", "c4": ""}
        assert table.loc["c3", "Episodes"] == "fewer than 3"


def test_the_case_mix_chart_says_how_it_and_the_funnel_can_disagree(clinic):
    at = run("clinicians.py")
    assert any(c.value.endswith("within chance here once their case mix is allowed for, or the other way round.")
               for c in at.caption)


def test_the_scale_selector_says_the_headline_rates_and_trends_do_not_follow_it(clinic):
    at = run()
    help_text = at.selectbox(key="f_scale").help
    assert "Caseload" in help_text and "severity at intake" in help_text
    assert "does not change the headline rates or monthly trends" in help_text
    assert "trends, caseload sparklines and the patient view" not in help_text


def test_with_more_clinicians_than_a_chart_holds_the_tables_list_them_all_and_the_charts_say_so(clinic, monkeypatch):
    """A network of thousands of clinicians: no chart one bar or row per clinician (metres tall);
    the attendance-by-clinician table still lists everyone, and the case-mix chart keeps the
    clinicians whose interval does not cross 1."""
    monkeypatch.setattr(ui, "CHART_ROWS", 2)
    at = run("attendance.py")
    by_clinician = engagement.attendance_by(clinic.cursor(), Settings(date_from=period(at)[0], date_to=period(at)[1]),
                                            "clinician_id")
    assert "att-clinician_id" not in [c.key for c in at.get("plotly_chart")]
    assert any(f"{len(by_clinician):,} clinicians are too many to draw as bars" in c.value for c in at.caption)
    table = next(df.value for df in at.dataframe if {"Clinician", "No-shows"} <= set(df.value.columns))
    assert list(table["Clinician"]) == list(by_clinician["clinician_id"])
    at = run("clinicians.py")
    start, end = period(at)
    recovery = outcomes.clinician_comparison(clinic.cursor(), Settings(date_from=start, date_to=end)).query(
        "measure == 'recovery' and denominator >= 5")
    beyond = recovery[outcomes.ratio_beyond_chance(recovery).to_numpy()]
    drawn = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.key == "case-mix"]
    if len(beyond):
        shown = "the one" if len(beyond) == 1 else f"the {len(beyond):,}"
        assert any(f"the chart shows {shown} whose 95 % interval does not cross 1" in c.value for c in at.caption)
        assert sorted(y for t in drawn[0]["data"] for y in values(t.get("y", []))) == sorted(beyond["clinician_id"])
    else:   # the demo clinic: no chart, and the caption says why
        assert any("every one's 95 % interval crosses 1" in c.value and "so there is no chart" in c.value
                   for c in at.caption)
        assert drawn == []


def test_with_more_clinicians_than_the_chart_holds_it_draws_those_beyond_chance_by_name(tmp_path, monkeypatch):
    """Three clinicians of 40 finished episodes each, every patient moderately severe at intake:
    c1's 40 recoveries are beyond chance for that case mix (about 27 expected); c2's and c3's 20
    each are within it. With room for two rows, the case-mix chart draws c1 alone and says why,
    and the table below still lists all three."""
    from tests.builders import S

    rows = []
    for clinician, recovered in (("c1", 40), ("c2", 20), ("c3", 20)):
        for i in range(40):
            end = dict(phq9=4, gad7=3) if i < recovered else dict(phq9=16, gad7=13)
            rows += [S(f"{clinician}p{i}", "2024-01-01", clinician_id=clinician, phq9=16, gad7=13),
                     S(f"{clinician}p{i}", "2024-02-01", clinician_id=clinician, discharge_reason="planned", **end)]
    path = _patient_clinic(tmp_path, rows)
    monkeypatch.setenv("WAYPOINT_DB", str(path))
    monkeypatch.setattr(ui, "CHART_ROWS", 2)
    at = run("clinicians.py")
    con = connect(path)
    try:
        start, end = period(at)
        recovery = outcomes.clinician_comparison(con, Settings(date_from=start, date_to=end)).query(
            "measure == 'recovery'")
    finally:
        con.close()
    beyond = recovery[outcomes.ratio_beyond_chance(recovery).to_numpy()]
    assert list(beyond["clinician_id"]) == ["c1"]
    assert any("3 clinicians are too many to draw one row each: the chart shows the one whose 95 % interval does "
               "not cross 1" in c.value for c in at.caption)
    drawn = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.key == "case-mix"]
    assert [y for t in drawn[0]["data"] for y in values(t.get("y", []))] == ["c1"]
    table = next(df.value for df in at.dataframe if "Observed ÷ expected" in df.value.columns)
    assert list(table["Clinician"]) == ["c1", "c2", "c3"]
    assert list(table["Recovered"]) == [40, 20, 20]
