//! The local cache: one SQLite file that holds readings, devices and their
//! dimensions, per-shard checkpoints, and quarantined records.
//!
//! Readings are narrow (device, measure, time, value) and keyed by
//! (device, measure, time) in a `WITHOUT ROWID` table, so writing the same
//! record twice changes nothing and a device's range is one B-tree scan.
//! Devices and measures are stored once and referred to by small integers.
//! A batch and the checkpoints it covers commit in one transaction: a crash
//! loses nothing that was committed and duplicates nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use gridwatch_types::{ChartColumn, DeviceInfo};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::codec::Record;

/// Schema migrations, applied in order; `PRAGMA user_version` counts them.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE device (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL UNIQUE,
        first_seen_us INTEGER NOT NULL,
        last_seen_us INTEGER NOT NULL
    );
    CREATE TABLE device_dimension (
        device INTEGER NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (device, name)
    ) WITHOUT ROWID;
    CREATE TABLE measure (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE reading (
        device INTEGER NOT NULL,
        measure INTEGER NOT NULL,
        ts_us INTEGER NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (device, measure, ts_us)
    ) WITHOUT ROWID;
    CREATE TABLE checkpoint (
        source TEXT NOT NULL,
        shard TEXT NOT NULL,
        sequence TEXT NOT NULL,
        updated_us INTEGER NOT NULL,
        PRIMARY KEY (source, shard)
    ) WITHOUT ROWID;
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        shard TEXT,
        sequence TEXT,
        received_us INTEGER NOT NULL,
        reason_code TEXT NOT NULL,
        reason TEXT NOT NULL,
        raw BLOB NOT NULL
    );",
    // 2: history fetched from Timestream, kept for offline use.
    "CREATE TABLE history_result (
        query TEXT PRIMARY KEY,
        fetched_us INTEGER NOT NULL,
        result TEXT NOT NULL
    ) WITHOUT ROWID;",
    // 3: a second value for a reading already held (same device, measure
    // and time) is kept here rather than dropped: the first value stays the
    // reading, and the operator can see and judge the other. Keyed like the
    // readings, so a replayed conflict is kept once.
    "CREATE TABLE conflict (
        device INTEGER NOT NULL,
        measure INTEGER NOT NULL,
        ts_us INTEGER NOT NULL,
        value REAL NOT NULL,
        source TEXT NOT NULL,
        received_us INTEGER NOT NULL,
        PRIMARY KEY (device, measure, ts_us, value)
    ) WITHOUT ROWID;",
];

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

/// A record that could not be decoded, kept with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarantined {
    pub shard: Option<String>,
    pub sequence: Option<String>,
    pub received_us: i64,
    pub reason_code: String,
    pub reason: String,
    pub raw: Vec<u8>,
}

/// How far a source's shard has been read: everything up to and including
/// `sequence` is in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub shard: String,
    pub sequence: String,
}

/// What one ingest transaction writes.
#[derive(Debug, Default)]
pub struct IngestBatch<'a> {
    pub source: &'a str,
    pub records: &'a [Record],
    pub quarantined: &'a [Quarantined],
    pub checkpoints: &'a [Checkpoint],
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Readings written for the first time.
    pub readings_new: u64,
    /// Readings already in the cache (same device, measure and time) with
    /// the same value.
    pub readings_repeated: u64,
    /// Readings already in the cache with another value: the first value
    /// stays, the second is kept in the `conflict` table.
    pub conflicts: u64,
}

/// One bucket of a bucketed range query.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Bucket {
    pub start_us: i64,
    pub avg: f64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: u64,
}

