"""Runs the Athena SQL Gridwatch generated in DuckDB, over the same local
extracts, and prints the answer as Athena's GetQueryResults gives it.

Usage: athena_in_duckdb.py LAKE DATABASE TABLE < query.sql

A DuckDB view `DATABASE.TABLE` stands in for the seed's Glue table: the
columns of `lake athena-ddl` (lower case, as Hive keeps them) over the
JSON extracts, and the projected partition columns `year`, `month`, `day`,
`hour` as strings. The few Trino functions the SQL uses that DuckDB spells
differently are macros here (the list below); everything else is the SQL
as Gridwatch wrote it.

Prints one JSON object: {"ResultSet": {"Rows": [...], "ResultSetMetadata":
{"ColumnInfo": [...]}}}, the header row first as Athena sends it for a
SELECT, each value as text (doubles as Java prints them, as Athena does),
NULL as a datum without VarCharValue. Also the shape moto's canned
results take.
"""
import json
import math
import sys

import duckdb

lake, database, table = sys.argv[1], sys.argv[2], sys.argv[3]
sql = sys.stdin.read()

# The seed table's columns (athena-ddl) and their types.
COLUMNS = [("Time", "DOUBLE"), ("DeviceID", "VARCHAR")]
COLUMNS += [(f"{m}_measure", "DOUBLE") for m in [
    "voltage", "current", "watt", "energy", "temperature", "power_factor", "oil_temperature", "load_pct"]]
COLUMNS += [(d, "VARCHAR") for d in ["DeviceType", "Region", "Feeder", "Substation", "Transformer"]]

# Trino functions DuckDB spells otherwise: the only stand-ins.
MACROS = [
    # Trino: from_unixtime(double seconds) -> timestamp (UTC in Athena).
    "CREATE MACRO from_unixtime(s) AS to_timestamp(s)",
]

con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute("SET enable_progress_bar = false")
for m in MACROS:
    con.execute(m)
typed = ", ".join(f"'{n}': '{t}'" for n, t in COLUMNS)
parts = ", ".join(f"'{p}': 'VARCHAR'" for p in ["year", "month", "day", "hour"])
columns = ", ".join(f'"{n}" AS "{n.lower()}"' for n, _ in COLUMNS)
con.execute(f'CREATE SCHEMA "{database}"')
con.execute(f"""CREATE VIEW "{database}"."{table}" AS
    SELECT {columns}, year, month, day, hour
    FROM read_json('{lake}/readings/json/*/*/*/*/*', format = 'newline_delimited',
        hive_partitioning = true, hive_types = {{{parts}}}, columns = {{{typed}}})""")

cursor = con.execute(sql)
names = [d[0] for d in cursor.description]
kinds = [str(d[1]).upper() for d in cursor.description]
rows = cursor.fetchall()

ATHENA_TYPE = {"BIGINT": "bigint", "HUGEINT": "bigint", "INTEGER": "integer", "DOUBLE": "double",
               "VARCHAR": "varchar", "BOOLEAN": "boolean"}


def java_double(x):
    """A double as Java's Double.toString writes it (Athena's text)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    a = abs(x)
    if 1e-3 <= a < 1e7:
        text = repr(float(x))
        return text if "e" not in text else format(x, ".17g")
    mantissa, exponent = f"{x:.17e}".split("e")
    # Shortest digits that read back as x.
    for digits in range(1, 18):
        m, e = f"{x:.{digits - 1}e}".split("e")
        if float(f"{m}e{e}") == x:
            mantissa, exponent = m, e
            break
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{int(exponent)}"


def datum(v, kind):
    if v is None:
        return {}
    if kind == "DOUBLE":
        return {"VarCharValue": java_double(v)}
    return {"VarCharValue": str(v)}


out_rows = [{"Data": [{"VarCharValue": n} for n in names]}]
out_rows += [{"Data": [datum(v, k) for v, k in zip(row, kinds)]} for row in rows]
info = [{"Name": n, "Label": n, "Type": ATHENA_TYPE.get(k, "varchar"), "CaseSensitive": False,
         "CatalogName": "hive", "SchemaName": "", "TableName": "", "Precision": 0, "Scale": 0,
         "Nullable": "UNKNOWN"} for n, k in zip(names, kinds)]
print(json.dumps({"ResultSet": {"Rows": out_rows, "ResultSetMetadata": {"ColumnInfo": info}}}))
