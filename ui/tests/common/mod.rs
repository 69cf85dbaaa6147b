//! The in-process backend and harness helpers shared by the UI tests.
#![allow(clippy::unwrap_used, dead_code)] // test helpers: some binaries use only part

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use gridwatch_session::{Headless, Session};
use gridwatch_simulator::Embedded;
use gridwatch_types::{ApiError, ErrorCode, Request};
use gridwatch_ui::{Backend, Event, GridwatchUi, RequestId};

/// The desktop of the tests: the session's own [`Headless`], saving into
/// [`export_dir`] under the suggested name, keeping notifications, and
/// answering the folder dialog with what the test picked.
pub fn test_desktop() -> Arc<Headless> {
    Arc::new(Headless::saving_into(export_dir()))
}

/// Which requests a test makes fail, and how.
pub type Failure = fn(&Request) -> Option<ApiError>;

/// What a test can do to the backend under a running harness.
#[derive(Clone)]
pub struct Controls {
    pub desktop: Arc<Headless>,
    /// While set, answers and live batches wait: requests sent meanwhile
    /// are all in flight at once, as they can be over Tauri's IPC.
    pub hold: Arc<AtomicBool>,
    /// Answers these requests with an error instead of asking the session.
    pub fail: Arc<Mutex<Option<Failure>>>,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            desktop: test_desktop(),
            hold: Arc::default(),
            fail: Arc::default(),
        }
    }
}

/// The shell's one command, answered in-process by the same
/// `Session::dispatch` the app's Tauri command calls.
pub struct InProcess {
    rt: Arc<tokio::runtime::Runtime>,
    session: Arc<Session>,
    answers: Vec<Event>,
    last_live: Instant,
    pub controls: Controls,
}

impl InProcess {
    pub fn new(rt: Arc<tokio::runtime::Runtime>, session: Arc<Session>) -> Self {
        InProcess {
            rt,
            session,
            answers: Vec::new(),
            last_live: Instant::now() - Duration::from_secs(1),
            controls: Controls::default(),
        }
    }
}

impl Backend for InProcess {
    fn send(&mut self, id: RequestId, request: Request) {
        let kind = request.kind();
        let failure = *self.controls.fail.lock().unwrap();
        let result = match failure.and_then(|fail| fail(&request)) {
            Some(error) => Err(error),
            None => self
                .rt
                .block_on(self.session.dispatch(&*self.controls.desktop, request)),
        };
        self.answers.push(Event::Answer { id, kind, result });
    }

    fn poll(&mut self) -> Vec<Event> {
        if self.controls.hold.load(Ordering::SeqCst) {
            return Vec::new();
        }
        // Answers first, then the live batch, as before the rewrite: a
        // device's type (from the device list) decides its alarms.
        let mut events = std::mem::take(&mut self.answers);
        if self.last_live.elapsed() > Duration::from_millis(100) {
            self.last_live = Instant::now();
            let live = gridwatch_session::current(&self.session.active_handle());
            events.push(Event::Live(live.take_batch()));
        }
        events
    }
}

/// A failure as the test backend gives it.
pub fn failed(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Internal, message)
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

/// A session over `engine` with its lake and settings file in `dir` (the
/// settings never go to the operator's own).
pub fn session(engine: Embedded, dir: &Path) -> Arc<Session> {
    Arc::new(session_with_settings(
        engine,
        dir,
        dir.join("config/settings.json"),
    ))
}

/// A session whose settings live at `settings` (a restart is a second
/// harness over it).
pub fn session_with_settings(engine: Embedded, dir: &Path, settings: PathBuf) -> Session {
    Session::new(engine, dir.join("lake")).with_settings_path(settings)
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
pub fn export_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gridwatch-ui-exports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A harness drawing the whole UI over `session`, at a desktop size.
pub fn harness(
    rt: &Arc<tokio::runtime::Runtime>,
    session: &Arc<Session>,
) -> Harness<'static, GridwatchUi> {
    harness_with_controls(rt, session).0
}

/// A harness over `session`, and what the test can do to its backend (the
/// notifications it sent are in `controls.desktop`).
pub fn harness_with_controls(
    rt: &Arc<tokio::runtime::Runtime>,
    session: &Arc<Session>,
) -> (Harness<'static, GridwatchUi>, Controls) {
    let controls = Controls::default();
    (harness_over(rt, session, controls.clone()), controls)
}

/// A harness over `session` whose backend obeys `controls` from its first
/// frame on (answers held, requests failed).
pub fn harness_over(
    rt: &Arc<tokio::runtime::Runtime>,
    session: &Arc<Session>,
    controls: Controls,
) -> Harness<'static, GridwatchUi> {
    let mut backend = InProcess::new(rt.clone(), session.clone());
    backend.controls = controls;
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(
            |ui, app: &mut GridwatchUi| app.show(ui),
            GridwatchUi::new(Box::new(backend)),
        )
}

/// Steps frames (with real time passing, for the live fleet) until `done`.
pub fn step_until(
    h: &mut Harness<'static, GridwatchUi>,
    what: &str,
    done: impl Fn(&GridwatchUi) -> bool,
) {
    step_until_drawn(h, what, |h| done(h.state()));
}

/// As [`step_until`], for a condition on what is drawn (the harness's
/// widgets) rather than on the app's state.
pub fn step_until_drawn(
    h: &mut Harness<'static, GridwatchUi>,
    what: &str,
    done: impl Fn(&Harness<'static, GridwatchUi>) -> bool,
) {
    let start = Instant::now();
    while !done(h) {
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

/// Runs `spec` into `engine` as fast as it goes, from `from_us` to `to_us`,
/// and returns once the cache at `cache` holds every device's readings up
/// to within two intervals of `to_us`. A live fleet started after this
/// reads as live: the fleet writes history faster than a debug build
/// ingests it beside the other tests, and behind that backlog every live
/// reading would look minutes old.
pub async fn fill_history(
    engine: &gridwatch_simulator::Embedded,
    cache: &Path,
    spec: gridwatch_types::FleetSpec,
    from_us: i64,
    to_us: i64,
) {
    let interval_us = spec.interval_ms as i64 * 1000;
    let devices = i64::from(spec.device_count());
    let history = gridwatch_simulator::RunOptions {
        pacing: gridwatch_simulator::Pacing::AsFastAsPossible,
        end_us: Some(to_us),
    };
    engine
        .start_fleet(spec, from_us, history, |_| {})
        .await
        .unwrap();
    engine.wait_fleet().await.unwrap();
    let started = std::time::Instant::now();
    let since = to_us - 2 * interval_us;
    while gridwatch_tests::cached_devices_since(cache, since).is_none_or(|n| n < devices) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(180),
            "the history never reached the cache"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
