//! Writing Timestream SQL: quoting that keeps user input data, Grafana's
//! macros, and the bucketed history of a measure.

use std::time::Duration;

use super::{check_range, check_time_us};
use gridwatch_types::time::format_time_micros as iso;

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
