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

use crate::aws::{AwsProblem, Backoff};
use crate::time::{MICROS_PER_DAY, from_civil};

/// The earliest time Gridwatch takes from the user or the data:
/// 1970-01-01T00:00:00Z, in epoch microseconds.
pub const EARLIEST_US: i64 = 0;
/// The latest: 9999-12-31T23:59:59.999999Z (Timestream's own limit too).
pub const LATEST_US: i64 = 253_402_300_799_999_999;

/// `us` when it lies in [`EARLIEST_US`]..=[`LATEST_US`]; otherwise which
/// side it fell off, for a message that names the value.
pub fn check_time_us(us: i64) -> Result<i64, &'static str> {
    if us < EARLIEST_US {
        Err("before 1970-01-01")
    } else if us > LATEST_US {
        Err("after 9999-12-31")
    } else {
        Ok(us)
    }
}

/// A query's range: both ends within 1970..9999, the end after the start.
/// Checked before any arithmetic on it, which then cannot overflow.
pub fn check_range(from_us: i64, to_us: i64) -> Result<(), String> {
    for (end, us) in [("start", from_us), ("end", to_us)] {
        check_time_us(us).map_err(|side| format!("the range's {end}, {}, is {side}", iso(us)))?;
    }
    if to_us <= from_us {
        return Err(format!(
            "the range must end after it starts ({} is not after {})",
            iso(to_us),
            iso(from_us)
        ));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum TimestreamError {
    /// AWS said no, or could not be reached; `problem` says which, so only
    /// a network failure is answered from the cache.
    #[error("{message}")]
    Aws {
        problem: AwsProblem,
        message: String,
    },
    #[error(
        "the query was stopped after metering {metered} bytes, over the cap of {cap} bytes (raise --max-bytes to allow it)"
    )]
    OverCap { metered: i64, cap: i64 },
    #[error("cannot read the result: {0}")]
    Parse(String),
    #[error("the query was cancelled")]
    Cancelled,
}

impl TimestreamError {
    /// An AWS problem, worded for Timestream.
    pub fn aws(problem: AwsProblem, detail: impl std::fmt::Display) -> TimestreamError {
        let what = match problem {
            AwsProblem::NoCredentials => "no AWS credentials for Timestream",
            AwsProblem::AccessDenied => "Timestream denied access",
            AwsProblem::NotFound => "Timestream found no such resource",
            AwsProblem::Unreachable => "Timestream is unreachable",
            AwsProblem::Throttled => {
                "Timestream is throttling the query (retried, still throttled)"
            }
            AwsProblem::Invalid => "Timestream refused the query as invalid",
            AwsProblem::Other => "Timestream refused the query",
        };
        TimestreamError::Aws {
            problem,
            message: format!("{what}: {detail}"),
        }
    }

    /// A failed SDK call, sorted by [`crate::aws::classify`].
    pub fn from_sdk<E>(
        err: &aws_sdk_timestreamquery::error::SdkError<
            E,
            aws_sdk_timestreamquery::config::http::HttpResponse,
        >,
    ) -> TimestreamError
    where
        E: aws_sdk_timestreamquery::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (problem, detail) = crate::aws::classify(err);
        TimestreamError::aws(problem, detail)
    }

    /// The AWS problem behind this error, if it is one.
    pub fn problem(&self) -> Option<AwsProblem> {
        match self {
            TimestreamError::Aws { problem, .. } => Some(*problem),
            _ => None,
        }
    }
}

/// Epoch nanoseconds. An `i128`: in an `i64` they end in 2262, and
/// Timestream's times run to 9999.
pub type EpochNanos = i128;

