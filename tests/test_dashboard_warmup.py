"""The server's warm-up (dashboard/warmup.py): the clinic overview's figures are computed before the
first visit, so that visit computes nothing; it runs only in the server, and again after a write."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import engagement, outcomes, readiness, serve
from dashboard import data, warmup

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture()
def fresh_clinic(tmp_path, monkeypatch):
    """A demo clinic in a database no other test has read (so nothing of it is cached yet)."""
    from analytics.db import connect
    from analytics.demo import DemoConfig, build_demo

    path = tmp_path / "warm.duckdb"
    con = connect(path)
    build_demo(con, DemoConfig(patients=60, seed=11))
    con.close()
    monkeypatch.setenv("WAYPOINT_DB", str(path))
    monkeypatch.delenv("WAYPOINT_CONFIG", raising=False)
    return path


def _count_analytics_calls(monkeypatch) -> list[str]:
    """Replace every analytics function the overview can reach with a counting wrapper."""
    calls: list[str] = []
    for module, names in ((outcomes, ("kpis", "rates_by_month", "episode_outcomes", "intake_mix")),
                          (engagement, ("sessions_delivered",)),
                          (readiness, ("readiness_frame", "category_counts"))):
        for name in names:
            real = getattr(module, name)

            def counted(*args, _real=real, _name=f"{module.__name__}.{name}", **kwargs):
                calls.append(_name)
                return _real(*args, **kwargs)

            monkeypatch.setattr(module, name, counted)
    return calls


def test_after_the_warmup_the_first_overview_computes_nothing(fresh_clinic, monkeypatch):
    took = warmup.prime()
    assert set(took) >= {"headline figures", "readiness of active patients"}
    calls = _count_analytics_calls(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Clinic overview"]
    assert calls == []


def test_after_the_warmup_the_clinicians_and_attendance_pages_compute_nothing_either(fresh_clinic, monkeypatch):
    took = warmup.prime()
    assert {"clinicians compared", "attendance", "watch list and capacity"} <= set(took)
    calls = _count_every_figure(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for page in ("clinicians.py", "attendance.py"):
        at.switch_page(f"views/{page}").run()
        assert not at.exception, [e.value for e in at.exception]
        assert calls == [], page
    # the months of data completeness wait for their toggle, as they would without the warm-up
    at.switch_page("views/clinicians.py").run()
    at.toggle(key="quality-by-month").set_value(True).run()
    assert calls[0] == "analytics.outcomes.data_quality"


def _count_every_figure(monkeypatch) -> list[str]:
    """Replace every public function of the analytics modules the pages call with a counting wrapper."""
    import inspect

    calls: list[str] = []
    for module in (outcomes, engagement, readiness):
        for name, real in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or real.__module__ != module.__name__ or name == "sql_for":  # SQL text, not a figure
                continue

            def counted(*args, _real=real, _name=f"{module.__name__}.{name}", **kwargs):
                calls.append(_name)
                return _real(*args, **kwargs)

            monkeypatch.setattr(module, name, counted)
    return calls


def test_without_the_warmup_the_first_overview_computes_its_figures(fresh_clinic, monkeypatch):
    calls = _count_analytics_calls(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    assert {"analytics.outcomes.kpis", "analytics.readiness.category_counts"} <= set(calls)


def test_the_warmup_computes_the_whole_clinic_as_a_director_sees_it(fresh_clinic, monkeypatch):
    seen = []
    real = data._compute

    def spy(version, function, settings, kwargs):
        seen.append(settings.scope_clinician_id)
        return real(version, function, settings, kwargs)

    monkeypatch.setattr(data, "_compute", spy)
    warmup.prime()
    assert seen and set(seen) == {None}
    assert warmup.WARMUP_VIEWER.may_see_clinic() and not warmup.WARMUP_VIEWER.is_admin


def test_the_acting_viewer_is_only_for_the_block_that_sets_it():
    with data.acting_as(warmup.WARMUP_VIEWER):
        assert data._viewer() is warmup.WARMUP_VIEWER
        elsewhere = []
        worker = threading.Thread(target=lambda: elsewhere.append(data._ACTING_VIEWER.get()))
        worker.start()
        worker.join()
        assert elsewhere == [None]       # another thread (a browser session) does not inherit it
    assert data._ACTING_VIEWER.get() is None


def test_an_empty_database_has_nothing_to_warm(tmp_path, monkeypatch):
    monkeypatch.setenv("WAYPOINT_DB", str(tmp_path / "empty.duckdb"))
    assert warmup.prime() == {}


def test_outside_the_server_nothing_starts(monkeypatch):
    monkeypatch.setattr(warmup, "_enabled", False)
    monkeypatch.setattr(warmup, "prime", lambda: pytest.fail("the warm-up ran outside the server"))
    assert warmup.start() is False


def test_a_write_during_a_warmup_runs_it_once_more_afterwards(monkeypatch):
    entered, release, runs = threading.Event(), threading.Event(), []

    def slow_prime():
        runs.append(len(runs) + 1)
        entered.set()
        release.wait(10)
        return {}

    monkeypatch.setattr(warmup, "prime", slow_prime)
    monkeypatch.setattr(warmup, "_enabled", True)
    monkeypatch.setattr(warmup, "_running", False)
    monkeypatch.setattr(warmup, "_again", False)
    assert warmup.start() is True
    assert entered.wait(10)
    assert warmup.start() is True           # e.g. an import landed while it ran
    assert warmup.start() is True           # two writes: still one more run, not two
    release.set()
    for thread in [t for t in threading.enumerate() if t.name == warmup.THREAD_NAME]:
        thread.join(10)
    assert runs == [1, 2]
    assert warmup._running is False


def test_serve_runs_the_dashboard_through_the_app_with_the_warmup():
    # that the running server warms up is checked end to end in tests/test_e2e_browser.py
    command = serve.streamlit_command(8501, "127.0.0.1")
    assert command[command.index("run") + 1].endswith("dashboard/server.py")


def test_a_database_another_process_holds_is_reported_in_one_line_not_a_traceback(monkeypatch, caplog):
    from analytics.db import DatabaseBusy

    def busy():
        raise DatabaseBusy("clinic.duckdb: the database is open in another Waypoint process.")

    monkeypatch.setattr(warmup, "prime", busy)
    monkeypatch.setattr(warmup, "_running", True)
    monkeypatch.setattr(warmup, "_again", False)
    monkeypatch.setattr(warmup.LOG, "propagate", True)
    with caplog.at_level("INFO", logger="waypoint.warmup"):
        warmup._loop()
    assert [r.getMessage() for r in caplog.records] == [
        "Warm-up skipped: clinic.duckdb: the database is open in another Waypoint process. "
        "The pages compute their figures when opened."]
    assert caplog.records[0].exc_info is None and warmup._running is False
