"""A lake as Firehose writes the seed producer's records, made without
Gridwatch, and DuckDB's answers over the very same files.

Usage:
  seed_lake.py write LAKE [--mixed] [--devices N]
      Four days under LAKE/readings: day 1 newline-delimited JSON, day 2
      objects back to back, day 3 gzip (`.gz`), day 4 Parquet in the
      compacted layout (written by DuckDB). Records carry only what the
      seed producer sends: Time (epoch ms), DeviceID, voltage_measure,
      watt_measure, and a Region. --mixed adds a DeviceType: feeders at
      11 kV and about 5 MW, meters at 230 V and about 1 kW.
  seed_lake.py stats LAKE MEASURE BY [--all-types]
      count, sum, min, max, mean, p50/p90/p95/p99 (quantile_cont) of
      MEASURE grouped by BY (comma separated: region, type, day, hour).
  seed_lake.py energy LAKE BY GAP_MS
      energy (kWh) integrated from power per group: trapezoids between
      each device's consecutive watt readings, none over a gap > GAP_MS.
  seed_lake.py sql LAKE QUERY
      QUERY over a table `readings` with the seed's Athena columns.
Prints JSON.
"""
import datetime as dt
import gzip
import json
import os
import random
import sys

import duckdb

START_MS = 1_700_006_400_000  # 2023-11-15T00:00:00Z
DAY_MS = 86_400_000
REGIONS = ["north", "south", "east"]


def part_dir(lake, kind, ms, hour=True):
    t = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    d = f"{lake}/readings/{kind}/year={t.year:04d}/month={t.month:02d}/day={t.day:02d}"
    if hour:
        d += f"/hour={t.hour:02d}"
    os.makedirs(d, exist_ok=True)
    return d


def records(mixed, count=24):
    rng = random.Random(15)
    devices = []
    for i in range(count):
        kind = "feeder" if mixed and i % 4 == 0 else "smart_meter"
        devices.append((f"dev-{i:03d}-{rng.randrange(16**6):06x}", REGIONS[i % 3], kind))
    out = []
    for day in range(4):
        for dev, region, kind in devices:
            t = START_MS + day * DAY_MS + rng.randrange(60_000)
            while t < START_MS + (day + 1) * DAY_MS:
                r = {"Time": t, "DeviceID": dev, "Region": region}
                if mixed:
                    r["DeviceType"] = kind
                    if kind == "feeder":
                        r["voltage_measure"] = round(rng.uniform(10_600, 11_400), 1)
                        r["watt_measure"] = round(rng.uniform(4e6, 6e6), 0)
                    else:
                        r["voltage_measure"] = round(rng.uniform(215, 245), 1)
                        r["watt_measure"] = round(rng.uniform(200, 2000), 1)
                else:
                    # The seed producer's ranges.
                    r["voltage_measure"] = round(rng.uniform(30, 70), 3)
                    r["watt_measure"] = round(rng.uniform(200, 400), 3)
                if rng.random() < 0.05:
                    del r["voltage_measure"]
                out.append(r)
                # Mostly a reading a minute; now and then a gap over an hour.
                t += 90 * 60_000 if rng.random() < 0.002 else 45_000 + rng.randrange(30_000)
    return out


def write(lake, mixed, devices=24):
    by_file = {}
    for r in records(mixed, devices):
        day = (r["Time"] - START_MS) // DAY_MS
        kind = "parquet" if day == 3 else "json"
        d = part_dir(lake, kind, r["Time"], hour=kind == "json")
        by_file.setdefault((day, d), []).append(r)
    con = duckdb.connect()
    for (day, d), rows in sorted(by_file.items()):
        name = "firehose-1-" + os.path.basename(d)
        if day == 0:
            with open(f"{d}/{name}", "w") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows)
        elif day == 1:
            with open(f"{d}/{name}", "w") as f:
                f.write("".join(json.dumps(r) for r in rows))
        elif day == 2:
            with gzip.open(f"{d}/{name}.gz", "wt") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows)
    # Day 4: one Parquet file in the compacted layout (time_us, device_id,
    # the dimensions, the measures by their names).
    day4 = [r for (day, _), rows in by_file.items() if day == 3 for r in rows]
    d = part_dir(lake, "parquet", START_MS + 3 * DAY_MS, hour=False)
    tmp = f"{lake}/day4.json"
    with open(tmp, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in day4)
    dims = ", DeviceType" if mixed else ""
    con.execute(f"""
        COPY (SELECT CAST("Time" AS BIGINT) * 1000 AS time_us, DeviceID AS device_id, Region{dims},
                     CAST(voltage_measure AS DOUBLE) AS voltage, CAST(watt_measure AS DOUBLE) AS watt
              FROM read_json('{tmp}', format = 'newline_delimited')
              ORDER BY time_us)
        TO '{d}/part-0.parquet' (FORMAT parquet)""")
    os.remove(tmp)
    print(json.dumps({"records": sum(len(v) for v in by_file.values())}))


