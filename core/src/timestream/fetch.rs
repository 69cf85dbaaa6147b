//! A result as people and the cache keep it, and the answer from the cache
//! when (only when) Timestream cannot be reached.

use super::{QueryStats, TimestreamError, Value, query_client, run_query, to_json};
use crate::aws::AwsProblem;

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

impl Fetched {
    /// The answer as a table the views show and export: numbers as numbers,
    /// strings as text, nulls (values that could not be read) as nulls.
    pub fn table(&self) -> gridwatch_types::ResultTable {
        use gridwatch_types::Cell;
        let cell = |v: &serde_json::Value| match v {
            serde_json::Value::Null => Cell::Null,
            serde_json::Value::Number(n) => n.as_f64().map_or(Cell::Null, Cell::Number),
            serde_json::Value::String(s) => Cell::Text(s.clone()),
            other => Cell::Text(other.to_string()),
        };
        gridwatch_types::ResultTable {
            columns: self.columns.clone(),
            rows: self
                .rows
                .iter()
                .map(|r| r.iter().map(cell).collect())
                .collect(),
            skipped: self.problems.clone(),
            lake_dir: String::new(),
        }
    }
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
    fetch_with_cache_key(options, sql, sql, max_bytes, cancelled, cache).await
}

/// [`fetch_with_cache`], the answer kept under `key` instead of the SQL:
/// a dashboard panel's SQL holds the range's times, which move with now,
/// and its last answer must still be found offline.
pub async fn fetch_with_cache_key(
    options: &crate::aws::AwsOptions,
    sql: &str,
    key: &str,
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
                    if let Err(e) = c.store_history(key, crate::time::now_us(), &stored) {
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
                .and_then(|r| r.history(key).ok().flatten());
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
