//! The frame: the top bar, the view tabs and the status bar around the view
//! on screen, the floating windows, and the keyboard shortcuts. Each view
//! and window draws itself; the app sends what they ask for and routes the
//! answers back (`routing.rs`).

use gridwatch_types::{
    ApiError, CostEstimate, FleetSpec, LakeConnection, Mode, Request, Settings, StreamConnection,
    UiHealth,
};

use crate::backend::{Backend, Outbox};
use crate::health::Health;
use crate::model::Model;
use crate::polling::Timers;
use crate::routing::{Requests, Sender};
use crate::views::dashboards::Dashboards;
use crate::views::history::History;
use crate::views::operations::{Operations, status_bar, top_bar};
use crate::views::strategic::Strategic;
use crate::windows::connections::{Connections, Forms};
use crate::windows::launcher::Launcher;

pub use gridwatch_types::View;

pub struct GridwatchUi {
    pub(crate) requests: Requests,
    pub model: Model,
    pub view: View,
    pub dark: bool,
    pub operations: Operations,
    pub history: History,
    pub strategic: Strategic,
    pub dashboards: Dashboards,
    /// The Connections window.
    pub connections: Connections,
    pub launcher: Launcher,
    /// The last failure no view took as its own, in the status bar.
    pub last_error: Option<ApiError>,
    /// The S3 lake, as last entered.
    pub lake: LakeConnection,
    /// The lake's Athena table, as last entered.
    pub athena: gridwatch_types::AthenaConnection,
    /// The lake folder in use (None: the app's default).
    pub lake_dir: Option<String>,
    /// Days of readings the cache keeps (None: all).
    pub retention_days: Option<u32>,
    /// The Kinesis connection as last entered, remembered between runs.
    pub stream_settings: StreamConnection,
    /// What the settings file holds: None until it has been read, so a
    /// start never overwrites the operator's layout with defaults.
    pub saved_settings: Option<Settings>,
    /// The pipeline cost of a fleet, and the fleet it was asked for.
    pub cost: Option<(FleetSpec, CostEstimate)>,
    pub(crate) cost_asked: Option<FleetSpec>,
    /// A fleet whose estimate failed, and why: not asked again.
    pub(crate) cost_failed: Option<(FleetSpec, String)>,
    /// Wall-clock time, epoch microseconds: the ranges that end "now".
    /// Snapshot tests fix it so their images do not change with the day.
    pub clock: fn() -> i64,
    /// Seconds since the UI started, from egui's clock.
    pub(crate) now_s: f64,
    pub(crate) timers: Timers,
    pub(crate) health_log: Health,
    started: bool,
}

impl GridwatchUi {
    pub fn new(backend: Box<dyn Backend>) -> Self {
        GridwatchUi {
            requests: Requests::new(backend),
            model: Model::default(),
            view: View::Operations,
            dark: true,
            operations: Operations::default(),
            history: History::default(),
            strategic: Strategic::default(),
            dashboards: Dashboards::default(),
            connections: Connections::default(),
            launcher: Launcher::default(),
            last_error: None,
            lake: LakeConnection::default(),
            athena: gridwatch_types::AthenaConnection::default(),
            lake_dir: None,
            retention_days: None,
            stream_settings: StreamConnection::default(),
            saved_settings: None,
            cost: None,
            cost_asked: None,
            cost_failed: None,
            clock: crate::clock::now_us,
            now_s: 0.0,
            timers: Timers::default(),
            health_log: Health::default(),
            started: false,
        }
    }

    /// Takes note of how long the last frame took on the CPU (eframe's
    /// figure: the UI's logic, tessellation and the WebGL calls).
    pub fn record_frame_time(&mut self, ms: f32) {
        self.health_log.frame_ms.record(ms);
    }

    /// Takes note of how long `show` itself took (the UI's logic only).
    pub fn record_logic_time(&mut self, ms: f32) {
        self.health_log.logic_ms.record(ms);
    }

