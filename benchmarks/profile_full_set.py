"""Where the warm full set's time goes, sampled by py-spy (issue 8: "profile (py-spy, DuckDB's
EXPLAIN ANALYZE)"). py-spy is a sampling profiler that also sees C and C++ frames (DuckDB, Arrow,
NumPy, CPython's own), which cProfile cannot. It is not a dependency of Waypoint:

    pip install py-spy
    python -m benchmarks.profile_full_set run --db benchmarks/cache/waypoint_1e6_c500_seed20260.duckdb --rounds 0
    py-spy record --native --rate 50 --format raw -o profile.txt -- \\
        python -m benchmarks.profile_full_set run --db benchmarks/cache/waypoint_1e6_c500_seed20260.duckdb
    python -m benchmarks.profile_full_set summary profile.txt

``run`` calls the full set (kpis, episode outcomes, the attendance report, readiness) as
benchmarks/run.py times it (its ``_timed``): once to build or find the work tables, then
``--rounds`` more times, printing each round's parts. Run it once before recording (the first
command above), so that the recorded process finds the work tables kept and every call is warm.

``summary`` reads py-spy's raw output (one line per stack: its frames, root first, separated by
``;``, then the number of samples) and prints the samples of each part, then, within each part,
the frames most often at the top of the stack.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PARTS = ("kpis", "episode_outcomes", "attendance_report", "readiness")   # benchmarks/run.py's _full_set()
# a part's own frame: "readiness (analytics/readiness.py:1101)", whatever the path's prefix
_PART_FRAME = re.compile(r"^(%s) \((?:\S*/)?analytics/\w+\.py:\d+\)$" % "|".join(PARTS))
_MODULE = re.compile(r"\((?:\S*/)?analytics/(\w+)\.py:\d+\)$")
# benchmarks/run.py's loop over the parts, where what a part returned is freed
_TIMED = re.compile(r"^_timed \((?:\S*/)?benchmarks/run\.py:\d+\)$")
BETWEEN = "between the parts (freeing what a part returned)"
OTHER = "start-up and the rest"


def part_of(frames: list[str]) -> str:
    """The part of the full set a stack belongs to: the first part's frame on it; else, on a
    thread of its own (a part's reads in the background), the Waypoint module it runs in; else
    the benchmark's loop between the parts (what a part returned is freed there); else the rest."""
    for frame in frames:
        match = _PART_FRAME.match(frame)
        if match:
            return match.group(1)
    if frames and frames[0].startswith("Thread._bootstrap"):
        for frame in frames:
            match = _MODULE.search(frame)
            if match:
                return f"{match.group(1)}, another thread"
    if any(_TIMED.match(frame) for frame in frames):
        return BETWEEN
    return OTHER


def _leaf(frame: str) -> str:
    """A frame's function, without its file (C++ names keep their namespaces)."""
    return re.sub(r" \([^()]*\)$", "", frame)


def summarise(lines: Iterable[str], top: int = 10) -> str:
    """The text ``summary`` prints for py-spy's raw lines."""
    parts: Counter[str] = Counter()
    leaves: dict[str, Counter[str]] = defaultdict(Counter)
    total = 0
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            raise ValueError(f"line {number}: expected py-spy's raw format (frames separated by ';', a space, "
                             f"a number of samples), got {line[:80]!r}")
        frames, n = stack.split(";"), int(count)
        part = part_of(frames)
        parts[part] += n
        leaves[part][_leaf(frames[-1])] += n
        total += n
    if not total:
        return "no samples\n"
    out = [f"{total} samples", "", f"{'part':<52} {'samples':>8} {'share':>7}"]
    out += [f"{part:<52} {n:>8} {n / total:>7.1%}" for part, n in parts.most_common()]
    for part, n in parts.most_common():
        out += ["", f"{part}: the frames most often on top ({n} samples)"]
        out += [f"  {k:>6} {k / n:>7.1%}  {name[:100]}" for name, k in leaves[part].most_common(top)]
    return "\n".join(out) + "\n"


def run(db: str, rounds: int) -> None:
    from analytics.db import connect
    from benchmarks.run import _full_set, _settings, _timed

    con = connect(db)
    settings = _settings()
    _full_set()          # the parts' modules imported here, not within the first round
    for i in range(rounds + 1):
        t = time.perf_counter()
        took = _timed(con, settings)
        label = "first call" if i == 0 else f"round {i}"
        print(f"{label}: {time.perf_counter() - t:.2f} s (" +
              ", ".join(f"{name} {s:.2f} s" for name, s in took.items()) + ")", flush=True)
    con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_full_set", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="the full set: a first call, then --rounds more")
    p_run.add_argument("--db", required=True, help="a Waypoint database (e.g. one the benchmark cached)")
    p_run.add_argument("--rounds", type=int, default=3, help="rounds after the first call (default 3)")
    p_sum = sub.add_parser("summary", help="samples by part, from py-spy's raw output")
    p_sum.add_argument("file", help="py-spy record --format raw's output")
    p_sum.add_argument("--top", type=int, default=10, help="frames shown per part (default 10)")
    args = parser.parse_args(argv)
    if args.command == "run":
        if not Path(args.db).is_file():
            parser.error(f"--db {args.db}: no such database file (python -m benchmarks caches them under "
                         "benchmarks/cache/)")
        if args.rounds < 0:
            parser.error(f"--rounds {args.rounds}: expected 0 or more rounds after the first call")
        run(args.db, args.rounds)
        return 0
    try:
        with open(args.file, encoding="utf-8") as fh:
            print(summarise(fh, args.top), end="")
    except (OSError, ValueError) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
