"""Waypoint benchmarks (issue 8): import, analytics, interactive paths and memory, by clinic size.

    python -m benchmarks                       # 1e6 sessions
    python -m benchmarks --sizes 1e5,1e6       # several sizes; 1e7 is opt-in
    python benchmarks/run.py --sizes 1e4 --skip-overview

For each size: a demo clinic's CSV export (cached under benchmarks/cache/; one clinician per
2,000 sessions), then each step in its own subprocess so that its peak resident memory
(ru_maxrss of that process) is its own:

- floor       DuckDB read_csv of the file into a plain table (a fresh database file)
- import      analytics.ingest.ingest_files of the same file into a fresh Waypoint database
              (what `waypoint ingest` runs); the database is kept as the clinic for later steps
- analytics   outcomes.kpis, outcomes.episode_outcomes, engagement.attendance_report,
              readiness.readiness (the full set), and the subset pandas reproduces; each cold
              (nothing kept: a fresh connection builds the work tables, as the first process
              after an import) and warm (the same connection again: analytics/workcache.py)
- later       the same in a later process, which finds the work tables the analytics step
              left in the work file beside the database (the next CLI command, a restarted
              dashboard)
- pandas      benchmarks/pandas_impl.py over the same tables, checked against Waypoint's subset
- caseload    p50/p95 of readiness for one clinician (the one with most sessions)
- patient     p50/p95 of outcomes.trajectories for one patient (the one with most sessions), and
              of everything the dashboard's patient page asks for that patient: the trajectories,
              their episodes (outcomes.episode_outcomes) and where they stand (readiness)
- overview    the dashboard's clinic overview page rendered with streamlit's AppTest, in a fresh
              process with nothing kept (no work file): first render and rerun
- warmup      the same page as the first visitor of `waypoint serve` finds it: the server's
              warm-up (dashboard/warmup.py) first, then the first render of a new session
              (no work file either); then p50/p95 of the first render of --repeat more new
              sessions, each a new visitor of the running server
- restart     the warm-up, first render and new sessions again in a new process that finds the
              work file the warm-up step left: a dashboard restarted with no new data
- pages       every other page's first visit after such a restart (work file kept, warm-up
              done), as a director opens them: Clinicians, Attendance & engagement, the Caseload
              of all clinicians and of one, the busiest patient's page
- exports     the command line's exports, each a new `waypoint` process (work file kept): wall
              time, its peak RSS and the size of what it wrote, for `readiness --format json` (the
              whole clinic), `readiness --patient ID` (the patient seen last), `outcomes --format
              json` and `outcomes --format csv` (each adds an export row to the audit log)

Prints a table per size and writes benchmarks/results/<size>.json (+ summary.md). A step that
fails or runs past --timeout is recorded with its error instead of a time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROWS_PER_PATIENT = 8.0          # the demo clinic averages ~8 booked sessions per patient
# A clinician's diary over the demo's two years: ~20 sessions a week, 45 weeks a year, at 0.5-1.0
# of full time (choice). So a clinic of 1e7 sessions is a network of ~5,000 clinicians, each with a
# caseload of tens of patients, not 8 clinicians with 100,000 patients each.
SESSIONS_PER_CLINICIAN = 2000


def clinicians_for(size: int) -> int:
    return max(8, round(size / SESSIONS_PER_CLINICIAN))
SEED = 20260
STEPS = ("floor", "import", "analytics", "later", "pandas", "caseload", "patient", "overview", "warmup",
         "restart", "pages", "exports")


# ---------------------------------------------------------------------------------------------
# steps (each runs in a child process: python benchmarks/run.py --step NAME --args JSON)
# ---------------------------------------------------------------------------------------------
def _peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss          # kilobytes on Linux
    return round(kb / 1024, 1)


def _settings():
    from analytics.settings import Settings

    return Settings()


def step_generate(args: dict) -> dict:
    from analytics import demo

    config = demo.DemoConfig(patients=args["patients"], clinicians=args["clinicians"], seed=args["seed"])
    t = time.perf_counter()
    path = demo.write_csv(config, Path(args["csv"]))
    seconds = time.perf_counter() - t
    with open(path, "rb") as fh:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
    return {"seconds": seconds, "rows": rows, "rows_per_s": rows / seconds}


def _forget_work_tables(db: str | Path) -> None:
    """Remove the work file beside the database: the next connection builds every work table."""
    from analytics import workcache

    work = workcache.work_path(db)
    for p in (work, Path(f"{work}.wal")):
        p.unlink(missing_ok=True)


def step_floor(args: dict) -> dict:
    import duckdb

    db = Path(args["db"])
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    t = time.perf_counter()
    con.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv('{args['csv']}')").fetchall()
    seconds = time.perf_counter() - t
    rows = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    con.close()
    db.unlink(missing_ok=True)
    return {"seconds": seconds, "rows": rows, "rows_per_s": rows / seconds}


def step_import(args: dict) -> dict:
    from analytics import ingest
    from analytics.db import connect

    db = Path(args["db"])
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    _forget_work_tables(db)
    con = connect(str(db))
    t = time.perf_counter()
    result = ingest.ingest_files(con, [Path(args["csv"])], imported_by="benchmark")[0]
    seconds = time.perf_counter() - t
    con.close()
    return {"seconds": seconds, "rows": result.rows_read, "rows_per_s": result.rows_read / seconds,
            "new_rows": result.new_rows, "rejected": result.rejected}


def _waypoint_subset(con, settings) -> dict:
    from analytics import engagement, outcomes

    return {"kpis": outcomes.kpis(con, settings), "episode_outcomes": outcomes.episode_outcomes(con, settings),
            "attendance_by_clinician": engagement.attendance_by(con, settings, "clinician_id")}


def _full_set() -> tuple:
    from analytics import engagement, outcomes, readiness

    return (("kpis", outcomes.kpis), ("episode_outcomes", outcomes.episode_outcomes),
            ("attendance_report", engagement.attendance_report), ("readiness", readiness.readiness))


def _timed(con, settings) -> dict[str, float]:
    parts = {}
    for name, fn in _full_set():
        t = time.perf_counter()
        fn(con, settings)
        parts[name] = time.perf_counter() - t
    return parts


def step_analytics(args: dict) -> dict:
    """The full set on a fresh connection with nothing kept (cold: the first call builds the work
    tables, the others reuse them, as in the first dashboard or CLI process after an import), then
    again (warm: everything kept); the pandas subset likewise, cold on a new connection with
    nothing kept, then warm. The full set's work file is left for the later step."""
    import pickle

    from analytics import workcache
    from analytics.db import connect

    settings = _settings()
    _forget_work_tables(args["db"])
    con = connect(args["db"])
    parts = _timed(con, settings)
    warm = _timed(con, settings)
    full_set_peak = _peak_rss_mb()    # the full set's own peak, before the subset's second connection
    con.close()
    work = workcache.work_path(args["db"])
    aside = Path(f"{work}.aside")
    if work.exists():
        work.replace(aside)           # the subset starts with nothing kept too
    con = connect(args["db"])
    t = time.perf_counter()
    subset = _waypoint_subset(con, settings)
    subset_seconds = time.perf_counter() - t
    t = time.perf_counter()
    _waypoint_subset(con, settings)
    subset_warm_seconds = time.perf_counter() - t
    con.close()
    _forget_work_tables(args["db"])
    if aside.exists():
        aside.replace(work)           # the full set's work tables, for the later step
    with open(args["out"], "wb") as fh:
        pickle.dump(subset, fh)
    return {"seconds": sum(parts.values()), "parts": parts, "warm_seconds": sum(warm.values()),
            "full_set_peak_rss_mb": full_set_peak,
            "warm_parts": warm, "subset_seconds": subset_seconds, "subset_warm_seconds": subset_warm_seconds}


