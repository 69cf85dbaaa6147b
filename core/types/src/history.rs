//! History from Timestream.

use serde::{Deserialize, Serialize};

use crate::ResultTable;

/// Where Timestream history lives, and how to reach it (no secrets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimestreamConnection {
    pub database: String,
    pub table: String,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// A history request: a chart of one measure (aggregated on the server to
/// the chart's width) or, with `sql`, the operator's own query (Grafana's
/// macros expanded).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    pub connection: TimestreamConnection,
    pub sql: Option<String>,
    pub device: Option<String>,
    pub measure: String,
    pub from_us: i64,
    pub to_us: i64,
    pub pixels: u32,
    /// Stop the query once it has metered more bytes than this.
    pub max_bytes: Option<i64>,
    /// The template variables the SQL uses (`$device`, `${measure:csv}`),
    /// with their selections.
    #[serde(default)]
    pub variables: Vec<crate::Variable>,
    /// Ask InfluxDB (Timestream for InfluxDB) instead of Timestream: the
    /// SQL is then InfluxQL with Grafana's InfluxDB macros.
    #[serde(default)]
    pub influx: Option<crate::InfluxConnection>,
    /// The range as the operator chose it when it ends now (`last 3600 s`):
    /// the answer is cached under it rather than under times that move, so
    /// offline the last answer for that range is found.
    #[serde(default)]
    pub range_label: Option<String>,
}

/// The template variables of the operator's SQL, each with the values its
/// picker offers, and what went wrong filling them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryVariables {
    /// In order of first use in the SQL.
    pub variables: Vec<crate::Variable>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryResult {
    pub table: ResultTable,
    /// The SQL that ran, macros expanded.
    pub sql: String,
    pub bytes_scanned: i64,
    pub bytes_metered: i64,
    /// Set when Timestream was unreachable and this is the cached answer,
    /// fetched at this time.
    pub cached_at_us: Option<i64>,
}
