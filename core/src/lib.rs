//! Gridwatch's domain and data paths.
//!
//! - [`codec`]: the wire record (JSON) and its typed decode errors.
//! - [`bus`]: the embedded, Kinesis-like sharded bus.
//! - [`cache`]: the SQLite cache: readings, devices, checkpoints, quarantine.
//! - [`ingest`]: shards -> decode -> cache, exactly once per checkpoint.
//! - [`kinesis`]: following a Kinesis stream's shards; [`aws`]: credentials.
//! - [`live`]: what the operator's screen needs from the stream.
//! - [`timestream`] and [`influx`]: history from Timestream and from
//!   InfluxDB (Timestream for InfluxDB), cached for offline use.
//!
//! This crate knows nothing of Tauri, egui or the simulator.

pub mod aws;
pub mod bridge;
pub mod bus;
pub mod cache;
/// The wire-record codec, a crate of its own so it builds (and fuzzes)
/// without the AWS SDK.
pub use gridwatch_codec as codec;
pub mod cost;
pub mod files;
pub mod grafana;
pub mod influx;
pub mod ingest;
pub mod kinesis;
pub mod live;
pub mod probe;
pub mod time;
pub mod timestream;

pub use cache::{Cache, CacheError, CacheReader};
pub use codec::{DecodeError, Record};
