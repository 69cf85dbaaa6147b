//! Syncing a lake's extracts from S3 into a local folder: only the
//! partitions in range, nothing already here (same size and ETag), resuming
//! after an interruption.
//!
//! A manifest (`.gridwatch-sync.json` in the folder) remembers each
//! downloaded object's ETag and size. Objects are written under a temporary
//! name and renamed when complete, so an interrupted run leaves only whole
//! files and the next run fetches the rest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::Client;
use gridwatch_core::time::{MICROS_PER_DAY, MICROS_PER_HOUR, civil};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

const MANIFEST: &str = ".gridwatch-sync.json";
const PARALLEL_DOWNLOADS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("S3 refused: {0}")]
    S3(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Range(#[from] crate::RangeError),
}

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
struct Manifest {
    /// Object key (without the prefix) -> (ETag, size).
    objects: BTreeMap<String, (String, i64)>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyncReport {
    pub listed: u64,
    pub downloaded: u64,
    pub skipped: u64,
    pub bytes: u64,
}

/// Progress for a bar: objects done of objects to fetch.
pub trait SyncProgress: Send + Sync {
    fn planned(&self, objects: u64, bytes: u64);
    fn fetched(&self, bytes: u64);
}

impl SyncProgress for () {
    fn planned(&self, _: u64, _: u64) {}
    fn fetched(&self, _: u64) {}
}

fn s3_error<E: std::fmt::Debug>(e: E) -> SyncError {
    SyncError::S3(format!("{e:?}"))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SyncError + '_ {
    move |source| SyncError::Io {
        path: path.to_owned(),
        source,
    }
}

fn join_key(prefix: &str, rest: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        rest.to_owned()
    } else {
        format!("{p}/{rest}")
    }
}

/// The day prefixes (relative to the lake root) that cover [from, to).
fn day_prefixes(from_us: i64, to_us: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut day = from_us - from_us.rem_euclid(MICROS_PER_DAY);
    while day < to_us {
        let c = civil(day);
        out.push((
            day,
            format!(
                "readings/json/year={:04}/month={:02}/day={:02}/",
                c.year, c.month, c.day
            ),
        ));
        day += MICROS_PER_DAY;
    }
    out
}

/// The hour of a key's `hour=` part: `None` where it has none, an error
/// where it is out of range (`hour=24`, `hour=4294967295`).
fn hour_of(rel: &str) -> Option<Result<u32, String>> {
    rel.split('/')
        .find_map(|p| crate::partition::parse(p, crate::partition::Key::Hour))
}

/// An S3 client over an SDK configuration loaded from `options`. Buckets
/// are addressed by path when an endpoint URL is given: emulators serve
/// them so, not by host name.
pub fn s3_client<'c, C>(conf: &'c C, options: &gridwatch_core::aws::AwsOptions) -> Client
where
    aws_sdk_s3::config::Builder: From<&'c C>,
{
    let config = aws_sdk_s3::config::Builder::from(conf)
        .force_path_style(options.endpoint_url.is_some())
        .build();
    Client::from_conf(config)
}

