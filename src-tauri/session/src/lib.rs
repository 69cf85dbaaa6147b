//! A session: what the app does for its UI, as plain Rust, so the Tauri
//! commands stay one line each and the UI's tests drive the very same code
//! in-process.
//!
//! A session owns the embedded pipeline and, when the operator connects to a
//! Kinesis stream, a [`Follower`] of that stream. The UI is fed from one of
//! their live views, the *active* one.

use std::sync::{Arc, RwLock};

use gridwatch_core::kinesis::{ConsumerConfig, Follower, KinesisError, StartAt, list_shards};
use gridwatch_core::live::LiveView;
use gridwatch_core::{Cache, CacheReader};
use gridwatch_simulator::{Embedded, Pacing, RunOptions};
use gridwatch_types::{
    ApiError, ChartRequest, ChartSeries, DeviceInfo, ErrorCode, FleetSpec, FleetStatus, Mode,
    ShardStatus, StreamConnection,
};

/// Which live view feeds the UI; swapped when a stream is connected.
pub type ActiveLive = Arc<RwLock<Arc<LiveView>>>;

/// The live view `active` points at now.
pub fn current(active: &ActiveLive) -> Arc<LiveView> {
    // A poisoned lock still holds a valid Arc: use it.
    active
        .read()
        .map(|a| a.clone())
        .unwrap_or_else(|e| e.into_inner().clone())
}

/// The checkpoint source a stream's shards are filed under in the cache.
pub fn stream_source(stream: &str) -> String {
    format!("kinesis:{stream}")
}

fn cache_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Cache, e.to_string())
}

pub struct Session {
    engine: Embedded,
    stream: tokio::sync::Mutex<Option<(String, Follower)>>,
    active: ActiveLive,
}

impl Session {
    pub fn new(engine: Embedded) -> Session {
        Session {
            active: Arc::new(RwLock::new(engine.live().clone())),
            stream: tokio::sync::Mutex::new(None),
            engine,
        }
    }

    pub fn engine(&self) -> &Embedded {
        &self.engine
    }

    /// A handle on the active live view that a feed task can keep.
    pub fn active_handle(&self) -> ActiveLive {
        self.active.clone()
    }

    fn set_active(&self, live: Arc<LiveView>) {
        match self.active.write() {
            Ok(mut a) => *a = live,
            Err(e) => *e.into_inner() = live,
        }
    }

    pub async fn status(&self) -> FleetStatus {
        let mut status = self.engine.status().await;
        if let Some((name, _)) = self.stream.lock().await.as_ref() {
            status.mode = Mode::Kinesis;
            status.stream = Some(name.clone());
        }
        status
    }

    /// Starts a live fleet in the embedded pipeline.
    pub async fn start_fleet(&self, spec: FleetSpec) -> Result<FleetStatus, ApiError> {
        if spec.device_count() == 0 {
            return Err(ApiError::new(ErrorCode::InvalidInput, "the fleet is empty"));
        }
        if spec.interval_ms == 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "the interval must be longer than zero",
            ));
        }
        if !(0.0..=1.0).contains(&spec.anomaly_rate) {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("anomaly rate {} is not between 0 and 1", spec.anomaly_rate),
            ));
        }
        let live = RunOptions {
            pacing: Pacing::RealTime,
            end_us: None,
        };
        self.engine
            .start_fleet(spec, gridwatch_core::time::now_us(), live, |_| {})
            .await
            .map_err(|e| ApiError::from(&e))?;
        Ok(self.status().await)
    }

    pub async fn stop_fleet(&self) -> Result<FleetStatus, ApiError> {
        self.engine
            .stop_fleet()
            .await
            .map_err(|e| ApiError::from(&e))?;
        Ok(self.status().await)
    }

    /// Sends every new reading of `device` with the live batches.
    pub fn watch(&self, device: Option<String>) {
        self.engine.live().watch(device.clone());
        current(&self.active).watch(device);
    }

    pub async fn devices(&self) -> Result<Vec<DeviceInfo>, ApiError> {
        let path = self.engine.cache_path().to_owned();
        blocking(move || {
            CacheReader::open(&path)
                .and_then(|r| r.devices())
                .map_err(cache_error)
        })
        .await
    }

    pub async fn chart(&self, request: ChartRequest) -> Result<ChartSeries, ApiError> {
        if request.pixels == 0 || request.pixels > 20_000 || request.to_us <= request.from_us {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "a chart needs 1 to 20000 pixels and a range that ends after it starts",
            ));
        }
        let path = self.engine.cache_path().to_owned();
        blocking(move || {
            let reader = CacheReader::open(&path).map_err(cache_error)?;
            let columns = reader
                .chart(
                    request.device_id.as_deref(),
                    &request.measure,
                    request.from_us,
                    request.to_us,
                    request.pixels,
                )
                .map_err(cache_error)?;
            Ok(ChartSeries {
                device_id: request.device_id,
                measure: request.measure,
                columns,
            })
        })
        .await
    }

    /// Follows `conn.stream` into the cache and feeds the UI from it.
    pub async fn connect(&self, conn: StreamConnection) -> Result<FleetStatus, ApiError> {
        if conn.stream.trim().is_empty() {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "name the stream to follow",
            ));
        }
        let keep = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let aws = gridwatch_core::aws::AwsOptions {
            profile: keep(&conn.profile),
            region: keep(&conn.region),
            endpoint_url: keep(&conn.endpoint_url),
        };
        let client = aws_sdk_kinesis::Client::new(&aws.load().await);
        // Listing the shards first turns a wrong name, region or credential
        // into a clear error now rather than a silent empty chart.
        list_shards(&client, &conn.stream).await.map_err(|e| {
            let code = match e {
                KinesisError::StreamNotFound { .. } => ErrorCode::NotFound,
                KinesisError::Refused(_) => ErrorCode::Aws,
            };
            ApiError::new(code, format!("{e} (using {})", aws.describe()))
        })?;
        self.disconnect().await;
        let cache = Cache::open(self.engine.cache_path()).map_err(cache_error)?;
        let follower = Follower::start(
            client,
            ConsumerConfig::new(&conn.stream, StartAt::Latest),
            cache,
            stream_source(&conn.stream),
        )
        .map_err(cache_error)?;
        self.set_active(follower.live.clone());
        tracing::info!(stream = %conn.stream, using = %aws.describe(), "following a Kinesis stream");
        *self.stream.lock().await = Some((conn.stream, follower));
        Ok(self.status().await)
    }

    /// Stops following the stream, if any; the embedded pipeline feeds the
    /// UI again.
    pub async fn disconnect(&self) -> FleetStatus {
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
        self.status().await
    }

    /// The shard panel: the followed stream's shards.
    pub async fn shards(&self) -> Vec<ShardStatus> {
        self.stream
            .lock()
            .await
            .as_ref()
            .map(|(_, f)| f.shards())
            .unwrap_or_default()
    }

    /// Stops everything and commits what was read.
    pub async fn shutdown(&self) -> Result<(), ApiError> {
        self.disconnect().await;
        self.engine
            .shutdown()
            .await
            .map(|summary| tracing::info!(?summary, "ingest drained"))
            .map_err(|e| ApiError::from(&e))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("query task failed: {e}")))?
}