/// A bucketed range query; without a device it aggregates the whole fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketQuery<'a> {
    pub device_id: Option<&'a str>,
    pub measure: &'a str,
    pub from_us: i64,
    pub to_us: i64,
    pub bucket_us: i64,
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

    fn configure(conn: &Connection) -> rusqlite::Result<()> {
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

    /// Writes one batch (records, quarantined records, checkpoints) in one
    /// transaction. On error nothing of the batch is written.
    pub fn ingest(&mut self, batch: &IngestBatch<'_>) -> Result<IngestOutcome> {
        let path = self.path.clone();
        self.ingest_inner(batch).map_err(sqlite(&path))
    }

    fn ingest_inner(&mut self, batch: &IngestBatch<'_>) -> rusqlite::Result<IngestOutcome> {
        let mut outcome = IngestOutcome::default();
        // Ids assigned inside the transaction join the in-memory maps only
        // after it commits, so a rolled-back batch leaves no stale ids.
        let mut new_devices: Vec<(String, i64)> = Vec::new();
        let mut new_measures: Vec<(String, i64)> = Vec::new();
        let mut new_dims: Vec<(i64, Vec<(String, String)>)> = Vec::new();
        let mut seen: HashMap<i64, (i64, i64)> = HashMap::new();

        let tx = self.conn.transaction()?;
        {
            let mut insert_reading = tx.prepare_cached(
                "INSERT OR IGNORE INTO reading (device, measure, ts_us, value) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut insert_device = tx.prepare_cached(
                "INSERT INTO device (device_id, first_seen_us, last_seen_us) VALUES (?1, ?2, ?2)",
            )?;
            let mut insert_measure = tx.prepare_cached("INSERT INTO measure (name) VALUES (?1)")?;
            let mut held_value = tx.prepare_cached(
                "SELECT value FROM reading WHERE device = ?1 AND measure = ?2 AND ts_us = ?3",
            )?;
            let mut insert_conflict = tx.prepare_cached(
                "INSERT OR IGNORE INTO conflict (source, device, measure, ts_us, value, received_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let received_us = crate::time::now_us();
            let mut upsert_dim = tx.prepare_cached(
                "INSERT INTO device_dimension (device, name, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device, name) DO UPDATE SET value = excluded.value",
            )?;

            for record in batch.records {
                let device = match self.device_ids.get(&record.device_id) {
                    Some(&id) => id,
                    None => match new_devices.iter().find(|(d, _)| *d == record.device_id) {
                        Some(&(_, id)) => id,
                        None => {
                            insert_device.execute(params![record.device_id, record.time_us])?;
                            let id = tx.last_insert_rowid();
                            new_devices.push((record.device_id.clone(), id));
                            id
                        }
                    },
                };
                let span = seen
                    .entry(device)
                    .or_insert((record.time_us, record.time_us));
                span.0 = span.0.min(record.time_us);
                span.1 = span.1.max(record.time_us);

                if !record.dimensions.is_empty() {
                    let known = new_dims
                        .iter()
                        .rev()
                        .find(|(d, _)| *d == device)
                        .map(|(_, v)| v)
                        .or_else(|| self.dimensions.get(&device));
                    let changed = record
                        .dimensions
                        .iter()
                        .any(|kv| known.is_none_or(|known| !known.contains(kv)));
                    if changed {
                        let mut merged = known.cloned().unwrap_or_default();
                        for (k, v) in &record.dimensions {
                            upsert_dim.execute(params![device, k, v])?;
                            match merged.iter_mut().find(|(mk, _)| mk == k) {
                                Some(slot) => slot.1 = v.clone(),
                                None => merged.push((k.clone(), v.clone())),
                            }
                        }
                        new_dims.push((device, merged));
                    }
                }

                for (name, value) in &record.measures {
                    let measure = match self.measure_ids.get(name) {
                        Some(&id) => id,
                        None => match new_measures.iter().find(|(m, _)| m == name) {
                            Some(&(_, id)) => id,
                            None => {
                                insert_measure.execute(params![name])?;
                                let id = tx.last_insert_rowid();
                                new_measures.push((name.clone(), id));
                                id
                            }
                        },
                    };
                    let n =
                        insert_reading.execute(params![device, measure, record.time_us, value])?;
                    if n == 0 {
                        // Only a repeat pays for this look-up.
                        let held: f64 = held_value
                            .query_row(params![device, measure, record.time_us], |r| r.get(0))?;
                        // By value, not bits: SQLite keeps -0.0 as 0.
                        let new_conflict = held != *value
                            && insert_conflict.execute(params![
                                batch.source,
                                device,
                                measure,
                                record.time_us,
                                value,
                                received_us
                            ])? > 0;
                        if new_conflict {
                            outcome.conflicts += 1;
                        } else {
                            outcome.readings_repeated += 1;
                        }
                    } else {
                        outcome.readings_new += 1;
                    }
                }
            }

            if !seen.is_empty() {
                let mut touch = tx.prepare_cached(
                    "UPDATE device SET first_seen_us = min(first_seen_us, ?2),
                                       last_seen_us = max(last_seen_us, ?3) WHERE id = ?1",
                )?;
                for (device, (first, last)) in &seen {
                    touch.execute(params![device, first, last])?;
                }
            }

            if !batch.quarantined.is_empty() {
                let mut quarantine = tx.prepare_cached(
                    "INSERT INTO quarantine (source, shard, sequence, received_us, reason_code, reason, raw)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for q in batch.quarantined {
                    quarantine.execute(params![
                        batch.source,
                        q.shard,
                        q.sequence,
                        q.received_us,
                        q.reason_code,
                        q.reason,
                        q.raw
                    ])?;
                }
            }

            if !batch.checkpoints.is_empty() {
                let mut checkpoint = tx.prepare_cached(
                    "INSERT INTO checkpoint (source, shard, sequence, updated_us) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (source, shard) DO UPDATE SET sequence = excluded.sequence,
                                                              updated_us = excluded.updated_us",
                )?;
                let now = crate::time::now_us();
                for c in batch.checkpoints {
                    checkpoint.execute(params![batch.source, c.shard, c.sequence, now])?;
                }
            }
        }
        tx.commit()?;

        self.device_ids.extend(new_devices);
        self.measure_ids.extend(new_measures);
        for (device, dims) in new_dims {
            self.dimensions.insert(device, dims);
        }
        Ok(outcome)
    }
}

/// A read-only view of the cache, for queries from any thread.
pub struct CacheReader {
    conn: Connection,
    path: PathBuf,
}

impl CacheReader {
    /// Opens an existing cache for reading. A missing file is an error that
    /// names the path: there is nothing to read yet.
    pub fn open(path: &Path) -> Result<CacheReader> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite(path))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite(path))?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sqlite(path))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(CacheError::TooNew {
                path: path.to_owned(),
                found: version,
                known: MIGRATIONS.len() as i64,
            });
        }
        Ok(CacheReader {
            conn,
            path: path.to_owned(),
        })
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> CacheError + '_ {
        sqlite(&self.path)
    }

    pub fn devices(&self) -> Result<Vec<DeviceInfo>> {
        devices(&self.conn).map_err(self.err())
    }

    pub fn measures(&self) -> Result<Vec<String>> {
        measures(&self.conn).map_err(self.err())
    }

    pub fn checkpoints(&self, source: &str) -> Result<Vec<Checkpoint>> {
        checkpoints(&self.conn, source).map_err(self.err())
    }

    /// A history result kept by [`Cache::store_history`], with when it was
    /// fetched.
    pub fn history(&self, query: &str) -> Result<Option<(i64, String)>> {
        self.conn
            .query_row(
                "SELECT fetched_us, result FROM history_result WHERE query = ?1",
                [query],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err())
    }

    pub fn quarantine_count(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT count(*) FROM quarantine", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(self.err())
    }

    /// Second values kept for readings already held (see `conflict`).
    pub fn conflict_count(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT count(*) FROM conflict", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(self.err())
    }

    pub fn reading_count(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT count(*) FROM reading", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(self.err())
    }

    /// Bucketed statistics of one measure over a range; buckets with no
    /// readings are left out.
    pub fn buckets(&self, q: &BucketQuery<'_>) -> Result<Vec<Bucket>> {
        buckets(&self.conn, q, &self.path)
    }

    /// One measure over a range, decimated to at most `pixels` columns, each
    /// with the extremes of the readings that fall in it.
    pub fn chart(
        &self,
        device_id: Option<&str>,
        measure: &str,
        from_us: i64,
        to_us: i64,
        pixels: u32,
    ) -> Result<Vec<ChartColumn>> {
        chart(
            &self.conn, device_id, measure, from_us, to_us, pixels, &self.path,
        )
    }
}

