//! A simulated fleet: what it is made of, where its readings go, and how
//! it is doing.

use serde::{Deserialize, Serialize};

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

/// Why a fleet cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FleetSpecError {
    #[error("the fleet is empty")]
    Empty,
    #[error("anomaly rate {0} is not between 0 and 1")]
    AnomalyRate(f64),
    #[error("the interval must be longer than zero")]
    ZeroInterval,
}

impl FleetSpec {
    /// Whether the fleet can run: the app's launcher and the CLI's
    /// `simulate` check the same three things, in this order.
    pub fn validate(&self) -> Result<(), FleetSpecError> {
        // Summed wide: three counts near u32::MAX are a big fleet, not an
        // overflow.
        let devices =
            u64::from(self.smart_meters) + u64::from(self.feeders) + u64::from(self.transformers);
        if devices == 0 {
            return Err(FleetSpecError::Empty);
        }
        // Written so a NaN rate is refused too.
        if !(0.0..=1.0).contains(&self.anomaly_rate) {
            return Err(FleetSpecError::AnomalyRate(self.anomaly_rate));
        }
        if self.interval_ms == 0 {
            return Err(FleetSpecError::ZeroInterval);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_is_checked_before_it_runs() {
        assert_eq!(FleetSpec::default().validate(), Ok(()));
        let empty = FleetSpec {
            smart_meters: 0,
            ..FleetSpec::default()
        };
        assert_eq!(empty.validate(), Err(FleetSpecError::Empty));
        let feeders_only = FleetSpec {
            feeders: 1,
            ..empty.clone()
        };
        assert_eq!(feeders_only.validate(), Ok(()));
        for rate in [-0.1, 1.5, f64::NAN] {
            let spec = FleetSpec {
                anomaly_rate: rate,
                ..FleetSpec::default()
            };
            assert!(matches!(
                spec.validate(),
                Err(FleetSpecError::AnomalyRate(_))
            ));
        }
        let still = FleetSpec {
            interval_ms: 0,
            ..FleetSpec::default()
        };
        assert_eq!(still.validate(), Err(FleetSpecError::ZeroInterval));
        assert_eq!(
            still.validate().unwrap_err().to_string(),
            "the interval must be longer than zero"
        );
        let huge = FleetSpec {
            smart_meters: u32::MAX,
            feeders: u32::MAX,
            transformers: u32::MAX,
            ..FleetSpec::default()
        };
        assert_eq!(huge.validate(), Ok(()));
    }

    #[test]
    fn default_fleet_is_two_hundred_meters_at_one_hertz() {
        let spec = FleetSpec::default();
        assert_eq!(spec.device_count(), 200);
        assert_eq!(spec.interval_ms, 1000);
        assert_eq!(spec.anomaly_rate, 0.051);
    }
}
