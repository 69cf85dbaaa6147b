//! Types that cross the IPC boundary between the Gridwatch shell and its UI.
//!
//! Both sides (`gridwatch` on the native side, `gridwatch-ui` in the webview)
//! serialise exactly these structs, so they cannot drift. This crate depends on
//! nothing but serde so that it compiles to wasm32 cheaply.
//!
//! Times are epoch microseconds (`*_us`) everywhere: the wire format's `Time`
//! may carry fractions of a millisecond.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Names of the Tauri commands the UI may call, defined once for both sides.
pub mod time;

pub mod command {
    pub const FLEET_STATUS: &str = "fleet_status";
    pub const START_FLEET: &str = "start_fleet";
    pub const STOP_FLEET: &str = "stop_fleet";
    pub const LIST_DEVICES: &str = "list_devices";
    pub const SUBSCRIBE_LIVE: &str = "subscribe_live";
    pub const WATCH_DEVICE: &str = "watch_device";
    pub const DEVICE_CHART: &str = "device_chart";
    pub const REPORT_UI_HEALTH: &str = "report_ui_health";
    pub const CONNECT_STREAM: &str = "connect_stream";
    pub const DISCONNECT_STREAM: &str = "disconnect_stream";
    pub const SHARD_STATUS: &str = "shard_status";
    pub const AGGREGATE: &str = "aggregate";
    pub const FILL_LAKE: &str = "fill_lake";
    pub const JOB_STATUS: &str = "job_status";
    pub const CANCEL_JOB: &str = "cancel_job";
    pub const HISTORY: &str = "history";
    pub const CANCEL_HISTORY: &str = "cancel_history";
    pub const ESTIMATE_COST: &str = "estimate_cost";
    pub const EXPORT_TABLE: &str = "export_table";
    pub const SAVE_REPORT: &str = "save_report";
    pub const LOAD_SETTINGS: &str = "load_settings";
    pub const SAVE_SETTINGS: &str = "save_settings";
    pub const NOTIFY: &str = "notify";
    pub const QUIT: &str = "quit";
    pub const TEST_CONNECTION: &str = "test_connection";
    pub const PRUNE_CACHE: &str = "prune_cache";
    pub const SET_LAKE_DIR: &str = "set_lake_dir";
}

/// The kind of device a simulated fleet is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    SmartMeter,
    Feeder,
    Transformer,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 3] = [
        DeviceKind::SmartMeter,
        DeviceKind::Feeder,
        DeviceKind::Transformer,
    ];

    /// The value of the `DeviceType` dimension on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::SmartMeter => "smart_meter",
            DeviceKind::Feeder => "feeder",
            DeviceKind::Transformer => "transformer",
        }
    }
}

/// What a simulated fleet is made of and how it behaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetSpec {
    pub smart_meters: u32,
    pub feeders: u32,
    pub transformers: u32,
    /// Time between two readings of one device.
    pub interval_ms: u64,
    /// Chance that a reading carries an anomaly (sag, swell, spike).
    pub anomaly_rate: f64,
    /// Same seed, same fleet, same readings.
    pub seed: u64,
}

impl FleetSpec {
    /// The seed's anomaly rate.
    pub const DEFAULT_ANOMALY_RATE: f64 = 0.051;

    pub fn device_count(&self) -> u32 {
        self.smart_meters + self.feeders + self.transformers
    }
}

impl Default for FleetSpec {
    fn default() -> Self {
        FleetSpec {
            smart_meters: 200,
            feeders: 0,
            transformers: 0,
            interval_ms: 1_000,
            anomaly_rate: Self::DEFAULT_ANOMALY_RATE,
            seed: 42,
        }
    }
}

/// Where the app's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The whole pipeline on this machine: simulator, in-process bus, cache.
    Embedded,
    /// Live data from a Kinesis data stream's shards.
    Kinesis,
}

/// A Kinesis stream to follow, and how to reach it. No secrets: credentials
/// come from the AWS profile chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamConnection {
    pub stream: String,
    pub profile: Option<String>,
    pub region: Option<String>,
    /// An emulator or VPC endpoint, e.g. `http://127.0.0.1:4567`.
    pub endpoint_url: Option<String>,
}

/// Where a launched fleet's readings go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FleetSink {
    /// The embedded pipeline: in-process bus, cache, live charts.
    #[default]
    InProcess,
    /// PutRecords into a Kinesis data stream, as real devices' gateways do.
    Kinesis(StreamConnection),
    /// Firehose-style extracts in the app's lake folder.
    Lake,
}

impl FleetSink {
    /// What the operator calls it, for status lines.
    pub fn describe(&self) -> String {
        match self {
            FleetSink::InProcess => "in-process".into(),
            FleetSink::Kinesis(c) => format!("Kinesis stream {}", c.stream),
            FleetSink::Lake => "the lake".into(),
        }
    }
}

