"""The warm-up: the clinic's default figures computed before anyone opens the dashboard.

A fresh dashboard process has nothing cached, so the first visit to the clinic overview used to
build every work table and classify every active episode while the visitor waited (about 12 s for
a clinic of a million sessions). ``waypoint serve`` runs the dashboard through
``dashboard/server.py``, whose start-up hook calls :func:`enable`: from then on a background thread
computes the overview's figures for the whole clinic, in the view a first visit opens with, then
the Clinicians and Attendance & engagement pages' figures in that view, into the same caches the
pages read — at start-up, and again after every import, undo or demo load (the write clears the
caches and calls :func:`start`).

- It computes what a director would see (the whole clinic); a clinician's own figures are small
  and computed when they open them. The figures are cached by the scope they were computed for,
  so no one is shown more than their own scope.
- A visitor who arrives during the warm-up waits only for the figure still being computed
  (Streamlit computes a cached value once, the others wait for it), never for it twice.
- It reads the database and writes nothing to it; a failure is logged and the pages compute their
  figures when opened, as they would without it.
- Outside ``waypoint serve`` (tests, ``streamlit run dashboard/app.py``) nothing starts.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from analytics.access import Viewer
from analytics.errors import WaypointError

from . import data, filters

LOG = logging.getLogger("waypoint.warmup")
THREAD_NAME = "waypoint-warm-up"

# whole clinic, no admin rights: only reads
WARMUP_VIEWER = Viewer(user="waypoint-warm-up", role="director")

_state = threading.Lock()
_enabled = False
_running = False
_again = False


def figures() -> list[tuple[str, Callable[[], object]]]:
    """The clinic's default view, as (name, call): the clinic overview's figures first, then the
    Clinicians and the Attendance & engagement pages' (a visit starts at the overview; at ten million
    sessions those two pages compute for 3-4 s each when first opened). Exactly the calls the pages
    make: ``tests/test_dashboard_warmup.py`` checks that a first visit after them computes nothing."""
    f = filters.defaults()
    settings = f.settings()
    previous = f.previous_settings()
    everyone = settings.with_(clinician_id=None)
    calls: list[tuple[str, Callable[[], object]]] = [
        ("headline figures", lambda: data.compute("outcomes.kpis", settings)),
    ]
    if previous is not None:
        calls.append(("previous period's figures", lambda: data.compute("outcomes.kpis", previous)))
    calls += [
        ("monthly trends", lambda: data.compute("outcomes.rates_by_month", settings)),
        ("severity at intake", lambda: data.intake_mix(settings, data.intake_scale(f.scale))),
        ("sessions delivered", lambda: data.sessions_by_month(settings)),
        ("readiness of active patients", lambda: data.readiness_counts(settings)),
        # the Clinicians page
        ("clinicians compared", lambda: data.clinician_comparison(settings)),
        ("data completeness", lambda: data.compute("outcomes.data_quality", everyone, by_month=False)),
        # the Attendance & engagement page
        ("attendance", lambda: [data.compute("engagement.attendance_overall", settings)] + [
            data.compute("engagement.attendance_by", settings, dimension=d) for d in ("month", "clinician_id", "weekday")]),
        ("retention", lambda: data.compute("engagement.retention_curve", settings, by=None)),
        ("waits and session gaps", lambda: [data.compute(f"engagement.{name}", settings) for name in (
            "access_waits", "first_to_second_gaps", "intervals_by_session_number")]),
        ("watch list and capacity", lambda: [data.compute(f"engagement.{name}", settings)
                                             for name in ("watch_list", "capacity")]),
    ]
    return calls


def prime() -> dict[str, float]:
    """Compute :func:`figures` into the dashboard's caches (nothing when the database is empty);
    returns the seconds each took."""
    took: dict[str, float] = {}
    with data.acting_as(WARMUP_VIEWER):
        if data.database_is_empty():
            return took
        for name, call in figures():
            t = time.perf_counter()
            call()
            took[name] = round(time.perf_counter() - t, 3)
    return took


class _NotFromWarmup(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warning for the warm-up thread: it has no
    browser session by design (the warning is meant for scripts run outside Streamlit)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD_NAME


def _setup_logging() -> None:
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_NotFromWarmup())
    if not LOG.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
        LOG.propagate = False


def enable() -> None:
    """Turn the warm-up on for this process (the server's start-up hook) and start it."""
    global _enabled
    _setup_logging()
    _enabled = True
    start()


def start() -> bool:
    """Warm the caches in a background thread, when enabled; a call during a warm-up runs it
    once more after the current one (the data have changed). True when a warm-up is under way."""
    global _running, _again
    with _state:
        if not _enabled:
            return False
        if _running:
            _again = True
            return True
        _running = True
    threading.Thread(target=_loop, name=THREAD_NAME, daemon=True).start()
    return True


def _loop() -> None:
    global _running, _again
    while True:
        try:
            t = time.perf_counter()
            took = prime()
            if took:
                LOG.info("Warm-up: the clinic's default figures computed in %.1f s (%s).", time.perf_counter() - t,
                         ", ".join(f"{name} {seconds:.1f} s" for name, seconds in took.items()))
        except WaypointError as exc:   # e.g. the database is open in another Waypoint process
            LOG.warning("Warm-up skipped: %s The pages compute their figures when opened.", exc)
        except Exception:  # noqa: BLE001 - the pages compute their figures when opened
            LOG.exception("Warm-up failed; the pages compute their figures when opened.")
        with _state:
            if not _again:
                _running = False
                return
            _again = False