/// A value of the answer that Gridwatch cannot hold: it is shown as null
/// and reported, and the rest of its row stands.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error("{value:?} is not {kind}")]
    Malformed { kind: &'static str, value: String },
    #[error("{value:?} is out of range for {kind} ({range})")]
    OutOfRange {
        kind: &'static str,
        value: String,
        range: &'static str,
    },
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
    /// 1970-01-01 to 9999-12-31.
    Timestamp(EpochNanos),
    /// Days since 1970-01-01, to 9999-12-31.
    Date(i64),
    /// Nanoseconds since midnight, less than a day.
    Time(i64),
    /// Nanoseconds (an `i64` of them: about ±106,751 days).
    IntervalDayToSecond(i64),
    /// Months.
    IntervalYearToMonth(i64),
    Array(Vec<Value>),
    Row(Vec<Value>),
    /// (epoch nanoseconds, value) points, as CREATE_TIME_SERIES returns.
    TimeSeries(Vec<(EpochNanos, Value)>),
    Unknown(String),
    /// A value that could not be read (out of range, malformed).
    Invalid(ValueError),
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

/// A kind of value and the range it may take, for messages.
#[derive(Clone, Copy)]
struct Kind {
    name: &'static str,
    range: &'static str,
}

const DATE: Kind = Kind {
    name: "a date",
    range: "1970-01-01 to 9999-12-31",
};
const TIMESTAMP: Kind = Kind {
    name: "a timestamp",
    range: "1970-01-01 to 9999-12-31",
};
const TIME: Kind = Kind {
    name: "a time",
    range: "00:00:00 to 23:59:59.999999999",
};
const DAY_TO_SECOND: Kind = Kind {
    name: "a day-to-second interval",
    range: "at most 106751 days either way",
};
const YEAR_TO_MONTH: Kind = Kind {
    name: "a year-to-month interval",
    range: "at most 2^63 months either way",
};
const BIGINT: Kind = Kind {
    name: "a bigint",
    range: "-2^63 to 2^63-1",
};
const INTEGER: Kind = Kind {
    name: "an integer",
    range: "-2^31 to 2^31-1",
};

impl Kind {
    fn malformed(self, value: &str) -> ValueError {
        ValueError::Malformed {
            kind: self.name,
            value: value.to_owned(),
        }
    }

    fn out_of_range(self, value: &str) -> ValueError {
        ValueError::OutOfRange {
            kind: self.name,
            value: value.to_owned(),
            range: self.range,
        }
    }

    /// Decimal digits and nothing else (Rust's own parse takes a sign
    /// too); too many of them is out of range, not malformed.
    fn digits(self, part: &str, whole: &str) -> Result<u64, ValueError> {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.malformed(whole));
        }
        part.parse().map_err(|_| self.out_of_range(whole))
    }

    /// A signed integer of type `T`.
    fn integer<T>(self, s: &str) -> Result<T, ValueError>
    where
        T: std::str::FromStr<Err = std::num::ParseIntError>,
    {
        use std::num::IntErrorKind;
        s.parse()
            .map_err(|e: std::num::ParseIntError| match e.kind() {
                IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => self.out_of_range(s),
                _ => self.malformed(s),
            })
    }
}

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// `HH:MM:SS[.fffffffff]` to nanoseconds since midnight, under a day.
fn parse_clock(s: &str, kind: Kind, whole: &str) -> Result<i64, ValueError> {
    let (hms, frac) = match s.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (s, None),
    };
    let mut parts = hms.split(':');
    let (Some(h), Some(m), Some(sec), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(kind.malformed(whole));
    };
    let field = |part: &str, max: u64| -> Result<i64, ValueError> {
        if part.len() > 2 {
            return Err(kind.malformed(whole));
        }
        let v = kind.digits(part, whole)?;
        if v > max {
            return Err(kind.malformed(whole));
        }
        // At most two digits: fits.
        Ok(v as i64)
    };
    let (h, m, sec) = (field(h, 23)?, field(m, 59)?, field(sec, 59)?);
    let mut ns = 0i64;
    if let Some(frac) = frac {
        if frac.is_empty() || frac.len() > 9 {
            return Err(kind.malformed(whole));
        }
        // At most nine digits: fits, and so does the scale below.
        ns = kind.digits(frac, whole)? as i64 * 10i64.pow(9 - frac.len() as u32);
    }
    Ok(((h * 60 + m) * 60 + sec) * 1_000_000_000 + ns)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// `YYYY-MM-DD`, 1970-01-01 to 9999-12-31, to days since the epoch.
fn parse_date(s: &str, kind: Kind, whole: &str) -> Result<i64, ValueError> {
    let mut p = s.split('-');
    let (Some(y), Some(m), Some(d), None) = (p.next(), p.next(), p.next(), p.next()) else {
        return Err(kind.malformed(whole));
    };
    let (y, m, d) = (
        kind.digits(y, whole)?,
        kind.digits(m, whole)?,
        kind.digits(d, whole)?,
    );
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(kind.malformed(whole));
    }
    if !(1970..=9999).contains(&y) {
        return Err(kind.out_of_range(whole));
    }
    // Checked above: a year of four digits, a month and a day that exist.
    Ok(from_civil(y as i32, m as u32, d as u32, 0) / MICROS_PER_DAY)
}

