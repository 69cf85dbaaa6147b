//! Syncing a lake's extracts from S3 into a local folder: only the
//! partitions in range, nothing already here (same size and ETag), resuming
//! after an interruption.
//!
//! A manifest (`.gridwatch-sync.json` in the folder) remembers each
//! downloaded object's ETag and size. Objects are written under a temporary
//! name and renamed when complete, so an interrupted (or cancelled) run
//! leaves only whole files and the next run fetches the rest.
//!
//! Keys come from whoever can write the bucket, so none is trusted with a
//! path: a key is written only where the lake's readers look for it,
//! `readings/json/year=/month=/day=/hour=/<file>` with every part in range,
//! no `..`, `.`, empty, absolute, backslash or NUL part, a file name that is
//! not hidden, and no symbolic link on the way under the folder. Any other
//! key is skipped and reported with its reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_s3::Client;
use gridwatch_core::aws::{Backoff, retry};
use gridwatch_core::time::{MICROS_PER_DAY, MICROS_PER_HOUR};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use crate::partition;

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
    /// Stopped on request: the files fetched are whole and in the manifest.
    #[error("stopped before the end: {} of the files downloaded", .0.downloaded)]
    Cancelled(Box<SyncReport>),
}

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
struct Manifest {
    /// Object key (without the prefix) -> (ETag, size).
    objects: BTreeMap<String, (String, i64)>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub listed: u64,
    pub downloaded: u64,
    pub skipped: u64,
    pub bytes: u64,
    /// Keys in range not written, with why (a path that would leave the
    /// folder, a partition out of range).
    pub rejected: Vec<RejectedKey>,
}

/// An S3 key the sync would not write, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedKey {
    pub key: String,
    pub reason: String,
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
        out.push((
            day,
            format!("{}/{}/", partition::JSON_DIR, partition::day_path_at(day)),
        ));
        day += MICROS_PER_DAY;
    }
    out
}

/// Where the key `rel` (relative to the prefix) goes under `dir`, if it is
/// an extract of the day `day_prefix` names in the lake's layout: its hour
/// with it. The error says why not.
fn local_path(dir: &Path, day_prefix: &str, rel: &str) -> Result<(PathBuf, u32), String> {
    use partition::{Key, parse};
    if rel.contains('\0') {
        return Err("the key holds a NUL".into());
    }
    if rel.contains('\\') {
        return Err("the key holds a backslash".into());
    }
    let parts: Vec<&str> = rel.split('/').collect();
    for p in &parts {
        match *p {
            "" => return Err("the key has an empty path part (// or a trailing /)".into()),
            "." | ".." => return Err(format!("the key has a {p:?} path part")),
            _ => {}
        }
    }
    // The listing asked for `day_prefix`, so the first five parts are it;
    // checked again all the same, the key being the server's word.
    let day_parts: Vec<&str> = day_prefix.trim_end_matches('/').split('/').collect();
    let [_, _, _, _, _, hour, name] = parts[..] else {
        return Err(format!(
            "not an extract: the lake keeps {}",
            partition::extract_shape()
        ));
    };
    if parts[..5] != day_parts[..] {
        return Err(format!("not under {day_prefix}"));
    }
    let hour = match parse(hour, Key::Hour) {
        Some(Ok(h)) => h,
        Some(Err(reason)) => return Err(reason),
        None => {
            return Err(format!(
                "{hour:?} is not an {}= partition",
                Key::Hour.name()
            ));
        }
    };
    if name.starts_with('.') {
        return Err("a hidden file name (the lake's own temporaries are hidden)".into());
    }
    let local = dir.join(rel);
    // Below the folder, nothing that exists may be a link: a link planted
    // at `readings` or an hour folder would carry the write elsewhere.
    let mut at = dir.to_path_buf();
    for p in &parts {
        at.push(p);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!("{} is a symbolic link", at.display()));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(format!("{}: {e}", at.display())),
        }
    }
    Ok((local, hour))
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

