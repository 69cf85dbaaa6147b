//! The Connections window's Test buttons: one read-only call each, which
//! says whether the settings reach what they name, and if not, why.

use gridwatch_core::aws::AwsOptions;
use gridwatch_core::influx::{Datum, InfluxClient, InfluxError, influxql};
use gridwatch_core::probe;
use gridwatch_types::InfluxConnection;
use gridwatch_types::{ConnectionTarget, ConnectionTest};

use crate::{Error, Result, Session};

impl Session {
    pub async fn test_connection(&self, test: ConnectionTest) -> Result<String> {
        let aws = AwsOptions::from_form(&test.profile, &test.region, &test.endpoint_url);
        let service = test.target.service();
        let missing = |what: &str| Err(Error::Invalid(format!("{service}: name the {what}")));
        let found = match &test.target {
            ConnectionTarget::Kinesis { stream } if stream.trim().is_empty() => {
                return missing("stream");
            }
            ConnectionTarget::Kinesis { stream } => probe::kinesis(&aws, stream.trim()).await,
            ConnectionTarget::Timestream { database, table }
                if database.trim().is_empty() || table.trim().is_empty() =>
            {
                return missing("database and the table");
            }
            ConnectionTarget::Timestream { database, table } => {
                probe::timestream(&aws, database.trim(), table.trim()).await
            }
            ConnectionTarget::S3 { bucket, .. } if bucket.trim().is_empty() => {
                return missing("bucket");
            }
            ConnectionTarget::S3 { bucket, prefix } => {
                probe_s3(&aws, bucket.trim(), prefix.trim()).await
            }
            ConnectionTarget::Influx(c) => return Ok(probe_influx(c).await?),
            ConnectionTarget::Athena(c)
                if c.database.trim().is_empty() || c.table.trim().is_empty() =>
            {
                return missing("database and the table");
            }
            ConnectionTarget::Athena(c) => return self.probe_athena(&aws, c).await,
        };
        found.map_err(|(problem, message)| Error::Probe {
            service,
            problem,
            message,
        })
    }
}

/// ListObjectsV2 of one key under the prefix: the bucket is there and
/// readable, and whether extracts are.
async fn probe_s3(aws: &AwsOptions, bucket: &str, prefix: &str) -> probe::ProbeResult {
    let conf = probe::sdk_config(aws).await?;
    let client = gridwatch_lake::sync::s3_client(&conf, aws);
    // HeadBucket first: a plain 404 or 403 for a missing or forbidden bucket.
    client
        .head_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| gridwatch_core::aws::classify(&e))?;
    let out = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .max_keys(1)
        .send()
        .await
        .map_err(|e| gridwatch_core::aws::classify(&e))?;
    Ok(if out.key_count().unwrap_or(0) > 0 {
        format!("bucket {bucket}: extracts under {prefix:?}")
    } else {
        format!("bucket {bucket}: reachable, nothing under {prefix:?} yet")
    })
}

/// What an InfluxDB answers: its version, whether the database is there,
/// and the points of the measurement in the last hour.
async fn probe_influx(c: &InfluxConnection) -> Result<String, InfluxError> {
    let client = InfluxClient::connect(c).await?;
    let version = client.ping().await?;
    // Never cancelled: a test is short.
    let (_keep, never) = tokio::sync::watch::channel(false);
    let databases = client.query("SHOW DATABASES", &never).await?;
    let known = databases
        .series
        .iter()
        .flat_map(|s| s.rows())
        .any(|row| row.first() == Some(&Datum::Text(client.database().to_owned())));
    if !known {
        return Err(InfluxError::DatabaseNotFound(client.database().to_owned()));
    }
    let q = format!(
        "SELECT count(*) FROM {} WHERE time > now() - 1h",
        influxql::quote_ident(&c.measurement)
    );
    let counted = client.query(&q, &never).await?;
    // count(*) counts each field: the most of them is the points.
    let points = counted
        .series
        .iter()
        .flat_map(|s| s.rows())
        .flat_map(|row| row.iter().skip(1))
        .filter_map(|d| match d {
            Datum::Number(n) => Some(*n as u64),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    Ok(format!(
        "InfluxDB {version}: database {}, {points} points of {} in the last hour",
        client.database(),
        c.measurement
    ))
}