/// `YYYY-MM-DD HH:MM:SS[.fffffffff]` (UTC), 1970 to 9999, to epoch
/// nanoseconds.
pub fn parse_timestamp(s: &str) -> Result<EpochNanos, ValueError> {
    let (date, clock) = s.split_once(' ').ok_or_else(|| TIMESTAMP.malformed(s))?;
    let days = parse_date(date, TIMESTAMP, s)?;
    let ns = parse_clock(clock, TIMESTAMP, s)?;
    Ok(EpochNanos::from(days) * EpochNanos::from(NANOS_PER_DAY) + EpochNanos::from(ns))
}

/// An optional leading minus.
fn sign(s: &str) -> (bool, &str) {
    match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    }
}

/// `D HH:MM:SS[.fffffffff]` (possibly negative) to nanoseconds.
fn parse_day_to_second(s: &str) -> Result<i64, ValueError> {
    let k = DAY_TO_SECOND;
    let (neg, rest) = sign(s);
    let (days, clock) = rest.split_once(' ').ok_or_else(|| k.malformed(s))?;
    let days = k.digits(days, s)?;
    let clock = parse_clock(clock, k, s)?;
    let ns = i64::try_from(days)
        .ok()
        .and_then(|d| d.checked_mul(NANOS_PER_DAY))
        .and_then(|n| n.checked_add(clock))
        .ok_or_else(|| k.out_of_range(s))?;
    Ok(if neg { -ns } else { ns })
}

/// `Y-M` (possibly negative; M under 12) to months.
fn parse_year_to_month(s: &str) -> Result<i64, ValueError> {
    let k = YEAR_TO_MONTH;
    let (neg, rest) = sign(s);
    let (y, m) = rest.split_once('-').ok_or_else(|| k.malformed(s))?;
    let (y, m) = (k.digits(y, s)?, k.digits(m, s)?);
    if m > 11 {
        return Err(k.malformed(s));
    }
    let months = i64::try_from(y)
        .ok()
        .and_then(|y| y.checked_mul(12))
        .and_then(|n| n.checked_add(m as i64))
        .ok_or_else(|| k.out_of_range(s))?;
    Ok(if neg { -months } else { months })
}

/// One scalar of type `kind` as Timestream writes it.
pub fn scalar(kind: &ScalarType, s: &str) -> Result<Value, ValueError> {
    Ok(match kind {
        ScalarType::Varchar => Value::Varchar(s.to_owned()),
        ScalarType::Double => Value::Double(match s {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ => s.parse().map_err(|_| ValueError::Malformed {
                kind: "a double",
                value: s.to_owned(),
            })?,
        }),
        ScalarType::Bigint => Value::Bigint(BIGINT.integer(s)?),
        ScalarType::Integer => Value::Integer(INTEGER.integer(s)?),
        ScalarType::Boolean => Value::Boolean(match s {
            "true" => true,
            "false" => false,
            _ => {
                return Err(ValueError::Malformed {
                    kind: "a boolean",
                    value: s.to_owned(),
                });
            }
        }),
        ScalarType::Timestamp => Value::Timestamp(parse_timestamp(s)?),
        ScalarType::Date => Value::Date(parse_date(s, DATE, s)?),
        ScalarType::Time => Value::Time(parse_clock(s, TIME, s)?),
        ScalarType::IntervalDayToSecond => Value::IntervalDayToSecond(parse_day_to_second(s)?),
        ScalarType::IntervalYearToMonth => Value::IntervalYearToMonth(parse_year_to_month(s)?),
        other => Value::Unknown(format!("{other:?}: {s}")),
    })
}

/// One datum of a column of type `kind`.
pub fn value(kind: &ColumnType, d: &Datum) -> Result<Value, ValueError> {
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

/// A cell: its value, or what made it unreadable. One bad value never
/// costs the rest of the answer.
pub fn cell(kind: &ColumnType, d: &Datum) -> Value {
    value(kind, d).unwrap_or_else(Value::Invalid)
}

/// What a finished query cost and returned.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct QueryStats {
    pub pages: u64,
    pub rows: u64,
    pub bytes_scanned: i64,
    pub bytes_metered: i64,
}

/// Waits until `cancelled` turns true; forever if it never can.
async fn cancel_requested(cancelled: &mut tokio::sync::watch::Receiver<bool>) {
    if cancelled.wait_for(|c| *c).await.is_err() {
        // The sender is gone: nobody can cancel any more.
        std::future::pending::<()>().await;
    }
}

