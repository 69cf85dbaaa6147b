//! Amazon Timestream history: queries paged to the end, every result type
//! parsed, Grafana's macros, safe quoting, and a cap on what a query may
//! cost.
//!
//! Users of the Grafana data source keep reporting truncated results (only
//! the first page fetched): [`run_query`] follows NextToken to the end and
//! hands rows over as each page arrives. It stops, and cancels the query on
//! the server, when the bytes metered pass the caller's cap.

use std::time::Duration;

use aws_sdk_timestreamquery::Client;
use aws_sdk_timestreamquery::types::{ColumnInfo, Datum, ScalarType};

use crate::time::{MICROS_PER_DAY, from_civil};

#[derive(Debug, thiserror::Error)]
pub enum TimestreamError {
    #[error("Timestream refused the query: {0}")]
    Refused(String),
    #[error(
        "the query was stopped after metering {metered} bytes, over the cap of {cap} bytes (raise --max-bytes to allow it)"
    )]
    OverCap { metered: i64, cap: i64 },
    #[error("cannot read the result: {0}")]
    Parse(String),
    #[error("the query was cancelled")]
    Cancelled,
}

/// A Timestream value, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Varchar(String),
    Double(f64),
    Bigint(i64),
    Integer(i32),
    Boolean(bool),
    /// Epoch nanoseconds.
    Timestamp(i64),
    /// Days since 1970-01-01.
    Date(i64),
    /// Nanoseconds since midnight.
    Time(i64),
    /// Nanoseconds.
    IntervalDayToSecond(i64),
    /// Months.
    IntervalYearToMonth(i64),
    Array(Vec<Value>),
    Row(Vec<Value>),
    /// (epoch nanoseconds, value) points, as CREATE_TIME_SERIES returns.
    TimeSeries(Vec<(i64, Value)>),
    Unknown(String),
}

/// A column's type, as the result describes it.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnType {
    Scalar(ScalarType),
    Array(Box<ColumnType>),
    Row(Vec<(String, ColumnType)>),
    TimeSeries(Box<ColumnType>),
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnType,
}

fn column_type(info: &ColumnInfo) -> ColumnType {
    let Some(t) = info.r#type() else {
        return ColumnType::Unknown;
    };
    if let Some(s) = t.scalar_type() {
        return ColumnType::Scalar(s.clone());
    }
    if let Some(a) = t.array_column_info() {
        return ColumnType::Array(Box::new(column_type(a)));
    }
    if let Some(ts) = t.time_series_measure_value_column_info() {
        return ColumnType::TimeSeries(Box::new(column_type(ts)));
    }
    let row = t.row_column_info();
    if !row.is_empty() {
        return ColumnType::Row(
            row.iter()
                .map(|c| (c.name().unwrap_or_default().to_owned(), column_type(c)))
                .collect(),
        );
    }
    ColumnType::Unknown
}

pub fn columns(infos: &[ColumnInfo]) -> Vec<Column> {
    infos
        .iter()
        .map(|i| Column {
            name: i.name().unwrap_or_default().to_owned(),
            kind: column_type(i),
        })
        .collect()
}

fn bad(what: &str, s: &str) -> TimestreamError {
    TimestreamError::Parse(format!("{s:?} is not a {what}"))
}

fn digits<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, TimestreamError> {
    s.parse().map_err(|_| bad(what, s))
}

/// `HH:MM:SS.nnnnnnnnn` to nanoseconds.
fn parse_clock(s: &str) -> Result<i64, TimestreamError> {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut parts = hms.split(':');
    let (Some(h), Some(m), Some(sec), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("time", s));
    };
    let (h, m, sec): (i64, i64, i64) =
        (digits(h, "time")?, digits(m, "time")?, digits(sec, "time")?);
    let mut ns = 0i64;
    if !frac.is_empty() {
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("time", s));
        }
        ns = digits::<i64>(frac, "time")? * 10i64.pow(9 - frac.len() as u32);
    }
    Ok(((h * 60 + m) * 60 + sec) * 1_000_000_000 + ns)
}

/// `YYYY-MM-DD` to days since the epoch.
fn parse_date(s: &str) -> Result<i64, TimestreamError> {
    let mut p = s.split('-');
    let (Some(y), Some(m), Some(d), None) = (p.next(), p.next(), p.next(), p.next()) else {
        return Err(bad("date", s));
    };
    let (y, m, d): (i32, u32, u32) = (digits(y, "date")?, digits(m, "date")?, digits(d, "date")?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad("date", s));
    }
    Ok(from_civil(y, m, d, 0) / MICROS_PER_DAY)
}

/// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (UTC) to epoch nanoseconds.
pub fn parse_timestamp(s: &str) -> Result<i64, TimestreamError> {
    let (date, clock) = s.split_once(' ').ok_or_else(|| bad("timestamp", s))?;
    Ok(parse_date(date)? * MICROS_PER_DAY * 1000 + parse_clock(clock)?)
}

/// `D HH:MM:SS.nnnnnnnnn` (possibly negative) to nanoseconds.
fn parse_day_to_second(s: &str) -> Result<i64, TimestreamError> {
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (days, clock) = rest
        .split_once(' ')
        .ok_or_else(|| bad("day-to-second interval", s))?;
    let days: i64 = digits(days, "day-to-second interval")?;
    let ns = days * 86_400_000_000_000 + parse_clock(clock)?;
    Ok(if neg { -ns } else { ns })
}

/// `Y-M` (possibly negative) to months.
fn parse_year_to_month(s: &str) -> Result<i64, TimestreamError> {
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (y, m) = rest
        .split_once('-')
        .ok_or_else(|| bad("year-to-month interval", s))?;
    let months = digits::<i64>(y, "year-to-month interval")? * 12
        + digits::<i64>(m, "year-to-month interval")?;
    Ok(if neg { -months } else { months })
}

fn scalar(kind: &ScalarType, s: &str) -> Result<Value, TimestreamError> {
    Ok(match kind {
        ScalarType::Varchar => Value::Varchar(s.to_owned()),
        ScalarType::Double => Value::Double(match s {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ => digits(s, "double")?,
        }),
        ScalarType::Bigint => Value::Bigint(digits(s, "bigint")?),
        ScalarType::Integer => Value::Integer(digits(s, "integer")?),
        ScalarType::Boolean => Value::Boolean(match s {
            "true" => true,
            "false" => false,
            _ => return Err(bad("boolean", s)),
        }),
        ScalarType::Timestamp => Value::Timestamp(parse_timestamp(s)?),
        ScalarType::Date => Value::Date(parse_date(s)?),
        ScalarType::Time => Value::Time(parse_clock(s)?),
        ScalarType::IntervalDayToSecond => Value::IntervalDayToSecond(parse_day_to_second(s)?),
        ScalarType::IntervalYearToMonth => Value::IntervalYearToMonth(parse_year_to_month(s)?),
        other => Value::Unknown(format!("{other:?}: {s}")),
    })
}

/// One datum of a column of type `kind`.
pub fn value(kind: &ColumnType, d: &Datum) -> Result<Value, TimestreamError> {
    if d.null_value() == Some(true) {
        return Ok(Value::Null);
    }
    match kind {
        ColumnType::Scalar(t) => match d.scalar_value() {
            Some(s) => scalar(t, s),
            None => Ok(Value::Null),
        },
        ColumnType::Array(inner) => d
            .array_value()
            .iter()
            .map(|x| value(inner, x))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        ColumnType::Row(fields) => {
            let data = d.row_value().map(|r| r.data()).unwrap_or_default();
            fields
                .iter()
                .zip(data)
                .map(|((_, t), x)| value(t, x))
                .collect::<Result<_, _>>()
                .map(Value::Row)
        }
        ColumnType::TimeSeries(inner) => d
            .time_series_value()
            .iter()
            .map(|p| {
                let t = parse_timestamp(p.time())?;
                let v = p
                    .value()
                    .map(|v| value(inner, v))
                    .transpose()?
                    .unwrap_or(Value::Null);
                Ok((t, v))
            })
            .collect::<Result<_, _>>()
            .map(Value::TimeSeries),
        ColumnType::Unknown => Ok(Value::Unknown(
            d.scalar_value().unwrap_or_default().to_owned(),
        )),
    }
}

/// What a finished query cost and returned.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct QueryStats {
    pub pages: u64,
    pub rows: u64,
    pub bytes_scanned: i64,
    pub bytes_metered: i64,
}

