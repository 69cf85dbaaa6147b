//! The cache's schema: its migrations in order, and bringing a file up to
//! date, one process after another when two open a new cache at once.

use std::path::Path;

use rusqlite::Connection;

use super::{CacheError, Result, sqlite};

/// Schema migrations, applied in order; `PRAGMA user_version` counts them.
pub(super) const MIGRATIONS: &[&str] = &[
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

pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<()> {
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
