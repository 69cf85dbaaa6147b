#!/usr/bin/env python3
"""Peak memory of `gridwatch aggregate` against the readings it folds.

Runs the default view over growing ranges of one lake, each range several
times (the spread is the run-to-run noise), each run a fresh process
whose peak RSS is read from outside it, and prints one Markdown row per
range and the least-squares slope of the medians (MiB per million
readings), so a bounded memory shows as a slope near zero.

Usage: lake-memory.py --gridwatch BIN --lake DIR --from 2023-11-14T00:00:00Z \\
           --hours 0.5,1,2,3,5 [--repeat 3] [--memory-mb 512]
"""
import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gridwatch", required=True)
    p.add_argument("--lake", required=True)
    p.add_argument("--from", dest="frm", required=True)
    p.add_argument("--hours", default="0.5,1,2,3,5")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--memory-mb", type=int, default=512)
    args = p.parse_args()

    start = dt.datetime.fromisoformat(args.frm.replace("Z", "+00:00"))
    print("| range | readings | peak RSS, each run | median | wall time, median |")
    print("| --- | --- | --- | --- | --- |")
    points = []
    for hours in (float(h) for h in args.hours.split(",")):
        to = (start + dt.timedelta(hours=hours)).isoformat().replace("+00:00", "Z")
        argv = [args.gridwatch, "aggregate", "--lake", args.lake, "--from", args.frm, "--to", to,
                "--memory-mb", str(args.memory_mb), "--all-types", "--format", "json"]
        rss, walls, readings = [], [], None
        for _ in range(args.repeat):
            begun = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            walls.append(time.perf_counter() - begun)
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"{argv} failed")
            rss.append(usage.ru_maxrss / 1024)
            readings = sum(r["records"] for r in json.loads(out))
        points.append((readings / 1e6, statistics.median(rss)))
        print(f"| {hours:g} h | {readings:,} records | {', '.join(f'{m:.0f}' for m in rss)} MiB | "
              f"{statistics.median(rss):.0f} MiB | {statistics.median(walls):.1f} s |", flush=True)
    xs, ys = zip(*points)
    mx, my = statistics.mean(xs), statistics.mean(ys)
    slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
    print(f"\nslope of the medians: {slope:.2f} MiB per million records "
          f"(from {xs[0]:.1f} M to {xs[-1]:.1f} M records)")


if __name__ == "__main__":
    main()
