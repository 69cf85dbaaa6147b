//! The Tauri shell: the commands the UI calls, and the live feed. Each
//! command is one call into a [`Session`], which holds the logic as plain
//! Rust (and which the UI's tests drive in-process).
//!
//! Every command takes one `request` argument of a type from
//! `gridwatch-types` (or none) and returns `Result<_, ApiError>`, so the UI
//! and the shell share one definition of what crosses the boundary.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use gridwatch_session::{Session, current};
use gridwatch_simulator::Embedded;
use gridwatch_types::{
    AggregateQuery, ApiError, ChartRequest, ChartSeries, ConnectionTest, CostEstimate, DeviceInfo,
    ErrorCode, FillLake, FleetLaunch, FleetSink, FleetSpec, FleetStatus, HistoryQuery,
    HistoryResult, JobStatus, LiveBatch, Notification, ResultTable, Settings, ShardStatus,
    StreamConnection, UiHealth,
};
use tauri::ipc::Channel;

/// How often the live feed sends a batch to the UI.
const LIVE_PERIOD: Duration = Duration::from_millis(250);
/// Shards of the embedded bus in the app.
const APP_SHARDS: u32 = 4;

pub struct AppState {
    session: Session,
    /// Bumped by each live subscription; older feeds stop when they see a
    /// newer one (a reloaded webview subscribes again).
    subscription: Arc<AtomicU64>,
    health: Mutex<UiHealth>,
    health_file: Option<PathBuf>,
    settings_path: PathBuf,
}

type State<'a> = tauri::State<'a, AppState>;

#[tauri::command]
async fn fleet_status(state: State<'_>) -> Result<FleetStatus, ApiError> {
    Ok(state.session.status().await)
}

#[tauri::command]
async fn start_fleet(state: State<'_>, request: FleetLaunch) -> Result<FleetStatus, ApiError> {
    state.session.start_fleet(request).await
}

#[tauri::command]
async fn stop_fleet(state: State<'_>) -> Result<FleetStatus, ApiError> {
    state.session.stop_fleet().await
}

#[tauri::command]
async fn list_devices(state: State<'_>) -> Result<Vec<DeviceInfo>, ApiError> {
    state.session.devices().await
}

#[tauri::command]
async fn watch_device(state: State<'_>, request: Option<String>) -> Result<(), ApiError> {
    state.session.watch(request);
    Ok(())
}

#[tauri::command]
async fn device_chart(state: State<'_>, request: ChartRequest) -> Result<ChartSeries, ApiError> {
    state.session.chart(request).await
}

#[tauri::command]
async fn connect_stream(
    state: State<'_>,
    request: StreamConnection,
) -> Result<FleetStatus, ApiError> {
    state.session.connect(request).await
}

#[tauri::command]
async fn disconnect_stream(state: State<'_>) -> Result<FleetStatus, ApiError> {
    Ok(state.session.disconnect().await)
}

#[tauri::command]
async fn shard_status(state: State<'_>) -> Result<Vec<ShardStatus>, ApiError> {
    Ok(state.session.shards().await)
}

#[tauri::command]
async fn aggregate(state: State<'_>, request: AggregateQuery) -> Result<ResultTable, ApiError> {
    state.session.aggregate(request).await
}

#[tauri::command]
async fn fill_lake(state: State<'_>, request: FillLake) -> Result<JobStatus, ApiError> {
    state.session.fill_lake(request).await
}

#[tauri::command]
async fn job_status(state: State<'_>) -> Result<JobStatus, ApiError> {
    Ok(state.session.job_status().await)
}

#[tauri::command]
async fn cancel_job(state: State<'_>) -> Result<JobStatus, ApiError> {
    Ok(state.session.cancel_job().await)
}

#[tauri::command]
async fn history(state: State<'_>, request: HistoryQuery) -> Result<HistoryResult, ApiError> {
    state.session.history(request).await
}

#[tauri::command]
async fn cancel_history(state: State<'_>) -> Result<(), ApiError> {
    state.session.cancel_history();
    Ok(())
}