def step_later(args: dict) -> dict:
    """The full set (or, with ``subset``, the pandas subset) in a process that finds the work
    tables built (the work file the analytics step left): the next CLI command, a restarted
    dashboard. The subset is timed in a process of its own, so neither warms the other."""
    from analytics import workcache
    from analytics.db import connect

    work = workcache.work_path(args["db"])
    if not work.exists():
        return {"skipped": "no work file (the analytics step did not run)"}
    work_mb = work.stat().st_size / 2**20
    settings = _settings()
    con = connect(args["db"])
    if args.get("subset"):
        _full_set()                   # imports the analytics modules before the clock starts
        t = time.perf_counter()
        _waypoint_subset(con, settings)
        return {"subset_seconds": time.perf_counter() - t}
    parts = _timed(con, settings)
    return {"seconds": sum(parts.values()), "parts": parts, "work_file_mb": work_mb}


def step_pandas(args: dict) -> dict:
    import pickle

    from analytics.db import connect
    from benchmarks import pandas_impl

    con = connect(args["db"], read_only=True)
    t = time.perf_counter()
    tables = pandas_impl.load(con)
    load_seconds = time.perf_counter() - t
    con.close()
    t = time.perf_counter()
    figures = pandas_impl.figures(tables)
    seconds = time.perf_counter() - t
    result: dict[str, Any] = {"seconds": seconds, "load_seconds": load_seconds}
    if args.get("waypoint") and Path(args["waypoint"]).exists():
        with open(args["waypoint"], "rb") as fh:
            waypoint = pickle.load(fh)
        problems = pandas_impl.compare(waypoint, figures)
        result.update(identical=not problems, differences=problems[:20])
    else:
        result.update(identical=None, differences=["no Waypoint results to compare (analytics step failed)"])
    return result


