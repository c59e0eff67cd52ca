"""Tables as a reader sees them: dates held as midnight timestamps read as dates ("9 Jul 2026"),
not "2026-07-09 00:00:00"; real times, and formats a page chose, are left alone."""
from __future__ import annotations

import pandas as pd
import pytest
import streamlit as st

from dashboard import ui


def test_dates_held_as_midnight_timestamps_show_as_dates_and_times_stay_times():
    frame = pd.DataFrame({
        "Last attended": pd.to_datetime(["2026-07-09", None]),
        "Logged at": pd.to_datetime(["2026-07-09 10:30", "2026-07-10 00:00"]),
        "Next booked": pd.to_datetime([None, None]),
        "Days": [99, 95],
    })
    config = ui.with_date_columns(frame, {"Days": st.column_config.NumberColumn(format="%d")})
    assert config["Last attended"]["type_config"] == {"type": "date", "format": "D MMM YYYY", "min_value": None,
                                                      "max_value": None, "step": None}
    assert config["Next booked"]["type_config"]["type"] == "date"        # empty for now: still a date column
    assert "Logged at" not in config                                      # a time of day is shown
    assert config["Days"]["type_config"]["format"] == "%d"                # the page's own choice kept


def test_a_page_that_formats_a_date_column_keeps_its_format():
    frame = pd.DataFrame({"Last seen": pd.to_datetime(["2026-07-09"])})
    mine = st.column_config.DateColumn(format="YYYY-MM-DD")
    assert ui.with_date_columns(frame, {"Last seen": mine}) == {"Last seen": mine}
    assert ui.with_date_columns(pd.DataFrame({"n": [1]}), None) is None


def test_a_period_that_cuts_its_first_or_last_month_says_so():
    from datetime import date

    assert ui.partial_months(date(2025, 10, 17), date(2026, 10, 16)) == \
        "Partial months: Oct 2025 from 17 Oct 2025; Oct 2026 up to 16 Oct 2026."
    assert ui.partial_months(date(2025, 11, 1), date(2026, 10, 16)) == "Partial months: Oct 2026 up to 16 Oct 2026."
    assert ui.partial_months(date(2025, 11, 1), date(2026, 2, 28)) == ""        # whole months
    assert ui.partial_months(date(2024, 2, 1), date(2024, 2, 29)) == ""         # a leap February, whole
    assert ui.partial_months(date(2025, 3, 3), date(2025, 3, 20)) == "Mar 2025 is partial (3 Mar 2025 to 20 Mar 2025)."
    assert ui.partial_months(None, date(2025, 3, 20)) == ""


def test_an_import_summary_shows_a_line_each_with_nothing_from_the_file_made_markdown():
    from dashboard.importer import flash_text

    summary = ("[x](http://evil.example).csv: read 1 rows — 1 new (batch 2)\n"
               "  read as Windows-1252 text (the file is not UTF-8)\n"
               "  check names: '# Micha³' reads like Central European text")
    shown = flash_text(summary)
    lines = shown.split("  \n")
    assert len(lines) == 3 and lines[1].startswith("read as Windows")
    assert "](http" not in shown and "[x]" not in shown                # no link survives
    assert "'\\# Micha³'" in lines[2]                                       # no heading either


def test_dates_and_times_of_day_held_as_python_values_read_like_every_other_date_and_time():
    from datetime import date, datetime, time

    frame = pd.DataFrame({
        "Date": [date(2026, 8, 31), None],
        "Time": [time(10, 30), None],
        "Logged at": [datetime(2026, 8, 31, 10, 30), None],   # a datetime is not a date
        "Mixed": [date(2026, 8, 31), "unknown"],
        "Nothing yet": pd.Series([None, None], dtype=object),
        "Patient": ["p1", "p2"],
    })
    config = ui.with_date_columns(frame, None)
    assert config["Date"]["type_config"]["type"] == "date"
    assert config["Date"]["type_config"]["format"] == "D MMM YYYY"
    assert config["Time"]["type_config"]["type"] == "time"
    assert config["Time"]["type_config"]["format"] == "HH:mm"
    assert not {"Logged at", "Mixed", "Nothing yet", "Patient"} & set(config)