/// Asks where to save, in the desktop's own save dialog; None if cancelled.
async fn ask_path(app: &tauri::AppHandle, name: &str, filter: (&str, &[&str])) -> Option<PathBuf> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(name)
        .add_filter(filter.0, filter.1)
        .save_file(move |path| {
            let _ = tx.send(path.and_then(|p| p.into_path().ok()));
        });
    rx.await.ok().flatten()
}

#[tauri::command]
async fn export_table(
    app: tauri::AppHandle,
    state: State<'_>,
    request: gridwatch_types::ExportTable,
) -> Result<gridwatch_types::Saved, ApiError> {
    let filter = match request.format {
        gridwatch_types::TableFormat::Csv => ("CSV", &["csv"][..]),
        gridwatch_types::TableFormat::Parquet => ("Parquet", &["parquet"][..]),
    };
    match ask_path(&app, &request.name, filter).await {
        Some(path) => state.session.export_table(request, path).await,
        None => Ok(gridwatch_types::Saved::default()),
    }
}

#[tauri::command]
async fn save_report(
    app: tauri::AppHandle,
    state: State<'_>,
    request: gridwatch_types::SaveReport,
) -> Result<gridwatch_types::Saved, ApiError> {
    let (name, filter) = if request.pdf {
        ("gridwatch-report.pdf", ("PDF", &["pdf"][..]))
    } else {
        ("gridwatch-report.html", ("HTML", &["html"][..]))
    };
    match ask_path(&app, name, filter).await {
        Some(path) => state.session.save_report(request, path).await,
        None => Ok(gridwatch_types::Saved::default()),
    }
}

#[tauri::command]
async fn estimate_cost(state: State<'_>, request: FleetSpec) -> Result<CostEstimate, ApiError> {
    Ok(state.session.estimate_cost(&request))
}

#[tauri::command]
async fn test_connection(state: State<'_>, request: ConnectionTest) -> Result<String, ApiError> {
    state.session.test_connection(request).await
}

#[tauri::command]
async fn prune_cache(state: State<'_>, request: u32) -> Result<u64, ApiError> {
    state.session.prune_cache(request).await
}

/// The lake folder: a folder that already holds a lake, named by the page;
/// or, asked with an empty name, one the operator picks in the desktop's
/// own folder dialog (the page may not name a new folder itself: lake jobs
/// write there).
#[tauri::command]
async fn set_lake_dir(
    app: tauri::AppHandle,
    state: State<'_>,
    request: String,
) -> Result<FleetStatus, ApiError> {
    if !request.trim().is_empty() {
        return state.session.set_lake_dir(request).await;
    }
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Lake folder")
        .pick_folder(move |path| {
            let _ = tx.send(path.and_then(|p| p.into_path().ok()));
        });
    match rx.await.ok().flatten() {
        Some(dir) => state.session.use_picked_lake_dir(dir).await,
        // Cancelled: nothing changes.
        None => Ok(state.session.status().await),
    }
}

#[tauri::command]
async fn load_settings(state: State<'_>) -> Result<Settings, ApiError> {
    let settings = gridwatch_session::settings::load(&state.settings_path)?;
    // The settings file is the shell's own, written from what the operator
    // picked: its lake folder is trusted, though it may hold no lake yet.
    if let Some(dir) = settings
        .lake_dir
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        && let Err(e) = state
            .session
            .use_picked_lake_dir(std::path::PathBuf::from(dir))
            .await
    {
        tracing::warn!(dir, error = %e.message, "the saved lake folder is not usable");
    }
    Ok(settings)
}

#[tauri::command]
async fn save_settings(state: State<'_>, mut request: Settings) -> Result<(), ApiError> {
    // The lake folder saved is the one in use, never one the page names:
    // the next start trusts the saved folder, so the page must not choose it.
    request.lake_dir = Some(state.session.lake_dir().display().to_string());
    gridwatch_session::settings::save(&state.settings_path, &request)
}

/// A desktop notification through the desktop's notification service.
#[tauri::command]
fn notify(app: tauri::AppHandle, request: Notification) -> Result<(), ApiError> {
    use tauri_plugin_notification::NotificationExt;
    tracing::info!(title = %request.title, "desktop notification");
    app.notification()
        .builder()
        .title(request.title)
        .body(request.body)
        .show()
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("cannot notify: {e}")))
}