def _percentiles(times: list[float]) -> tuple[float, float]:
    """p50 and p95 of ``times`` (seconds) in milliseconds; the p95 is the value at rank
    round(0.95 n), so of 40 times the 38th."""
    times = sorted(times)
    p95 = times[min(len(times) - 1, max(0, int(round(0.95 * len(times))) - 1))]
    return statistics.median(times) * 1000, p95 * 1000


def _latencies(fn, repeat: int) -> dict:
    fn()                                                              # warm-up (work tables, caches)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    p50, p95 = _percentiles(times)
    return {"p50_ms": p50, "p95_ms": p95, "repeat": repeat}


def step_caseload(args: dict) -> dict:
    from analytics import readiness
    from analytics.db import connect, scalar

    con = connect(args["db"])
    clinician = scalar(con, "SELECT clinician_id FROM sessions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    settings = _settings().with_(clinician_id=clinician)
    out = _latencies(lambda: readiness.readiness(con, settings), args["repeat"])
    return {**out, "clinician_id": clinician, "episodes": len(readiness.readiness(con, settings))}


def step_patient(args: dict) -> dict:
    from analytics import outcomes, readiness
    from analytics.db import connect, scalar

    con = connect(args["db"])
    patient = scalar(con, "SELECT patient_id FROM sessions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    settings = _settings()
    out = _latencies(lambda: outcomes.trajectories(con, settings, patient_id=patient), args["repeat"])

    def page() -> None:
        outcomes.trajectories(con, settings, patient_id=patient)
        outcomes.episode_outcomes(con, settings, patient_id=patient)
        readiness.readiness(con, settings, patient_id=patient)

    whole = _latencies(page, args["repeat"])
    return {**out, "page_p50_ms": whole["p50_ms"], "page_p95_ms": whole["p95_ms"], "patient_id": patient,
            "scores": len(outcomes.trajectories(con, settings, patient_id=patient))}


def step_overview(args: dict) -> dict:
    if not (ROOT / "dashboard" / "app.py").exists():
        return {"skipped": "dashboard/app.py does not exist yet"}
    _forget_work_tables(args["db"])
    return _render_overview(args)


def step_warmup(args: dict) -> dict:
    from dashboard import warmup

    os.environ["WAYPOINT_DB"] = str(args["db"])
    if not args.get("keep"):
        _forget_work_tables(args["db"])
    t = time.perf_counter()
    took = warmup.prime()                    # what `waypoint serve` runs at start-up
    primed = time.perf_counter() - t
    out = _render_overview(args, sessions=args.get("repeat", 0))
    return out if "skipped" in out else {"warmup_seconds": primed, **out, "warmup_parts": took}


def step_pages(args: dict) -> dict:
    """Each page's first visit (seconds) in one AppTest session, after the warm-up in a process
    that finds the work file kept: what a director finds after a restart."""
    from streamlit.testing.v1 import AppTest

    from analytics.db import connect, scalar
    from dashboard import warmup

    con = connect(args["db"], read_only=True)
    try:
        clinician = scalar(con, "SELECT clinician_id FROM sessions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
        patient = scalar(con, "SELECT patient_id FROM sessions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    finally:
        con.close()
    os.environ["WAYPOINT_DB"] = str(args["db"])
    warmup.prime()
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=args["timeout"])
    at.run()
    if at.exception or not _is_overview(at):
        return {"skipped": f"the overview did not render: {_page_text(at)}"}
    seconds: dict[str, float] = {}
    for name, page, query in (("clinicians", "clinicians.py", {}), ("attendance", "attendance.py", {}),
                              ("caseload_all", "caseload.py", {}), ("caseload_one", "caseload.py", {"clinician": clinician}),
                              ("patient", "patient.py", {"patient": patient})):
        at.query_params.clear()
        at.query_params.update(query)
        t = time.perf_counter()
        at.switch_page(f"views/{page}").run()
        seconds[name] = time.perf_counter() - t
        if at.exception:
            return {"skipped": f"the {name} page raised: {at.exception[0].message[:300]}"}
    return {"seconds": sum(seconds.values()), "pages": seconds, "clinician_id": clinician, "patient_id": patient}


EXPORTS = (("readiness_json", ["readiness", "--format", "json"]),
           ("readiness_one_patient", ["readiness", "--patient", "{patient}", "--format", "json"]),
           ("outcomes_json", ["outcomes", "--format", "json"]),
           ("outcomes_csv", ["outcomes", "--format", "csv"]))


def step_exports(args: dict) -> dict:
    """Each command-line export in a new process: seconds, that process's peak RSS, output MB."""
    from analytics.db import connect, scalar

    con = connect(args["db"], read_only=True)
    try:
        # the patient seen most recently (in treatment, so that their records are not empty)
        patient = scalar(con, "SELECT patient_id FROM sessions WHERE status = 'attended' GROUP BY 1 "
                              "ORDER BY max(session_date) DESC, count(*) DESC, 1 LIMIT 1")
    finally:
        con.close()
    folder = Path(args["out_dir"])
    commands: dict[str, dict] = {}
    for name, argv in EXPORTS:
        argv = [a.format(patient=patient) for a in argv]
        out, err = folder / f"export_{name}.out", folder / f"export_{name}.err"
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            t = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "analytics.cli", *argv, "--db", args["db"]],
                                    stdout=stdout, stderr=stderr, cwd=ROOT)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - t
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code                        # reaped by wait4: tell Popen not to wait again
        message = err.read_text(errors="replace").strip()
        size = out.stat().st_size
        out.unlink()
        err.unlink()
        if code != 0:
            return {"error": f"waypoint {' '.join(argv)}: exit {code}: {message[-300:]}"}
        commands[name] = {"seconds": seconds, "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                          "output_mb": round(size / 2**20, 2), "output_bytes": size}
    return {"seconds": sum(c["seconds"] for c in commands.values()), "commands": commands, "patient_id": patient}


def _render_overview(args: dict, sessions: int = 0) -> dict:
    """The overview rendered by a new AppTest session, then again: seconds, rerun_seconds. With
    ``sessions``, then rendered by that many more new sessions in the same process, each a new
    visitor of the running server (its cached figures shared, their own session state):
    new_session_p50_ms and new_session_p95_ms of those first renders."""
    from streamlit.testing.v1 import AppTest

    os.environ["WAYPOINT_DB"] = str(args["db"])
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=args["timeout"])
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    if at.exception:
        return {"skipped": f"the overview page raised: {at.exception[0].message[:300]}"}
    if not _is_overview(at):
        return {"skipped": f"the first render was not the overview: {_page_text(at)}"}
    t = time.perf_counter()
    at.run()
    rerun = time.perf_counter() - t
    out: dict[str, Any] = {"seconds": first, "rerun_seconds": rerun, "page_title": at.title[0].value}
    times = []
    for _ in range(sessions):
        visitor = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=args["timeout"])
        t = time.perf_counter()
        visitor.run()
        times.append(time.perf_counter() - t)
        if visitor.exception:
            return {**out, "new_session_error": f"the overview page raised: {visitor.exception[0].message[:300]}"}
        if not _is_overview(visitor):
            return {**out, "new_session_error": f"a new session's first render was not the overview: "
                                                f"{_page_text(visitor)}"}
    if times:
        p50, p95 = _percentiles(times)
        out.update(new_session_p50_ms=p50, new_session_p95_ms=p95, new_sessions=sessions)
    return out


