//! The strategic views as Athena SQL (Trino's dialect) over the seed's
//! table, with the local fold's definitions (see [`crate::aggregate`]).
//!
//! How the SQL is made to agree with the fold, and to scale past it:
//! - times: `Time` (epoch ms) to µs as the codec does, `round(ms * 1000)`;
//!   hours, days and weeks (from Monday) by integer arithmetic on the µs,
//!   months from the UTC calendar;
//! - exact percentiles: each reading's rank in its group (`row_number`),
//!   the two readings around rank (n - 1) q picked and interpolated, as
//!   the fold does. No group's readings are gathered into one array, which
//!   would have to fit one Athena worker;
//! - the parts that group differently (records and counters, power
//!   trapezoids, demand, voltage ranks) meet by `UNION ALL` and one
//!   `GROUP BY` of the keys, never by joins: a key may be NULL (a record
//!   without the dimension), and NULLs group together but never join;
//! - float literals are written as DOUBLE (`0.95E0`): a bare `0.95` is a
//!   DECIMAL in Trino, and its exact arithmetic would not be the fold's.
//!
//! Only the projected partitions of the range are read: the predicate on
//! `year`, `month`, `day` and `hour` ([`partition_filter`]) names whole
//! months, whole days, or the hours of a partial day.

use gridwatch_types::time::{MICROS_PER_DAY, MICROS_PER_HOUR, civil, days_in_month, from_civil};

use super::TableRef;
use crate::LakeError;
use crate::aggregate::{AggregateRequest, DEFAULT_MAX_GAP_US, DEVICE_TYPE, GroupKey};
use crate::readings::{ENERGY, VOLTAGE, WATT, measure_name};
use crate::table::{DEMAND_INTERVAL_US, INTERVAL};

/// A view as one Athena query.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewSql {
    pub sql: String,
    /// The answer's columns as the local engine names them (Athena gives
    /// its labels in lower case).
    pub columns: Vec<String>,
    /// `DeviceType` was added to the keys (figures per device type).
    pub per_type: bool,
    /// The gap limit energy from power was integrated with.
    pub max_gap_us: i64,
}

/// The quantiles of the energy view's voltage, and their columns.
const VOLTAGE_QUANTILES: [(f64, &str); 3] = [
    (0.5, "voltage_p50"),
    (0.95, "voltage_p95"),
    (0.99, "voltage_p99"),
];
/// The quantiles of a measure's figures (`--measure`).
const MEASURE_QUANTILES: [(f64, &str); 4] =
    [(0.5, "p50"), (0.9, "p90"), (0.95, "p95"), (0.99, "p99")];

/// A name as a Trino identifier: Hive keeps column names in lower case.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.to_ascii_lowercase().replace('"', "\"\""))
}

/// Text as a SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A float as a DOUBLE literal, whatever its digits (`0.95E0`; Rust's
/// `1e16` is one already).
fn double(x: f64) -> String {
    let text = format!("{x:?}");
    if text.contains('e') {
        text
    } else {
        format!("{text}E0").replace(".0E0", "E0")
    }
}

/// The hours whose partitions hold readings of [from, to).
pub fn partition_hours(from_us: i64, to_us: i64) -> Vec<i64> {
    let first = from_us - from_us.rem_euclid(MICROS_PER_HOUR);
    (0..)
        .map(|i| first + i * MICROS_PER_HOUR)
        .take_while(|&h| h < to_us)
        .collect()
}

/// A run of the range's partitions named as one: a whole month, a whole
/// day, or some hours of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    Month {
        year: i32,
        month: u32,
    },
    Day {
        year: i32,
        month: u32,
        day: u32,
    },
    Hours {
        year: i32,
        month: u32,
        day: u32,
        hours: Vec<u32>,
    },
}

impl Span {
    /// The predicate on the projected partition columns.
    fn predicate(&self) -> String {
        match self {
            Span::Month { year, month } => {
                format!("(\"year\" = '{year:04}' AND \"month\" = '{month:02}')")
            }
            Span::Day { year, month, day } => format!(
                "(\"year\" = '{year:04}' AND \"month\" = '{month:02}' AND \"day\" = '{day:02}')"
            ),
            Span::Hours {
                year,
                month,
                day,
                hours,
            } => {
                let hours: Vec<String> = hours.iter().map(|h| format!("'{h:02}'")).collect();
                format!(
                    "(\"year\" = '{year:04}' AND \"month\" = '{month:02}' AND \"day\" = '{day:02}' \
                     AND \"hour\" IN ({}))",
                    hours.join(", ")
                )
            }
        }
    }

