//! The Connections window's Test buttons: one read-only call each, which
//! says whether the settings reach what they name, and if not, why.

use gridwatch_core::aws::AwsOptions;
use gridwatch_core::probe;
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