def connect(lake):
    """DuckDB over the same files, as the seed's Athena table."""
    con = duckdb.connect()
    js = f"{lake}/readings/json/*/*/*/*/*"
    has_type = False
    parts = []
    for fmt, pattern in [("newline_delimited", js), ("unstructured", js)]:
        pass
    # Each layout read as what it is.
    files = [os.path.join(root, f) for root, _, fs in os.walk(f"{lake}/readings/json") for f in fs]
    first = sorted(f for f in files if "/day=15/" in f)
    b2b = sorted(f for f in files if "/day=16/" in f)
    gz = sorted(f for f in files if f.endswith(".gz"))
    sample = json.loads(open(first[0]).readline())
    has_type = "DeviceType" in sample
    cols = 'CAST("Time" AS BIGINT) AS "Time", DeviceID, Region, ' + (
        "DeviceType, " if has_type else "") + "CAST(voltage_measure AS DOUBLE) AS voltage_measure, CAST(watt_measure AS DOUBLE) AS watt_measure"
    schema = "{'Time': 'BIGINT', 'DeviceID': 'VARCHAR', 'Region': 'VARCHAR', " + (
        "'DeviceType': 'VARCHAR', " if has_type else "") + "'voltage_measure': 'DOUBLE', 'watt_measure': 'DOUBLE'}"
    for fmt, group in [("newline_delimited", first), ("unstructured", b2b), ("newline_delimited", gz)]:
        lst = "[" + ", ".join(f"'{f}'" for f in group) + "]"
        parts.append(f"SELECT {cols} FROM read_json({lst}, format = '{fmt}', columns = {schema})")
    pq = f"{lake}/readings/parquet/*/*/*/*.parquet"
    parts.append(
        'SELECT CAST(time_us // 1000 AS BIGINT) AS "Time", device_id AS DeviceID, Region, '
        + ("DeviceType, " if has_type else "")
        + f"voltage AS voltage_measure, watt AS watt_measure FROM read_parquet('{pq}')")
    con.execute("CREATE TABLE raw AS " + " UNION ALL ".join(parts))
    con.execute("""CREATE VIEW readings AS SELECT *, make_timestamp("Time" * 1000) AS time FROM raw""")
    return con, has_type


KEYS = {"region": "Region", "type": "DeviceType", "device": "DeviceID",
        "day": """strftime(make_timestamp("Time" * 1000), '%Y-%m-%d')""",
        "hour": """strftime(make_timestamp("Time" * 1000), '%Y-%m-%dT%H:00:00Z')"""}
NAMES = {"region": "Region", "type": "DeviceType", "device": "device_id", "day": "day", "hour": "hour"}


def group_keys(by, has_type, all_types):
    keys = [k for k in by.split(",") if k]
    if has_type and not all_types and "type" not in keys:
        # Gridwatch's default: per device type, before the periods.
        at = next((i for i, k in enumerate(keys) if k in ("day", "hour")), len(keys))
        keys.insert(at, "type")
    return keys


def rows(con, sql, names):
    return [dict(zip(names, r)) for r in con.execute(sql).fetchall()]


def stats(lake, measure, by, all_types):
    con, has_type = connect(lake)
    keys = group_keys(by, has_type, all_types)
    sel = ", ".join(f"{KEYS[k]} AS k{i}" for i, k in enumerate(keys))
    gb = ", ".join(f"k{i}" for i in range(len(keys)))
    m = f"{measure}_measure"
    q = f"""SELECT {sel}, count({m}), sum({m}), min({m}), max({m}), avg({m}),
        quantile_cont({m}, 0.5), quantile_cont({m}, 0.9), quantile_cont({m}, 0.95), quantile_cont({m}, 0.99)
        FROM readings GROUP BY {gb} ORDER BY {gb}"""
    names = [NAMES[k] for k in keys] + [f"{measure}_{s}" for s in
                                        ["count", "sum", "min", "max", "mean", "p50", "p90", "p95", "p99"]]
    print(json.dumps(rows(con, q, names)))


def energy(lake, by, gap_ms):
    con, has_type = connect(lake)
    keys = group_keys(by, has_type, False)
    sel = ", ".join(f"{KEYS[k]} AS k{i}" for i, k in enumerate(keys))
    gb = ", ".join(f"k{i}" for i in range(len(keys)))
    q = f"""
    WITH p AS (
        SELECT *, lag(watt_measure) OVER w AS pw, lag("Time") OVER w AS pt
        FROM readings WHERE watt_measure IS NOT NULL
        WINDOW w AS (PARTITION BY DeviceID ORDER BY "Time"))
    SELECT {sel}, sum(CASE WHEN pt IS NOT NULL AND "Time" - pt <= {gap_ms}
                      THEN (watt_measure + pw) / 2 * ("Time" - pt) / 3.6e9 ELSE 0 END) AS energy_kwh
    FROM p GROUP BY {gb} ORDER BY {gb}"""
    print(json.dumps(rows(con, q, [NAMES[k] for k in keys] + ["energy_kwh"])))


def sql(lake, query):
    con, _ = connect(lake)
    cur = con.execute(query)
    names = [d[0] for d in cur.description]
    out = []
    for r in cur.fetchall():
        out.append({n: (v.isoformat() if isinstance(v, dt.datetime) else v) for n, v in zip(names, r)})
    print(json.dumps(out))


if __name__ == "__main__":
    cmd, lake = sys.argv[1], sys.argv[2]
    if cmd == "write":
        n = int(sys.argv[sys.argv.index("--devices") + 1]) if "--devices" in sys.argv else 24
        write(lake, "--mixed" in sys.argv, n)
    elif cmd == "stats":
        stats(lake, sys.argv[3], sys.argv[4], "--all-types" in sys.argv)
    elif cmd == "energy":
        energy(lake, sys.argv[3], int(sys.argv[4]))
    elif cmd == "sql":
        sql(lake, sys.argv[3])