def _is_overview(at) -> bool:
    return [t.value for t in at.title][:1] == ["Clinic overview"]


def _page_text(at) -> str:
    """What a page showed instead of the overview (e.g. the database is open elsewhere)."""
    parts = [t.value for t in at.title] + [e.value for e in at.error]
    return " / ".join(str(p) for p in parts)[:300] or "an empty page"


STEP_FUNCTIONS = {"generate": step_generate, "floor": step_floor, "import": step_import,
                  "analytics": step_analytics, "later": step_later, "pandas": step_pandas, "caseload": step_caseload,
                  "patient": step_patient, "overview": step_overview,
                  "warmup": step_warmup, "restart": lambda args: step_warmup({**args, "keep": True}),
                  "pages": step_pages, "exports": step_exports}


def _child(name: str, args_json: str) -> None:
    args = json.loads(args_json)
    out = STEP_FUNCTIONS[name](args)
    out["peak_rss_mb"] = _peak_rss_mb()
    print("BENCHMARK-RESULT " + json.dumps(out, default=str), flush=True)


# ---------------------------------------------------------------------------------------------
# the parent: one subprocess per step
# ---------------------------------------------------------------------------------------------
def run_step(name: str, args: dict, timeout: float) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--step", name, "--args", json.dumps(args)]
    t = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s", "wall_seconds": time.perf_counter() - t}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("BENCHMARK-RESULT "):
            out = json.loads(line[len("BENCHMARK-RESULT "):])
            out["wall_seconds"] = time.perf_counter() - t
            return out
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"error": f"exit {proc.returncode}: {tail[0][:300]}", "wall_seconds": time.perf_counter() - t}


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        ram = None
    import duckdb
    import pandas

    return {"nproc": os.cpu_count(), "ram_gb": round(ram, 1) if ram else None, "cpu": cpu,
            "python": platform.python_version(), "duckdb": duckdb.__version__, "pandas": pandas.__version__,
            "platform": platform.platform()}


