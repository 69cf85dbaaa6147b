//! InfluxDB, for the customers AWS sends to Amazon Timestream for InfluxDB:
//! one client over the v1-compatible HTTP API every InfluxDB line serves
//! (1.x; 2.x through its DBRP mapping; 3.x Core and Enterprise): InfluxQL
//! on `/query`, line protocol on `/write`.
//!
//! - [`client`]: the connection, its credentials (environment or AWS
//!   Secrets Manager, never disk), ping, query and write with retries.
//! - [`answer`]: `/query`'s JSON (chunked or not) read into typed rows,
//!   statement errors inside a 200 said as errors.
//! - [`influxql`]: the History buckets in InfluxQL, names and strings
//!   quoted, and Grafana's InfluxDB macros.
//! - [`line`]: readings as line protocol, the bridge's layout.
//! - [`fetch`]: answers kept in the cache, served (marked) when the server
//!   cannot be reached.

pub mod answer;
pub mod client;
pub mod fetch;
pub mod influxql;
pub mod line;

pub use answer::{Answer, Datum, Series, parse_answer};
pub use client::{Auth, InfluxClient};
pub use fetch::{fetch_with_cache, fetch_with_cache_key};

/// What went wrong talking to InfluxDB, each said as the operator can act
/// on it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InfluxError {
    /// No answer at all (refused, timed out, name not found): the only
    /// failure the cache may stand in for.
    #[error("InfluxDB at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error(
        "InfluxDB refused the credentials ({status}): set INFLUX_TOKEN, or INFLUX_USERNAME and INFLUX_PASSWORD, or name the AWS Secrets Manager secret that holds them"
    )]
    Unauthorized { status: u16 },
    #[error("InfluxDB has no database {0:?}")]
    DatabaseNotFound(String),
    /// The server refused the query (a syntax error, a bad field).
    #[error("InfluxDB refused the query: {0}")]
    Query(String),
    /// A status the server should not answer with (after retries for the
    /// ones worth retrying).
    #[error("InfluxDB answered {status}: {body}")]
    Server { status: u16, body: String },
    /// An answer that is not what InfluxDB writes (or was cut short).
    #[error("InfluxDB's answer could not be read: {0}")]
    Malformed(String),
    #[error("the credentials: {0}")]
    Credentials(String),
    #[error("{0}")]
    Invalid(String),
    #[error("cancelled")]
    Cancelled,
}

impl InfluxError {
    /// Worth another try: throttling, a server error, no answer.
    pub fn is_transient(&self) -> bool {
        match self {
            InfluxError::Unreachable { .. } => true,
            InfluxError::Server { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}