/// Asks Timestream to stop running (and metering) a query. Best effort:
/// the caller's error says what happened either way, and the log says if
/// the query may still run.
async fn cancel_query(client: &Client, query_id: &str) {
    let sent = crate::aws::retry("Timestream CancelQuery", &Backoff::default(), || {
        client.cancel_query().query_id(query_id).send()
    })
    .await;
    match sent {
        Ok(_) => tracing::info!(query_id, "cancelled the query on the server"),
        Err(e) => tracing::warn!(
            query_id,
            error = %crate::aws::classify(&e).1,
            "CancelQuery failed: the query may run (and meter) to its end"
        ),
    }
}

/// A fresh ClientToken (32 hex digits, Timestream's shortest).
fn client_token() -> String {
    format!(
        "{:016x}{:016x}",
        crate::aws::random_u64(),
        crate::aws::random_u64()
    )
}

/// Runs `sql` to the last page, calling `on_page` with each page's rows as
/// it arrives. Each page is retried on throttling and transient failures
/// ([`crate::aws::retry`]). Stops, and cancels the query on the server with
/// CancelQuery, when the bytes metered pass `max_bytes` or when `cancelled`
/// turns true: at once when the query's id is known (it comes with the
/// first page), else as soon as the first page brings it.
pub async fn run_query(
    client: &Client,
    sql: &str,
    max_bytes: Option<i64>,
    cancelled: &tokio::sync::watch::Receiver<bool>,
    mut on_page: impl FnMut(&[Column], Vec<Vec<Value>>),
) -> Result<QueryStats, TimestreamError> {
    enum Step<T> {
        Page(T),
        Cancel,
    }
    let mut cancelled = cancelled.clone();
    let backoff = Backoff::default();
    let mut stats = QueryStats::default();
    let mut token: Option<String> = None;
    let mut cols: Vec<Column> = Vec::new();
    let mut query_id: Option<String> = None;
    loop {
        if *cancelled.borrow() {
            if let Some(id) = &query_id {
                cancel_query(client, id).await;
            }
            return Err(TimestreamError::Cancelled);
        }
        let out = {
            // One token for every try of a page: Timestream answers a
            // repeated ClientToken from the query it already ran instead
            // of running (and metering) it again.
            let idempotency = client_token();
            let page = crate::aws::retry("Timestream Query", &backoff, || {
                client
                    .query()
                    .query_string(sql)
                    .set_next_token(token.clone())
                    .client_token(&idempotency)
                    .send()
            });
            let mut page = std::pin::pin!(page);
            let step = tokio::select! {
                out = &mut page => Step::Page(out),
                () = cancel_requested(&mut cancelled) => Step::Cancel,
            };
            match step {
                Step::Page(out) => out.map_err(|e| TimestreamError::from_sdk(&e))?,
                Step::Cancel => {
                    let id = match query_id {
                        Some(id) => Some(id),
                        // The id comes with the first page: wait for it,
                        // or the query cannot be cancelled at all.
                        None => {
                            tracing::info!(
                                "cancelled before the first page: waiting for the query's id to cancel it"
                            );
                            page.await.ok().map(|o| o.query_id().to_owned())
                        }
                    };
                    if let Some(id) = id {
                        cancel_query(client, &id).await;
                    }
                    return Err(TimestreamError::Cancelled);
                }
            }
        };
        if query_id.is_none() {
            query_id = Some(out.query_id().to_owned());
        }
        stats.pages += 1;
        if cols.is_empty() {
            cols = columns(out.column_info());
        }
        if let Some(status) = out.query_status() {
            stats.bytes_scanned = status.cumulative_bytes_scanned();
            stats.bytes_metered = status.cumulative_bytes_metered();
        }
        let rows: Vec<Vec<Value>> = out
            .rows()
            .iter()
            .map(|row| {
                cols.iter()
                    .zip(row.data())
                    .map(|(c, d)| cell(&c.kind, d))
                    .collect()
            })
            .collect();
        stats.rows += rows.len() as u64;
        on_page(&cols, rows);
        if let Some(cap) = max_bytes
            && stats.bytes_metered > cap
        {
            cancel_query(client, out.query_id()).await;
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
/// Credentials are resolved first, so a missing profile reads as "no
/// credentials" rather than as a failed endpoint discovery.
pub async fn query_client(options: &crate::aws::AwsOptions) -> Result<Client, TimestreamError> {
    let conf = crate::probe::sdk_config(options)
        .await
        .map_err(|(problem, message)| TimestreamError::Aws { problem, message })?;
    if options.endpoint_url.is_some() {
        return Ok(Client::new(&conf));
    }
    let (client, reloader) = Client::new(&conf)
        .with_endpoint_discovery_enabled()
        .await
        .map_err(|e| {
            type Discovery = aws_sdk_timestreamquery::error::SdkError<
                aws_sdk_timestreamquery::operation::describe_endpoints::DescribeEndpointsError,
                aws_sdk_timestreamquery::config::http::HttpResponse,
            >;
            match e.downcast_ref::<Discovery>() {
                Some(sdk) => TimestreamError::from_sdk(sdk),
                None => TimestreamError::aws(
                    AwsProblem::Unreachable,
                    format!("endpoint discovery failed: {e}"),
                ),
            }
        })?;
    tokio::spawn(reloader.reload_task());
    Ok(client)
}

/// A typed value as JSON: times as RFC 3339, intervals spelled out, series
/// as points, BIGINTs past 2^53 exact; an unreadable value as null (it is
/// reported on its own).
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Null | Value::Invalid(_) => serde_json::Value::Null,
        Value::Varchar(s) | Value::Unknown(s) => json!(s),
        Value::Double(f) if f.is_finite() => json!(f),
        Value::Double(f) => json!(f.to_string()),
        Value::Bigint(i) => json!(i),
        Value::Integer(i) => json!(i),
        Value::Boolean(b) => json!(b),
        Value::Timestamp(ns) => json!(format_ns(*ns)),
        Value::Date(d) => json!(format_date(*d)),
        Value::Time(ns) => json!(format_clock(*ns)),
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

/// Epoch nanoseconds as RFC 3339 UTC, with the fraction only when there is
/// one. Total: past what the calendar holds, the number itself.
pub fn format_ns(ns: EpochNanos) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let Some(us) = secs
        .checked_mul(1_000_000)
        .and_then(|us| i64::try_from(us).ok())
    else {
        return format!("{ns} ns after 1970-01-01");
    };
    let c = crate::time::civil(us);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    match ns.rem_euclid(1_000_000_000) {
        0 => format!("{base}Z"),
        frac => format!("{base}.{frac:09}Z"),
    }
}

/// Days since the epoch as `YYYY-MM-DD`. Total, like [`format_ns`].
fn format_date(days: i64) -> String {
    match days.checked_mul(MICROS_PER_DAY) {
        Some(us) => {
            let c = crate::time::civil(us);
            format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
        }
        None => format!("{days} days after 1970-01-01"),
    }
}

/// Nanoseconds since midnight as `HH:MM:SS[.fffffffff]`. Total: hours
/// past 23 are written as they are, never wrapped into a day.
fn format_clock(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    let (secs, frac) = (abs / 1_000_000_000, abs % 1_000_000_000);
    let base = format!(
        "{sign}{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac == 0 {
        base
    } else {
        format!("{base}.{frac:09}")
    }
}

/// A result as people and the cache keep it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fetched {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Values that could not be read (shown as null): where, and why.
    #[serde(default)]
    pub problems: Vec<String>,
    #[serde(skip)]
    pub stats: QueryStats,
    /// When the result was fetched, if it came from the cache (offline).
    #[serde(skip)]
    pub cached_at_us: Option<i64>,
}

/// The most unreadable values [`Fetched::problems`] names one by one.
const PROBLEMS_LISTED: usize = 100;

/// Runs `sql` to the end and keeps the result in the cache at `cache`;
/// when Timestream cannot be reached (the network: a refused connection, a
/// timeout), answers from the cache instead, saying when that answer was
/// fetched. Any other failure (access denied, an invalid query,
/// throttling) is said as it is: a cached answer would hide it.
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
        let mut unreadable = 0usize;
        out.stats = run_query(&client, sql, max_bytes, cancelled, |cols, page| {
            if out.columns.is_empty() {
                out.columns = cols.iter().map(|c| c.name.clone()).collect();
            }
            for row in page {
                for (c, v) in cols.iter().zip(&row) {
                    if let Value::Invalid(e) = v {
                        unreadable += 1;
                        if out.problems.len() < PROBLEMS_LISTED {
                            out.problems.push(format!(
                                "row {}, column {}: {e}",
                                out.rows.len() + 1,
                                c.name
                            ));
                        }
                    }
                }
                out.rows.push(row.iter().map(to_json).collect());
            }
        })
        .await?;
        if unreadable > PROBLEMS_LISTED {
            out.problems.push(format!(
                "and {} more unreadable values",
                unreadable - PROBLEMS_LISTED
            ));
        }
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
        Err(e) if e.problem() == Some(AwsProblem::Unreachable) => {
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
        Err(e) => Err(e),
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
    /// The range is checked first ([`check_range`]), so any context gives
    /// an answer or an error, never an overflow.
    pub fn interval_ms(&self) -> Result<i64, String> {
        check_range(self.from_us, self.to_us)?;
        // In range: the difference is positive and far from overflowing.
        let span_ms = (self.to_us - self.from_us) / 1000;
        Ok((span_ms / i64::from(self.pixels.max(1))).max(1))
    }
}

/// Epoch microseconds as ISO 8601 with six fractional digits, as
/// Timestream's from_iso8601_timestamp takes them. Total over `i64` (only
/// checked times reach a query; others reach error messages).
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
/// query. A macro whose value is unknown, or whose time is out of range,
/// is an error naming it.
pub fn expand_macros(sql: &str, ctx: &MacroContext) -> Result<String, String> {
    let range = || check_range(ctx.from_us, ctx.to_us);
    let from = || {
        range()?;
        Ok(format!(
            "from_iso8601_timestamp({})",
            quote_literal(&iso(ctx.from_us))
        ))
    };
    let to = || {
        range()?;
        Ok(format!(
            "from_iso8601_timestamp({})",
            quote_literal(&iso(ctx.to_us))
        ))
    };
    let need = |v: &Option<String>, name: &str, flag: &str| -> Result<String, String> {
        v.as_deref()
            .map(quote_ident)
            .ok_or_else(|| format!("the query uses ${name} but no {flag} was given"))
    };
    let pairs: Vec<(&str, Expansion<'_>)> = vec![
        (
            "$__timeFilter",
            Box::new(|| Ok(format!("time BETWEEN {} AND {}", from()?, to()?))),
        ),
        ("$__timeFrom", Box::new(from)),
        ("$__timeTo", Box::new(to)),
        (
            "$__interval_ms",
            Box::new(|| ctx.interval_ms().map(|ms| ms.to_string())),
        ),
        (
            "$__now_ms",
            Box::new(|| {
                check_time_us(ctx.now_us)
                    .map(|now| (now / 1000).to_string())
                    .map_err(|side| format!("now, {}, is {side}", iso(ctx.now_us)))
            }),
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
    // One pass over the query: what a macro expands to (a quoted name, say)
    // is never expanded again.
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find("$__") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match pairs.iter().find(|(name, _)| tail.starts_with(name)) {
            Some((name, value)) => {
                out.push_str(&value()?);
                rest = &tail[name.len()..];
            }
            None => {
                out.push_str("$__");
                rest = &tail["$__".len()..];
            }
        }
    }
    out.push_str(rest);
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
    fn times_past_2262_and_up_to_9999_are_read_exactly() {
        // Nanoseconds overflow an i64 in 2262: these overflowed (a panic in
        // debug builds, a wrapped time in release).
        let s = |t: ScalarType, v: &str| to_json(&scalar(&t, v).unwrap());
        assert_eq!(s(ScalarType::Date, "2300-01-01"), "2300-01-01");
        assert_eq!(
            s(ScalarType::Timestamp, "2300-01-01 00:00:00.000000001"),
            "2300-01-01T00:00:00.000000001Z"
        );
        assert_eq!(
            s(ScalarType::Timestamp, "9999-12-31 23:59:59.999999999"),
            "9999-12-31T23:59:59.999999999Z"
        );
        assert_eq!(s(ScalarType::Date, "2024-02-29"), "2024-02-29");
        assert_eq!(
            s(ScalarType::Time, "23:59:59.999999999"),
            "23:59:59.999999999"
        );
        assert_eq!(s(ScalarType::Time, "00:00:00"), "00:00:00");
    }

    #[test]
    fn values_out_of_range_are_typed_errors_naming_them() {
        let e = |t: ScalarType, v: &str| scalar(&t, v).unwrap_err().to_string();
        assert_eq!(
            e(ScalarType::Timestamp, "2147483647-01-01 00:00:00.000000000"),
            "\"2147483647-01-01 00:00:00.000000000\" is out of range for a timestamp (1970-01-01 to 9999-12-31)"
        );
        assert_eq!(
            e(ScalarType::Date, "10000-01-01"),
            "\"10000-01-01\" is out of range for a date (1970-01-01 to 9999-12-31)"
        );
        assert_eq!(
            e(ScalarType::Date, "1969-12-31"),
            "\"1969-12-31\" is out of range for a date (1970-01-01 to 9999-12-31)"
        );
        assert_eq!(
            e(ScalarType::Date, "99999999999999999999999-01-01"),
            "\"99999999999999999999999-01-01\" is out of range for a date (1970-01-01 to 9999-12-31)"
        );
        assert_eq!(
            e(ScalarType::Date, "2023-02-29"),
            "\"2023-02-29\" is not a date"
        );
        assert_eq!(
            e(ScalarType::Time, "9223372036854775807:00:00"),
            "\"9223372036854775807:00:00\" is not a time"
        );
        assert_eq!(
            e(ScalarType::Time, "24:00:00"),
            "\"24:00:00\" is not a time"
        );
        assert_eq!(
            e(ScalarType::Time, "-1:00:00"),
            "\"-1:00:00\" is not a time"
        );
        assert_eq!(
            e(ScalarType::IntervalDayToSecond, "106752 00:00:00.000000000"),
            "\"106752 00:00:00.000000000\" is out of range for a day-to-second interval (at most 106751 days either way)"
        );
        assert_eq!(
            scalar(
                &ScalarType::IntervalDayToSecond,
                "-106751 00:00:00.000000000"
            )
            .unwrap(),
            Value::IntervalDayToSecond(-106_751 * NANOS_PER_DAY)
        );
        assert_eq!(
            e(ScalarType::IntervalYearToMonth, "768614336404564651-0"),
            "\"768614336404564651-0\" is out of range for a year-to-month interval (at most 2^63 months either way)"
        );
        assert_eq!(
            e(ScalarType::Bigint, "9223372036854775808"),
            "\"9223372036854775808\" is out of range for a bigint (-2^63 to 2^63-1)"
        );
        assert_eq!(
            e(ScalarType::Integer, "-2147483649"),
            "\"-2147483649\" is out of range for an integer (-2^31 to 2^31-1)"
        );
    }

    #[test]
    fn any_value_writes_as_json_without_panicking() {
        for v in [
            Value::Date(i64::MAX),
            Value::Date(i64::MIN),
            Value::Time(i64::MIN),
            Value::Timestamp(i128::MAX),
            Value::Timestamp(i128::MIN),
            Value::IntervalDayToSecond(i64::MIN),
            Value::TimeSeries(vec![(i128::MIN, Value::Null)]),
        ] {
            assert!(!to_json(&v).is_null(), "{v:?}");
        }
        assert_eq!(
            to_json(&Value::Date(i64::MAX)),
            "9223372036854775807 days after 1970-01-01"
        );
        assert_eq!(to_json(&Value::Time(90_000_000_000_000)), "25:00:00");
        assert!(to_json(&Value::Invalid(DATE.malformed("x"))).is_null());
    }

    #[test]
    fn the_interval_of_an_absurd_range_is_an_error_not_an_overflow() {
        let ctx = |from_us, to_us, pixels| MacroContext {
            from_us,
            to_us,
            pixels,
            ..MacroContext::default()
        };
        // i64::MAX - i64::MIN overflowed: a panic in debug builds.
        let e = ctx(i64::MIN, i64::MAX, 1).interval_ms().unwrap_err();
        assert_eq!(
            e,
            "the range's start, -290308-12-21T19:59:05.224192Z, is before 1970-01-01"
        );
        let e = ctx(0, LATEST_US + 1, 1).interval_ms().unwrap_err();
        assert_eq!(
            e,
            "the range's end, 10000-01-01T00:00:00.000000Z, is after 9999-12-31"
        );
        assert_eq!(ctx(0, LATEST_US, 1).interval_ms(), Ok(LATEST_US / 1000));
        assert_eq!(ctx(0, 1_000, 0).interval_ms(), Ok(1));
        let e = expand_macros("SELECT $__interval_ms", &ctx(5, 5, 10)).unwrap_err();
        assert!(e.contains("must end after it starts"), "{e}");
        let e = expand_macros("WHERE $__timeFilter", &ctx(0, i64::MAX, 10)).unwrap_err();
        assert!(e.contains("is after 9999-12-31"), "{e}");
        let now = MacroContext {
            now_us: -1,
            ..MacroContext::default()
        };
        let e = expand_macros("SELECT $__now_ms", &now).unwrap_err();
        assert!(e.contains("is before 1970-01-01"), "{e}");
    }

    #[test]
    fn an_expansion_is_never_expanded_again() {
        let ctx = MacroContext {
            database: Some("$__table".into()),
            table: Some("t".into()),
            ..MacroContext::default()
        };
        assert_eq!(
            expand_macros("FROM $__database.$__table, $__unknown", &ctx).unwrap(),
            "FROM \"$__table\".\"t\", $__unknown"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn scalar_type() -> impl Strategy<Value = ScalarType> {
            prop::sample::select(vec![
                ScalarType::Varchar,
                ScalarType::Double,
                ScalarType::Bigint,
                ScalarType::Integer,
                ScalarType::Boolean,
                ScalarType::Timestamp,
                ScalarType::Date,
                ScalarType::Time,
                ScalarType::IntervalDayToSecond,
                ScalarType::IntervalYearToMonth,
                ScalarType::from("UNKNOWN"),
                ScalarType::from("A_FUTURE_TYPE"),
            ])
        }

        /// Strings shaped like Timestream's scalars (digits in every field,
        /// of any length), where the edge cases live.
        const SHAPED: &str = r"-?[0-9]{0,25}(-[0-9]{0,25}(-[0-9]{0,25})?)?( -?[0-9]{0,25}(:[0-9]{0,25}(:[0-9]{0,25}(\.[0-9]{0,12})?)?)?)?";

        fn in_range(v: &Value) -> bool {
            let max_ns = i128::from(LATEST_US) * 1000 + 999;
            match v {
                Value::Timestamp(ns) => (0..=max_ns).contains(ns),
                Value::Date(d) => (0..=LATEST_US / MICROS_PER_DAY).contains(d),
                Value::Time(ns) => (0..NANOS_PER_DAY).contains(ns),
                _ => true,
            }
        }

        proptest! {
            #[test]
            fn any_string_of_any_type_is_a_value_or_an_error(t in scalar_type(), s in any::<String>()) {
                if let Ok(v) = scalar(&t, &s) {
                    prop_assert!(in_range(&v), "{s:?} gave {v:?}");
                    let _ = to_json(&v);
                }
            }

            #[test]
            fn shaped_strings_of_any_type_are_a_value_in_range_or_an_error(t in scalar_type(), s in SHAPED) {
                match scalar(&t, &s) {
                    Ok(v) => {
                        prop_assert!(in_range(&v), "{s:?} gave {v:?}");
                        let _ = to_json(&v);
                    }
                    Err(e) => prop_assert!(e.to_string().contains(&format!("{s:?}")), "{e}"),
                }
            }

            #[test]
            fn timestamps_in_range_read_back_as_written(days in 0..=LATEST_US / MICROS_PER_DAY, ns in 0..NANOS_PER_DAY) {
                let t = i128::from(days) * i128::from(NANOS_PER_DAY) + i128::from(ns);
                let written = format_ns(t); // 2023-11-14T22:13:20.123456789Z
                let timestream = written.replace('T', " ").replace('Z', "");
                prop_assert_eq!(parse_timestamp(&timestream), Ok(t));
            }

            #[test]
            fn macros_expand_or_fail_for_any_range(
                from_us in any::<i64>(),
                to_us in any::<i64>(),
                now_us in any::<i64>(),
                pixels in any::<u32>(),
                sql in r"(\$__(timeFilter|timeFrom|timeTo|interval_ms|now_ms|database|table|measure|x)| |[a-z]{1,3}){0,8}",
            ) {
                let ctx = MacroContext {
                    database: Some("grid".into()),
                    table: Some("readings".into()),
                    measure: Some("voltage_measure".into()),
                    from_us,
                    to_us,
                    pixels,
                    now_us,
                };
                if let Ok(q) = expand_macros(&sql, &ctx) {
                    prop_assert!(!q.contains("$__time") && !q.contains("$__interval_ms"), "{q}");
                }
                let sane = check_range(from_us, to_us).is_ok();
                prop_assert_eq!(ctx.interval_ms().is_ok(), sane);
                if let Ok(ms) = ctx.interval_ms() {
                    prop_assert!(ms >= 1);
                    prop_assert_eq!(ms, ((to_us - from_us) / 1000 / i64::from(pixels.max(1))).max(1));
                }
            }

            #[test]
            fn macros_in_range_always_expand(
                from_us in 0..=LATEST_US - 1,
                len in 1..=LATEST_US,
                now_us in 0..=LATEST_US,
                pixels in any::<u32>(),
            ) {
                let to_us = from_us.saturating_add(len).min(LATEST_US);
                prop_assume!(to_us > from_us);
                let ctx = MacroContext {
                    from_us,
                    to_us,
                    pixels,
                    now_us,
                    ..MacroContext::default()
                };
                let q = expand_macros("$__timeFilter $__interval_ms $__now_ms", &ctx).unwrap();
                prop_assert!(q.starts_with("time BETWEEN from_iso8601_timestamp('"), "{q}");
            }
        }
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