def parse_size(text: str) -> int:
    value = int(float(text))
    if value < 1000:
        raise argparse.ArgumentTypeError(f"size {text!r}: at least 1e3 sessions")
    return value


def label(size: int) -> str:
    exponent = len(str(size)) - 1
    return f"1e{exponent}" if size == 10 ** exponent else str(size)


def run_size(size: int, opts: argparse.Namespace) -> dict:
    cache, results = Path(opts.cache), Path(opts.results)
    cache.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    name = label(size)
    clinicians = clinicians_for(size)
    csv = cache / f"demo_{name}_c{clinicians}_seed{opts.seed}.csv"
    db = cache / f"waypoint_{name}_c{clinicians}_seed{opts.seed}.duckdb"
    steps: dict[str, Any] = {}
    if not csv.exists():
        steps["generate"] = run_step("generate", {"patients": max(1, round(size / ROWS_PER_PATIENT)),
                                                  "clinicians": clinicians, "seed": opts.seed,
                                                  "csv": str(csv)}, opts.timeout)
        if "error" in steps["generate"]:
            return {"size": size, "steps": steps}
    # 40 calls: the p95 is then the 38th, not the slowest of a few (the 10 calls once used at 1e7
    # made it the slowest, which a machine's noise could push from 80 to 110 ms)
    repeat = opts.repeat or 40
    wanted = [s for s in STEPS if s not in opts.skip]
    for step in wanted:
        if step == "floor":
            steps[step] = run_step("floor", {"csv": str(csv), "db": str(cache / f"floor_{name}.duckdb")}, opts.timeout)
        elif step == "import":
            if opts.reuse_db and db.exists():
                steps[step] = {"skipped": "--reuse-db: the cached database was used"}
            else:
                steps[step] = run_step("import", {"csv": str(csv), "db": str(db)}, opts.timeout)
        elif step == "analytics":
            steps[step] = run_step("analytics", {"db": str(db), "out": str(cache / f"waypoint_{name}.pickle")}, opts.timeout)
        elif step == "pandas":
            if size > opts.pandas_max:
                steps[step] = {"skipped": f"above --pandas-max {opts.pandas_max:.0e}"}
            else:
                steps[step] = run_step("pandas", {"db": str(db), "waypoint": str(cache / f"waypoint_{name}.pickle")
                                                  if "error" not in steps.get("analytics", {"error": 1}) else None},
                                       opts.timeout)
        elif step == "later":
            steps[step] = run_step("later", {"db": str(db)}, opts.timeout)
            if "seconds" in steps[step]:
                subset = run_step("later", {"db": str(db), "subset": True}, opts.timeout)
                steps[step].update(subset_seconds=subset.get("subset_seconds"),
                                   subset_peak_rss_mb=subset.get("peak_rss_mb"))
        elif step in ("caseload", "patient"):
            steps[step] = run_step(step, {"db": str(db), "repeat": repeat}, opts.timeout)
        elif step in ("overview", "pages"):
            steps[step] = run_step(step, {"db": str(db), "timeout": opts.timeout}, opts.timeout + 30)
        elif step in ("warmup", "restart"):
            steps[step] = run_step(step, {"db": str(db), "timeout": opts.timeout, "repeat": repeat},
                                   opts.timeout + 30)
        elif step == "exports":
            steps[step] = run_step(step, {"db": str(db), "out_dir": str(cache)}, opts.timeout)
    for step in wanted:
        print(f"  {name} {step}: {_short(steps[step])}", file=sys.stderr)
    return {"size": size, "label": name, "clinicians": clinicians, "csv": str(csv), "steps": steps}


