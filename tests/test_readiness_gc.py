"""readiness builds its records with cyclic garbage collection paused (hundreds of thousands of
acyclic objects), and always leaves the collector as it found it."""
import gc

import pytest

from analytics.readiness import _no_cyclic_gc


@pytest.fixture(autouse=True)
def collector_back_on():
    yield
    gc.enable()


def test_the_collector_is_paused_inside_and_back_on_after():
    gc.enable()
    with _no_cyclic_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_back_on_after_an_error():
    gc.enable()
    with pytest.raises(RuntimeError):
        with _no_cyclic_gc():
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off():
    gc.disable()
    with _no_cyclic_gc():
        pass
    assert not gc.isenabled()