impl Cache {
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

fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    // A cache that is up to date needs no write lock to open, so a writer
    // that holds it does not delay a second process that only opens it.
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sqlite(path))?;
    if version == known {
        return Ok(());
    }
    loop {
        // IMMEDIATE takes the write lock before reading the version, so two
        // processes opening a new cache migrate one after the other and the
        // second sees the first's work instead of creating the tables again.
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
                .map_err(sqlite(path))?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sqlite(path))?;
        if version > known {
            return Err(CacheError::TooNew {
                path: path.to_owned(),
                found: version,
                known,
            });
        }
        let Some(sql) = MIGRATIONS.get(version as usize) else {
            return Ok(());
        };
        tx.execute_batch(sql).map_err(sqlite(path))?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(sqlite(path))?;
        tx.commit().map_err(sqlite(path))?;
        tracing::info!(path = %path.display(), version = version + 1, "cache schema migrated");
    }
}

fn devices(conn: &Connection) -> rusqlite::Result<Vec<DeviceInfo>> {
    let mut dims: HashMap<i64, BTreeMap<String, String>> = HashMap::new();
    let mut stmt = conn.prepare("SELECT device, name, value FROM device_dimension")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)))?;
    for row in rows {
        let (d, k, v) = row?;
        dims.entry(d).or_default().insert(k, v);
    }
    let mut stmt = conn.prepare(
        "SELECT id, device_id, first_seen_us, last_seen_us FROM device ORDER BY device_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            DeviceInfo {
                device_id: r.get(1)?,
                dimensions: BTreeMap::new(),
                first_seen_us: r.get(2)?,
                last_seen_us: r.get(3)?,
            },
        ))
    })?;
    rows.map(|row| {
        row.map(|(id, mut info)| {
            info.dimensions = dims.remove(&id).unwrap_or_default();
            info
        })
    })
    .collect()
}