    /// The key prefixes below the table's location that hold the span's
    /// extracts: one for a month or a day, one an hour otherwise.
    pub fn prefixes(&self) -> Vec<String> {
        match self {
            Span::Month { year, month } => vec![format!("year={year:04}/month={month:02}/")],
            Span::Day { year, month, day } => {
                vec![format!(
                    "{}/",
                    crate::partition::day_path(*year, *month, *day)
                )]
            }
            Span::Hours {
                year,
                month,
                day,
                hours,
            } => hours
                .iter()
                .map(|h| format!("{}/", crate::partition::hour_path(*year, *month, *day, *h)))
                .collect(),
        }
    }
}

/// The range's partitions as whole months, whole days, and the hours of
/// partial days, in time order.
pub fn partition_spans(from_us: i64, to_us: i64) -> Vec<Span> {
    let hours = partition_hours(from_us, to_us);
    let mut spans = Vec::new();
    let mut i = 0;
    while i < hours.len() {
        let c = civil(hours[i]);
        let (year, month, day) = (c.year, c.month, c.day);
        let month_hours = days_in_month(year, month) as usize * 24;
        if hours[i] == from_civil(year, month, 1, 0) && hours.len() - i >= month_hours {
            spans.push(Span::Month { year, month });
            i += month_hours;
        } else if c.hour == 0 && hours.len() - i >= 24 {
            spans.push(Span::Day { year, month, day });
            i += 24;
        } else {
            let day_end = hours[i] - hours[i].rem_euclid(MICROS_PER_DAY) + MICROS_PER_DAY;
            let mut of_day = Vec::new();
            while i < hours.len() && hours[i] < day_end {
                of_day.push(civil(hours[i]).hour);
                i += 1;
            }
            spans.push(Span::Hours {
                year,
                month,
                day,
                hours: of_day,
            });
        }
    }
    spans
}

/// The predicate on the projected partition columns that selects exactly
/// the partitions of [from, to): its spans, OR-ed. `FALSE` for an empty
/// range.
pub fn partition_filter(from_us: i64, to_us: i64) -> String {
    let terms: Vec<String> = partition_spans(from_us, to_us)
        .iter()
        .map(Span::predicate)
        .collect();
    if terms.is_empty() {
        "FALSE".into()
    } else {
        terms.join("\n    OR ")
    }
}

/// The range's macros in the operator's SQL, as Athena runs it:
/// - `$__timeFilter`: the range's partitions and `"time"` (epoch ms) in it;
/// - `$__partitionFilter`: the range's partitions only;
/// - `$__timeFrom`, `$__timeTo`: the range's ends in epoch ms;
/// - `$__table`: the lake's table, `"database"."table"`.
pub fn expand_macros(sql: &str, table: &TableRef, from_us: i64, to_us: i64) -> String {
    let ms = |us: i64| format!("{}", us as f64 / 1000.0);
    let partitions = partition_filter(from_us, to_us);
    sql.replace(
        "$__timeFilter",
        &format!(
            "(({partitions}) AND \"time\" >= {} AND \"time\" < {})",
            ms(from_us),
            ms(to_us)
        ),
    )
    .replace("$__partitionFilter", &format!("({partitions})"))
    .replace("$__timeFrom", &ms(from_us))
    .replace("$__timeTo", &ms(to_us))
    .replace("$__table", &table.qualified())
}

/// The time of a row in µs, as the codec reads `Time` (epoch ms).
const TIME_US: &str = "CAST(round(\"time\" * 1000) AS BIGINT)";

