//! The local cache: one SQLite file that holds readings, devices and their
//! dimensions, per-shard checkpoints, and quarantined records.
//!
//! Readings are narrow (device, measure, time, value) and keyed by
//! (device, measure, time) in a `WITHOUT ROWID` table, so writing the same
//! record twice changes nothing and a device's range is one B-tree scan.
//! Devices and measures are stored once and referred to by small integers.
//! A batch and the checkpoints it covers commit in one transaction: a crash
//! loses nothing that was committed and duplicates nothing.
//!
//! The parts: `schema` (migrations), `write` (the one transaction per
//! batch), `read` ([`CacheReader`], for any thread), `query` (buckets and
//! chart columns over a range). Here: the error, opening the writer's
//! [`Cache`], retention, and the checkpoints and history it files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

use read::checkpoints;
use schema::migrate;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "cache {path} was written by a newer Gridwatch (schema {found}, this build knows {known})"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cache {path}: cannot create its folder: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bad query: {0}")]
    BadQuery(String),
}

pub type Result<T, E = CacheError> = std::result::Result<T, E>;

/// How far a source's shard has been read: everything up to and including
/// `sequence` is in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub shard: String,
    pub sequence: String,
}

/// The read-write cache. One per process writes; readers open their own.
pub struct Cache {
    conn: Connection,
    path: PathBuf,
    device_ids: HashMap<String, i64>,
    measure_ids: HashMap<String, i64>,
    /// Dimensions as last written, so unchanged ones are not rewritten.
    dimensions: HashMap<i64, Vec<(String, String)>>,
}

/// How long opening keeps retrying steps SQLite answered "busy" (its own
/// busy wait included), beyond which another process really holds the cache.
const OPEN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> CacheError + '_ {
    move |source| CacheError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

