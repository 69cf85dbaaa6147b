//! Following a Kinesis stream: its readings go into the cache and feed the
//! live view instead of the embedded pipeline's.

use gridwatch_core::Cache;
use gridwatch_core::aws::AwsOptions;
use gridwatch_core::kinesis::{ConsumerConfig, Follower, StartAt, list_shards, stream_identity};
use gridwatch_types::{FleetStatus, ShardStatus, StreamConnection};

use crate::{Error, Result, Session, stream_source};

impl Session {
    /// Follows `conn.stream` into the cache and feeds the UI from it.
    pub async fn connect_stream(&self, conn: StreamConnection) -> Result<FleetStatus> {
        let (client, aws) = kinesis_client(&conn).await?;
        // Listing the shards first turns a wrong name, region or credential
        // into a clear error now rather than a silent empty chart.
        let refused = |error| Error::Kinesis {
            error: Box::new(error),
            using: aws.describe(),
        };
        list_shards(&client, &conn.stream).await.map_err(refused)?;
        let identity = stream_identity(&client, &conn.stream, aws.endpoint_url.as_deref())
            .await
            .map_err(refused)?;
        self.disconnect_stream().await;
        // Checkpoints an earlier Gridwatch filed under the stream's bare
        // name are not taken over here, unlike `ingest`: a refused one would
        // leave the app no way to start over (the CLI has --from), so the
        // app starts at LATEST once after the upgrade instead.
        let cache = Cache::open(self.engine.cache_path())?;
        let follower = Follower::start(
            client,
            ConsumerConfig::new(&conn.stream, StartAt::Latest),
            cache,
            stream_source(&identity),
        )?;
        self.set_active(follower.live.clone());
        tracing::info!(stream = %conn.stream, using = %aws.describe(), "following a Kinesis stream");
        *self.stream.lock().await = Some((conn.stream, follower));
        Ok(self.fleet_status().await)
    }

    /// Stops following the stream, if any; the embedded pipeline feeds the
    /// UI again.
    pub async fn disconnect_stream(&self) -> FleetStatus {
        let previous = self.stream.lock().await.take();
        self.set_active(self.engine.live().clone());
        if let Some((name, follower)) = previous {
            let (consumed, written) = follower.stop().await;
            if let Err(e) = consumed {
                tracing::warn!(stream = %name, error = %e, "the stream consumer had failed");
            }
            match written {
                Ok(summary) => tracing::info!(stream = %name, ?summary, "stopped following"),
                Err(e) => {
                    tracing::warn!(stream = %name, error = %e, "the stream's cache writer failed")
                }
            }
        }
        self.fleet_status().await
    }

    /// The shard panel: the followed stream's shards. Once following has
    /// failed (the cache writer or the stream), every shard's `last_error`
    /// says why, which the status bar shows.
    pub async fn shards(&self) -> Vec<ShardStatus> {
        self.stream
            .lock()
            .await
            .as_ref()
            .map(|(_, f)| f.shards())
            .unwrap_or_default()
    }
}

/// A Kinesis client for `conn`, through the default credential chain, and
/// how it was reached (for error messages).
pub(crate) async fn kinesis_client(
    conn: &StreamConnection,
) -> Result<(aws_sdk_kinesis::Client, AwsOptions)> {
    if conn.stream.trim().is_empty() {
        return Err(Error::Invalid("name the Kinesis stream".into()));
    }
    let aws = AwsOptions::from_form(&conn.profile, &conn.region, &conn.endpoint_url);
    Ok((aws_sdk_kinesis::Client::new(&aws.load().await), aws))
}