/// The rows of the range: readings with a device, their time in µs, the
/// columns asked for under the names the rest of the SQL uses.
fn rows(table: &TableRef, req: &AggregateRequest, columns: &[(String, String)]) -> String {
    let mut select = vec![
        format!("{TIME_US} AS time_us"),
        "\"deviceid\" AS device_id".to_string(),
    ];
    select.extend(
        columns
            .iter()
            .map(|(expr, name)| format!("{expr} AS {name}")),
    );
    let mut filters = vec![
        format!("({})", partition_filter(req.from_us, req.to_us)),
        format!("{TIME_US} >= {}", req.from_us),
        format!("{TIME_US} < {}", req.to_us),
        "\"deviceid\" IS NOT NULL".to_string(),
    ];
    filters.extend(req.filters.iter().map(|(k, v)| {
        format!(
            "{} = {}",
            ident(&crate::aggregate::dimension_column(k)),
            literal(v)
        )
    }));
    format!(
        "r AS (\n  SELECT {}\n  FROM {}\n  WHERE {}\n)",
        select.join(",\n    "),
        table.qualified(),
        filters.join("\n    AND ")
    )
}

/// A key's value in the rows CTE.
fn key_expr(key: &GroupKey) -> String {
    const DAY_US: i64 = MICROS_PER_DAY;
    match key {
        GroupKey::Device => "device_id".into(),
        GroupKey::Dimension(d) => ident(d),
        GroupKey::Hour => format!("time_us - time_us % {MICROS_PER_HOUR}"),
        GroupKey::Day => format!("time_us - time_us % {DAY_US}"),
        // 1970-01-01 was a Thursday: Monday is three days before.
        GroupKey::Week => format!("time_us - (time_us + {}) % {}", 3 * DAY_US, 7 * DAY_US),
        GroupKey::Month => "CAST(year(from_unixtime(time_us / 1000000)) * 100 \
                            + month(from_unixtime(time_us / 1000000)) AS INTEGER)"
            .into(),
    }
}

/// The keys, checked against the table's columns.
fn check_keys(table: &TableRef, by: &[GroupKey]) -> Result<(), LakeError> {
    for k in by {
        if let GroupKey::Dimension(d) = k
            && !table.has_dimension(d)
        {
            return Err(LakeError::UnknownKey {
                name: d.clone(),
                known: table.known_keys(),
            });
        }
    }
    Ok(())
}