    pub fn health(&self) -> UiHealth {
        let h = &self.health_log;
        let measure = &self.operations.measure;
        UiHealth {
            frames: h.frames,
            batches_received: self.model.batches_received,
            points_on_chart: self.model.series.get(measure).map_or(0, |s| s.len()) as u64,
            devices_listed: self.model.devices.len() as u64,
            frame_ms_p99: h.frame_ms.percentile(0.99),
            frame_ms_p50: h.frame_ms.percentile(0.50),
            logic_ms_p99: h.logic_ms.percentile(0.99),
            view: self.view,
            fleet_running: self.model.fleet_running(),
        }
    }

    /// The kinds of the requests that wait for their answer, sorted.
    pub fn requests_in_flight(&self) -> Vec<&'static str> {
        self.requests.in_flight()
    }

    /// Draws one frame. The app calls this from `eframe::App::ui`; tests
    /// call it through egui_kittest.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.health_log.frames += 1;
        self.now_s = ui.ctx().input(|i| i.time);
        if !self.started {
            self.started = true;
            self.requests.send(Sender::App, Request::FleetStatus);
            self.requests.send(Sender::App, Request::LoadSettings);
        }
        self.poll();
        self.handle_events();
        self.model
            .rate
            .observe(self.now_s, self.model.stats.readings_ingested);
        self.shortcuts(ui);
        self.check();

        let now_us = (self.clock)();
        egui::Panel::top("top_bar").show(ui, |ui| self.top_bar(ui, now_us));
        egui::Panel::top("views").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.view, View::Operations, "Operations");
                ui.selectable_value(&mut self.view, View::History, "History");
                ui.selectable_value(&mut self.view, View::Strategic, "Strategic");
                ui.selectable_value(&mut self.view, View::Dashboards, "Dashboards");
            });
        });
        egui::Panel::bottom("status_bar").show(ui, |ui| {
            if status_bar::show(ui, &self.model, &mut self.last_error) {
                let stream = self.stream_settings.clone();
                self.requests
                    .send(Sender::App, Request::ConnectStream(stream));
            }
        });
        let mut out = Outbox::default();
        let (from, repaint_ms) = match self.view {
            View::Operations => {
                self.operations.show(ui, &mut self.model, now_us, &mut out);
                // Live data arrives between frames; keep drawing while it
                // flows.
                (Sender::Operations, 100)
            }
            View::History => {
                egui::CentralPanel::default().show(ui, |ui| {
                    self.history.show(ui, &self.model, now_us, &mut out)
                });
                (Sender::History, 250)
            }
            View::Strategic => {
                // Athena through the same AWS account as the stream.
                let s = &self.stream_settings;
                self.strategic.athena_target = gridwatch_types::AthenaTarget {
                    connection: self.athena.clone(),
                    profile: s.profile.clone(),
                    region: s.region.clone(),
                    endpoint_url: s.endpoint_url.clone(),
                };
                egui::CentralPanel::default().show(ui, |ui| {
                    self.strategic.show(ui, &self.model, now_us, &mut out)
                });
                (Sender::Strategic, 250)
            }
            View::Dashboards => {
                let connection = self.history.connection.clone();
                let influx = &self.history.influx;
                let c = &connection;
                self.dashboards.influx = (!influx.url.trim().is_empty())
                    .then(|| influx.with_aws(&c.profile, &c.region, &c.endpoint_url));
                let now_s = self.now_s;
                egui::CentralPanel::default().show(ui, |ui| {
                    self.dashboards
                        .show(ui, &connection, now_s, self.model.clock, &mut out)
                });
                (Sender::Dashboards, 250)
            }
        };
        self.requests.send_all(from, &mut out);
        self.windows(ui);
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(repaint_ms));
    }

    fn top_bar(&mut self, ui: &mut egui::Ui, now_us: i64) {
        let running = self.model.status.as_ref().and_then(|s| s.running.clone());
        let known = running.as_ref().and_then(|spec| self.cost_for(spec));
        let failed = self
            .cost_failed
            .as_ref()
            .filter(|(spec, _)| Some(spec) == running.as_ref())
            .map(|(_, why)| why.as_str());
        let cost = match (&running, &known, failed) {
            (None, _, _) => top_bar::Cost::Unknown,
            (_, Some(c), _) => top_bar::Cost::Known(c),
            (_, None, Some(why)) => top_bar::Cost::Failed(why),
            (_, None, None) => top_bar::Cost::Estimating,
        };
        match top_bar::show(ui, &self.model, self.dark, cost, now_us) {
            Some(top_bar::Clicked::Theme) => self.dark = !self.dark,
            Some(top_bar::Clicked::Clock) => {
                self.model.clock = match self.model.clock {
                    crate::format::Clock::Utc => crate::format::Clock::Local,
                    crate::format::Clock::Local => crate::format::Clock::Utc,
                };
            }
            Some(top_bar::Clicked::Alarms) => self.view = View::Operations,
            Some(top_bar::Clicked::Connections) => {
                let c = &mut self.connections;
                c.open = !c.open;
                if c.open {
                    if let Some(s) = &self.model.status {
                        c.lake_dir = s.lake_dir.clone();
                    }
                    c.retention = self.retention_days.map_or(String::new(), |d| d.to_string());
                }
            }
            Some(top_bar::Clicked::Launcher) => self.launcher.open = !self.launcher.open,
            Some(top_bar::Clicked::StopFleet) => {
                self.requests.send(Sender::App, Request::StopFleet);
            }
            None => {}
        }
    }

    /// The pipeline cost of `spec`, once the shell has estimated it; asks
    /// for it (one question at a time) when it is not known yet.
    fn cost_for(&mut self, spec: &FleetSpec) -> Option<CostEstimate> {
        match &self.cost {
            Some((asked, c)) if asked == spec => return Some(c.clone()),
            _ => {}
        }
        // A failed estimate is not asked again for the same fleet (it
        // would fail again every frame); another fleet is asked afresh.
        if self.cost_failed.as_ref().is_some_and(|(s, _)| s == spec) {
            return None;
        }
        if self.cost_asked.is_none() {
            self.cost_asked = Some(spec.clone());
            self.requests
                .send(Sender::App, Request::EstimateCost(spec.clone()));
        }
        None
    }

    /// The floating windows: alarm rules, connections, the fleet launcher.
    fn windows(&mut self, ui: &mut egui::Ui) {
        self.operations
            .rules
            .show(ui.ctx(), &mut self.model.alarms.rules);
        let cache_path = self
            .model
            .status
            .as_ref()
            .map_or(String::new(), |s| s.cache_path.clone());
        let forms = Forms {
            stream: &mut self.stream_settings,
            timestream: &mut self.history.connection,
            influx: &mut self.history.influx,
            lake: &mut self.lake,
            athena: &mut self.athena,
            connected: self.model.mode() == Mode::Kinesis,
            cache_path: &cache_path,
        };
        for request in self.connections.show(ui.ctx(), forms) {
            if let Request::PruneCache(days) = &request {
                self.retention_days = Some(*days);
            }
            self.last_error = None;
            self.requests.send(Sender::Connections, request);
        }
        if self.launcher.open {
            let spec = self.launcher.spec.clone();
            let cost = self.cost_for(&spec);
            let running = self.model.fleet_running();
            if let Some(request) = self.launcher.show(ui.ctx(), cost.as_ref(), running) {
                self.last_error = None;
                self.requests.send(Sender::Launcher, request);
            }
        }
    }

    /// Ctrl+1/2/3 switch views, Ctrl+D switches the theme, Ctrl+F opens the
    /// fleet launcher, Ctrl+Q saves the layout and quits.
    fn shortcuts(&mut self, ui: &mut egui::Ui) {
        use egui::{Key, Modifiers};
        let pressed = |key| {
            ui.ctx()
                .input_mut(|i| i.consume_key(Modifiers::COMMAND, key))
        };
        if pressed(Key::Num1) {
            self.view = View::Operations;
        }
        if pressed(Key::Num2) {
            self.view = View::History;
        }
        if pressed(Key::Num3) {
            self.view = View::Strategic;
        }
        if pressed(Key::D) {
            self.dark = !self.dark;
        }
        if pressed(Key::F) {
            self.launcher.open = !self.launcher.open;
        }
        if pressed(Key::Q) {
            // The layout first, so the next start finds it as it is now.
            if self.saved_settings.is_some() {
                let settings = Box::new(self.settings());
                self.requests
                    .send(Sender::App, Request::SaveSettings(settings));
            }
            self.requests.send(Sender::App, Request::Quit);
        }
        ui.ctx().set_theme(if self.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
    }
}