impl Cache {
    /// Opens (creating if needed) the cache at `path` and brings its schema
    /// up to date.
    pub fn open(path: &Path) -> Result<Cache> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| CacheError::Folder {
                path: path.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(sqlite(path))?;
        // Two processes opening a new cache race to switch it to WAL and to
        // create its tables; SQLite answers some of those steps "busy"
        // without waiting (a wait could deadlock), so the loser retries.
        // Retries stop at OPEN_PATIENCE in all, waits included: a lock
        // that another process holds that long is reported, not waited out.
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            let result = Self::configure(&conn)
                .map_err(sqlite(path))
                .and_then(|()| migrate(&conn, path));
            match result {
                Err(CacheError::Sqlite { source, .. })
                    if is_busy(&source) && started.elapsed() < OPEN_PATIENCE =>
                {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20 * attempt.min(10)));
                }
                other => break other?,
            }
        }
        let mut cache = Cache {
            conn,
            path: path.to_owned(),
            device_ids: HashMap::new(),
            measure_ids: HashMap::new(),
            dimensions: HashMap::new(),
        };
        cache.load_ids().map_err(sqlite(path))?;
        Ok(cache)
    }

    /// Sets a connection up as the cache sets up its own (lock wait, WAL,
    /// sync, page cache); benchmarks set their baselines up with it too.
    pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
        // First: switching a new file to WAL takes a lock, and a second
        // process opening the same new cache must wait for it, not fail.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL lets the UI read while ingest writes; NORMAL sync keeps every
        // committed transaction across a process crash (not across power
        // loss of the last few), which is the trade SQLite recommends for WAL.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 64 MiB of page cache: a fleet's readings interleave across devices,
        // so inserts touch many B-tree pages at once.
        conn.pragma_update(None, "cache_size", -65_536)?;
        Ok(())
    }

    fn load_ids(&mut self) -> rusqlite::Result<()> {
        let mut stmt = self.conn.prepare("SELECT device_id, id FROM device")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
        for row in rows {
            let (k, v) = row?;
            self.device_ids.insert(k, v);
        }
        let mut stmt = self.conn.prepare("SELECT name, id FROM measure")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
        for row in rows {
            let (k, v) = row?;
            self.measure_ids.insert(k, v);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT device, name, value FROM device_dimension ORDER BY device, name")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)))?;
        for row in rows {
            let (d, k, v) = row?;
            self.dimensions.entry(d).or_default().push((k, v));
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Retention: removes readings, quarantined records and cached history
    /// answers older than `before_us`; returns the readings removed. Runs
    /// one (device, measure) at a time along the primary key, so the live
    /// writer is never locked out for long.
    pub fn prune_before(&mut self, before_us: i64) -> Result<u64> {
        let path = self.path.clone();
        let run = |conn: &Connection| -> rusqlite::Result<u64> {
            let pairs: Vec<(i64, i64)> = conn
                .prepare("SELECT DISTINCT device, measure FROM reading")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut removed = 0;
            let mut delete = conn
                .prepare("DELETE FROM reading WHERE device = ?1 AND measure = ?2 AND ts_us < ?3")?;
            for (device, measure) in pairs {
                removed += delete.execute(rusqlite::params![device, measure, before_us])? as u64;
            }
            conn.execute("DELETE FROM quarantine WHERE received_us < ?1", [before_us])?;
            conn.execute("DELETE FROM conflict WHERE ts_us < ?1", [before_us])?;
            conn.execute(
                "DELETE FROM history_result WHERE fetched_us < ?1",
                [before_us],
            )?;
            Ok(removed)
        };
        run(&self.conn).map_err(sqlite(&path))
    }

    /// Files the checkpoints kept under `legacy` (a source name of an earlier
    /// Gridwatch, e.g. the stream's bare name) under `source` as well, when
    /// `source` has none yet; returns how many. A cache upgraded past the
    /// keying by stream identity so resumes where it was instead of reading
    /// the whole retention again (or, following LATEST, skipping what came
    /// while it was closed). A checkpoint Kinesis refuses then ends the run
    /// with a message naming `--from`, as any stale checkpoint does.
    pub fn adopt_checkpoints(&mut self, legacy: &str, source: &str) -> Result<u64> {
        let path = self.path.clone();
        let run = |conn: &mut Connection| -> rusqlite::Result<u64> {
            let tx = conn.transaction()?;
            let held: i64 = tx.query_row(
                "SELECT count(*) FROM checkpoint WHERE source = ?1",
                [source],
                |r| r.get(0),
            )?;
            let adopted = if held == 0 && legacy != source {
                tx.execute(
                    "INSERT INTO checkpoint (source, shard, sequence, updated_us)
                     SELECT ?2, shard, sequence, updated_us FROM checkpoint WHERE source = ?1",
                    [legacy, source],
                )? as u64
            } else {
                0
            };
            tx.commit()?;
            Ok(adopted)
        };
        let adopted = run(&mut self.conn).map_err(sqlite(&path))?;
        if adopted > 0 {
            tracing::info!(
                legacy,
                source,
                adopted,
                "took over checkpoints filed under the stream's name"
            );
        }
        Ok(adopted)
    }

    /// The connection, for read queries on the writer's own thread.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Keeps a fetched history result (JSON) for offline use.
    pub fn store_history(&self, query: &str, fetched_us: i64, result_json: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO history_result (query, fetched_us, result) VALUES (?1, ?2, ?3)
                 ON CONFLICT (query) DO UPDATE SET fetched_us = excluded.fetched_us, result = excluded.result",
                params![query, fetched_us, result_json],
            )
            .map(|_| ())
            .map_err(sqlite(&self.path))
    }

    pub fn checkpoints(&self, source: &str) -> Result<Vec<Checkpoint>> {
        checkpoints(&self.conn, source).map_err(sqlite(&self.path))
    }
}

mod query;
mod read;
mod schema;
mod write;

pub use query::{Bucket, BucketQuery};
pub use read::CacheReader;
pub use write::{IngestBatch, IngestOutcome, Quarantined};

#[cfg(test)]
mod tests;
