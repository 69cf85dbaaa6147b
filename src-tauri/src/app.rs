//! The Tauri shell: one command for every request of the UI, and the live
//! feed. `call` hands each [`Request`] to [`Session::dispatch`], which holds
//! the logic as plain Rust (and which the UI's tests drive in-process);
//! the shell adds only what the desktop does (its dialogs, notifications and
//! window, as [`Desktop`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use gridwatch_session::{Desktop, FileFilter, Session, current};
use gridwatch_simulator::Embedded;
use gridwatch_types::{
    ApiError, FleetLaunch, FleetSink, FleetSpec, LiveBatch, Notification, Reply, Request,
    StreamConnection,
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
}

type State<'a> = tauri::State<'a, AppState>;

/// The one command every request of the UI goes through.
#[tauri::command]
async fn call(
    app: tauri::AppHandle,
    state: State<'_>,
    request: Request,
) -> Result<Reply, ApiError> {
    state.session.dispatch(&TauriDesktop(app), request).await
}

/// The desktop's own dialogs, notifications and window, for the session.
struct TauriDesktop(tauri::AppHandle);

impl TauriDesktop {
    fn file_dialog(&self) -> tauri_plugin_dialog::FileDialogBuilder<tauri::Wry> {
        use tauri_plugin_dialog::DialogExt;
        self.0.dialog().file()
    }
}

/// What a file dialog answered, once the operator closes it; None if they
/// cancelled (or the dialog went away).
async fn answered(
    show: impl FnOnce(Box<dyn FnOnce(Option<tauri_plugin_dialog::FilePath>) + Send>),
) -> Option<PathBuf> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    show(Box::new(move |path| {
        let _ = tx.send(path.and_then(|p| p.into_path().ok()));
    }));
    rx.await.ok().flatten()
}

impl Desktop for TauriDesktop {
    async fn save_path(&self, suggested_name: &str, filter: &FileFilter) -> Option<PathBuf> {
        let dialog = self.file_dialog().set_file_name(suggested_name);
        let dialog = dialog.add_filter(filter.name, filter.extensions);
        answered(|done| dialog.save_file(done)).await
    }

    async fn pick_folder(&self, title: &str) -> Option<PathBuf> {
        let dialog = self.file_dialog().set_title(title);
        answered(|done| dialog.pick_folder(done)).await
    }

    async fn open_path(&self, title: &str, filter: &FileFilter) -> Option<PathBuf> {
        let dialog = self.file_dialog().set_title(title);
        let dialog = dialog.add_filter(filter.name, filter.extensions);
        answered(|done| dialog.pick_file(done)).await
    }

    fn notify(&self, notification: &Notification) -> Result<(), String> {
        use tauri_plugin_notification::NotificationExt;
        self.0
            .notification()
            .builder()
            .title(&notification.title)
            .body(&notification.body)
            .show()
            .map_err(|e| format!("cannot notify: {e}"))
    }

    /// Ctrl+Q: the window's size and place are saved, then the app ends
    /// (the exit handler drains the pipeline).
    fn quit(&self) {
        use tauri_plugin_window_state::{AppHandleExt, StateFlags};
        if let Err(e) = self.0.save_window_state(StateFlags::all()) {
            tracing::warn!(error = %e, "cannot save the window state");
        }
        self.0.exit(0);
    }
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
    let runtime = crate::runtime()?;
    tauri::async_runtime::set(runtime.handle().clone());
    let engine = runtime
        .block_on(async { Embedded::open(&cache_path, APP_SHARDS) })
        .with_context(|| format!("cannot open the cache at {}", cache_path.display()))?;
    let state = AppState {
        session: Session::new(engine, lake_dir),
        subscription: Arc::new(AtomicU64::new(0)),
    };
    if connect.is_none() && fleet.device_count() > 0 {
        runtime
            .block_on(state.session.start_fleet(FleetLaunch {
                spec: fleet,
                sink: FleetSink::InProcess,
            }))
            .context("cannot start the default fleet")?;
        tracing::info!(cache = %cache_path.display(), "embedded mode: default fleet started");
    }
    state.session.resume_lake_dir();
    match connect {
        Some(conn) => {
            let stream = conn.stream.clone();
            runtime
                .block_on(state.session.connect_stream(conn))
                .with_context(|| format!("cannot follow the stream {stream:?}"))?;
        }
        // A first start has strategic figures without a click: the lake
        // fills in the background while the window opens.
        None => {
            if let Err(e) = runtime.block_on(state.session.fill_empty_lake()) {
                tracing::warn!(error = %e, "cannot write the first simulated lake");
            }
        }
    }
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .manage(state)
        .invoke_handler(tauri::generate_handler![call, subscribe_live])
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