fn measures(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM measure ORDER BY name")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

fn checkpoints(conn: &Connection, source: &str) -> rusqlite::Result<Vec<Checkpoint>> {
    let mut stmt =
        conn.prepare("SELECT shard, sequence FROM checkpoint WHERE source = ?1 ORDER BY shard")?;
    let rows = stmt.query_map([source], |r| {
        Ok(Checkpoint {
            shard: r.get(0)?,
            sequence: r.get(1)?,
        })
    })?;
    rows.collect()
}

/// The ids a query is about, or None when the device or measure is unknown
/// (so the answer is empty, not an error).
fn resolve(
    conn: &Connection,
    device_id: Option<&str>,
    measure: &str,
) -> rusqlite::Result<Option<(Option<i64>, i64)>> {
    let measure_id: Option<i64> = conn
        .query_row(
            "SELECT id FROM measure WHERE name = ?1",
            [crate::codec::measure_name(measure)],
            |r| r.get(0),
        )
        .optional()?;
    let Some(measure_id) = measure_id else {
        return Ok(None);
    };
    match device_id {
        None => Ok(Some((None, measure_id))),
        Some(d) => {
            let id: Option<i64> = conn
                .query_row("SELECT id FROM device WHERE device_id = ?1", [d], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(id.map(|id| (Some(id), measure_id)))
        }
    }
}

fn buckets(conn: &Connection, q: &BucketQuery<'_>, path: &Path) -> Result<Vec<Bucket>> {
    if q.bucket_us <= 0 {
        return Err(CacheError::BadQuery(
            "the bucket must be longer than zero".into(),
        ));
    }
    if q.to_us <= q.from_us {
        return Err(CacheError::BadQuery(
            "the range must end after it starts".into(),
        ));
    }
    let Some((device, measure)) = resolve(conn, q.device_id, q.measure).map_err(sqlite(path))?
    else {
        return Ok(Vec::new());
    };
    // Without a device, "device IN (all devices)" lets SQLite seek the
    // (device, measure, ts) key once per device instead of scanning.
    let sql = format!(
        "SELECT (ts_us - ?2) / ?4 AS b, avg(value), min(value), max(value), sum(value), count(*)
         FROM reading
         WHERE {} AND measure = ?1 AND ts_us >= ?2 AND ts_us < ?3
         GROUP BY b ORDER BY b",
        if device.is_some() {
            "device = ?5"
        } else {
            "device IN (SELECT id FROM device)"
        }
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite(path))?;
    let map = |r: &rusqlite::Row<'_>| {
        Ok(Bucket {
            start_us: q.from_us + r.get::<_, i64>(0)? * q.bucket_us,
            avg: r.get(1)?,
            min: r.get(2)?,
            max: r.get(3)?,
            sum: r.get(4)?,
            count: r.get::<_, i64>(5)? as u64,
        })
    };
    let rows = match device {
        Some(d) => stmt.query_map(params![measure, q.from_us, q.to_us, q.bucket_us, d], map),
        None => stmt.query_map(params![measure, q.from_us, q.to_us, q.bucket_us], map),
    }
    .map_err(sqlite(path))?;
    rows.collect::<rusqlite::Result<_>>().map_err(sqlite(path))
}

fn chart(
    conn: &Connection,
    device_id: Option<&str>,
    measure: &str,
    from_us: i64,
    to_us: i64,
    pixels: u32,
    path: &Path,
) -> Result<Vec<ChartColumn>> {
    if pixels == 0 || to_us <= from_us {
        return Err(CacheError::BadQuery(
            "a chart needs at least one pixel and a range that ends after it starts".into(),
        ));
    }
    let Some((device, measure)) = resolve(conn, device_id, measure).map_err(sqlite(path))? else {
        return Ok(Vec::new());
    };
    // Rows come in key order; folding them into pixel columns here is 3x
    // faster than SQLite's GROUP BY on a computed pixel index, which sorts
    // (see benches/hot_paths.rs, chart_24h_1s).
    let sql = format!(
        "SELECT ts_us, value FROM reading
         WHERE {} AND measure = ?1 AND ts_us >= ?2 AND ts_us < ?3",
        if device.is_some() {
            "device = ?4"
        } else {
            "device IN (SELECT id FROM device)"
        }
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite(path))?;
    let mut rows = match device {
        Some(d) => stmt.query(params![measure, from_us, to_us, d]),
        None => stmt.query(params![measure, from_us, to_us]),
    }
    .map_err(sqlite(path))?;
    // In i128: a range from the page may span more than i64 holds.
    let span = i128::from(to_us) - i128::from(from_us);
    let px = i128::from(pixels);
    let mut columns: Vec<Option<ChartColumn>> = vec![None; pixels as usize];
    while let Some(row) = rows.next().map_err(sqlite(path))? {
        let ts: i64 = row.get(0).map_err(sqlite(path))?;
        let value: f64 = row.get(1).map_err(sqlite(path))?;
        // i128: (ts - from) * pixels may pass i64 for ranges of centuries.
        let i = ((i128::from(ts) - i128::from(from_us)) * px / span) as usize;
        let Some(slot) = columns.get_mut(i) else {
            continue;
        };
        match slot {
            None => {
                *slot = Some(ChartColumn {
                    first_us: ts,
                    last_us: ts,
                    min: value,
                    max: value,
                    sum: value,
                    count: 1,
                })
            }
            Some(c) => {
                c.first_us = c.first_us.min(ts);
                c.last_us = c.last_us.max(ts);
                c.min = c.min.min(value);
                c.max = c.max.max(value);
                c.sum += value;
                c.count += 1;
            }
        }
    }
    Ok(columns.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests;
