//! Amazon Timestream history: queries paged to the end, every result type
//! parsed, Grafana's macros, safe quoting, and a cap on what a query may
//! cost.
//!
//! Users of the Grafana data source keep reporting truncated results (only
//! the first page fetched): [`run_query`] follows NextToken to the end and
//! hands rows over as each page arrives. It stops, and cancels the query on
//! the server, when the bytes metered pass the caller's cap.
//!
//! The parts, one concern each (everything public is re-exported here):
//!
//! - `query`: one query run on the server, page by page, cancellable.
//! - `fetch`: a result as people and the cache keep it; the cache when
//!   Timestream is unreachable.
//! - `value`: column types and each datum as a typed [`Value`], and JSON.
//! - `text`: Timestream's text for times, dates and intervals, both ways.
//! - `sql`: quoting, the bucketed history query (Grafana's macros are in
//!   [`crate::grafana`], re-exported here).
//!
//! Here: the range every query and macro is checked against, and the error.

use crate::aws::AwsProblem;
use gridwatch_types::time::format_time_micros as iso;

// The calendar limits live with the rest of the time rules.
pub use gridwatch_types::time::{EARLIEST_US, LATEST_US, check_time_us};

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

mod fetch;
mod query;
mod sql;
mod value;

pub use fetch::{Fetched, fetch_with_cache, fetch_with_cache_key};
pub use gridwatch_codec::timestream_text::{format_ns, parse_timestamp};
pub use query::{QueryStats, query_client, run_query};
pub use sql::{MacroContext, bucket_query, expand_macros, quote_ident, quote_literal};
pub use value::{
    Column, ColumnType, EpochNanos, Value, ValueError, cell, columns, scalar, to_json, value,
};

#[cfg(test)]
mod tests;