def _short(out: dict) -> str:
    if "error" in out:
        return "ERROR " + out["error"]
    if "skipped" in out:
        return "skipped: " + out["skipped"]
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in out.items()
                     if k not in ("parts", "differences", "warmup_parts", "commands"))


# ---------------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------------
def _s(out: dict, key: str = "seconds", fmt: str = "{:.2f} s") -> str:
    if "error" in out:
        return "error" if "timed out" not in out["error"] else "timeout"
    if "skipped" in out or key not in out or out[key] is None:
        return "—"
    return fmt.format(out[key])


def _new_sessions(out: dict) -> str:
    """The new sessions' render p50 / p95 of a warm-up step, or why there are none."""
    if "new_session_error" in out:
        return f"error: {out['new_session_error']}"
    return f"{_s(out, 'new_session_p50_ms', '{:.0f} ms')} / {_s(out, 'new_session_p95_ms', '{:.0f} ms')}"


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 / 10 else f"{n / 1024:,.1f} KB"


def table(result: dict) -> list[tuple[str, str, str, str]]:
    """Rows (measure, Waypoint, reference, ratio) for one size."""
    st = result["steps"]
    get = lambda k: st.get(k, {"skipped": "not run"})   # noqa: E731
    rows = []
    imp, floor = get("import"), get("floor")
    ratio = (f"{imp['seconds'] / floor['seconds']:.2f}×" if "seconds" in imp and "seconds" in floor else "—")
    rows.append(("import (s; rows/s)", f"{_s(imp)}; {_s(imp, 'rows_per_s', '{:,.0f}')}",
                 f"read_csv floor {_s(floor)}; {_s(floor, 'rows_per_s', '{:,.0f}')}", ratio))
    ana, pd_ = get("analytics"), get("pandas")
    ratio = (f"pandas/Waypoint {pd_['seconds'] / ana['subset_seconds']:.2f}× cold, "
             f"{pd_['seconds'] / ana['subset_warm_seconds']:.1f}× warm"
             if "seconds" in pd_ and "subset_warm_seconds" in ana else "—")
    ident = {True: "identical", False: "DIFFERENT", None: "not checked"}.get(pd_.get("identical"), "—")
    rows.append(("analytics, full set (cold / warm; peak RSS)",
                 f"{_s(ana)} / {_s(ana, 'warm_seconds')}; {_s(ana, 'full_set_peak_rss_mb', '{:,.0f} MB')}", "", ""))
    later = get("later")
    rows.append(("full set in a later process (work tables kept; peak RSS; work file)",
                 f"{_s(later)}; {_s(later, 'peak_rss_mb', '{:,.0f} MB')}; "
                 f"{_s(later, 'work_file_mb', '{:,.0f} MB')}", "", ""))
    rows.append(("kpis + episode outcomes + attendance (cold / warm / later process)",
                 f"{_s(ana, 'subset_seconds')} / {_s(ana, 'subset_warm_seconds', '{:.3f} s')} / "
                 f"{_s(later, 'subset_seconds', '{:.3f} s')}",
                 f"pandas {_s(pd_)} ({ident})", ratio + (f", {pd_['seconds'] / later['subset_seconds']:.1f}× later"
                                                         if "seconds" in pd_ and later.get("subset_seconds") else "")))
    for step, text in (("caseload", "caseload (one clinician) p50 / p95"), ("patient", "patient detail p50 / p95")):
        out = get(step)
        rows.append((text, f"{_s(out, 'p50_ms', '{:.0f} ms')} / {_s(out, 'p95_ms', '{:.0f} ms')}", "", ""))
    patient = get("patient")
    rows.append(("patient page's figures (trajectories, episodes, standing) p50 / p95",
                 f"{_s(patient, 'page_p50_ms', '{:.0f} ms')} / {_s(patient, 'page_p95_ms', '{:.0f} ms')}", "", ""))
    ov = get("overview")
    rows.append(("overview page render (first / rerun)",
                 f"{_s(ov)} / {_s(ov, 'rerun_seconds')}" if "skipped" not in ov else f"skipped: {ov['skipped']}", "", ""))
    for step, text in (("warmup", "overview after the server's warm-up"),
                       ("restart", "overview after a restart, work file kept")):
        out = get(step)
        rows.append((f"{text} (warm-up / first / rerun; a new session p50 / p95)",
                     f"{_s(out, 'warmup_seconds')} / {_s(out)} / {_s(out, 'rerun_seconds')}; {_new_sessions(out)}"
                     if "skipped" not in out else f"skipped: {out['skipped']}", "", ""))
    pages = get("pages")
    rows.append(("first visit after a restart: clinicians / attendance / caseload (all; one) / patient",
                 " / ".join(f"{pages['pages'][k]:.2f} s" for k in ("clinicians", "attendance", "caseload_all",
                                                                    "caseload_one", "patient"))
                 if "pages" in pages else (f"skipped: {pages['skipped']}" if "skipped" in pages else "—"), "", ""))
    ex = get("exports")
    rows.append(("command-line exports (time, peak RSS, output): readiness JSON whole / one patient; "
                 "outcomes JSON / CSV",
                 " / ".join(f"{c['seconds']:.1f} s, {c['peak_rss_mb']:,.0f} MB, {_size(c['output_bytes'])}"
                            for c in ex["commands"].values())
                 if "commands" in ex else (f"skipped: {ex['skipped']}" if "skipped" in ex else _s(ex)), "", ""))
    mem = ", ".join(f"{k} {v['peak_rss_mb']:.0f}" for k, v in st.items() if "peak_rss_mb" in v)
    rows.append(("peak RSS per step (MB)", mem, "", ""))
    return rows


