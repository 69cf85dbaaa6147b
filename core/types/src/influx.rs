//! Where an InfluxDB lives (Amazon Timestream for InfluxDB, or InfluxDB
//! 1.x, 2.x through its DBRP mapping, 3.x Core and Enterprise: all answer
//! InfluxQL on `/query` and take line protocol on `/write`), and how its
//! readings are laid out. No secret is ever here: a token or a password
//! comes from the environment or an AWS Secrets Manager secret.

use serde::{Deserialize, Serialize};

/// The measurement the bridge writes and History reads by default.
pub const DEFAULT_MEASUREMENT: &str = "readings";
/// The tag that holds the device by default (the wire record's key).
pub const DEFAULT_DEVICE_TAG: &str = "DeviceID";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InfluxConnection {
    /// e.g. `https://<instance>.timestream-influxdb.us-east-1.on.aws:8086`.
    pub url: String,
    /// The database (InfluxDB 1.x), or the bucket mapped to it (2.x, 3.x).
    pub database: String,
    pub measurement: String,
    pub device_tag: String,
    /// The AWS Secrets Manager entry (name or ARN) that holds the
    /// credentials (its name only: what it holds is never kept here)
    /// (`{"username", "password"}` or `{"token"}`), fetched through the
    /// default AWS credential chain; without it, `INFLUX_TOKEN` or
    /// `INFLUX_USERNAME` and `INFLUX_PASSWORD` from the environment.
    pub credentials: Option<String>,
    /// How to reach AWS for the secret.
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

impl InfluxConnection {
    /// This connection, its credentials entry read through the AWS access
    /// the rest of the app uses (profile, region, endpoint URL).
    pub fn with_aws(
        &self,
        profile: &Option<String>,
        region: &Option<String>,
        endpoint_url: &Option<String>,
    ) -> InfluxConnection {
        InfluxConnection {
            profile: profile.clone(),
            region: region.clone(),
            endpoint_url: endpoint_url.clone(),
            ..self.clone()
        }
    }
}

impl Default for InfluxConnection {
    fn default() -> Self {
        InfluxConnection {
            url: String::new(),
            database: String::new(),
            measurement: DEFAULT_MEASUREMENT.into(),
            device_tag: DEFAULT_DEVICE_TAG.into(),
            credentials: None,
            profile: None,
            region: None,
            endpoint_url: None,
        }
    }
}