/// A fleet to start, and where its readings go.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetLaunch {
    pub spec: FleetSpec,
    pub sink: FleetSink,
}

/// How fast the running fleet is producing, as its sink takes the readings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Production {
    /// Where the readings go (see [`FleetSink::describe`]).
    pub sink: String,
    /// Records the sink has taken since the fleet started.
    pub records: u64,
    pub records_per_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetStatus {
    pub mode: Mode,
    /// The running fleet, if any.
    pub running: Option<FleetSpec>,
    /// The running fleet's sink and production rate.
    #[serde(default)]
    pub production: Option<Production>,
    pub shards: u32,
    pub cache_path: String,
    /// The lake folder the strategic view reads.
    #[serde(default)]
    pub lake_dir: String,
    /// The Kinesis stream the live view follows, in Kinesis mode.
    pub stream: Option<String>,
}

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

/// A strategic view over the lake's extracts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AggregateQuery {
    pub from_us: i64,
    pub to_us: i64,
    /// Group keys: device, region, feeder, type, hour, day, week, month.
    pub by: Vec<String>,
    /// Dimension = value filters.
    pub filters: Vec<(String, String)>,
    /// Only the N groups with the most energy.
    pub top: Option<u32>,
}

/// One cell of a result table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Number(f64),
    Text(String),
    Null,
}

/// A result table, as the strategic view shows and exports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Extract lines that could not be read, as `file:line: reason`.
    pub skipped: Vec<String>,
    pub lake_dir: String,
}

/// Write simulated history into the lake (a long job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FillLake {
    pub days: u32,
    pub spec: FleetSpec,
}

/// A long job's progress, for a progress bar with a Cancel button.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    pub running: bool,
    pub name: String,
    /// 0.0 to 1.0.
    pub fraction: f32,
    pub message: String,
    /// How the last job ended, if it failed or was cancelled.
    pub error: Option<String>,
}

/// Where Timestream history lives, and how to reach it (no secrets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimestreamConnection {
    pub database: String,
    pub table: String,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// A history request: a chart of one measure (aggregated on the server to
/// the chart's width) or, with `sql`, the operator's own query (Grafana's
/// macros expanded).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    pub connection: TimestreamConnection,
    pub sql: Option<String>,
    pub device: Option<String>,
    pub measure: String,
    pub from_us: i64,
    pub to_us: i64,
    pub pixels: u32,
    /// Stop the query once it has metered more bytes than this.
    pub max_bytes: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryResult {
    pub table: ResultTable,
    /// The SQL that ran, macros expanded.
    pub sql: String,
    pub bytes_scanned: i64,
    pub bytes_metered: i64,
    /// Set when Timestream was unreachable and this is the cached answer,
    /// fetched at this time.
    pub cached_at_us: Option<i64>,
}

/// One line of a pipeline cost estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostLine {
    pub service: String,
    pub item: String,
    pub quantity: f64,
    pub unit: String,
    pub monthly_usd: f64,
}

/// What the seed's pipeline would cost a month for a fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// Which prices were used.
    pub prices: String,
    pub records_per_second: f64,
    pub bytes_per_second: f64,
    pub shards: u64,
    pub lines: Vec<CostLine>,
    pub total_usd: f64,
}

/// A file format a table exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableFormat {
    Csv,
    Parquet,
}

/// Export a table the UI shows; the shell asks where with a save dialog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportTable {
    pub table: ResultTable,
    pub format: TableFormat,
    /// The file name the dialog suggests.
    pub name: String,
}

/// Save a report over the lake; the shell asks where with a save dialog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveReport {
    pub from_us: i64,
    pub to_us: i64,
    pub region: Option<String>,
    pub pdf: bool,
}

/// Where a file was saved; None when the operator cancelled the dialog.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub path: Option<String>,
}

/// What the UI tells the shell about itself, for smoke tests and soak logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UiHealth {
    pub frames: u64,
    pub batches_received: u64,
    pub points_on_chart: u64,
    pub devices_listed: u64,
    /// 99th percentile of the last frames' CPU time, in milliseconds.
    pub frame_ms_p99: f64,
    #[serde(default)]
    pub frame_ms_p50: f64,
    /// 99th percentile of the UI's own logic per frame (no painting).
    #[serde(default)]
    pub logic_ms_p99: f64,
    /// The view on screen, and whether a fleet runs (for end-to-end tests
    /// that drive the window with keys).
    #[serde(default)]
    pub view: View,
    #[serde(default)]
    pub fleet_running: bool,
}

