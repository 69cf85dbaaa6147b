#!/usr/bin/env python3
"""Python polars on the lake bench's Parquet, the same columns, range and SQL
as `lake sql` (core/lake/src/sql.rs), on its in-memory and streaming engines.

Usage: pip install polars; scripts/bench-polars-python.py $CARGO_TARGET_DIR/bench-lake-10m/parquet-lake QUERY.sql
(the query: ENERGY_AND_PEAK_SQL of core/lake/benches/aggregate.rs). Prints median seconds of 5 runs."""
import sys, time, glob, polars as pl
lake = sys.argv[1]
sql = open(sys.argv[2]).read()
files = sorted(glob.glob(f"{lake}/readings/parquet/*/*/*/*.parquet"))
def frame():
    lf = pl.scan_parquet(files, hive_partitioning=False, missing_columns="insert")
    schema = lf.collect_schema()
    cols = [(pl.col("time_us") // 1000).alias("Time"), pl.col("device_id").alias("DeviceID"),
            pl.col("time_us").cast(pl.Datetime("us")).alias("time")]
    for name, dt in schema.items():
        if name in ("time_us", "device_id"):
            continue
        if dt.is_numeric():
            cols.append(pl.col(name).cast(pl.Float64).alias(f"{name}_measure"))
        else:
            cols.append(pl.col(name))
    lo, hi = 1_700_006_400_000_000, 1_700_006_400_000_000 + 2 * 86_400_000_000
    return lf.filter((pl.col("time_us") >= lo) & (pl.col("time_us") < hi)).select(cols)
for engine in ["in-memory", "streaming"]:
    times = []
    for _ in range(5):
        t = time.perf_counter()
        ctx = pl.SQLContext(readings=frame())
        out = ctx.execute(sql).collect(engine=engine)
        times.append(time.perf_counter() - t)
    times.sort()
    print(engine, "median", round(times[2], 3), "all", [round(x, 3) for x in times], out.shape)