/// Downloads the extracts of [from, to) under `s3://bucket/prefix` into `dir`.
pub async fn sync(
    client: &Client,
    bucket: &str,
    prefix: &str,
    from_us: i64,
    to_us: i64,
    dir: &Path,
    progress: Arc<dyn SyncProgress>,
) -> Result<SyncReport, SyncError> {
    // Before any work: a range past 9999 would list millions of days.
    crate::partition::check_range(from_us, to_us)?;
    let mut report = SyncReport::default();
    let manifest_path = dir.join(MANIFEST);
    let mut manifest: Manifest = match std::fs::read(&manifest_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Manifest::default(),
    };
    // List only the days in range, then keep the hours in range.
    let mut wanted: Vec<(String, String, i64)> = Vec::new();
    for (day, rel_prefix) in day_prefixes(from_us, to_us) {
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(join_key(prefix, &rel_prefix))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| SyncError::S3(gridwatch_core::aws::describe_sdk_error(&e)))?;
            for obj in page.contents() {
                let Some(key) = obj.key() else { continue };
                let rel = key
                    .strip_prefix(&join_key(prefix, ""))
                    .unwrap_or(key)
                    .trim_start_matches('/')
                    .to_owned();
                let Some(Ok(hour)) = hour_of(&rel) else {
                    continue;
                };
                let start = day + i64::from(hour) * MICROS_PER_HOUR;
                if start >= to_us || start + MICROS_PER_HOUR <= from_us {
                    continue;
                }
                report.listed += 1;
                let etag = obj.e_tag().unwrap_or_default().to_owned();
                let size = obj.size().unwrap_or(0);
                let local = dir.join(&rel);
                let same = manifest.objects.get(&rel) == Some(&(etag.clone(), size))
                    && std::fs::metadata(&local).is_ok_and(|m| m.len() as i64 == size);
                if same {
                    report.skipped += 1;
                } else {
                    wanted.push((key.to_owned(), rel, size));
                }
            }
        }
    }
    progress.planned(
        wanted.len() as u64,
        wanted.iter().map(|w| w.2.max(0) as u64).sum(),
    );
    let permits = Arc::new(Semaphore::new(PARALLEL_DOWNLOADS));
    let mut tasks = tokio::task::JoinSet::new();
    for (key, rel, _) in wanted {
        let client = client.clone();
        let bucket = bucket.to_owned();
        let local = dir.join(&rel);
        let permits = permits.clone();
        let progress = progress.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(s3_error)?;
            let (etag, size) = download(&client, &bucket, &key, &local).await?;
            progress.fetched(size.max(0) as u64);
            Ok::<_, SyncError>((rel, etag, size))
        });
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(s3_error).and_then(|r| r) {
            Ok((rel, etag, size)) => {
                report.downloaded += 1;
                report.bytes += size.max(0) as u64;
                manifest.objects.insert(rel, (etag, size));
                // Saved as we go: an interruption keeps what was fetched.
                if report.downloaded.is_multiple_of(25) {
                    save_manifest(&manifest_path, &manifest)?;
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    save_manifest(&manifest_path, &manifest)?;
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

fn save_manifest(path: &Path, manifest: &Manifest) -> Result<(), SyncError> {
    let bytes =
        serde_json::to_vec_pretty(manifest).map_err(|e| io(path)(std::io::Error::other(e)))?;
    gridwatch_core::files::write_whole(path, &bytes).map_err(io(path))
}

async fn download(
    client: &Client,
    bucket: &str,
    key: &str,
    local: &Path,
) -> Result<(String, i64), SyncError> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            SyncError::S3(format!(
                "{key}: {}",
                gridwatch_core::aws::describe_sdk_error(&e)
            ))
        })?;
    let etag = out.e_tag().unwrap_or_default().to_owned();
    let parent = local.parent().unwrap_or(local);
    tokio::fs::create_dir_all(parent)
        .await
        .map_err(io(parent))?;
    let name = local
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A dot name: the lake readers skip it, so a half-written file is
    // never read.
    let part = parent.join(format!(".{name}.part"));
    let mut file = tokio::fs::File::create(&part).await.map_err(io(&part))?;
    let mut body = out.body;
    let mut size = 0i64;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| SyncError::S3(format!("{key}: {e}")))?
    {
        size += chunk.len() as i64;
        file.write_all(&chunk).await.map_err(io(&part))?;
    }
    file.flush().await.map_err(io(&part))?;
    drop(file);
    tokio::fs::rename(&part, local).await.map_err(io(local))?;
    Ok((etag, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_prefixes_cover_the_range() {
        let from = gridwatch_core::time::from_civil(2023, 11, 14, 22);
        let to = gridwatch_core::time::from_civil(2023, 11, 16, 1);
        let days: Vec<String> = day_prefixes(from, to).into_iter().map(|d| d.1).collect();
        assert_eq!(
            days,
            vec![
                "readings/json/year=2023/month=11/day=14/",
                "readings/json/year=2023/month=11/day=15/",
                "readings/json/year=2023/month=11/day=16/"
            ]
        );
        assert_eq!(join_key("/fh/", "x"), "fh/x");
        assert_eq!(join_key("", "x"), "x");
        assert_eq!(
            hour_of("readings/json/year=2023/month=11/day=14/hour=07/f"),
            Some(Ok(7))
        );
        assert!(matches!(
            hour_of("readings/json/year=2023/month=11/day=14/hour=4294967295/f"),
            Some(Err(_))
        ));
    }

    /// A range past 9999 is refused before any request: `--to
    /// 99999999999999999` once listed a prefix for each of 10^8 days.
    #[test]
    fn a_range_outside_1970_to_9999_is_refused_before_any_request() {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            // Nothing listens here: a request would fail otherwise.
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let client = Client::from_conf(config);
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for (from, to) in [
            (0, i64::MAX),
            (-1, 1),
            (0, gridwatch_types::time::MAX_US + 1),
        ] {
            let err = rt
                .block_on(sync(&client, "b", "", from, to, dir.path(), Arc::new(())))
                .unwrap_err();
            assert!(matches!(err, SyncError::Range(_)), "{err}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
