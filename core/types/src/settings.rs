//! What the app remembers between runs, and the Connections window.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{FleetSpec, StreamConnection, TimestreamConnection};

/// The operator's views.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    #[default]
    Operations,
    History,
    Strategic,
    /// Grafana dashboards brought in from an export.
    Dashboards,
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
    /// Times shown on the machine's clock rather than UTC.
    pub local_time: bool,
    /// The device list hides devices with no recent reading.
    pub hide_offline: bool,
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
            local_time: false,
            hide_offline: false,
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
    #[serde(default)]
    pub influx: crate::InfluxConnection,
    pub lake: LakeConnection,
    /// The lake's Athena table, for the strategic views past one machine.
    pub athena: crate::AthenaConnection,
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
    Influx(crate::InfluxConnection),
    Athena(crate::AthenaConnection),
}

impl ConnectionTarget {
    pub fn service(&self) -> &'static str {
        match self {
            ConnectionTarget::Kinesis { .. } => "Kinesis",
            ConnectionTarget::Timestream { .. } => "Timestream",
            ConnectionTarget::S3 { .. } => "S3",
            ConnectionTarget::Influx(_) => "InfluxDB",
            ConnectionTarget::Athena(_) => "Athena",
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
