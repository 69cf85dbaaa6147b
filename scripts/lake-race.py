#!/usr/bin/env python3
"""The lake race, whole-process: `gridwatch aggregate` against DuckDB.

Both sides answer the same question (the default view: records, energy,
peak demand, load factor and voltage figures per device type, by the
groups of --by) over the same files, each as a fresh process a run, taken
in turns (the side that starts alternates), with a warm page cache (one
untimed run of each first) and a cold one (the kernel's caches dropped
before every run, where this machine allows it). Each process's wall time
and peak RSS are measured from outside it; the last answers of the two
are compared (groups equal, numbers to 1e-9 relative, as
`tests/tests/lake.rs` does) and a difference stops the race.

DuckDB's side is `tests/scripts/duckdb_aggregate.py`, the same script the
tests check Gridwatch's figures with; start-up (Python and `import
duckdb`, or Gridwatch's own) is inside each side's time and printed apart.

Usage (the Python that has duckdb, e.g. tests/emulators/.venv/bin/python):
  lake-race.py --gridwatch BIN --from 2023-11-15T00:00:00Z --to 2023-11-17T00:00:00Z \
      [--json DIR] [--parquet DIR] [--by region,day] [--runs 5] \
      [--cache warm,cold] [--memory-mb N] [--label TEXT] [--warmup 1]
Prints one Markdown table row per format and cache state.
"""
import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DUCKDB_SCRIPT = ROOT / "tests" / "scripts" / "duckdb_aggregate.py"
KEYS = {"Region", "Feeder", "DeviceType", "device_id", "hour", "day", "week", "month"}


def epoch_us(text):
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1_000_000)


def drop_caches():
    """Empties the page cache; the reason it cannot, or None."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return None
    except OSError as e:
        return str(e)


def run(argv):
    """Runs one process to its end: (wall seconds, peak RSS MiB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed ({proc.returncode}):\n{err.decode(errors='replace')}")
    return wall, usage.ru_maxrss / 1024, out


def same_answer(ours, theirs):
    """The first difference between two answers, or None."""
    def keyed(rows):
        return {tuple(str(r[k]) for k in sorted(r) if k in KEYS): r for r in rows}
    a, b = keyed(ours), keyed(theirs)
    if a.keys() != b.keys():
        return f"groups differ: {sorted(a.keys() ^ b.keys())[:5]}"
    for key, row in a.items():
        other = b[key]
        if sorted(row) != sorted(other):
            return f"{key}: columns {sorted(row)} vs {sorted(other)}"
        for col, x in row.items():
            y = other[col]
            if isinstance(x, (int, float)) and isinstance(y, (int, float)):
                if abs(x - y) > 1e-9 * max(abs(x), abs(y), 1e-300):
                    return f"{key} {col}: gridwatch {x} vs duckdb {y}"
            elif x != y:
                return f"{key} {col}: gridwatch {x!r} vs duckdb {y!r}"
    return None


def spread(values):
    return f"{statistics.median(values):.3f} s ({min(values):.3f} to {max(values):.3f})"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gridwatch", required=True)
    p.add_argument("--json")
    p.add_argument("--parquet")
    p.add_argument("--from", dest="frm", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--by", default="region,day")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--cache", default="warm,cold")
    p.add_argument("--memory-mb", type=int)
    p.add_argument("--label", default="")
    p.add_argument("--warmup", type=int, default=1,
                   help="untimed runs of each side before the warm runs (0: the files are known to be cached)")
    args = p.parse_args()

    formats = [(kind, d) for kind, d in (("json", args.json), ("parquet", args.parquet)) if d]
    if not formats:
        sys.exit("give --json DIR, --parquet DIR or both")
    frm, to = epoch_us(args.frm), epoch_us(args.to)

    startup = {
        "gridwatch": statistics.median(run([args.gridwatch, "--version"])[0] for _ in range(5)),
        "duckdb": statistics.median(run([sys.executable, "-c", "import duckdb"])[0] for _ in range(5)),
    }
    print(f"start-up alone, median of 5: gridwatch {startup['gridwatch']:.3f} s, "
          f"python + import duckdb {startup['duckdb']:.3f} s", file=sys.stderr)
    print("| extract | page cache | gridwatch: median (min to max) | peak RSS | "
          "DuckDB: median (min to max) | peak RSS | ratio of medians | answers |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind, lake in formats:
        sides = {
            "gridwatch": [args.gridwatch, "aggregate", "--lake", lake, "--from", args.frm, "--to", args.to,
                          "--by", args.by, "--format", "json"]
            + (["--memory-mb", str(args.memory_mb)] if args.memory_mb else []),
            "duckdb": [sys.executable, str(DUCKDB_SCRIPT), lake, str(frm), str(to), args.by, ""]
            + (["--parquet"] if kind == "parquet" else []),
        }
        for cache in args.cache.split(","):
            if cache == "cold":
                why = drop_caches()
                if why:
                    print(f"| {kind} | cold: not possible here ({why}) | | | | | | |")
                    continue
            else:
                for _ in range(args.warmup):
                    for argv in sides.values():
                        run(argv)
            times = {name: [] for name in sides}
            rss = {name: [] for name in sides}
            answers = {}
            for i in range(args.runs):
                order = list(sides) if i % 2 == 0 else list(reversed(sides))
                for name in order:
                    if cache == "cold":
                        drop_caches()
                    wall, peak, out = run(sides[name])
                    times[name].append(wall)
                    rss[name].append(peak)
                    answers[name] = json.loads(out)
                print(f"{kind} {cache} run {i + 1}: "
                      + ", ".join(f"{n} {times[n][-1]:.3f} s" for n in sides), file=sys.stderr)
            diff = same_answer(answers["gridwatch"], answers["duckdb"])
            if diff:
                sys.exit(f"{kind} {cache}: the answers differ: {diff}")
            ratio = statistics.median(times["gridwatch"]) / statistics.median(times["duckdb"])
            print(f"| {kind}{args.label} | {cache} | {spread(times['gridwatch'])} | "
                  f"{statistics.median(rss['gridwatch']):.0f} MiB | {spread(times['duckdb'])} | "
                  f"{statistics.median(rss['duckdb']):.0f} MiB | **{ratio:.2f}x** | "
                  f"equal ({len(answers['gridwatch'])} rows) |", flush=True)


if __name__ == "__main__":
    main()
