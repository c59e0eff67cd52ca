"""`waypoint serve`: start the Streamlit dashboard (``streamlit run`` is an implementation detail)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .db import resolve_path

# dashboard/server.py wraps dashboard/app.py with a start-up hook that warms the figure caches
# (dashboard/warmup.py); the pages are app.py's.
APP = Path(__file__).resolve().parent.parent / "dashboard" / "server.py"


def streamlit_command(port: int, host: str) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port), "--server.address", host,
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",   # no telemetry: health records
        "--global.developmentMode", "false",
    ]


def serve(db: str | None = None, port: int = 8501, host: str = "127.0.0.1") -> int:
    from .access import check_bind_address, sign_in_configured

    # local demo mode (no sign-in configured) listens on 127.0.0.1 only (analytics/access.py)
    check_bind_address(host, signed_in=sign_in_configured())
    env = dict(os.environ, WAYPOINT_DB=str(Path(resolve_path(db)).resolve()) if resolve_path(db) != ":memory:" else ":memory:")
    print(f"Waypoint dashboard on http://{'localhost' if host in ('127.0.0.1', 'localhost') else host}:{port}"
          f" (database {env['WAYPOINT_DB']}); Ctrl+C stops it.", flush=True)
    return run_server(streamlit_command(port, host), env)


def run_server(command: list[str], env: dict[str, str]) -> int:
    """Run the server until it exits. A SIGTERM to ``waypoint serve`` (``kill``, a service
    manager's stop) is passed on to the server, which then shuts down in order, rather than left
    running without its parent; Ctrl+C reaches both, and ends with exit status 0."""
    proc = subprocess.Popen(command, env=env)
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
