//! Writing Timestream SQL: quoting that keeps user input data, and the
//! bucketed history of a measure. (Grafana's macros live in
//! [`crate::grafana`].)

use std::time::Duration;

/// Quotes an identifier (database, table, column) for Timestream SQL.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quotes a string literal for Timestream SQL: user input stays data.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

// Grafana's macros moved to `crate::grafana`, with its template variables;
// their old paths stay.
pub use crate::grafana::{MacroContext, expand_macros};

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