/// Runs `sql` to the last page, calling `on_page` with each page's rows as
/// it arrives. Stops (and cancels the query server-side) when the bytes
/// metered pass `max_bytes`, or when `cancelled` turns true.
pub async fn run_query(
    client: &Client,
    sql: &str,
    max_bytes: Option<i64>,
    cancelled: &tokio::sync::watch::Receiver<bool>,
    mut on_page: impl FnMut(&[Column], Vec<Vec<Value>>),
) -> Result<QueryStats, TimestreamError> {
    let mut stats = QueryStats::default();
    let mut token: Option<String> = None;
    let mut cols: Vec<Column> = Vec::new();
    loop {
        if *cancelled.borrow() {
            return Err(TimestreamError::Cancelled);
        }
        let out = client
            .query()
            .query_string(sql)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| TimestreamError::Refused(crate::aws::describe_sdk_error(&e)))?;
        stats.pages += 1;
        if cols.is_empty() {
            cols = columns(out.column_info());
        }
        if let Some(status) = out.query_status() {
            stats.bytes_scanned = status.cumulative_bytes_scanned();
            stats.bytes_metered = status.cumulative_bytes_metered();
        }
        let mut rows = Vec::with_capacity(out.rows().len());
        for row in out.rows() {
            let values = cols
                .iter()
                .zip(row.data())
                .map(|(c, d)| value(&c.kind, d))
                .collect::<Result<Vec<_>, _>>()?;
            rows.push(values);
        }
        stats.rows += rows.len() as u64;
        on_page(&cols, rows);
        if let Some(cap) = max_bytes
            && stats.bytes_metered > cap
        {
            // Best effort: the error below is what the user needs either way.
            let _ = client.cancel_query().query_id(out.query_id()).send().await;
            return Err(TimestreamError::OverCap {
                metered: stats.bytes_metered,
                cap,
            });
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(stats),
        }
    }
}

/// A Timestream query client: with endpoint discovery against AWS, without
/// it against an endpoint URL (discovery would answer with AWS's own host).
pub async fn query_client(options: &crate::aws::AwsOptions) -> Result<Client, TimestreamError> {
    crate::aws::timestream_client!(Client, options)
        .await
        .map_err(TimestreamError::Refused)
}

/// A typed value as JSON: times as RFC 3339, intervals spelled out, series
/// as points, BIGINTs past 2^53 exact.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Varchar(s) | Value::Unknown(s) => json!(s),
        Value::Double(f) if f.is_finite() => json!(f),
        Value::Double(f) => json!(f.to_string()),
        Value::Bigint(i) => json!(i),
        Value::Integer(i) => json!(i),
        Value::Boolean(b) => json!(b),
        Value::Timestamp(ns) => json!(format_ns(*ns)),
        Value::Date(d) => json!(format_ns(d * 86_400_000_000_000)[..10]),
        Value::Time(ns) => {
            let t = format_ns(*ns);
            json!(t[11..].trim_end_matches('Z'))
        }
        Value::IntervalDayToSecond(ns) => json!(format!("{} s", *ns as f64 / 1e9)),
        Value::IntervalYearToMonth(m) => json!(format!("{m} months")),
        Value::Array(a) | Value::Row(a) => {
            serde_json::Value::Array(a.iter().map(to_json).collect())
        }
        Value::TimeSeries(points) => serde_json::Value::Array(
            points
                .iter()
                .map(|(t, v)| json!({"time": format_ns(*t), "value": to_json(v)}))
                .collect(),
        ),
    }
}

/// Epoch nanoseconds as RFC 3339 UTC, with the fraction only when there is one.
pub fn format_ns(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let c = crate::time::civil(secs * 1_000_000);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    match ns.rem_euclid(1_000_000_000) {
        0 => format!("{base}Z"),
        frac => format!("{base}.{frac:09}Z"),
    }
}

/// A result as people and the cache keep it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fetched {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    #[serde(skip)]
    pub stats: QueryStats,
    /// When the result was fetched, if it came from the cache (offline).
    #[serde(skip)]
    pub cached_at_us: Option<i64>,
}

