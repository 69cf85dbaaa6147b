//! Range queries over the readings: statistics per bucket, and a chart's
//! columns folded from rows in key order.

use std::path::Path;

use gridwatch_types::ChartColumn;
use rusqlite::{Connection, OptionalExtension, params};

use super::{CacheError, Result, sqlite};

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

pub(super) fn buckets(conn: &Connection, q: &BucketQuery<'_>, path: &Path) -> Result<Vec<Bucket>> {
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

pub(super) fn chart(
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
