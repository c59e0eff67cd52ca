"""A readiness call leaves no word cache behind: its number and date words are cached while the
records are written, and the caches are emptied when it returns (an entry made among the call's
facts would otherwise keep the memory they leave behind from going back to the system: about
180 MB after one call for the whole clinic at a million sessions)."""
import pytest

from analytics import readiness
from analytics.settings import Settings
from tests.builders import S, clinic


@pytest.fixture
def con():
    return clinic([
        S("p1", "2024-01-01", phq9=18, gad7=12), S("p1", "2024-01-15", phq9=12, gad7=9),
        S("p1", "2024-02-01", phq9=7, gad7=5), S("p2", "2024-01-03", phq9=22, gad7=16),
        S("p2", "2024-01-20", phq9=23, gad7=17),
    ])


def test_word_caches_are_empty_after_a_call(con):
    readiness.fmt_num(1.5)                      # something cached before the call goes too
    result = readiness.readiness(con, Settings())
    assert len(result) > 0
    assert readiness.fmt_num.cache_info().currsize == 0
    assert readiness.fmt_date.cache_info().currsize == 0
    assert readiness._iso.cache_info().currsize == 0


def test_the_reasons_use_the_caches_while_the_records_are_written(con, monkeypatch):
    seen = []
    real = readiness._record

    def record(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append(readiness.fmt_num.cache_info().currsize)
        return out

    monkeypatch.setattr(readiness, "_record", record)
    records = readiness.readiness(con, Settings())
    assert any("point" in r for rec in records for r in rec["reasons"])   # numbers were written
    assert max(seen) > 0
