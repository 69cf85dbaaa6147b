//! A session: what the app does for its UI, as plain Rust. The Tauri shell
//! passes every [`Request`](gridwatch_types::Request) to
//! [`Session::dispatch`], and the UI's tests drive the very same call
//! in-process.
//!
//! A session owns the embedded pipeline and, when the operator connects to a
//! Kinesis stream, a [`Follower`] of that stream. The UI is fed from one of
//! their live views, the *active* one.
//!
//! One module per part of the app: `fleet` (the simulated fleet), `cache`
//! (the local cache's readings), `stream` (a followed Kinesis stream),
//! `lake` (the strategic view, long jobs, exports), `history` (Timestream),
//! `connections` (the Connections window's tests), `settings`, `report`;
//! `error` gives every failure its code, `dispatch` routes each request.

mod athena;
mod bridge;
mod cache;
mod connections;
mod dashboards;
mod dispatch;
mod error;
mod fleet;
mod headless;
mod history;
mod lake;
pub mod report;
pub mod settings;
mod stream;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use gridwatch_core::kinesis::Follower;
use gridwatch_core::live::LiveView;
use gridwatch_simulator::Embedded;
use gridwatch_types::{JobStatus, UiHealth};

pub use dispatch::{Desktop, FileFilter};
pub use error::{Error, Result};
pub use headless::Headless;

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

/// The checkpoint source a stream's shards are filed under in the cache,
/// from its identity ([`gridwatch_core::kinesis::stream_identity`]: ARN,
/// creation time, endpoint), so a stream made again under the same name, or
/// one of another account, never resumes from foreign sequence numbers.
pub fn stream_source(identity: &str) -> String {
    format!("kinesis:{identity}")
}

pub struct Session {
    engine: Embedded,
    /// Changed from the Connections window; read by each lake job.
    lake_dir: RwLock<PathBuf>,
    job: tokio::sync::Mutex<Option<lake::Job>>,
    last_job: std::sync::Mutex<Option<JobStatus>>,
    /// One per running history query (Discover runs two at once); Cancel
    /// stops them all.
    history_stop: std::sync::Mutex<Vec<tokio::sync::watch::Sender<bool>>>,
    /// The running LakeSql queries' cancel flags.
    lake_sql_cancel: std::sync::Mutex<Vec<Arc<std::sync::atomic::AtomicBool>>>,
    stream: tokio::sync::Mutex<Option<(String, Follower)>>,
    /// The stream job running in the background, and how the last ended.
    bridge: tokio::sync::Mutex<Option<bridge::BridgeTask>>,
    last_bridge: std::sync::Mutex<Option<gridwatch_types::BridgeStatus>>,
    active: ActiveLive,
    production: std::sync::Mutex<Option<fleet::ProductionMeter>>,
    /// Where LoadSettings and SaveSettings read and write.
    settings_path: PathBuf,
    /// Where the UI's health is written, for smoke tests and soak runs.
    health_file: Option<PathBuf>,
}

impl Session {
    pub fn new(engine: Embedded, lake_dir: PathBuf) -> Session {
        Session {
            lake_dir: RwLock::new(lake_dir),
            job: tokio::sync::Mutex::new(None),
            last_job: std::sync::Mutex::new(None),
            history_stop: std::sync::Mutex::new(Vec::new()),
            lake_sql_cancel: std::sync::Mutex::new(Vec::new()),
            active: Arc::new(RwLock::new(engine.live().clone())),
            stream: tokio::sync::Mutex::new(None),
            bridge: tokio::sync::Mutex::new(None),
            last_bridge: std::sync::Mutex::new(None),
            production: std::sync::Mutex::new(None),
            settings_path: settings::default_path(),
            health_file: std::env::var_os("GRIDWATCH_UI_HEALTH_FILE").map(PathBuf::from),
            engine,
        }
    }

    /// Reads and writes the settings at `path` instead of the OS config
    /// folder's.
    pub fn with_settings_path(mut self, path: PathBuf) -> Session {
        self.settings_path = path;
        self
    }

    /// The lake folder the strategic view reads now.
    pub fn lake_dir(&self) -> PathBuf {
        match self.lake_dir.read() {
            Ok(d) => d.clone(),
            Err(e) => e.into_inner().clone(),
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

    fn report_health(&self, health: UiHealth) {
        tracing::debug!(?health, "ui health");
        if let Some(path) = &self.health_file {
            // Written for smoke tests and soak runs; a failure only loses that.
            let json = serde_json::to_vec(&health).unwrap_or_default();
            if let Err(e) = std::fs::write(path, json) {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the UI health file");
            }
        }
    }

    /// Stops everything and commits what was read.
    pub async fn shutdown(&self) -> Result<()> {
        self.stop_bridge().await;
        self.disconnect_stream().await;
        let summary = self.engine.shutdown().await?;
        tracing::info!(?summary, "ingest drained");
        Ok(())
    }
}

/// A std mutex's guard; a poisoned lock still holds valid data here (plain
/// values, no invariants across fields).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs blocking work (SQLite, polars) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await?
}
