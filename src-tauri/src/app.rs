//! The Tauri shell: app state, the commands the UI calls, and the live feed.
//!
//! Every command takes one `request` argument of a type from
//! `gridwatch-types` (or none) and returns `Result<_, ApiError>`, so the UI
//! and the shell share one definition of what crosses the boundary.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use gridwatch_core::CacheReader;
use gridwatch_simulator::{Pacing, RunOptions};
use gridwatch_types::{
    ApiError, ChartRequest, ChartSeries, DeviceInfo, ErrorCode, FleetSpec, FleetStatus, LiveBatch,
    UiHealth,
};
use tauri::ipc::Channel;

use gridwatch_simulator::Embedded;

/// How often the live feed sends a batch to the UI.
const LIVE_PERIOD: Duration = Duration::from_millis(250);
/// Shards of the embedded bus in the app.
const APP_SHARDS: u32 = 4;

pub struct AppState {
    engine: Embedded,
    /// Bumped by each live subscription; older feeds stop when they see a
    /// newer one (a reloaded webview subscribes again).
    subscription: Arc<AtomicU64>,
    health: Mutex<UiHealth>,
    health_file: Option<PathBuf>,
}

fn cache_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Cache, e.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("query task failed: {e}")))?
}

#[tauri::command]
async fn fleet_status(state: tauri::State<'_, AppState>) -> Result<FleetStatus, ApiError> {
    Ok(state.engine.status().await)
}

fn live_options() -> RunOptions {
    RunOptions {
        pacing: Pacing::RealTime,
        end_us: None,
    }
}

#[tauri::command]
async fn start_fleet(
    state: tauri::State<'_, AppState>,
    request: FleetSpec,
) -> Result<FleetStatus, ApiError> {
    if request.device_count() == 0 {
        return Err(ApiError::new(ErrorCode::InvalidInput, "the fleet is empty"));
    }
    if request.interval_ms == 0 {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "the interval must be longer than zero",
        ));
    }
    if !(0.0..=1.0).contains(&request.anomaly_rate) {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            format!(
                "anomaly rate {} is not between 0 and 1",
                request.anomaly_rate
            ),
        ));
    }
    state
        .engine
        .start_fleet(
            request,
            gridwatch_core::time::now_us(),
            live_options(),
            |_| {},
        )
        .await
        .map_err(|e| ApiError::from(&e))?;
    Ok(state.engine.status().await)
}

#[tauri::command]
async fn stop_fleet(state: tauri::State<'_, AppState>) -> Result<FleetStatus, ApiError> {
    state
        .engine
        .stop_fleet()
        .await
        .map_err(|e| ApiError::from(&e))?;
    Ok(state.engine.status().await)
}

#[tauri::command]
async fn list_devices(state: tauri::State<'_, AppState>) -> Result<Vec<DeviceInfo>, ApiError> {
    let path = state.engine.cache_path().to_owned();
    blocking(move || {
        CacheReader::open(&path)
            .and_then(|r| r.devices())
            .map_err(cache_error)
    })
    .await
}

#[tauri::command]
async fn watch_device(
    state: tauri::State<'_, AppState>,
    request: Option<String>,
) -> Result<(), ApiError> {
    state.engine.live().watch(request);
    Ok(())
}

#[tauri::command]
async fn device_chart(
    state: tauri::State<'_, AppState>,
    request: ChartRequest,
) -> Result<ChartSeries, ApiError> {
    if request.pixels == 0 || request.pixels > 20_000 || request.to_us <= request.from_us {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "a chart needs 1 to 20000 pixels and a range that ends after it starts",
        ));
    }
    let path = state.engine.cache_path().to_owned();
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

#[tauri::command]
async fn subscribe_live(
    state: tauri::State<'_, AppState>,
    on_batch: Channel<LiveBatch>,
) -> Result<(), ApiError> {
    let id = state.subscription.fetch_add(1, Ordering::SeqCst) + 1;
    let current = state.subscription.clone();
    let live = state.engine.live().clone();
    tauri::async_runtime::spawn(async move {
        let mut tick = tokio::time::interval(LIVE_PERIOD);
        loop {
            tick.tick().await;
            if current.load(Ordering::SeqCst) != id {
                break; // a newer subscription took over
            }
            if let Err(e) = on_batch.send(live.take_batch()) {
                tracing::info!(error = %e, "live feed ended: the UI is gone");
                break;
            }
        }
    });
    Ok(())
}

#[tauri::command]
fn report_ui_health(state: tauri::State<'_, AppState>, request: UiHealth) {
    if let Ok(mut h) = state.health.lock() {
        *h = request;
    }
    tracing::debug!(?request, "ui health");
    if let Some(path) = &state.health_file {
        // Written for smoke tests and soak runs; a failure only loses that.
        if let Err(e) = std::fs::write(path, serde_json::to_vec(&request).unwrap_or_default()) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the UI health file");
        }
    }
}

/// Opens the app window in embedded mode with the default fleet running.
pub fn run(cache_path: PathBuf) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    tauri::async_runtime::set(runtime.handle().clone());
    let engine = runtime.block_on(async {
        let engine = Embedded::open(&cache_path, APP_SHARDS)
            .with_context(|| format!("cannot open the cache at {}", cache_path.display()))?;
        engine
            .start_fleet(
                FleetSpec::default(),
                gridwatch_core::time::now_us(),
                live_options(),
                |_| {},
            )
            .await?;
        anyhow::Ok(engine)
    })?;
    tracing::info!(cache = %cache_path.display(), "embedded mode: default fleet started");

    let state = AppState {
        engine,
        subscription: Arc::new(AtomicU64::new(0)),
        health: Mutex::new(UiHealth::default()),
        health_file: std::env::var_os("GRIDWATCH_UI_HEALTH_FILE").map(PathBuf::from),
    };
    let app = tauri::Builder::default()
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            fleet_status,
            start_fleet,
            stop_fleet,
            list_devices,
            watch_device,
            device_chart,
            subscribe_live,
            report_ui_health
        ])
        .build(tauri::generate_context!())
        .context("cannot start the app window")?;
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            use tauri::Manager;
            let state = handle.state::<AppState>();
            // Commit what is already on the bus before the process ends.
            let done = tauri::async_runtime::block_on(async {
                tokio::time::timeout(Duration::from_secs(5), state.engine.shutdown()).await
            });
            match done {
                Ok(Ok(summary)) => tracing::info!(?summary, "ingest drained"),
                Ok(Err(e)) => tracing::warn!(error = %e, "ingest did not drain cleanly"),
                Err(_) => tracing::warn!("ingest did not drain within 5 s"),
            }
        }
    });
    Ok(())
}
