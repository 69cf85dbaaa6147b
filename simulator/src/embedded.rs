//! The embedded pipeline: a fleet -> the in-process bus -> ingest -> cache
//! and live view, all in this process. The app, the CLI and the UI's tests
//! drive this same engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{
    BusSink, Fleet, RecordSink, RunOptions, RunProgress, RunSummary, SinkError, run_fleet,
};
use gridwatch_core::bus::Bus;
use gridwatch_core::ingest::{self, IngestConfig, IngestHandle, IngestSummary};
use gridwatch_core::live::LiveView;
use gridwatch_core::{Cache, CacheError};
use gridwatch_types::{FleetSpec, FleetStatus, Mode};
use tokio::runtime::Handle;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

/// Records a shard holds before producers wait.
const SHARD_CAPACITY: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("a fleet is already running; stop it first")]
    FleetRunning,
    #[error("the fleet stopped: {0}")]
    Fleet(#[from] SinkError),
    #[error("the engine was shut down")]
    ShutDown,
}

struct RunningFleet {
    spec: FleetSpec,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<RunSummary, SinkError>>,
}

pub struct Embedded {
    runtime: Handle,
    bus: Arc<Bus>,
    live: Arc<LiveView>,
    ingest: Mutex<Option<IngestHandle>>,
    fleet: Mutex<Option<RunningFleet>>,
    cache_path: PathBuf,
}

impl Embedded {
    /// Opens the cache and starts ingesting from a fresh bus of `shards`
    /// shards. Must be called within a tokio runtime.
    pub fn open(cache_path: &Path, shards: u32) -> Result<Embedded, EngineError> {
        let cache = Cache::open(cache_path)?;
        let first = ingest::resume_sequences(&cache, ingest::EMBEDDED_SOURCE, shards)?;
        let (bus, readers) = Bus::new(shards, SHARD_CAPACITY, &first);
        let live = Arc::new(LiveView::new());
        let handle = ingest::spawn_ingest(readers, cache, live.clone(), IngestConfig::default());
        Ok(Embedded {
            runtime: Handle::current(),
            bus,
            live,
            ingest: Mutex::new(Some(handle)),
            fleet: Mutex::new(None),
            cache_path: cache_path.to_owned(),
        })
    }

    pub fn live(&self) -> &Arc<LiveView> {
        &self.live
    }

    pub fn cache_path(&self) -> &Path {
        &self.cache_path
    }

    pub fn shards(&self) -> u32 {
        self.bus.shard_count()
    }

    /// The running fleet's spec, if one runs (a finished fleet counts as
    /// stopped).
    pub async fn running(&self) -> Option<FleetSpec> {
        let fleet = self.fleet.lock().await;
        fleet
            .as_ref()
            .filter(|f| !f.task.is_finished())
            .map(|f| f.spec.clone())
    }

    /// What the operator's status bar shows.
    pub async fn status(&self) -> FleetStatus {
        FleetStatus {
            mode: Mode::Embedded,
            running: self.running().await,
            production: None,
            shards: self.shards(),
            cache_path: self.cache_path.display().to_string(),
            lake_dir: String::new(),
            stream: None,
        }
    }

    /// Starts a fleet whose first readings are due at `start_us`, onto the
    /// embedded bus.
    pub async fn start_fleet(
        &self,
        spec: FleetSpec,
        start_us: i64,
        options: RunOptions,
        progress: impl FnMut(RunProgress) + Send + 'static,
    ) -> Result<(), EngineError> {
        let sink = BusSink::new(self.bus.clone());
        self.start_fleet_into(spec, sink, start_us, options, progress)
            .await
    }

    /// Starts a fleet into another sink (a Kinesis stream, the lake). The
    /// engine still owns it: one fleet at a time, stopped the same way.
    pub async fn start_fleet_into<S: RecordSink + Send + 'static>(
        &self,
        spec: FleetSpec,
        mut sink: S,
        start_us: i64,
        options: RunOptions,
        progress: impl FnMut(RunProgress) + Send + 'static,
    ) -> Result<(), EngineError> {
        let mut slot = self.fleet.lock().await;
        if slot.as_ref().is_some_and(|f| !f.task.is_finished()) {
            return Err(EngineError::FleetRunning);
        }
        if self.ingest.lock().await.is_none() {
            return Err(EngineError::ShutDown);
        }
        let (stop, stop_rx) = watch::channel(false);
        let fleet_spec = spec.clone();
        let task = self.runtime.spawn(async move {
            let mut fleet = Fleet::new(&fleet_spec, start_us);
            tracing::info!(devices = fleet_spec.device_count(), "fleet started");
            let summary = run_fleet(&mut fleet, &mut sink, options, stop_rx, progress).await;
            tracing::info!(?summary, "fleet ended");
            summary
        });
        *slot = Some(RunningFleet { spec, stop, task });
        Ok(())
    }

    /// Stops the running fleet, if any, and says what it sent.
    pub async fn stop_fleet(&self) -> Result<Option<RunSummary>, EngineError> {
        let running = self.fleet.lock().await.take();
        let Some(f) = running else { return Ok(None) };
        // The receiver may have ended with the fleet already; either way the
        // fleet is stopping or stopped.
        let _ = f.stop.send(true);
        Ok(Some(Self::join(f.task).await?))
    }

    /// Waits for the running fleet to reach its end.
    pub async fn wait_fleet(&self) -> Result<Option<RunSummary>, EngineError> {
        let running = self.fleet.lock().await.take();
        match running {
            Some(f) => Ok(Some(Self::join(f.task).await?)),
            None => Ok(None),
        }
    }

    /// Asks the running fleet to stop without waiting for it.
    pub async fn request_stop(&self) {
        if let Some(f) = self.fleet.lock().await.as_ref() {
            let _ = f.stop.send(true);
        }
    }

    async fn join(
        task: JoinHandle<Result<RunSummary, SinkError>>,
    ) -> Result<RunSummary, EngineError> {
        match task.await {
            Ok(result) => Ok(result?),
            // Only a panic in the fleet task lands here.
            Err(_) => Err(EngineError::ShutDown),
        }
    }

    /// Stops the fleet, closes the bus and waits until everything on it is
    /// committed to the cache.
    pub async fn shutdown(&self) -> Result<IngestSummary, EngineError> {
        self.stop_fleet().await?;
        self.bus.close().await;
        let handle = self.ingest.lock().await.take();
        match handle {
            Some(h) => Ok(h.finish().await?),
            None => Err(EngineError::ShutDown),
        }
    }
}
