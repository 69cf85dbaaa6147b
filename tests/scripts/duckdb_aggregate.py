"""The strategic figures computed by DuckDB, independently of Gridwatch.

Usage: duckdb_aggregate.py LAKE FROM_US TO_US BY WHERE [--load-duration]
           [--parquet] [--repeat]
  BY: comma-separated keys (device, region, feeder, type, hour, day, week,
  month) or ""; WHERE: comma-separated dimension=value or "".
  --parquet reads the compacted extracts (readings/parquet) instead of the
  JSON ones. --repeat answers on standard input: each line read runs the
  whole question again (files read anew, in this warm process) and prints
  its wall time in seconds and the rows, tab separated, on one line.
Prints a JSON list of rows with Gridwatch's column names and formats.
"""
import datetime as dt
import json
import sys
import time

import duckdb

lake, frm, to, by, where = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
load_duration = "--load-duration" in sys.argv
parquet = "--parquet" in sys.argv
repeat = "--repeat" in sys.argv

DIM = {"region": "Region", "feeder": "Feeder", "type": "DeviceType", "device": "device_id"}
TIME_KEYS = {"hour", "day", "week", "month"}
keys = [DIM.get(k, k) if k not in TIME_KEYS else k for k in by.split(",") if k]
# Gridwatch's default since issue 15: each device type is its own group
# (added before the periods) unless a key or a filter names the type.
if "DeviceType" not in keys and not any(w.split("=")[0] == "type" for w in where.split(",") if w) \
        and "--all-types" not in sys.argv:
    at = next((i for i, k in enumerate(keys) if k in TIME_KEYS), len(keys))
    keys.insert(at, "DeviceType")

if parquet:
    # Compaction wrote the seed's columns under Gridwatch's names.
    source = f"read_parquet('{lake}/readings/parquet/*/*/*/*.parquet', hive_partitioning = false, union_by_name = true)"
    columns = "time_us, device_id, Region, Feeder, DeviceType, voltage, watt, energy"
    time_us = "time_us"
else:
    # The columns the view reads, named and typed: DuckDB then neither
    # samples every file for a schema (union_by_name: 4x the time here) nor
    # misses a column the first files lack; keys a record lacks are NULL.
    typed = ", ".join(f"'{name}': '{kind}'" for name, kind in [
        ("Time", "DOUBLE"), ("DeviceID", "VARCHAR"), ("Region", "VARCHAR"), ("Feeder", "VARCHAR"),
        ("DeviceType", "VARCHAR"), ("voltage_measure", "DOUBLE"), ("watt_measure", "DOUBLE"),
        ("energy_measure", "DOUBLE")])
    source = f"""read_json('{lake}/readings/json/*/*/*/*/*', format = 'newline_delimited',
        hive_partitioning = false, columns = {{{typed}}})"""
    time_us = 'CAST(round("Time" * 1000) AS BIGINT)'
    columns = f"""{time_us} AS time_us, DeviceID AS device_id, Region, Feeder, DeviceType,
        voltage_measure AS voltage, watt_measure AS watt, energy_measure AS energy"""
filters = "".join(f" AND {DIM.get(k, k)} IS NOT DISTINCT FROM '{v}'"
                  for k, v in (w.split("=", 1) for w in where.split(",") if w))

# The range's readings are read once, with their time keys, into a table
# the question reads three times (a MATERIALIZED CTE: one query for the
# planner, measured faster here than a temporary table).
READINGS = f"""
k AS MATERIALIZED (SELECT *,
    time_us - time_us % 3600000000 AS hour,
    time_us - time_us % 86400000000 AS day,
    (time_us // 86400000000 - ((time_us // 86400000000 + 3) % 7)) * 86400000000 AS week,
    CAST(strftime(make_timestamp(time_us), '%Y%m') AS INTEGER) AS month,
    time_us - time_us % 900000000 AS interval,
    1 AS _all
FROM (SELECT {columns} FROM {source}
      WHERE {time_us} >= {frm} AND {time_us} < {to}{filters}))
"""
g = keys or ["_all"]
gl = ", ".join(g)
dev_keys = ", ".join(dict.fromkeys(g + ["device_id", "interval"]))
demand = f"""
WITH {READINGS}, dev AS (SELECT {dev_keys}, avg(watt) AS w FROM k WHERE watt IS NOT NULL GROUP BY {dev_keys}),
grp AS (SELECT {gl}, interval, sum(w) AS demand_w FROM dev GROUP BY {gl}, interval)
"""
if load_duration:
    QUERY = demand + f"SELECT {gl}, interval, demand_w FROM grp ORDER BY {gl}, demand_w DESC"
    cols = g + ["interval", "demand_w"]
else:
    QUERY = demand + f"""
, inc AS (SELECT *, energy - lag(energy) OVER (PARTITION BY device_id ORDER BY time_us) AS d FROM k),
e AS (SELECT *, CASE WHEN d < 0 THEN energy ELSE d END AS energy_inc,
        CASE DeviceType WHEN 'feeder' THEN 11000.0 WHEN 'transformer' THEN 400.0 ELSE 230.0 END AS nominal FROM inc),
stats AS (SELECT {gl}, count(*) AS records, coalesce(sum(energy_inc), 0) AS energy_kwh,
        CASE WHEN count(energy) > 0 THEN 'counter' END AS energy_source,
        quantile_cont(voltage, 0.5) AS voltage_p50, quantile_cont(voltage, 0.95) AS voltage_p95,
        quantile_cont(voltage, 0.99) AS voltage_p99, count(voltage) AS vcount,
        sum(CASE WHEN voltage >= nominal * 0.9 AND voltage <= nominal * 1.1 THEN 1.0 ELSE 0.0 END) AS vwithin
    FROM e GROUP BY {gl}),
peaks AS (SELECT {gl}, max(demand_w) AS peak_demand_w, arg_max(interval, demand_w) AS peak_at_us,
        avg(demand_w) AS mean_demand FROM grp GROUP BY {gl})
SELECT {", ".join("stats." + c for c in g)}, records, energy_kwh, energy_source, peak_demand_w, peak_at_us,
    mean_demand / peak_demand_w AS load_factor, voltage_p50, voltage_p95, voltage_p99,
    vwithin / vcount AS voltage_compliance, CAST(vcount - vwithin AS BIGINT) AS voltage_anomalies
FROM stats LEFT JOIN peaks USING ({gl})
"""
    cols = g + ["records", "energy_kwh", "energy_source", "peak_demand_w", "peak_at", "load_factor", "voltage_p50",
                "voltage_p95", "voltage_p99", "voltage_compliance", "voltage_anomalies"]


def fmt(col, v):
    if v is None:
        return None
    utc = lambda us: dt.datetime.fromtimestamp(us / 1e6, dt.timezone.utc)
    if col in ("day", "week"):
        return utc(v).strftime("%Y-%m-%d")
    if col in ("hour", "peak_at"):
        return utc(v).strftime("%Y-%m-%dT%H:%M:%SZ")
    if col == "month":
        return f"{v // 100:04d}-{v % 100:02d}"
    return v


con = duckdb.connect()
con.execute("SET enable_progress_bar = false")


def answer():
    rows = con.execute(QUERY).fetchall()
    return [{c: fmt(c, v) for c, v in zip(cols, row) if c != "_all"} for row in rows]


if repeat:
    for _ in sys.stdin:
        start = time.perf_counter()
        out = answer()
        print(f"{time.perf_counter() - start}\t{json.dumps(out)}", flush=True)
else:
    print(json.dumps(answer()))