/// Downloads the extracts of [from, to) under `s3://bucket/prefix` into
/// `dir`. Keys that are not extracts of the lake's layout, or would leave
/// `dir`, are skipped and listed in the report. Setting `cancel` stops the
/// listing and the downloads (between pages and chunks): the files already
/// fetched are whole and in the manifest, and the error carries the report.
#[allow(clippy::too_many_arguments)] // each is one plain part of the job
pub async fn sync(
    client: &Client,
    bucket: &str,
    prefix: &str,
    from_us: i64,
    to_us: i64,
    dir: &Path,
    progress: Arc<dyn SyncProgress>,
    cancel: Arc<AtomicBool>,
) -> Result<SyncReport, SyncError> {
    // Before any work: a range past 9999 would list millions of days.
    partition::check_range(from_us, to_us)?;
    let mut report = SyncReport::default();
    let manifest_path = dir.join(MANIFEST);
    let mut manifest: Manifest = match std::fs::read(&manifest_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Manifest::default(),
    };
    // List only the days in range, then keep the hours in range.
    // (key, key below the prefix, local path, size)
    let mut wanted: Vec<(String, String, PathBuf, i64)> = Vec::new();
    for (day, rel_prefix) in day_prefixes(from_us, to_us) {
        // Extracts compaction has moved into the day's Parquet (and
        // removed): fetched before, so not fetched again.
        let compacted = crate::compact::parts_of(&crate::compact::parquet_day_dir(dir, day))
            .map(|(_, held)| held)
            .unwrap_or_default();
        // Page by page by hand rather than the SDK's paginator: each page
        // is retried on throttling and transient faults (the SDK's own
        // retries are off, so Gridwatch's are the only ones).
        let list_prefix = join_key(prefix, &rel_prefix);
        let mut token: Option<String> = None;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(SyncError::Cancelled(Box::new(report)));
            }
            let page = retry("ListObjectsV2", &Backoff::default(), || {
                client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(&list_prefix)
                    .set_continuation_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| SyncError::S3(gridwatch_core::aws::describe_sdk_error(&e)))?;
            token = page.next_continuation_token().map(str::to_owned);
            for obj in page.contents() {
                let Some(key) = obj.key() else { continue };
                let Some(rel) = key.strip_prefix(&join_key(prefix, &rel_prefix)) else {
                    continue;
                };
                let rel = format!("{rel_prefix}{rel}");
                let (local, hour) = match local_path(dir, &rel_prefix, &rel) {
                    Ok(l) => l,
                    Err(reason) => {
                        tracing::debug!(key, reason, "S3 key skipped");
                        report.rejected.push(RejectedKey {
                            key: key.to_owned(),
                            reason,
                        });
                        continue;
                    }
                };
                let start = day + i64::from(hour) * MICROS_PER_HOUR;
                if start >= to_us || start + MICROS_PER_HOUR <= from_us {
                    continue;
                }
                report.listed += 1;
                let etag = obj.e_tag().unwrap_or_default().to_owned();
                let size = obj.size().unwrap_or(0);
                let same = manifest.objects.get(&rel) == Some(&(etag.clone(), size))
                    && (std::fs::metadata(&local).is_ok_and(|m| m.len() as i64 == size)
                        || rel
                            .strip_prefix(&rel_prefix)
                            .is_some_and(|source| compacted.iter().any(|c| c == source)));
                if same {
                    report.skipped += 1;
                } else {
                    wanted.push((key.to_owned(), rel, local, size));
                }
            }
            if token.is_none() {
                break;
            }
        }
    }
    progress.planned(
        wanted.len() as u64,
        wanted.iter().map(|w| w.3.max(0) as u64).sum(),
    );
    let permits = Arc::new(Semaphore::new(PARALLEL_DOWNLOADS));
    let mut tasks = tokio::task::JoinSet::new();
    for (key, rel, local, _) in wanted {
        let client = client.clone();
        let bucket = bucket.to_owned();
        let permits = permits.clone();
        let progress = progress.clone();
        let cancel = cancel.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(s3_error)?;
            let (etag, size) = download(&client, &bucket, &key, &local, &cancel).await?;
            progress.fetched(size.max(0) as u64);
            Ok::<_, SyncError>((rel, etag, size))
        });
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(s3_error).and_then(|r| r) {
            Err(SyncError::Cancelled(_)) => {}
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
        None if cancel.load(Ordering::Relaxed) => Err(SyncError::Cancelled(Box::new(report))),
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
    cancel: &AtomicBool,
) -> Result<(String, i64), SyncError> {
    let cancelled = || SyncError::Cancelled(Box::default());
    if cancel.load(Ordering::Relaxed) {
        return Err(cancelled());
    }
    let out = retry("GetObject", &Backoff::default(), || {
        client.get_object().bucket(bucket).key(key).send()
    })
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
    let fetched = async {
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| SyncError::S3(format!("{key}: {e}")))?
        {
            if cancel.load(Ordering::Relaxed) {
                return Err(cancelled());
            }
            size += chunk.len() as i64;
            file.write_all(&chunk).await.map_err(io(&part))?;
        }
        file.flush().await.map_err(io(&part))?;
        file.sync_all().await.map_err(io(&part))
    }
    .await;
    drop(file);
    if let Err(e) = fetched {
        // Hidden, so never read; removed so it does not pile up.
        let _ = tokio::fs::remove_file(&part).await;
        return Err(e);
    }
    tokio::fs::rename(&part, local).await.map_err(io(local))?;
    Ok((etag, size))
}

#[cfg(test)]
mod tests;
