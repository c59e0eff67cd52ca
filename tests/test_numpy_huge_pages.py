"""Opening a database turns NumPy's transparent huge pages off (measured faster where Waypoint was
benchmarked: analytics/db.py), unless NUMPY_MADVISE_HUGEPAGE, NumPy's own switch, is set."""
from __future__ import annotations

import pytest

from analytics import db

multiarray = pytest.importorskip("numpy._core.multiarray")
if not hasattr(multiarray, "_set_madvise_hugepage"):
    pytest.skip("this NumPy has no huge-page switch", allow_module_level=True)


@pytest.fixture
def huge_pages_on():
    """NumPy's switch on before the test, put back as it was after."""
    was = multiarray._set_madvise_hugepage(True)
    yield
    multiarray._set_madvise_hugepage(was)


def huge_pages() -> bool:
    """NumPy's switch (read by setting it to what it returns)."""
    now = multiarray._set_madvise_hugepage(False)
    multiarray._set_madvise_hugepage(now)
    return now


def test_opening_a_database_turns_numpy_huge_pages_off(monkeypatch, huge_pages_on):
    monkeypatch.delenv(db.NUMPY_HUGE_PAGES_ENV, raising=False)
    db.connect(":memory:").close()
    assert huge_pages() is False


@pytest.mark.parametrize("value", ["0", "1"])
def test_numpys_own_switch_in_the_environment_is_left_to_decide(monkeypatch, huge_pages_on, value):
    monkeypatch.setenv(db.NUMPY_HUGE_PAGES_ENV, value)
    db.connect(":memory:").close()
    assert huge_pages() is True        # as it was: NumPy read the variable when it was imported