/// An error code the UI can act on without matching message strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request was malformed: a bad argument, out of range.
    InvalidInput,
    /// The named device, measure, stream or file does not exist.
    NotFound,
    /// AWS refused or could not be reached: credentials, access, network.
    Aws,
    /// The local cache could not be opened, read or written.
    Cache,
    /// A fleet is already running; stop it first.
    FleetRunning,
    /// The IPC itself failed (UI side only).
    Ipc,
    /// The operator cancelled it.
    Cancelled,
    /// A local file (settings, export) could not be read or written.
    Io,
    /// The AWS credential chain found no credentials (profile, SSO,
    /// environment).
    NoCredentials,
    /// AWS refused these credentials this action.
    AccessDenied,
    /// The service or endpoint could not be reached (network, endpoint URL).
    Unreachable,
    /// Anything else; the message says what.
    Internal,
}

/// The error every command returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_cross_the_boundary_as_snake_case() {
        let e = ApiError::new(ErrorCode::FleetRunning, "stop the fleet first");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"code":"fleet_running","message":"stop the fleet first"}"#
        );
        let back: ApiError = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn default_fleet_is_two_hundred_meters_at_one_hertz() {
        let spec = FleetSpec::default();
        assert_eq!(spec.device_count(), 200);
        assert_eq!(spec.interval_ms, 1000);
        assert_eq!(spec.anomaly_rate, 0.051);
    }
}

/// The operator's views.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    #[default]
    Operations,
    History,
    Strategic,
}

/// The operator's screen as they left it, restored at the next start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Layout {
    pub view: View,
    pub dark: bool,
    /// The device whose charts were shown.
    pub device: Option<String>,
    /// Its charts, one per measure, top to bottom.
    pub charts: Vec<String>,
    pub heatmap_measure: String,
    /// Device-list pickers: dimension -> value ("" for all).
    pub dimension_filter: BTreeMap<String, String>,
    pub follow_live: bool,
    pub history_range_s: i64,
    pub history_measure: String,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            view: View::Operations,
            dark: true,
            device: None,
            charts: vec!["watt".into()],
            heatmap_measure: "watt".into(),
            dimension_filter: BTreeMap::new(),
            follow_live: true,
            history_range_s: 3_600,
            history_measure: "voltage".into(),
        }
    }
}

/// What the app remembers between runs: the layout, the connections and
/// the launcher's last fleet. Never a secret: credentials stay in the AWS
/// profile chain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub layout: Layout,
    pub stream: StreamConnection,
    pub timestream: TimestreamConnection,
    pub lake: LakeConnection,
    /// The lake folder the strategic view reads (None: the app's default).
    pub lake_dir: Option<String>,
    /// Readings older than this many days leave the cache (None: kept).
    pub cache_retention_days: Option<u32>,
    pub alarms: AlarmRules,
    pub fleet: FleetSpec,
}

/// A desktop notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub title: String,
    pub body: String,
}

/// Which connection the operator tests, with how to reach AWS. No secrets:
/// credentials come from the AWS profile chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTest {
    pub target: ConnectionTarget,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "service", rename_all = "snake_case")]
pub enum ConnectionTarget {
    Kinesis { stream: String },
    Timestream { database: String, table: String },
    S3 { bucket: String, prefix: String },
}

impl ConnectionTarget {
    pub fn service(&self) -> &'static str {
        match self {
            ConnectionTarget::Kinesis { .. } => "Kinesis",
            ConnectionTarget::Timestream { .. } => "Timestream",
            ConnectionTarget::S3 { .. } => "S3",
        }
    }
}

/// The S3 lake the operator syncs extracts from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LakeConnection {
    pub bucket: String,
    pub prefix: String,
}

/// The nominal voltage of a device type (its `DeviceType` dimension): the
/// reference for the alarms' tolerance and the lake's voltage compliance.
pub fn nominal_voltage(device_type: Option<&str>) -> f64 {
    match device_type {
        Some("feeder") => 11_000.0,
        Some("transformer") => 400.0,
        _ => 230.0,
    }
}

/// When a reading raises an alarm. Saved with the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlarmRules {
    /// Voltage further than this from the device type's nominal, in %.
    pub voltage_tolerance_pct: f64,
    /// Power changing by more than this factor from one reading to the next.
    pub rapid_change_factor: f64,
    /// Intervals without a reading before a device counts as stale.
    pub stale_intervals: u32,
    /// Per measure: a reading below `min` or above `max` raises an alarm.
    pub limits: BTreeMap<String, MeasureLimit>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasureLimit {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Default for AlarmRules {
    fn default() -> Self {
        AlarmRules {
            voltage_tolerance_pct: 10.0,
            rapid_change_factor: 2.0,
            stale_intervals: 3,
            // A transformer's load past its rating, and its oil too hot to
            // last (IEC 60076-7's 105 °C top-oil limit, with margin).
            limits: BTreeMap::from([
                (
                    "load_pct".to_string(),
                    MeasureLimit {
                        min: None,
                        max: Some(100.0),
                    },
                ),
                (
                    "oil_temperature".to_string(),
                    MeasureLimit {
                        min: None,
                        max: Some(95.0),
                    },
                ),
            ]),
        }
    }
}