def test_iso_date_text_from_the_analytics_reads_as_a_date_and_the_download_keeps_the_text():
    from datetime import date

    frame = pd.DataFrame({
        "Started": ["2026-08-31", "2025-01-02"],
        "Ended": [None, "2025-03-04"],
        "Not a date": ["2026-02-30", "2026-01-01"],     # the shape of a date, but no such day
        "Patient": ["p1", "2026-01-01"],
    })
    shown = ui.iso_dates_as_dates(frame)
    assert list(shown["Started"]) == [date(2026, 8, 31), date(2025, 1, 2)]
    assert list(shown["Ended"]) == [None, date(2025, 3, 4)]
    assert list(shown["Not a date"]) == ["2026-02-30", "2026-01-01"]
    assert list(shown["Patient"]) == ["p1", "2026-01-01"]
    assert list(frame["Started"]) == ["2026-08-31", "2025-01-02"]      # the caller's frame untouched
    assert ui.with_date_columns(shown, None)["Started"]["type_config"]["format"] == "D MMM YYYY"


def test_percent_columns_show_one_decimal_like_the_headline_figures_and_keep_fractions_for_download():
    frame = pd.DataFrame({"Rate": [0.80521, 0.092, 0.0, None], "Count": [5, 6, 7, 8]})
    config = {"Rate": st.column_config.NumberColumn(format="percent", help="attended ÷ booked"),
              "Count": st.column_config.NumberColumn(format="%d")}
    shown, shown_config = ui.percents_to_one_decimal(frame, config)
    assert shown["Rate"].tolist()[:3] == pytest.approx([80.521, 9.2, 0.0])
    assert pd.isna(shown["Rate"].iloc[3])
    assert shown_config["Rate"]["type_config"]["format"] == "%.1f %%"
    assert shown_config["Rate"]["help"] == "attended ÷ booked"
    assert shown_config["Count"] == config["Count"]
    assert frame["Rate"].iloc[0] == 0.80521                           # the download's frame unchanged
    assert ui.percents_to_one_decimal(frame, None) == (frame, None)


def test_percent_columns_of_python_numbers_are_shown_to_one_decimal_and_text_rates_are_left_as_text():
    from decimal import Decimal

    config = {"Rate": st.column_config.NumberColumn(format="percent")}
    objects = pd.DataFrame({"Rate": pd.Series([0.5, None, Decimal("0.25")], dtype=object)})
    shown, _ = ui.percents_to_one_decimal(objects, config)
    assert shown["Rate"].iloc[0] == 50.0 and pd.isna(shown["Rate"].iloc[1]) and shown["Rate"].iloc[2] == 25.0
    suppressed = pd.DataFrame({"Rate": pd.Series([0.5, "fewer than 5"], dtype=object)})
    shown, shown_config = ui.percents_to_one_decimal(suppressed, config)
    assert shown["Rate"].tolist() == [0.5, "fewer than 5"]
    assert shown_config["Rate"]["type_config"]["format"] == "percent"


def test_analytics_column_names_get_readable_headings():
    labels = ui.column_labels(["episode_id", "first_attended_date", "phq9_last_date", "core10_rc", "in_rates"],
                              {"phq9": "PHQ-9", "core10": "CORE-10"})
    assert labels == {"episode_id": "Episode", "first_attended_date": "First attended date",
                      "phq9_last_date": "PHQ-9 last date", "core10_rc": "CORE-10 reliable change index",
                      "in_rates": "In the rates"}


def test_a_heading_keeps_the_columns_format():
    dates = st.column_config.DateColumn(format="D MMM YYYY")
    config = ui.with_labels({"start_date": dates}, {"start_date": "Start date", "episode_id": "Episode"})
    assert config["start_date"]["label"] == "Start date"
    assert config["start_date"]["type_config"] == dates["type_config"]
    assert config["episode_id"] == {"label": "Episode"}
