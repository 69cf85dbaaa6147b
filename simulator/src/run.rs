//! Running a fleet: pacing its readings in real time or as fast as possible,
//! encoding them in the wire format, and handing them to a sink.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gridwatch_core::bus::Bus;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::fleet::{Fleet, FleetStats};

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("the in-process bus is closed")]
    BusClosed,
    #[error("Kinesis: {0}")]
    Kinesis(String),
    #[error("lake {path}: {source}")]
    Lake {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where a fleet's records go: one record at a time, keyed by device.
pub trait RecordSink {
    /// One record in the wire format, keyed by its device, with its time
    /// (epoch microseconds) for sinks that partition by time.
    fn send(
        &mut self,
        partition_key: &str,
        data: &[u8],
        time_us: i64,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// One record written by `encode`: into `scratch` and sent, or, by a
    /// sink that keeps a buffer of records (the lake's file), straight
    /// into it, saving a copy of every record.
    fn send_encoded(
        &mut self,
        partition_key: &str,
        time_us: i64,
        scratch: &mut Vec<u8>,
        encode: impl FnOnce(&mut Vec<u8>) + Send,
    ) -> impl Future<Output = Result<(), SinkError>> + Send {
        scratch.clear();
        encode(scratch);
        self.send(partition_key, scratch, time_us)
    }

    /// Sends whatever the sink holds back for batching. Called at the end.
    fn flush(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        async { Ok(()) }
    }

    /// Called before the fleet waits for its next reading: a sink that
    /// batches for throughput sends now, one that batches into files may
    /// wait for its buffer interval.
    fn idle(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        self.flush()
    }
}

/// The embedded default: records go onto the in-process sharded bus.
pub struct BusSink {
    bus: Arc<Bus>,
}

impl BusSink {
    pub fn new(bus: Arc<Bus>) -> Self {
        BusSink { bus }
    }
}

impl RecordSink for BusSink {
    async fn send(&mut self, partition_key: &str, data: &[u8], _: i64) -> Result<(), SinkError> {
        self.bus
            .put(partition_key, data.to_vec(), gridwatch_core::time::now_us())
            .await
            .map(|_| ())
            .map_err(|_| SinkError::BusClosed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Each reading is sent when its time comes (a live fleet).
    RealTime,
    /// Readings are sent as fast as the sink takes them (filling history).
    AsFastAsPossible,
}

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub pacing: Pacing,
    /// Readings due at or after this time are not sent; None runs until
    /// stopped.
    pub end_us: Option<i64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    /// Records the sink took (second copies included).
    pub records: u64,
    /// The simulated time reached.
    pub reached_us: i64,
    /// Readings taken, silenced, late and sent twice.
    pub fleet: FleetStats,
}

/// Progress of a run, for bars and status lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunProgress {
    pub records: u64,
    pub reached_us: i64,
}

/// Runs `fleet` into `sink` until `options.end_us`, or until `stop` turns
/// true. `progress` hears about the run every few thousand records or
/// every quarter second, whichever is first.
pub async fn run_fleet<S: RecordSink>(
    fleet: &mut Fleet,
    sink: &mut S,
    options: RunOptions,
    mut stop: watch::Receiver<bool>,
    mut progress: impl FnMut(RunProgress),
) -> Result<RunSummary, SinkError> {
    let mut summary = RunSummary::default();
    let wall_start = Instant::now();
    let sim_start = fleet.next_due_us().unwrap_or(0);
    let mut last_report = Instant::now();
    let mut buf = Vec::with_capacity(512);
    loop {
        // A stop is seen within 256 records (the flag sits behind a lock).
        if summary.records % 256 == 0 && *stop.borrow() {
            break;
        }
        let Some(due) = fleet.next_due_us() else {
            break;
        };
        if options.end_us.is_some_and(|end| due >= end) {
            break;
        }
        if options.pacing == Pacing::RealTime {
            let wait = Duration::from_micros((due - sim_start).max(0) as u64);
            let at = wall_start + wait;
            if at > Instant::now() {
                sink.idle().await?;
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    changed = stop.changed() => {
                        // A dropped stop sender means nobody can stop us any
                        // more; keep running to the end in that case.
                        if changed.is_ok() && *stop.borrow() { break; }
                        continue;
                    }
                }
            }
        }
        let Some(delivery) = fleet.next_delivery() else {
            break;
        };
        send(fleet, sink, &mut buf, &delivery, &mut summary).await?;
        // The clock is read every 256 records, not every one.
        if summary.records % 4096 == 0
            || (summary.records % 256 == 0 && last_report.elapsed() > Duration::from_millis(250))
        {
            last_report = Instant::now();
            progress(RunProgress {
                records: summary.records,
                reached_us: summary.reached_us,
            });
        }
    }
    // Late readings and second copies still on their way arrive now: a
    // run that ends (or is stopped) still delivers every reading it took.
    for delivery in fleet.drain_in_flight() {
        send(fleet, sink, &mut buf, &delivery, &mut summary).await?;
    }
    summary.fleet = fleet.stats();
    sink.flush().await?;
    progress(RunProgress {
        records: summary.records,
        reached_us: summary.reached_us,
    });
    Ok(summary)
}

async fn send<S: RecordSink>(
    fleet: &Fleet,
    sink: &mut S,
    buf: &mut Vec<u8>,
    delivery: &crate::fleet::Delivered,
    summary: &mut RunSummary,
) -> Result<(), SinkError> {
    let id = fleet.device_id_text(delivery.reading.device);
    let id = id.as_str();
    let encode = |out: &mut Vec<u8>| fleet.encode(&delivery.reading, id, out);
    sink.send_encoded(id, delivery.at_us, buf, encode).await?;
    summary.records += 1;
    summary.reached_us = summary.reached_us.max(delivery.at_us);
    Ok(())
}
