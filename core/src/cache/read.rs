//! Reading: a read-only view for queries from any thread (the UI, the CLI)
//! while the writer writes, and the listings both views share.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use gridwatch_types::{ChartColumn, DeviceInfo};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::query::{Bucket, BucketQuery, buckets, chart};
use super::schema::MIGRATIONS;
use super::{CacheError, Checkpoint, Result, sqlite};

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

    /// A history result kept by
    /// [`Cache::store_history`](super::Cache::store_history), with when it
    /// was fetched.
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

pub(super) fn checkpoints(conn: &Connection, source: &str) -> rusqlite::Result<Vec<Checkpoint>> {
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