/// Ctrl+Q: the window's size and place are saved, then the app ends (the
/// exit handler drains the pipeline).
#[tauri::command]
fn quit(app: tauri::AppHandle) {
    use tauri_plugin_window_state::{AppHandleExt, StateFlags};
    if let Err(e) = app.save_window_state(StateFlags::all()) {
        tracing::warn!(error = %e, "cannot save the window state");
    }
    app.exit(0);
}

#[tauri::command]
async fn subscribe_live(state: State<'_>, on_batch: Channel<LiveBatch>) -> Result<(), ApiError> {
    let id = state.subscription.fetch_add(1, Ordering::SeqCst) + 1;
    let newest = state.subscription.clone();
    let active = state.session.active_handle();
    tauri::async_runtime::spawn(async move {
        let mut tick = tokio::time::interval(LIVE_PERIOD);
        loop {
            tick.tick().await;
            if newest.load(Ordering::SeqCst) != id {
                break; // a newer subscription took over
            }
            if let Err(e) = on_batch.send(current(&active).take_batch()) {
                tracing::info!(error = %e, "live feed ended: the UI is gone");
                break;
            }
        }
    });
    Ok(())
}

#[tauri::command]
fn report_ui_health(state: State<'_>, request: UiHealth) {
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

/// What the app opens with.
pub struct AppOptions {
    pub cache_path: PathBuf,
    pub lake_dir: PathBuf,
    /// Follow this Kinesis stream instead of running the embedded fleet.
    pub connect: Option<StreamConnection>,
    /// The embedded fleet started with the app.
    pub fleet: FleetSpec,
}

/// Opens the app window: in embedded mode with a fleet running, or
/// following `connect`'s Kinesis stream.
pub fn run(options: AppOptions) -> anyhow::Result<()> {
    let AppOptions {
        cache_path,
        lake_dir,
        connect,
        fleet,
    } = options;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    tauri::async_runtime::set(runtime.handle().clone());
    let engine = runtime
        .block_on(async { Embedded::open(&cache_path, APP_SHARDS) })
        .with_context(|| format!("cannot open the cache at {}", cache_path.display()))?;
    let state = AppState {
        session: Session::new(engine, lake_dir),
        subscription: Arc::new(AtomicU64::new(0)),
        health: Mutex::new(UiHealth::default()),
        health_file: std::env::var_os("GRIDWATCH_UI_HEALTH_FILE").map(PathBuf::from),
        settings_path: gridwatch_session::settings::default_path(),
    };
    if connect.is_none() && fleet.device_count() > 0 {
        runtime
            .block_on(state.session.start_fleet(FleetLaunch {
                spec: fleet,
                sink: FleetSink::InProcess,
            }))
            .map_err(|e| anyhow::anyhow!("cannot start the default fleet: {}", e.message))?;
        tracing::info!(cache = %cache_path.display(), "embedded mode: default fleet started");
    }
    if let Some(conn) = connect {
        let stream = conn.stream.clone();
        runtime
            .block_on(state.session.connect(conn))
            .map_err(|e| anyhow::anyhow!("cannot follow the stream {stream:?}: {}", e.message))?;
    }
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            fleet_status,
            start_fleet,
            stop_fleet,
            list_devices,
            watch_device,
            device_chart,
            subscribe_live,
            report_ui_health,
            connect_stream,
            disconnect_stream,
            shard_status,
            aggregate,
            fill_lake,
            job_status,
            cancel_job,
            history,
            cancel_history,
            estimate_cost,
            export_table,
            save_report,
            load_settings,
            save_settings,
            notify,
            quit,
            test_connection,
            prune_cache,
            set_lake_dir
        ])
        .build(tauri::generate_context!())
        .context("cannot start the app window")?;
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            use tauri::Manager;
            let state = handle.state::<AppState>();
            // Commit what is already on the bus before the process ends.
            let done = tauri::async_runtime::block_on(async {
                tokio::time::timeout(Duration::from_secs(5), state.session.shutdown()).await
            });
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "ingest did not drain cleanly"),
                Err(_) => tracing::warn!("ingest did not drain within 5 s"),
            }
        }
    });
    Ok(())
}