/// `k0, k1, …` (or `k` when `prefix` is given, `p.k0, …`).
fn key_list(n: usize, prefix: &str) -> String {
    (0..n)
        .map(|i| format!("{prefix}k{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The keys as grouped. A view without keys groups by one constant key
/// (`k0 = 0`), so an empty range gives no row, as the fold does, and no
/// `GROUP BY 1` (a column's position in Trino) is ever written.
fn group_by(n: usize) -> String {
    key_list(n.max(1), "")
}

/// The quantile `q` of the readings ranked `rn` (0-based) among `n`,
/// interpolated as the fold does: the readings at floor((n-1)q) and the
/// next, as an aggregate over the group's ranked rows.
fn quantile_picks(value: &str, q: f64, name: &str) -> String {
    let pos = format!("CAST(n - 1 AS DOUBLE) * {}", double(q));
    format!(
        "max(CASE WHEN rn = floor({pos}) THEN {value} END) AS {name}_lo,\n    \
         max(CASE WHEN rn = floor({pos}) + 1 THEN {value} END) AS {name}_hi,\n    \
         max({pos}) AS {name}_pos"
    )
}

/// `expr` over the maxima of `name`'s pick columns: after the `UNION ALL`,
/// each column is the one value its part gave.
fn of_maxima(expr: &str, name: &str) -> String {
    ["lo", "hi", "pos"].iter().fold(expr.to_string(), |e, s| {
        e.replace(&format!("{name}_{s}"), &format!("max({name}_{s})"))
    })
}

/// The interpolation of [`quantile_picks`]' three columns.
fn quantile_value(name: &str) -> String {
    format!(
        "CASE WHEN {name}_pos = floor({name}_pos) THEN {name}_lo \
         ELSE {name}_lo + ({name}_pos - floor({name}_pos)) * ({name}_hi - {name}_lo) END"
    )
}

/// The nominal voltage of a row's device type, as
/// [`gridwatch_types::nominal_voltage`] gives it.
fn nominal() -> String {
    format!(
        "CASE device_type WHEN 'feeder' THEN {} WHEN 'transformer' THEN {} ELSE {} END",
        double(gridwatch_types::nominal_voltage(Some("feeder"))),
        double(gridwatch_types::nominal_voltage(Some("transformer"))),
        double(gridwatch_types::nominal_voltage(None)),
    )
}

/// The view the request asks for, as one query: the energy figures, the
/// load duration curve, or the measures' figures.
pub fn view_sql(
    table: &TableRef,
    req: &AggregateRequest,
    load_duration: bool,
) -> Result<ViewSql, LakeError> {
    let (by, per_type) = req.keys_with_type(true);
    check_keys(table, &by)?;
    let max_gap_us = req.max_gap_us.unwrap_or(DEFAULT_MAX_GAP_US);
    let mut columns: Vec<String> = by.iter().map(|k| k.column().to_string()).collect();
    let sql = if !req.measures.is_empty() {
        let measures = req
            .measures
            .iter()
            .map(|m| {
                let name = measure_name(m);
                if table.has_measure(&name) {
                    Ok(name)
                } else {
                    Err(LakeError::UnknownKey {
                        name: format!("measure {name}"),
                        known: table.measures.join(", "),
                    })
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        for m in &measures {
            columns.extend(
                ["count", "sum", "min", "max", "mean"]
                    .into_iter()
                    .chain(MEASURE_QUANTILES.map(|(_, q)| q))
                    .map(|f| format!("{m}_{f}")),
            );
        }
        measures_sql(table, req, &by, &measures)
    } else if load_duration {
        columns.extend([INTERVAL.to_string(), "demand_w".to_string()]);
        load_duration_sql(table, req, &by)
    } else {
        columns.extend(
            [
                "records",
                "energy_kwh",
                "energy_source",
                "peak_demand_w",
                "peak_at_us",
                "load_factor",
                "voltage_p50",
                "voltage_p95",
                "voltage_p99",
                "voltage_compliance",
                "voltage_anomalies",
            ]
            .map(String::from),
        );
        energy_sql(table, req, &by, max_gap_us)
    };
    Ok(ViewSql {
        sql,
        columns,
        per_type,
        max_gap_us,
    })
}

/// The rows with their keys (`k0…`), the demand interval and nominal
/// voltage: the CTEs every view starts from.
fn keyed(table: &TableRef, req: &AggregateRequest, by: &[GroupKey], measures: &[&str]) -> String {
    let mut columns: Vec<(String, String)> = vec![(ident(DEVICE_TYPE), "device_type".into())];
    for k in by {
        if let GroupKey::Dimension(d) = k
            && d != DEVICE_TYPE
            && !columns.iter().any(|(e, _)| *e == ident(d))
        {
            columns.push((ident(d), ident(d)));
        }
    }
    columns.extend(
        measures
            .iter()
            .map(|m| (ident(&format!("{m}_measure")), ident(m))),
    );
    let mut keys: Vec<String> = by
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let expr = match k {
                GroupKey::Dimension(d) if d == DEVICE_TYPE => "device_type".into(),
                k => key_expr(k),
            };
            format!("{expr} AS k{i}")
        })
        .collect();
    if keys.is_empty() {
        keys.push("0 AS k0".into());
    }
    let mut select = vec!["r.*".to_string()];
    select.extend(keys);
    select.push(format!(
        "time_us - time_us % {DEMAND_INTERVAL_US} AS interval_us"
    ));
    select.push(format!("{} AS nominal", nominal()));
    format!(
        "WITH {},\nk AS (\n  SELECT {}\n  FROM r\n)",
        rows(table, req, &columns),
        select.join(",\n    ")
    )
}

/// Each group's demand per 15-minute interval: the sum over its devices of
/// each device's mean power in the interval.
fn demand_ctes(n: usize) -> String {
    let keys = format!("{}, ", group_by(n));
    format!(
        "dev AS (\n  SELECT {keys}device_id, interval_us, avg(watt) AS w\n  FROM k WHERE watt IS NOT NULL\n  \
         GROUP BY {keys}device_id, interval_us\n),\n\
         grp AS (\n  SELECT {keys}interval_us, sum(w) AS demand_w\n  FROM dev\n  GROUP BY {keys}interval_us\n)"
    )
}

/// ORDER BY the keys as the fold sorts them: absent values first.
fn order_keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("k{i} ASC NULLS FIRST")).collect()
}

fn energy_sql(
    table: &TableRef,
    req: &AggregateRequest,
    by: &[GroupKey],
    max_gap_us: i64,
) -> String {
    let n = by.len();
    let keys = group_by(n);
    let keys_comma = format!("{keys}, ");
    let partition = format!("PARTITION BY {keys} ");
    let device_order = "OVER (PARTITION BY device_id ORDER BY time_us)";
    let typed = |cols: &[(&str, &str)], present: &[&str]| -> String {
        cols.iter()
            .map(|(c, t)| {
                if present.contains(c) {
                    (*c).to_string()
                } else {
                    format!("CAST(NULL AS {t}) AS {c}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Every part's columns, in one order, for the UNION ALL.
    let mut parts: Vec<(&str, &str)> = vec![
        ("records", "BIGINT"),
        ("counter_kwh", "DOUBLE"),
        ("from_counter", "INTEGER"),
        ("from_power", "INTEGER"),
        ("power_kwh", "DOUBLE"),
        ("peak_demand_w", "DOUBLE"),
        ("peak_at_us", "BIGINT"),
        ("mean_demand_w", "DOUBLE"),
        ("vcount", "BIGINT"),
        ("vwithin", "BIGINT"),
        ("mixed", "INTEGER"),
    ];
    let quantile_cols: Vec<String> = VOLTAGE_QUANTILES
        .iter()
        .flat_map(|(_, name)| ["lo", "hi", "pos"].map(|s| format!("{name}_{s}")))
        .collect();
    parts.extend(quantile_cols.iter().map(|c| (c.as_str(), "DOUBLE")));
    let stats = ["records", "counter_kwh", "from_counter", "from_power"];
    let power = ["power_kwh"];
    let peaks = ["peak_demand_w", "peak_at_us", "mean_demand_w"];
    let mut volts: Vec<&str> = vec!["vcount", "vwithin", "mixed"];
    volts.extend(quantile_cols.iter().map(String::as_str));
    let picks = VOLTAGE_QUANTILES
        .iter()
        .map(|(q, name)| quantile_picks("voltage", *q, name))
        .collect::<Vec<_>>()
        .join(",\n    ");
    // max() over the union takes the one part that has each column.
    let quantiles: Vec<String> = VOLTAGE_QUANTILES
        .iter()
        .map(|(_, name)| {
            format!(
                "CASE WHEN max(mixed) = 0 THEN {} END AS {name}",
                of_maxima(&quantile_value(name), name)
            )
        })
        .collect();
    let union = [
        (stats.as_slice(), "stats"),
        (power.as_slice(), "power"),
        (peaks.as_slice(), "peaks"),
        (volts.as_slice(), "volts"),
    ]
    .iter()
    .map(|(present, from)| {
        format!(
            "  SELECT {keys_comma}{} FROM {from}",
            typed(&parts, present)
        )
    })
    .collect::<Vec<_>>()
    .join("\n  UNION ALL\n");
    let out_keys: Vec<String> = by
        .iter()
        .enumerate()
        .map(|(i, k)| format!("k{i} AS {}", ident(k.column())))
        .collect();
    let order = match req.top {
        Some(_) => {
            let mut o = vec!["energy_kwh DESC".to_string()];
            o.extend(order_keys(n));
            o
        }
        None => order_keys(n),
    };
    let mut select = out_keys;
    select.extend([
        "max(records) AS records".to_string(),
        "coalesce(max(counter_kwh), 0E0) + coalesce(max(power_kwh), 0E0) AS energy_kwh".into(),
        "CASE WHEN max(from_counter) = 1 AND max(from_power) = 1 THEN 'counter and power' \
         WHEN max(from_counter) = 1 THEN 'counter' WHEN max(from_power) = 1 THEN 'power' END \
         AS energy_source"
            .into(),
        "max(peak_demand_w) AS peak_demand_w".into(),
        "max(peak_at_us) AS peak_at_us".into(),
        "max(mean_demand_w) / max(peak_demand_w) AS load_factor".into(),
    ]);
    select.extend(quantiles);
    select.extend([
        "CAST(max(vwithin) AS DOUBLE) / max(vcount) AS voltage_compliance".into(),
        "coalesce(max(vcount) - max(vwithin), 0) AS voltage_anomalies".into(),
    ]);
    let order_by = if order.is_empty() {
        String::new()
    } else {
        format!("\nORDER BY {}", order.join(", "))
    };
    let limit = req.top.map_or(String::new(), |t| format!("\nLIMIT {t}"));
    format!(
        "{keyed},
w AS (
  SELECT k.*,
    energy - lag(energy) {device_order} AS d,
    max(CASE WHEN energy IS NOT NULL THEN 1 ELSE 0 END) OVER (PARTITION BY device_id) AS counter
  FROM k
),
stats AS (
  SELECT {keys_comma}count(*) AS records,
    sum(CASE WHEN d < 0 THEN energy ELSE d END) AS counter_kwh,
    max(counter) AS from_counter,
    max(CASE WHEN counter = 0 AND watt IS NOT NULL THEN 1 ELSE 0 END) AS from_power
  FROM w
  GROUP BY {group}
),
pw AS (
  SELECT {keys_comma}time_us, watt,
    lag(watt) {device_order} AS previous_watt,
    lag(time_us) {device_order} AS previous_us
  FROM w
  WHERE counter = 0 AND watt IS NOT NULL
),
power AS (
  SELECT {keys_comma}sum(CASE WHEN time_us - previous_us <= {max_gap_us}
      THEN (watt + previous_watt) * 0.5E0 * (time_us - previous_us) / 3.6E12 END) AS power_kwh
  FROM pw
  GROUP BY {group}
),
{demand},
ranked_demand AS (
  SELECT grp.*, row_number() OVER ({partition}ORDER BY demand_w DESC, interval_us ASC) AS peak_rank
  FROM grp
),
peaks AS (
  SELECT {keys_comma}max(demand_w) AS peak_demand_w,
    max(CASE WHEN peak_rank = 1 THEN interval_us END) AS peak_at_us,
    avg(demand_w) AS mean_demand_w
  FROM ranked_demand
  GROUP BY {group}
),
ranked_volts AS (
  SELECT {keys_comma}voltage, nominal,
    row_number() OVER ({partition}ORDER BY voltage) - 1 AS rn,
    count(*) OVER ({partition_all}) AS n
  FROM k
  WHERE voltage IS NOT NULL
),
volts AS (
  SELECT {keys_comma}count(*) AS vcount,
    count_if(voltage >= nominal * 0.9E0 AND voltage <= nominal * 1.1E0) AS vwithin,
    CASE WHEN min(nominal) = max(nominal) THEN 0 ELSE 1 END AS mixed,
    {picks}
  FROM ranked_volts
  GROUP BY {group}
),
parts AS (
{union}
)
SELECT {select}
FROM parts
GROUP BY {group}{order_by}{limit}",
        keyed = keyed(table, req, by, &[VOLTAGE, WATT, ENERGY]),
        group = group_by(n),
        demand = demand_ctes(n),
        partition_all = partition.trim_end(),
        select = select.join(",\n  "),
    )
}

fn load_duration_sql(table: &TableRef, req: &AggregateRequest, by: &[GroupKey]) -> String {
    let n = by.len();
    let mut select: Vec<String> = by
        .iter()
        .enumerate()
        .map(|(i, k)| format!("k{i} AS {}", ident(k.column())))
        .collect();
    select.push(format!("interval_us AS {}", ident(INTERVAL)));
    select.push("demand_w".into());
    let mut order = order_keys(n);
    order.extend(["demand_w DESC".to_string(), "interval_us ASC".to_string()]);
    format!(
        "{},\n{}\nSELECT {}\nFROM grp\nORDER BY {}",
        keyed(table, req, by, &[WATT]),
        demand_ctes(n),
        select.join(", "),
        order.join(", ")
    )
}

fn measures_sql(
    table: &TableRef,
    req: &AggregateRequest,
    by: &[GroupKey],
    measures: &[String],
) -> String {
    let n = by.len();
    let keys_comma = format!("{}, ", group_by(n));
    let partition = format!("PARTITION BY {} ", group_by(n));
    let names: Vec<&str> = measures.iter().map(String::as_str).collect();
    let mut ctes = Vec::new();
    // Every group has a row, measured or not (its count is then 0).
    let mut union = vec![String::new()];
    let mut select: Vec<String> = by
        .iter()
        .enumerate()
        .map(|(i, k)| format!("k{i} AS {}", ident(k.column())))
        .collect();
    for (j, m) in measures.iter().enumerate() {
        let v = ident(m);
        let picks = MEASURE_QUANTILES
            .iter()
            .map(|(q, name)| quantile_picks("value", *q, name))
            .collect::<Vec<_>>()
            .join(",\n    ");
        // Voltage never mixes nominals (230 V and 11 kV) in one figure.
        let mixed = if m == VOLTAGE {
            "CASE WHEN min(nominal) = max(nominal) THEN 0 ELSE 1 END"
        } else {
            "0"
        };
        ctes.push(format!(
            "ranked_{j} AS (\n  SELECT {keys_comma}{v} AS value, nominal,\n    \
             row_number() OVER ({partition}ORDER BY {v}) - 1 AS rn,\n    \
             count(*) OVER ({}) AS n\n  FROM k\n  WHERE {v} IS NOT NULL\n),\n\
             figures_{j} AS (\n  SELECT {keys_comma}count(*) AS readings, sum(value) AS total,\n    \
             min(value) AS least, max(value) AS greatest, {mixed} AS mixed,\n    {picks}\n  FROM ranked_{j}\n  GROUP BY {}\n)",
            partition.trim_end(),
            group_by(n),
        ));
        let shown = |f: &str| format!("CASE WHEN max(m{j}_mixed) = 0 THEN {f} END");
        select.push(format!(
            "coalesce(max(m{j}_readings), 0) AS {}",
            ident(&format!("{m}_count"))
        ));
        select.push(format!(
            "{} AS {}",
            shown(&format!("max(m{j}_total)")),
            ident(&format!("{m}_sum"))
        ));
        select.push(format!(
            "{} AS {}",
            shown(&format!("max(m{j}_least)")),
            ident(&format!("{m}_min"))
        ));
        select.push(format!(
            "{} AS {}",
            shown(&format!("max(m{j}_greatest)")),
            ident(&format!("{m}_max"))
        ));
        select.push(format!(
            "{} AS {}",
            shown(&format!("max(m{j}_total) / max(m{j}_readings)")),
            ident(&format!("{m}_mean"))
        ));
        for (_, name) in MEASURE_QUANTILES {
            let col = format!("m{j}_{name}");
            let value = of_maxima(&quantile_value(&col), &col);
            select.push(format!(
                "{} AS {}",
                shown(&value),
                ident(&format!("{m}_{name}"))
            ));
        }
    }
    // The union's columns: each part fills its own, NULL elsewhere.
    let mut all_cols: Vec<(String, &str)> = vec![("part".into(), "INTEGER")];
    for j in 0..measures.len() {
        for (c, t) in [
            ("readings", "BIGINT"),
            ("total", "DOUBLE"),
            ("least", "DOUBLE"),
            ("greatest", "DOUBLE"),
            ("mixed", "INTEGER"),
        ] {
            all_cols.push((format!("m{j}_{c}"), t));
        }
        for (_, name) in MEASURE_QUANTILES {
            for s in ["lo", "hi", "pos"] {
                all_cols.push((format!("m{j}_{name}_{s}"), "DOUBLE"));
            }
        }
    }
    let row = |present: &dyn Fn(&str) -> Option<String>| -> String {
        all_cols
            .iter()
            .map(|(c, t)| present(c).unwrap_or_else(|| format!("CAST(NULL AS {t}) AS {c}")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    union[0] = format!(
        "  SELECT {keys_comma}{} FROM k GROUP BY {}",
        row(&|c| (c == "part").then(|| "-1 AS part".to_string())),
        group_by(n)
    );
    for j in 0..measures.len() {
        let prefix = format!("m{j}_");
        union.push(format!(
            "  SELECT {keys_comma}{} FROM figures_{j}",
            row(&|c| c.strip_prefix(&prefix).map(|rest| format!("{rest} AS {c}")))
        ));
    }
    let order = order_keys(n);
    let order_by = if order.is_empty() {
        String::new()
    } else {
        format!("\nORDER BY {}", order.join(", "))
    };
    format!(
        "{},\n{},\nparts AS (\n{}\n)\nSELECT {}\nFROM parts\nGROUP BY {}{order_by}",
        keyed(table, req, by, &names),
        ctes.join(",\n"),
        union.join("\n  UNION ALL\n"),
        select.join(",\n  "),
        group_by(n),
    )
}

#[cfg(test)]
mod tests;
