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
///
/// The fields after `seed` came later; each has a default, so a settings
/// file written before them still loads (and means the fleet it meant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetSpec {
    /// Smart meters; with [`FleetShape::Seed`], the seed producer's devices.
    pub smart_meters: u32,
    pub feeders: u32,
    pub transformers: u32,
    /// Time between two readings of one device.
    pub interval_ms: u64,
    /// Chance that a reading carries an anomaly (sag, swell, spike).
    pub anomaly_rate: f64,
    /// Same seed, same fleet, same readings.
    pub seed: u64,
    /// Whose records the fleet sends: the utility's network or the seed's
    /// producer.
    #[serde(default)]
    pub shape: FleetShape,
    /// How the utility fleet's network hangs together.
    #[serde(default)]
    pub topology: Topology,
    /// Feeders, transformers and meters going silent for a while.
    #[serde(default)]
    pub outages: Outages,
    /// Readings that come late, twice, or from a clock that is off.
    #[serde(default)]
    pub delivery: Delivery,
}

impl FleetSpec {
    /// The seed's anomaly rate.
    pub const DEFAULT_ANOMALY_RATE: f64 = 0.051;
    /// The seed producer's fleet: 50 devices.
    pub const SEED_DEVICES: u32 = 50;

    /// The devices that send readings. The seed's producer has no network,
    /// so its feeders and transformers count for nothing.
    pub fn device_count(&self) -> u32 {
        match self.shape {
            FleetShape::Utility => self.smart_meters + self.feeders + self.transformers,
            FleetShape::Seed => self.smart_meters,
        }
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
            shape: FleetShape::default(),
            topology: Topology::default(),
            outages: Outages::default(),
            delivery: Delivery::default(),
        }
    }
}

/// Whose records a fleet sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetShape {
    /// Smart meters on transformers on feeders on substations: voltage,
    /// current, power, an energy register, temperatures.
    #[default]
    Utility,
    /// The seed talk's sample producer: `temperature`, `humidity`,
    /// `voltage` and `watt`, uniform in fixed ranges, no dimensions.
    Seed,
}

impl FleetShape {
    pub const ALL: [FleetShape; 2] = [FleetShape::Utility, FleetShape::Seed];

    /// What the operator calls it (and `--shape` spells it).
    pub fn as_str(self) -> &'static str {
        match self {
            FleetShape::Utility => "utility",
            FleetShape::Seed => "seed",
        }
    }
}

/// The utility network: meters on transformers, transformers on feeders,
/// feeders on substations. The fleet's own feeders and transformers (its
/// counts) are the network's; when it has none, the network still has
/// them, named on the meters' records but not reporting (unmonitored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Topology {
    /// Substations the feeders are spread over; 0 is one for every four
    /// feeders.
    pub substations: u32,
    /// Meters on one transformer, when the fleet has no transformers of its
    /// own.
    pub meters_per_transformer: u32,
    /// Transformers on one feeder, when the fleet has no feeders of its own.
    pub transformers_per_feeder: u32,
}

impl Default for Topology {
    fn default() -> Self {
        // A pole or pad-mount transformer serves a handful of homes; an
        // 11 kV feeder a dozen or so of those.
        Topology {
            substations: 0,
            meters_per_transformer: 8,
            transformers_per_feeder: 12,
        }
    }
}

/// Outages: a feeder, a transformer or a single meter going silent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Outages {
    /// Chance that a given feeder, transformer or meter has an outage
    /// starting on a given day; 0 is none.
    pub per_day: f64,
    /// The shortest and longest outage.
    pub min_ms: u64,
    pub max_ms: u64,
}

impl Outages {
    /// About four outages a year for each feeder, transformer and meter.
    pub const REALISTIC_PER_DAY: f64 = 0.01;
    /// The longest outage the simulator makes: a day.
    pub const LONGEST_MS: u64 = 86_400_000;
}

impl Default for Outages {
    fn default() -> Self {
        // Off until asked for, so a fleet means what it meant before
        // outages existed; from five minutes to four hours when on.
        Outages {
            per_day: 0.0,
            min_ms: 5 * 60_000,
            max_ms: 4 * 3_600_000,
        }
    }
}

