//! The in-process backend and harness helpers shared by the UI tests.
#![allow(clippy::unwrap_used, dead_code)] // test helpers: some binaries use only part

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use gridwatch_session::Session;
use gridwatch_types::ApiError;
use gridwatch_ui::{Backend, GridwatchUi, Reply, Request};

/// The shell's commands, answered in-process by the same session the app's
/// Tauri commands call.
pub struct InProcess {
    rt: Arc<tokio::runtime::Runtime>,
    session: Arc<Session>,
    replies: Vec<Reply>,
    last_live: Instant,
    settings: std::path::PathBuf,
    /// The desktop notifications the UI asked for.
    pub notifications: Arc<std::sync::Mutex<Vec<gridwatch_types::Notification>>>,
}

impl InProcess {
    pub fn new(
        rt: Arc<tokio::runtime::Runtime>,
        session: Arc<Session>,
        settings: std::path::PathBuf,
    ) -> Self {
        InProcess {
            rt,
            session,
            replies: Vec::new(),
            last_live: Instant::now() - Duration::from_secs(1),
            settings,
            notifications: Default::default(),
        }
    }
}

/// The runtime the in-process session runs on.
pub fn runtime() -> Arc<tokio::runtime::Runtime> {
    Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    )
}

/// Puts the emulators' dummy credentials where the AWS default chain finds
/// them. Only for test binaries that hold one test, called before any other
/// thread starts.
pub fn use_emulator_credentials() {
    for (k, v) in gridwatch_tests::EMULATOR_ENV {
        // SAFETY: the caller's binary holds one test and no thread has
        // started yet that reads the environment.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(k, v)
        };
    }
}

/// Where the "save dialog" of the tests puts files: one folder per process.
pub fn export_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gridwatch-ui-exports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn answer<T>(command: &'static str, r: Result<T, ApiError>, ok: impl FnOnce(T) -> Reply) -> Reply {
    match r {
        Ok(v) => ok(v),
        Err(error) => Reply::Failed { command, error },
    }
}

impl Backend for InProcess {
    fn send(&mut self, request: Request) {
        use gridwatch_session::settings;
        match request {
            Request::LoadSettings => {
                let r = settings::load(&self.settings);
                self.replies
                    .push(answer("load_settings", r, |s| Reply::Settings(Box::new(s))));
                return;
            }
            Request::SaveSettings(s) => {
                let r = settings::save(&self.settings, &s);
                self.replies
                    .push(answer("save_settings", r, |()| Reply::Done));
                return;
            }
            Request::Notify(n) => {
                self.notifications.lock().unwrap().push(n);
                self.replies.push(Reply::Done);
                return;
            }
            Request::Quit => {
                self.replies.push(Reply::Done);
                return;
            }
            _ => {}
        }
        let s = self.session.clone();
        let reply = self.rt.block_on(async move {
            match request {
                Request::FleetStatus => Reply::FleetStatus(s.status().await),
                Request::StartFleet(spec) => {
                    answer("start_fleet", s.start_fleet(spec).await, Reply::FleetStatus)
                }
                Request::StopFleet => {
                    answer("stop_fleet", s.stop_fleet().await, Reply::FleetStatus)
                }
                Request::ListDevices => answer("list_devices", s.devices().await, Reply::Devices),
                Request::WatchDevice(d) => {
                    s.watch(d);
                    Reply::Done
                }
                Request::DeviceChart(r) => answer("device_chart", s.chart(r).await, Reply::Chart),
                Request::HistoryFromCache(r) => {
                    answer("device_chart", s.chart(r).await, Reply::CacheHistory)
                }
                Request::ReportHealth(_) => Reply::Done,
                Request::ConnectStream(c) => {
                    answer("connect_stream", s.connect(c).await, Reply::FleetStatus)
                }
                Request::DisconnectStream => Reply::FleetStatus(s.disconnect().await),
                Request::ShardStatus => Reply::Shards(s.shards().await),
                Request::Aggregate(q) => answer("aggregate", s.aggregate(q).await, Reply::Table),
                Request::FillLake(f) => answer("fill_lake", s.fill_lake(f).await, Reply::Job),
                Request::JobStatus => Reply::Job(s.job_status().await),
                Request::CancelJob => Reply::Job(s.cancel_job().await),
                Request::History(q) => answer("history", s.history(q).await, Reply::History),
                Request::EstimateCost(spec) => Reply::Cost(s.estimate_cost(&spec)),
                // No desktop dialog here: the file goes to the test's folder.
                Request::ExportTable(e) => {
                    let ext = match e.format {
                        gridwatch_types::TableFormat::Csv => "csv",
                        gridwatch_types::TableFormat::Parquet => "parquet",
                    };
                    let path = export_dir().join(format!("export.{ext}"));
                    answer("export_table", s.export_table(e, path).await, Reply::Saved)
                }
                Request::SaveReport(r) => {
                    let path = export_dir().join(if r.pdf { "report.pdf" } else { "report.html" });
                    answer("save_report", s.save_report(r, path).await, Reply::Saved)
                }
                Request::CancelHistory => {
                    s.cancel_history();
                    Reply::Done
                }
                Request::TestConnection(t) => {
                    answer("test_connection", s.test_connection(t).await, Reply::Tested)
                }
                Request::PruneCache(days) => {
                    answer("prune_cache", s.prune_cache(days).await, Reply::Pruned)
                }
                Request::SetLakeDir(dir) => answer(
                    "set_lake_dir",
                    s.set_lake_dir(dir).await,
                    Reply::FleetStatus,
                ),
                Request::LoadSettings
                | Request::SaveSettings(_)
                | Request::Notify(_)
                | Request::Quit => unreachable!("answered above"),
            }
        });
        self.replies.push(reply);
    }

