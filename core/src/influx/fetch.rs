//! InfluxDB answers kept in the cache (beside Timestream's), and the cached
//! answer, marked with when it was fetched, when (only when) the server
//! cannot be reached.

use std::path::Path;

use tokio::sync::watch;

use super::{InfluxClient, InfluxError};
use crate::timestream::Fetched;

/// Runs `q` and keeps its answer under the server, database and query;
/// when the server cannot be reached, answers from the cache. Any other
/// failure (refused credentials, a bad query) is said as it is.
pub async fn fetch_with_cache(
    client: &InfluxClient,
    q: &str,
    cancelled: &watch::Receiver<bool>,
    cache: &Path,
) -> Result<Fetched, InfluxError> {
    fetch_with_cache_key(client, q, q, cancelled, cache).await
}

/// [`fetch_with_cache`], the answer kept under `key` (with the server and
/// database) instead of the query: a query over the last hour holds times
/// that move with now, and its last answer must still be found offline.
pub async fn fetch_with_cache_key(
    client: &InfluxClient,
    q: &str,
    key: &str,
    cancelled: &watch::Receiver<bool>,
    cache: &Path,
) -> Result<Fetched, InfluxError> {
    let key = format!("influxdb:{}:{}:{key}", client.url(), client.database());
    match client.query(q, cancelled).await {
        Ok(answer) => {
            let (columns, rows) = answer.table();
            let out = Fetched {
                columns,
                rows,
                ..Fetched::default()
            };
            let stored = serde_json::to_string(&out).unwrap_or_default();
            match crate::Cache::open(cache) {
                Ok(c) => {
                    if let Err(e) = c.store_history(&key, crate::time::now_us(), &stored) {
                        tracing::warn!(error = %e, "the answer was not cached");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the answer was not cached"),
            }
            Ok(out)
        }
        Err(e @ InfluxError::Unreachable { .. }) => {
            let cached = crate::CacheReader::open(cache)
                .ok()
                .and_then(|r| r.history(&key).ok().flatten());
            let Some((fetched_us, stored)) = cached else {
                return Err(e);
            };
            tracing::warn!(error = %e, "InfluxDB unreachable; answering from the cache");
            let mut out: Fetched = serde_json::from_str(&stored)
                .map_err(|p| InfluxError::Malformed(format!("the cached answer: {p}")))?;
            out.cached_at_us = Some(fetched_us);
            Ok(out)
        }
        Err(e) => Err(e),
    }
}
