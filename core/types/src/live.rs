//! The live view: devices, their readings, charts and the stream's shards.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A device as the operator knows it: its ID and dimensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub device_id: String,
    pub dimensions: BTreeMap<String, String>,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
}

/// One measure's value at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureValue {
    pub measure: String,
    pub value: f64,
}

/// The newest reading of a device, for the device list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceLatest {
    pub device_id: String,
    pub time_us: i64,
    pub values: Vec<MeasureValue>,
}

/// One point of a measure's series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub time_us: i64,
    pub value: f64,
}

/// The fleet at one moment: the sum of every device's latest power.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FleetPoint {
    pub time_us: i64,
    pub total_watt: f64,
    pub devices_reporting: u32,
}

/// Counters of the pipeline since the app started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineStats {
    pub records_ingested: u64,
    pub readings_ingested: u64,
    pub records_quarantined: u64,
    /// Readings that came again with another value than the one held
    /// (both kept: the first as the reading, the second aside).
    #[serde(default)]
    pub readings_conflicting: u64,
    /// Records per second over the last batch window.
    pub records_per_s: f64,
    pub devices: u32,
}

/// What the shell pushes to the UI several times a second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveBatch {
    pub seq: u64,
    pub fleet: Option<FleetPoint>,
    /// Devices whose latest reading changed since the previous batch.
    pub devices: Vec<DeviceLatest>,
    /// New readings of the watched device, per measure.
    pub watched_device: Option<String>,
    pub watched: BTreeMap<String, Vec<SeriesPoint>>,
    pub stats: PipelineStats,
    /// Readings received per measure since the pipeline started.
    #[serde(default)]
    pub readings_by_measure: BTreeMap<String, u64>,
}

/// A chart's request: one device (or the whole fleet), one measure, a range,
/// and how many pixels wide the chart is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartRequest {
    pub device_id: Option<String>,
    pub measure: String,
    pub from_us: i64,
    pub to_us: i64,
    pub pixels: u32,
}

/// One pixel column of a decimated chart: the extremes of the readings in it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChartColumn {
    pub first_us: i64,
    pub last_us: i64,
    pub min: f64,
    pub max: f64,
    /// The readings' sum: their mean is `sum / count`.
    pub sum: f64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartSeries {
    pub device_id: Option<String>,
    pub measure: String,
    pub columns: Vec<ChartColumn>,
}

/// Where a consumer is with one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardState {
    /// A child waiting for its parents to be read to their end.
    Waiting,
    Reading,
    /// Read to its tip (the consumer was asked to stop there).
    CaughtUp,
    /// Closed and read to its end.
    Ended,
}

/// One row of the shard panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardStatus {
    pub shard_id: String,
    pub parent: Option<String>,
    pub adjacent_parent: Option<String>,
    /// Open shards take new records; closed ones were split or merged.
    pub open: bool,
    pub state: ShardState,
    pub records: u64,
    pub records_per_s: f64,
    /// MillisBehindLatest from the last read.
    pub millis_behind: Option<i64>,
    /// ProvisionedThroughputExceeded answers so far.
    pub throttled: u64,
    pub expired_iterators: u64,
    pub quarantined: u64,
    pub last_error: Option<String>,
}
