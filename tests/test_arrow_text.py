"""A database connection gives pandas its text from Arrow in pandas' own layout (large strings,
64-bit offsets: analytics/db.py), so that the episode table's text columns are not copied once more
on their way into pandas; the table itself is the same either way."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa

from analytics import db, outcomes
from analytics.settings import Settings
from tests.builders import S, clinic


def test_a_connection_gives_arrow_text_as_large_strings():
    con = db.connect(":memory:")
    try:
        table = con.sql("SELECT 'PHQ-9' AS scale, NULL::VARCHAR AS missing").to_arrow_table()
        assert table.schema.field("scale").type == pa.large_string()
        assert table.schema.field("missing").type == pa.large_string()
    finally:
        con.close()


def test_the_episode_table_is_the_same_with_either_arrow_text_layout():
    con = clinic([S("p1", "2024-01-01", phq9=15, gad7=12), S("p1", "2024-01-08", phq9=9, gad7=7),
                  S("p2", "2024-01-02", clinician_id="c2", phq9=20, gad7=16),
                  S("p2", "2024-01-09", clinician_id="c2", status="no_show"),
                  S("p2", "2024-01-16", clinician_id="c2", phq9=22, gad7=18)])
    large = outcomes.episode_outcomes(con, Settings())
    con.execute("SET arrow_large_buffer_size = false")
    try:
        plain = outcomes.episode_outcomes(con, Settings())
    finally:
        con.execute("SET arrow_large_buffer_size = true")
    assert len(large) == 2 and large["clinician_id"].tolist() == ["c1", "c2"]
    pd.testing.assert_frame_equal(large, plain)
