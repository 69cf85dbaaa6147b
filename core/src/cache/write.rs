//! Writing: one batch of records, quarantined records and the checkpoints
//! they cover, in one transaction. A reading already held is repeated
//! (same value, nothing changes) or a conflict (kept apart; the first value
//! stays).

use std::collections::HashMap;

use rusqlite::params;

use super::{Cache, Checkpoint, Result, sqlite};
use crate::codec::Record;

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

impl Cache {
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