    fn poll(&mut self) -> Vec<Reply> {
        if self.last_live.elapsed() > Duration::from_millis(100) {
            self.last_live = Instant::now();
            let live = gridwatch_session::current(&self.session.active_handle());
            self.replies.push(Reply::Live(live.take_batch()));
        }
        std::mem::take(&mut self.replies)
    }
}

/// A harness drawing the whole UI over `session`, at a desktop size, with
/// a settings file of its own.
pub fn harness(
    rt: &Arc<tokio::runtime::Runtime>,
    session: &Arc<Session>,
) -> Harness<'static, GridwatchUi> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let settings = export_dir().join(format!("settings-{n}.json"));
    harness_with_settings(rt, session, settings).0
}

/// A harness over `session` whose settings live at `settings` (a restart
/// is a second harness on the same file), and the notifications it sent.
pub fn harness_with_settings(
    rt: &Arc<tokio::runtime::Runtime>,
    session: &Arc<Session>,
    settings: std::path::PathBuf,
) -> (
    Harness<'static, GridwatchUi>,
    Arc<std::sync::Mutex<Vec<gridwatch_types::Notification>>>,
) {
    let backend = InProcess::new(rt.clone(), session.clone(), settings);
    let notifications = backend.notifications.clone();
    let h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(
            |ui, app: &mut GridwatchUi| app.show(ui),
            GridwatchUi::new(Box::new(backend)),
        );
    (h, notifications)
}

/// Steps frames (with real time passing, for the live fleet) until `done`.
pub fn step_until(
    h: &mut Harness<'static, GridwatchUi>,
    what: &str,
    done: impl Fn(&GridwatchUi) -> bool,
) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "gave up waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(30));
    }
    h.step();
}

/// Types `text` into the text field labelled `name`.
pub fn type_into(h: &mut Harness<'static, GridwatchUi>, name: &str, text: &str) {
    use egui::accesskit::Role;
    use egui_kittest::kittest::Queryable;
    h.get_by_role_and_label(Role::TextInput, name).focus();
    h.step();
    h.get_by_role_and_label(Role::TextInput, name)
        .type_text(text);
    h.step();
}