def markdown(results: list[dict], info: dict) -> str:
    lines = [f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gb']} GB RAM; Python {info['python']}, "
             f"DuckDB {info['duckdb']}, pandas {info['pandas']}.", ""]
    for result in results:
        if "label" not in result:
            continue
        lines += [f"### {result['label']} sessions, {result.get('clinicians', '?')} clinicians", "", "| measure | Waypoint | reference | ratio |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table(result)]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1e6", help="comma-separated session counts (default 1e6; 1e7 is opt-in)")
    p.add_argument("--cache", default=str(HERE / "cache"), help="demo CSVs and databases (default benchmarks/cache)")
    p.add_argument("--results", default=str(HERE / "results"), help="JSON results (default benchmarks/results)")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--repeat", type=int, default=0, help="timed calls per interactive path (default 40)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds before a step is abandoned (default 1800)")
    p.add_argument("--skip", default="", help=f"comma-separated steps to leave out ({', '.join(STEPS)})")
    p.add_argument("--skip-overview", action="store_true", help="same as --skip overview,warmup,restart")
    p.add_argument("--reuse-db", action="store_true", help="keep the cached Waypoint database (no import step)")
    p.add_argument("--pandas-max", type=float, default=1e7, help="largest size the pandas step runs at")
    p.add_argument("--step", help=argparse.SUPPRESS)
    p.add_argument("--args", help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts.step:
        _child(opts.step, opts.args)
        return 0
    opts.skip = {s.strip() for s in opts.skip.split(",") if s.strip()} | ({"overview", "warmup", "restart"} if opts.skip_overview else set())
    unknown = opts.skip - set(STEPS)
    if unknown:
        p.error(f"unknown step(s) {', '.join(sorted(unknown))}; steps: {', '.join(STEPS)}")
    sizes = [parse_size(s) for s in opts.sizes.split(",") if s.strip()]
    info = machine()
    results = []
    for size in sizes:
        print(f"== {label(size)} sessions", file=sys.stderr)
        result = run_size(size, opts)
        result.update(machine=info, when=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      command="python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]))
        results.append(result)
        out = Path(opts.results) / f"{label(size)}.json"
        out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"\n{label(size)} sessions, {result.get('clinicians')} clinicians  ({out})")
        width = max(len(r[0]) for r in table(result))
        for a, b, c, d in table(result):
            print(f"  {a.ljust(width)}  {b}  {c}  {d}".rstrip())
    (Path(opts.results) / "summary.md").write_text(markdown(results, info) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
