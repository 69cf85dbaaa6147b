//! The stream job (the seed's Flink job) as the app runs it: a Kinesis
//! stream into Timestream or InfluxDB, in the background, with its status.

use serde::{Deserialize, Serialize};

use crate::{InfluxConnection, StreamConnection, TimestreamConnection};

/// Where the bridge writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BridgeTarget {
    Timestream {
        connection: TimestreamConnection,
        /// One multi-measure record per reading instead of one per measure.
        #[serde(default)]
        multi_measure: bool,
    },
    Influx {
        connection: InfluxConnection,
    },
}

impl BridgeTarget {
    /// The target in the operator's words.
    pub fn describe(&self) -> String {
        match self {
            BridgeTarget::Timestream { connection, .. } => {
                format!("{}.{}", connection.database, connection.table)
            }
            BridgeTarget::Influx { connection } => {
                format!(
                    "InfluxDB {} database {}",
                    connection.url, connection.database
                )
            }
        }
    }

    /// What it writes, counted: "Timestream records", "InfluxDB points".
    pub fn unit(&self) -> &'static str {
        match self {
            BridgeTarget::Timestream { .. } => "Timestream records",
            BridgeTarget::Influx { .. } => "InfluxDB points",
        }
    }
}

/// Start the stream job: this stream into that target. Each shard resumes
/// after the checkpoints the bridge (CLI or app) stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeJob {
    pub stream: StreamConnection,
    pub target: BridgeTarget,
}

/// The stream job as it runs (or how it ended).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeStatus {
    pub running: bool,
    pub stream: String,
    pub target: String,
    /// "InfluxDB points", "Timestream records".
    pub unit: String,
    pub readings: u64,
    pub written: u64,
    pub rejected: u64,
    pub quarantined: u64,
    pub retries: u64,
    /// Why it stopped, if it failed.
    pub error: Option<String>,
}