/// Runs `sql` to the end and keeps the result in the cache at `cache`;
/// when Timestream cannot be reached, answers from the cache instead,
/// saying when that answer was fetched.
pub async fn fetch_with_cache(
    options: &crate::aws::AwsOptions,
    sql: &str,
    max_bytes: Option<i64>,
    cancelled: &tokio::sync::watch::Receiver<bool>,
    cache: &std::path::Path,
) -> Result<Fetched, TimestreamError> {
    let live = async {
        let client = query_client(options).await?;
        let mut out = Fetched::default();
        out.stats = run_query(&client, sql, max_bytes, cancelled, |cols, page| {
            if out.columns.is_empty() {
                out.columns = cols.iter().map(|c| c.name.clone()).collect();
            }
            out.rows.extend(
                page.iter()
                    .map(|r| r.iter().map(to_json).collect::<Vec<_>>()),
            );
        })
        .await?;
        Ok::<_, TimestreamError>(out)
    };
    match live.await {
        Ok(out) => {
            let stored = serde_json::to_string(&out).unwrap_or_default();
            match crate::Cache::open(cache) {
                Ok(c) => {
                    if let Err(e) = c.store_history(sql, crate::time::now_us(), &stored) {
                        tracing::warn!(error = %e, "the result was not cached");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the result was not cached"),
            }
            Ok(out)
        }
        Err(e @ (TimestreamError::OverCap { .. } | TimestreamError::Cancelled)) => Err(e),
        Err(e) => {
            let cached = crate::CacheReader::open(cache)
                .ok()
                .and_then(|r| r.history(sql).ok().flatten());
            let Some((fetched_us, stored)) = cached else {
                return Err(e);
            };
            tracing::warn!(error = %e, "Timestream unreachable; answering from the cache");
            let mut out: Fetched = serde_json::from_str(&stored)
                .map_err(|p| TimestreamError::Parse(format!("the cached result: {p}")))?;
            out.cached_at_us = Some(fetched_us);
            Ok(out)
        }
    }
}

/// Quotes an identifier (database, table, column) for Timestream SQL.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quotes a string literal for Timestream SQL: user input stays data.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// What Grafana's macros stand for in one query.
#[derive(Debug, Clone, Default)]
pub struct MacroContext {
    pub database: Option<String>,
    pub table: Option<String>,
    pub measure: Option<String>,
    pub from_us: i64,
    pub to_us: i64,
    /// The chart's width in pixels, for `$__interval_ms`.
    pub pixels: u32,
    pub now_us: i64,
}

impl MacroContext {
    /// Grafana's `$__interval_ms`: the range over the pixels, at least 1 ms.
    pub fn interval_ms(&self) -> i64 {
        ((self.to_us - self.from_us) / 1000 / i64::from(self.pixels.max(1))).max(1)
    }
}

fn iso(us: i64) -> String {
    let c = crate::time::civil(us);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        us.rem_euclid(1_000_000)
    )
}

/// A macro's value, computed only when the query uses it.
type Expansion<'a> = Box<dyn Fn() -> Result<String, String> + 'a>;

/// Expands Grafana's macros, so an operator can paste a Grafana panel's
/// query. A macro whose value is unknown is an error naming it.
pub fn expand_macros(sql: &str, ctx: &MacroContext) -> Result<String, String> {
    let from = format!(
        "from_iso8601_timestamp({})",
        quote_literal(&iso(ctx.from_us))
    );
    let to = format!("from_iso8601_timestamp({})", quote_literal(&iso(ctx.to_us)));
    let need = |v: &Option<String>, name: &str, flag: &str| -> Result<String, String> {
        v.as_deref()
            .map(quote_ident)
            .ok_or_else(|| format!("the query uses ${name} but no {flag} was given"))
    };
    let mut out = sql.to_owned();
    // Longest names first: $__timeFilter before $__timeFrom, etc.
    let pairs: Vec<(&str, Expansion<'_>)> = vec![
        (
            "$__timeFilter",
            Box::new(|| Ok(format!("time BETWEEN {from} AND {to}"))),
        ),
        ("$__timeFrom", Box::new(|| Ok(from.clone()))),
        ("$__timeTo", Box::new(|| Ok(to.clone()))),
        (
            "$__interval_ms",
            Box::new(|| Ok(ctx.interval_ms().to_string())),
        ),
        (
            "$__now_ms",
            Box::new(|| Ok((ctx.now_us / 1000).to_string())),
        ),
        (
            "$__database",
            Box::new(|| need(&ctx.database, "__database", "--database")),
        ),
        (
            "$__table",
            Box::new(|| need(&ctx.table, "__table", "--table")),
        ),
        (
            "$__measure",
            Box::new(|| need(&ctx.measure, "__measure", "--measure")),
        ),
    ];
    for (name, value) in pairs {
        if out.contains(name) {
            out = out.replace(name, &value()?);
        }
    }
    Ok(out)
}

/// The bucketed history of one measure, aggregated on the server with
/// `bin()`; without a device, the whole fleet.
pub fn bucket_query(
    database: &str,
    table: &str,
    measure: &str,
    device: Option<&str>,
    from_us: i64,
    to_us: i64,
    bucket: Duration,
) -> String {
    let device_filter = device
        .map(|d| format!(" AND \"DeviceID\" = {}", quote_literal(d)))
        .unwrap_or_default();
    format!(
        "SELECT bin(time, {}ms) AS bucket, avg(measure_value::double) AS avg, min(measure_value::double) AS min, \
         max(measure_value::double) AS max, sum(measure_value::double) AS sum, count(*) AS count \
         FROM {}.{} WHERE measure_name = {}{} AND time >= from_milliseconds({}) AND time < from_milliseconds({}) \
         GROUP BY bin(time, {}ms) ORDER BY bucket",
        bucket.as_millis().max(1),
        quote_ident(database),
        quote_ident(table),
        quote_literal(measure),
        device_filter,
        from_us / 1000,
        to_us / 1000,
        bucket.as_millis().max(1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_parse_into_their_types() {
        let s = |t: ScalarType, v: &str| scalar(&t, v).unwrap();
        assert_eq!(s(ScalarType::Double, "231.4"), Value::Double(231.4));
        assert_eq!(
            s(ScalarType::Bigint, "-9007199254740993"),
            Value::Bigint(-9_007_199_254_740_993)
        );
        assert_eq!(s(ScalarType::Integer, "42"), Value::Integer(42));
        assert_eq!(s(ScalarType::Boolean, "true"), Value::Boolean(true));
        assert_eq!(
            s(ScalarType::Timestamp, "2023-11-14 22:13:20.123456789"),
            Value::Timestamp(1_700_000_000_123_456_789)
        );
        assert_eq!(s(ScalarType::Date, "2023-11-14"), Value::Date(19_675));
        assert_eq!(
            s(ScalarType::Time, "01:02:03.5"),
            Value::Time(3_723_500_000_000)
        );
        assert_eq!(
            s(ScalarType::IntervalDayToSecond, "1 00:00:01.000000000"),
            Value::IntervalDayToSecond(86_401_000_000_000)
        );
        assert_eq!(
            s(ScalarType::IntervalYearToMonth, "1-2"),
            Value::IntervalYearToMonth(14)
        );
        assert_eq!(
            s(ScalarType::IntervalYearToMonth, "-0-3"),
            Value::IntervalYearToMonth(-3)
        );
        assert!(scalar(&ScalarType::Bigint, "x").is_err());
        assert!(scalar(&ScalarType::Timestamp, "2023-13-01 00:00:00").is_err());
    }

    #[test]
    fn macros_expand_and_identifiers_and_literals_are_quoted() {
        let ctx = MacroContext {
            database: Some("grid".into()),
            table: Some("read\"ings".into()),
            measure: Some("voltage_measure".into()),
            from_us: 1_700_000_000_000_000,
            to_us: 1_700_003_600_000_000,
            pixels: 1_200,
            now_us: 1_700_003_600_000_000,
        };
        let q = expand_macros(
            "SELECT * FROM $__database.$__table WHERE $__timeFilter AND measure_name = '$__measure' AND x > $__interval_ms AND t < $__now_ms AND a >= $__timeFrom AND b <= $__timeTo",
            &ctx,
        )
        .unwrap();
        assert!(q.starts_with("SELECT * FROM \"grid\".\"read\"\"ings\" WHERE time BETWEEN from_iso8601_timestamp('2023-11-14T22:13:20.000000Z') AND from_iso8601_timestamp('2023-11-14T23:13:20.000000Z')"), "{q}");
        assert!(q.contains("x > 3000 AND t < 1700003600000"), "{q}");
        assert!(!q.contains('$'), "{q}");
        let missing =
            expand_macros("SELECT 1 FROM $__table", &MacroContext::default()).unwrap_err();
        assert!(missing.contains("--table"), "{missing}");
    }

    #[test]
    fn a_hostile_device_id_is_data_never_sql() {
        let q = bucket_query(
            "db",
            "t",
            "voltage_measure",
            Some("x' OR '1'='1"),
            0,
            1000,
            Duration::from_secs(60),
        );
        assert!(q.contains("\"DeviceID\" = 'x'' OR ''1''=''1'"), "{q}");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