/// How readings reach the sink: some late, some twice, some stamped by a
/// clock that is off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Delivery {
    /// Share of readings delivered late.
    pub late_share: f64,
    /// The longest delay of a late reading (the shortest is a minute).
    pub late_max_ms: u64,
    /// Share of readings delivered twice.
    pub duplicate_share: f64,
    /// Share of devices whose clock is off.
    pub skewed_share: f64,
    /// How far off such a clock may be, either way.
    pub skew_max_ms: u64,
}

impl Delivery {
    /// The shortest delay of a late reading.
    pub const LATE_MIN_MS: u64 = 60_000;
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            late_share: 0.0,
            late_max_ms: 10 * 60_000,
            duplicate_share: 0.0,
            skewed_share: 0.0,
            skew_max_ms: 30_000,
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
    #[error("{what} {value} is not a share between 0 and 1")]
    Share { what: &'static str, value: f64 },
    #[error("outages must last from more than zero to at most a day, the shortest first")]
    OutageDuration,
    #[error(
        "a late reading is late by a minute at least: the longest delay must be a minute or more"
    )]
    LateDelay,
}

impl FleetSpec {
    /// Whether the fleet can run: the app's launcher and the CLI's
    /// `simulate` check the same things, in this order.
    pub fn validate(&self) -> Result<(), FleetSpecError> {
        // Summed wide: three counts near u32::MAX are a big fleet, not an
        // overflow.
        let devices = match self.shape {
            FleetShape::Utility => {
                u64::from(self.smart_meters)
                    + u64::from(self.feeders)
                    + u64::from(self.transformers)
            }
            FleetShape::Seed => u64::from(self.smart_meters),
        };
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
        let d = &self.delivery;
        for (what, value) in [
            ("the outage rate", self.outages.per_day),
            ("the late share", d.late_share),
            ("the duplicate share", d.duplicate_share),
            ("the skewed share", d.skewed_share),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(FleetSpecError::Share { what, value });
            }
        }
        let o = &self.outages;
        if o.min_ms == 0 || o.min_ms > o.max_ms || o.max_ms > Outages::LONGEST_MS {
            return Err(FleetSpecError::OutageDuration);
        }
        if d.late_max_ms < Delivery::LATE_MIN_MS {
            return Err(FleetSpecError::LateDelay);
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

    #[test]
    fn settings_written_before_shapes_and_outages_still_load() {
        let old = r#"{"smart_meters":20,"feeders":1,"transformers":2,"interval_ms":1000,"anomaly_rate":0.051,"seed":7}"#;
        let spec: FleetSpec = serde_json::from_str(old).unwrap();
        assert_eq!(spec.shape, FleetShape::Utility);
        assert_eq!(spec.topology, Topology::default());
        assert_eq!(spec.outages.per_day, 0.0);
        assert_eq!(spec.delivery, Delivery::default());
        assert_eq!(spec.device_count(), 23);
        let partial = r#"{"smart_meters":20,"feeders":0,"transformers":0,"interval_ms":1000,"anomaly_rate":0.051,"seed":7,"shape":"seed","outages":{"per_day":0.5}}"#;
        let spec: FleetSpec = serde_json::from_str(partial).unwrap();
        assert_eq!(spec.shape, FleetShape::Seed);
        assert_eq!(spec.outages.per_day, 0.5);
        assert_eq!(spec.outages.max_ms, Outages::default().max_ms);
        assert_eq!(spec.validate(), Ok(()));
    }

    #[test]
    fn shares_and_durations_are_checked() {
        let mut spec = FleetSpec::default();
        spec.delivery.duplicate_share = 1.5;
        assert_eq!(
            spec.validate().unwrap_err().to_string(),
            "the duplicate share 1.5 is not a share between 0 and 1"
        );
        let mut spec = FleetSpec::default();
        spec.outages.min_ms = spec.outages.max_ms + 1;
        assert_eq!(spec.validate(), Err(FleetSpecError::OutageDuration));
        let mut spec = FleetSpec::default();
        spec.delivery.late_max_ms = 1_000;
        assert_eq!(spec.validate(), Err(FleetSpecError::LateDelay));
        let seed = FleetSpec {
            shape: FleetShape::Seed,
            smart_meters: 0,
            feeders: 3,
            ..FleetSpec::default()
        };
        assert_eq!(seed.validate(), Err(FleetSpecError::Empty));
    }
}
