//! Timestream's answer as typed values: the column types a result
//! describes, each datum read into a [`Value`] (an unreadable one becomes
//! [`Value::Invalid`], never the end of the answer), and values as JSON.

use aws_sdk_timestreamquery::types::{ColumnInfo, Datum, ScalarType};

use gridwatch_codec::timestream_text::{
    BIGINT, DATE, INTEGER, TIME, format_clock, format_date, format_ns, parse_clock, parse_date,
    parse_day_to_second, parse_timestamp, parse_year_to_month,
};
pub use gridwatch_codec::timestream_text::{EpochNanos, ValueError};

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
