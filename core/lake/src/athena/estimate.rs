//! What a query will scan, before it runs: the sizes of the objects under
//! the range's partitions (S3 ListObjectsV2, many prefixes at once), and
//! what Athena bills for it.

use std::sync::Arc;

use super::AthenaError;

/// Where the table's extracts are in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    /// The key prefix before `year=…`, ending in `/` (or empty).
    pub prefix: String,
}

impl Location {
    /// `s3://bucket/some/prefix/` (a table's LOCATION).
    pub fn parse(url: &str) -> Option<Location> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        let prefix = prefix.trim_matches('/');
        Some(Location {
            bucket: bucket.to_string(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }

    /// The key prefix of one hour's partition.
    pub fn hour_prefix(&self, hour_us: i64) -> String {
        format!(
            "{}{}/",
            self.prefix,
            crate::partition::hour_path_at(hour_us)
        )
    }
}

/// A query's scan, estimated (it crosses to the app: defined with the
/// shared types).
pub use gridwatch_types::ScanEstimate;

/// Athena's smallest bill for a query, and its unit.
const MIN_BILLED: u64 = 10_000_000;
const BILLED_UNIT: u64 = 1_000_000;

/// The bill for scanning `bytes` at `usd_per_tb`.
pub fn billed(bytes: u64, usd_per_tb: f64) -> (u64, f64) {
    let billed = bytes
        .div_ceil(BILLED_UNIT)
        .saturating_mul(BILLED_UNIT)
        .max(MIN_BILLED);
    (billed, billed as f64 / 1e12 * usd_per_tb)
}

/// Bytes for people, as AWS bills them (with the shared types: the app
/// says them too).
pub use gridwatch_types::bytes_text;

/// Prefixes listed at once for an estimate.
pub const LISTING_CONCURRENCY: usize = 64;

/// What Athena bills for the bytes it says it scanned.
pub fn cost_of_scan(scanned_bytes: Option<i64>, usd_per_tb: f64) -> Option<f64> {
    scanned_bytes.map(|b| billed(u64::try_from(b).unwrap_or(0), usd_per_tb).1)
}

/// Lists the range's partitions under `location`, [`LISTING_CONCURRENCY`]
/// prefixes at a time, and sums what is there. Whole months and days are listed as
/// one prefix each (S3 pages 1,000 keys: never more requests than a prefix
/// an hour, and far fewer for a sparse lake).
pub async fn estimate(
    s3: &aws_sdk_s3::Client,
    location: &Location,
    (from_us, to_us): (i64, i64),
    usd_per_tb: f64,
) -> Result<ScanEstimate, AthenaError> {
    let prefixes: Vec<String> = super::sql::partition_spans(from_us, to_us)
        .iter()
        .flat_map(super::sql::Span::prefixes)
        .map(|p| format!("{}{p}", location.prefix))
        .collect();
    let mut found = estimate_prefixes(
        s3,
        &location.bucket,
        &prefixes,
        usd_per_tb,
        LISTING_CONCURRENCY,
    )
    .await?;
    found.partitions = super::sql::partition_hours(from_us, to_us).len() as u64;
    Ok(found)
}

/// [`estimate`] one prefix an hour, as a plain listing would: the
/// baseline the coarser prefixes are measured against.
pub async fn estimate_hourly(
    s3: &aws_sdk_s3::Client,
    location: &Location,
    (from_us, to_us): (i64, i64),
    usd_per_tb: f64,
    concurrency: usize,
) -> Result<ScanEstimate, AthenaError> {
    let prefixes: Vec<String> = super::sql::partition_hours(from_us, to_us)
        .iter()
        .map(|&h| location.hour_prefix(h))
        .collect();
    estimate_prefixes(s3, &location.bucket, &prefixes, usd_per_tb, concurrency).await
}

/// Lists each prefix, `concurrency` at a time, and sums what is there
/// (`partitions`: the prefixes).
pub async fn estimate_prefixes(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefixes: &[String],
    usd_per_tb: f64,
    concurrency: usize,
) -> Result<ScanEstimate, AthenaError> {
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for prefix in prefixes {
        let s3 = s3.clone();
        let bucket = bucket.to_string();
        let prefix = prefix.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            // The semaphore is never closed: acquire fails only then.
            let _permit = permits.acquire_owned().await;
            list_prefix(&s3, &bucket, &prefix).await
        });
    }
    let (mut objects, mut bytes) = (0u64, 0u64);
    while let Some(done) = tasks.join_next().await {
        let (n, b) = done.map_err(|e| AthenaError::Answer(format!("listing stopped: {e}")))??;
        objects += n;
        bytes += b;
    }
    let (billed_bytes, cost_usd) = billed(bytes, usd_per_tb);
    Ok(ScanEstimate {
        partitions: prefixes.len() as u64,
        objects,
        bytes,
        billed_bytes,
        cost_usd,
    })
}

/// Objects and bytes under one prefix, every page.
async fn list_prefix(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<(u64, u64), AthenaError> {
    let backoff = gridwatch_core::aws::Backoff::default();
    let (mut objects, mut bytes) = (0u64, 0u64);
    let mut token: Option<String> = None;
    loop {
        let page = gridwatch_core::aws::retry("ListObjectsV2", &backoff, || {
            s3.list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.clone())
                .send()
        })
        .await
        .map_err(AthenaError::call("S3 ListObjectsV2"))?;
        for o in page.contents() {
            objects += 1;
            bytes += u64::try_from(o.size().unwrap_or(0)).unwrap_or(0);
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            return Ok((objects, bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn athena_bills_whole_megabytes_and_at_least_ten() {
        assert_eq!(billed(0, 5.0), (10_000_000, 0.00005));
        assert_eq!(billed(10_000_001, 5.0).0, 11_000_000);
        let (b, usd) = billed(2_000_000_000_000, 5.0);
        assert_eq!(b, 2_000_000_000_000);
        assert!((usd - 10.0).abs() < 1e-12);
    }

    #[test]
    fn a_tables_location_gives_each_hours_prefix() {
        let l = Location::parse("s3://lake/telemetry/readings/json/").unwrap();
        assert_eq!(l.bucket, "lake");
        assert_eq!(
            l.hour_prefix(1_699_999_200_000_000),
            "telemetry/readings/json/year=2023/month=11/day=14/hour=22/"
        );
        assert_eq!(Location::parse("s3://lake").unwrap().prefix, "");
        assert_eq!(Location::parse("https://lake/x"), None);
    }
}
