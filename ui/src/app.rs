//! The operator's screen: top bar (mode, fleet, throughput), device list,
//! the selected device's live chart and the fleet's total power.

use std::ops::RangeInclusive;

use egui::{Color32, RichText};
use egui_plot::{GridMark, Legend, Line, Plot, PlotPoints};
use gridwatch_types::{
    ApiError, ChartRequest, ErrorCode, FleetSpec, Layout, Mode, Settings, ShardState, UiHealth,
};

use crate::backend::{Backend, Reply, Request};
use crate::export::export_buttons;
use crate::history::History;
use crate::launcher::Launcher;
use crate::model::{LIVE_WINDOW_US, Model};
use crate::strategic::Strategic;

/// How often the device list (with dimensions) is fetched again, in frames'
/// worth of seconds.
const DEVICE_REFRESH_S: f64 = 5.0;
const HEALTH_REPORT_S: f64 = 2.0;
/// How much history the device chart loads when a device is chosen.
const HISTORY_US: i64 = LIVE_WINDOW_US;

/// What a conflict is, for the operator who hovers over the count.
const CONFLICTS_HINT: &str = "A reading arrived again for the same device, measure and time with \
another value. The first value stays the reading; the second is kept in the cache's conflict table.";

pub struct GridwatchUi {
    backend: Box<dyn Backend>,
    pub model: Model,
    pub filter: String,
    /// The measure of the heatmap: the one the operator picked last.
    pub measure: String,
    /// The device's charts, one per measure, stacked with a linked cursor.
    pub charted: Vec<String>,
    pub last_error: Option<ApiError>,
    /// Seconds since the UI started, from egui's clock.
    now_s: f64,
    last_device_refresh: f64,
    last_health: f64,
    frames: u64,
    frame_ms: FrameLog,
    logic_ms: FrameLog,
    started: bool,
    /// The Connections window.
    pub connections: crate::connections::Connections,
    /// The S3 lake, as last entered.
    pub lake: gridwatch_types::LakeConnection,
    /// The lake folder chosen in Connections (None: the app's default).
    pub lake_dir: Option<String>,
    /// Days of readings the cache keeps (None: all).
    pub retention_days: Option<u32>,
    last_shard_poll: f64,
    last_status_poll: f64,
    pub view: View,
    pub strategic: Strategic,
    pub history: History,
    /// The running fleet's pipeline cost, and the fleet it was asked for.
    pub cost: Option<(FleetSpec, gridwatch_types::CostEstimate)>,
    last_stale_check: f64,
    pub dark: bool,
    /// Dimension -> chosen value ("" for all), for the device list.
    pub dimension_filter: std::collections::BTreeMap<String, String>,
    /// The device chart shows the last minutes, moving, when set.
    pub follow_live: bool,
    cost_asked: Option<FleetSpec>,
    last_job_poll: f64,
    pub launcher: Launcher,
    /// The Kinesis connection as last entered, remembered between runs.
    pub stream_settings: gridwatch_types::StreamConnection,
    /// What the settings file holds: None until it has been read, so a
    /// start never overwrites the operator's layout with defaults.
    pub saved_settings: Option<Settings>,
    last_settings_check: f64,
    reported_first_point: bool,
    /// The "Alarm rules" window's limit fields, per measure (min, max), as
    /// typed; None when the window is closed.
    pub rules_form: Option<std::collections::BTreeMap<String, (String, String)>>,
    /// Wall-clock time, epoch microseconds: the ranges that end "now".
    /// Snapshot tests fix it so their images do not change with the day.
    pub clock: fn() -> i64,
}

/// How often the layout is compared with the saved one.
const SETTINGS_CHECK_S: f64 = 1.0;

pub use gridwatch_types::View;

/// The last 256 frames' times, for percentiles.
#[derive(Debug, Default)]
struct FrameLog(std::collections::VecDeque<f32>);

impl FrameLog {
    fn record(&mut self, ms: f32) {
        if self.0.len() == 256 {
            self.0.pop_front();
        }
        self.0.push_back(ms);
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut sorted: Vec<f32> = self.0.iter().copied().collect();
        sorted.sort_by(f32::total_cmp);
        match sorted.len() {
            0 => 0.0,
            n => f64::from(sorted[((n - 1) as f64 * p).round() as usize]),
        }
    }
}

impl GridwatchUi {
    pub fn new(backend: Box<dyn Backend>) -> Self {
        GridwatchUi {
            backend,
            model: Model::default(),
            filter: String::new(),
            measure: "watt".into(),
            charted: vec!["watt".into()],
            last_error: None,
            now_s: 0.0,
            last_device_refresh: f64::NEG_INFINITY,
            last_health: 0.0,
            frames: 0,
            frame_ms: FrameLog::default(),
            logic_ms: FrameLog::default(),
            started: false,
            connections: Default::default(),
            lake: Default::default(),
            lake_dir: None,
            retention_days: None,
            last_shard_poll: 0.0,
            last_status_poll: 0.0,
            view: View::Operations,
            strategic: Strategic::default(),
            history: History::default(),
            cost: None,
            cost_asked: None,
            last_stale_check: 0.0,
            dark: true,
            dimension_filter: std::collections::BTreeMap::new(),
            follow_live: true,
            last_job_poll: 0.0,
            launcher: Launcher::default(),
            stream_settings: Default::default(),
            saved_settings: None,
            last_settings_check: 0.0,
            reported_first_point: false,
            clock: crate::clock::now_us,
            rules_form: None,
        }
    }

    /// Takes note of how long the last frame took on the CPU (eframe's
    /// figure: the UI's logic, tessellation and the WebGL calls).
    pub fn record_frame_time(&mut self, ms: f32) {
        self.frame_ms.record(ms);
    }

    /// Takes note of how long `show` itself took (the UI's logic only).
    pub fn record_logic_time(&mut self, ms: f32) {
        self.logic_ms.record(ms);
    }

    pub fn health(&self) -> UiHealth {
        UiHealth {
            frames: self.frames,
            batches_received: self.model.batches_received,
            points_on_chart: self.model.series.get(&self.measure).map_or(0, |s| s.len()) as u64,
            devices_listed: self.model.devices.len() as u64,
            frame_ms_p99: self.frame_ms.percentile(0.99),
            frame_ms_p50: self.frame_ms.percentile(0.50),
            logic_ms_p99: self.logic_ms.percentile(0.99),
            view: self.view,
            fleet_running: self.model.fleet_running(),
        }
    }

    /// What the settings file should hold now.
    pub fn settings(&self) -> Settings {
        Settings {
            layout: Layout {
                view: self.view,
                dark: self.dark,
                device: self.model.selected.clone(),
                charts: self.charted.clone(),
                heatmap_measure: self.measure.clone(),
                dimension_filter: self
                    .dimension_filter
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                follow_live: self.follow_live,
                history_range_s: self.history.range_s,
                history_measure: self.history.measure.clone(),
            },
            stream: self.stream_settings.clone(),
            timestream: self.history.connection.clone(),
            lake: self.lake.clone(),
            lake_dir: self.lake_dir.clone(),
            cache_retention_days: self.retention_days,
            alarms: self.model.alarms.rules.clone(),
            fleet: self.launcher.spec.clone(),
        }
    }

    /// Puts the screen back as the settings say.
    fn apply_settings(&mut self, s: &Settings) {
        let l = &s.layout;
        self.view = l.view;
        self.dark = l.dark;
        if !l.charts.is_empty() {
            self.charted = l.charts.clone();
        }
        self.measure = l.heatmap_measure.clone();
        self.dimension_filter = l.dimension_filter.clone().into_iter().collect();
        self.follow_live = l.follow_live;
        self.history.range_s = l.history_range_s;
        self.history.measure = l.history_measure.clone();
        self.stream_settings = s.stream.clone();
        self.launcher.stream = s.stream.clone();
        self.history.connection = s.timestream.clone();
        self.launcher.spec = s.fleet.clone();
        self.lake = s.lake.clone();
        self.lake_dir = s.lake_dir.clone();
        self.retention_days = s.cache_retention_days;
        self.model.alarms.rules = s.alarms.clone();
        // The retention takes effect at once; the saved lake folder was
        // applied by the shell, which owns the settings file.
        if let Some(days) = s.cache_retention_days {
            self.backend.send(Request::PruneCache(days));
        }
        if l.device.is_some() {
            self.select(l.device.clone());
        }
    }

    fn select(&mut self, device: Option<String>) {
        if device == self.model.selected {
            return;
        }
        self.model.select(device.clone());
        self.backend.send(Request::WatchDevice(device));
        self.request_history();
    }

    /// Cached history under the live points, for every charted measure.
    fn request_history(&mut self) {
        for measure in self.charted.clone() {
            self.request_measure_history(&measure);
        }
    }

    fn request_measure_history(&mut self, measure: &str) {
        let Some(device) = self.model.selected.clone() else {
            return;
        };
        let to_us = self.model.newest_us.max(1) + 1;
        self.backend.send(Request::DeviceChart(ChartRequest {
            device_id: Some(device),
            measure: measure.to_owned(),
            from_us: to_us - HISTORY_US,
            to_us,
            pixels: 1_200,
        }));
    }

    fn handle_replies(&mut self) {
        for reply in self.backend.poll() {
            match reply {
                Reply::FleetStatus(s) => {
                    // The folder in use, whether typed or picked in the
                    // shell's dialog, is what the settings keep.
                    if !s.lake_dir.is_empty() {
                        self.lake_dir = Some(s.lake_dir.clone());
                    }
                    self.model.apply_status(s)
                }
                Reply::Shards(shards) => self.model.shards = shards,
                Reply::Table(t) => {
                    self.strategic.waiting = false;
                    self.strategic.lake_empty = false;
                    self.strategic.table = Some(t);
                }
                Reply::Job(j) => {
                    let finished = self.strategic.job.as_ref().is_some_and(|old| old.running)
                        && !j.running
                        && j.error.is_none();
                    self.strategic.job = Some(j);
                    // History just written: show it.
                    if finished {
                        self.strategic.waiting = true;
                        let now = (self.clock)();
                        self.backend
                            .send(Request::Aggregate(self.strategic.query(now)));
                    }
                }
                Reply::Failed {
                    command: gridwatch_types::command::AGGREGATE,
                    error,
                } if self.strategic.failed(error.code) => {}
                Reply::Saved(saved) => {
                    if let Some(path) = saved.path {
                        self.strategic.saved = Some(path.clone());
                        self.history.saved = Some(path);
                    }
                }
                Reply::Cost(c) => {
                    if let Some(spec) = self.cost_asked.take() {
                        self.cost = Some((spec, c));
                    }
                }
                Reply::History(r) => self.history.take(r),
                Reply::CacheHistory(c) => self.history.take_cache(c),
                Reply::Tested(found) => self.connections.tested(Ok(found)),
                Reply::Failed {
                    command: gridwatch_types::command::TEST_CONNECTION,
                    error,
                } => self.connections.tested(Err(error)),
                Reply::Pruned(n) => self.connections.pruned = Some(Ok(n)),
                Reply::Failed {
                    command: gridwatch_types::command::PRUNE_CACHE,
                    error,
                } => self.connections.pruned = Some(Err(error)),
                Reply::Failed {
                    command: gridwatch_types::command::DEVICE_CHART,
                    error,
                } if self.history.waiting => {
                    self.history.waiting = false;
                    self.history.error = Some(error.message);
                }
                Reply::Failed {
                    command: gridwatch_types::command::HISTORY,
                    error,
                } => {
                    self.history.waiting = false;
                    self.history.error = Some(error.message);
                }
                Reply::Settings(saved) => {
                    self.apply_settings(&saved);
                    self.saved_settings = Some(*saved);
                }
                Reply::Failed {
                    command: gridwatch_types::command::LOAD_SETTINGS,
                    error,
                } => {
                    // The shell kept the unreadable file aside; go on from
                    // defaults and save those from now on.
                    self.last_error = Some(error);
                    self.saved_settings = Some(Settings::default());
                }
                Reply::Devices(list) => self.model.apply_devices(list),
                Reply::Chart(c) => self.model.apply_chart(c),
                Reply::Live(batch) => self.model.apply_live(batch),
                Reply::Done => {}
                Reply::Failed { command, error } => {
                    self.last_error = Some(ApiError::new(
                        error.code,
                        format!("{command}: {}", error.message),
                    ));
                }
            }
        }
        // Until the operator picks one, show the first device there is.
        if self.model.selected.is_none()
            && let Some(first) = self.model.devices.keys().next().cloned()
        {
            self.select(Some(first));
        }
    }

    /// Draws one frame. The app calls this from `eframe::App::ui`; tests
    /// call it through egui_kittest.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.frames += 1;
        self.now_s = ui.ctx().input(|i| i.time);
        if !self.started {
            self.started = true;
            self.backend.send(Request::FleetStatus);
            self.backend.send(Request::LoadSettings);
        }
        // New devices show up in live batches before the list knows their
        // dimensions: ask again soon rather than at the next regular refresh.
        let unknown = self.model.devices.values().any(|r| r.info.is_none());
        let due = if unknown { 1.0 } else { DEVICE_REFRESH_S };
        if self.now_s - self.last_device_refresh > due {
            self.last_device_refresh = self.now_s;
            self.backend.send(Request::ListDevices);
        }
        // Reported at once on the first frame and the first live point (the
        // cold-start benchmark times both), then every few seconds.
        let first_point =
            !self.reported_first_point && self.model.series.values().any(|s| !s.is_empty());
        if self.frames == 1 || first_point || self.now_s - self.last_health > HEALTH_REPORT_S {
            self.reported_first_point |= first_point;
            self.last_health = self.now_s;
            let health = self.health();
            self.backend.send(Request::ReportHealth(health));
        }
        if self.strategic.job.as_ref().is_some_and(|j| j.running)
            && self.now_s - self.last_job_poll > 0.5
        {
            self.last_job_poll = self.now_s;
            self.backend.send(Request::JobStatus);
        }
        // The running fleet's production rate.
        let running = self.model.fleet_running();
        if running && self.now_s - self.last_status_poll > 1.0 {
            self.last_status_poll = self.now_s;
            self.backend.send(Request::FleetStatus);
        }
        if self.model.mode() == Mode::Kinesis && self.now_s - self.last_shard_poll > 1.0 {
            self.last_shard_poll = self.now_s;
            self.backend.send(Request::ShardStatus);
        }
        self.handle_replies();
        self.shortcuts(ui);
        if self.now_s - self.last_settings_check > SETTINGS_CHECK_S {
            self.last_settings_check = self.now_s;
            let now = self.settings();
            if let Some(saved) = &self.saved_settings
                && *saved != now
            {
                self.backend
                    .send(Request::SaveSettings(Box::new(now.clone())));
                self.saved_settings = Some(now);
            }
        }
        if let Some(n) = self.model.alarms.notification(self.now_s) {
            self.backend.send(Request::Notify(n));
        }
        // Devices gone quiet, while something is feeding the view.
        let feeding = self.model.fleet_running() || self.model.mode() == Mode::Kinesis;
        if feeding && self.now_s - self.last_stale_check > 1.0 {
            self.last_stale_check = self.now_s;
            let interval_us = self
                .model
                .status
                .as_ref()
                .and_then(|s| s.running.as_ref())
                .map_or(1_000_000, |spec| spec.interval_ms as i64 * 1000);
            let now = (self.clock)();
            let devices: Vec<(String, i64)> = self
                .model
                .devices
                .iter()
                .filter_map(|(id, r)| r.latest.as_ref().map(|l| (id.clone(), l.time_us)))
                .collect();
            self.model.alarms.check_stale(
                now,
                interval_us,
                devices.iter().map(|(d, t)| (d.as_str(), *t)),
            );
        }

        egui::Panel::top("top_bar").show(ui, |ui| self.top_bar(ui));
        egui::Panel::top("views").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.view, View::Operations, "Operations");
                ui.selectable_value(&mut self.view, View::History, "History");
                ui.selectable_value(&mut self.view, View::Strategic, "Strategic");
            });
        });
        if self.view != View::Operations {
            egui::Panel::bottom("status_bar").show(ui, |ui| self.status_bar(ui));
            let now = (self.clock)();
            let device = self.model.selected.clone();
            let requests = egui::CentralPanel::default()
                .show(ui, |ui| match self.view {
                    View::History => self.history.show(ui, device.as_deref(), now),
                    _ => self.strategic.show(ui, now),
                })
                .inner;
            for r in requests {
                self.backend.send(r);
            }
            self.windows(ui);
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(250));
            return;
        }
        egui::Panel::bottom("status_bar").show(ui, |ui| self.status_bar(ui));
        egui::Panel::bottom("alarms")
            .resizable(true)
            .default_size(130.0)
            .show(ui, |ui| self.alarm_list(ui));
        egui::Panel::left("devices")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| self.device_list(ui));
        if self.model.mode() == Mode::Kinesis {
            egui::Panel::right("shards")
                .resizable(true)
                .default_size(430.0)
                .show(ui, |ui| self.shard_panel(ui));
        }
        egui::CentralPanel::default().show(ui, |ui| self.charts(ui));
        self.windows(ui);
        // Live data arrives between frames; keep drawing while it flows.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
    }

    /// The pipeline cost of `spec`, once the shell has estimated it; asks
    /// for it (one question at a time) when it is not known yet.
    fn cost_for(&mut self, spec: &FleetSpec) -> Option<gridwatch_types::CostEstimate> {
        match &self.cost {
            Some((asked, c)) if asked == spec => return Some(c.clone()),
            _ => {}
        }
        if self.cost_asked.is_none() {
            self.cost_asked = Some(spec.clone());
            self.backend.send(Request::EstimateCost(spec.clone()));
        }
        None
    }

    /// The floating windows: connections and the fleet launcher.
    fn windows(&mut self, ui: &mut egui::Ui) {
        self.rules_window(ui.ctx());
        let cache_path = self
            .model
            .status
            .as_ref()
            .map_or(String::new(), |s| s.cache_path.clone());
        let forms = crate::connections::Forms {
            stream: &mut self.stream_settings,
            timestream: &mut self.history.connection,
            lake: &mut self.lake,
            connected: self.model.mode() == Mode::Kinesis,
            cache_path: &cache_path,
        };
        for request in self.connections.show(ui.ctx(), forms) {
            if let Request::PruneCache(days) = &request {
                self.retention_days = Some(*days);
            }
            self.last_error = None;
            self.backend.send(request);
        }
        if self.launcher.open {
            let spec = self.launcher.spec.clone();
            let cost = self.cost_for(&spec);
            let running = self.model.fleet_running();
            if let Some(request) = self.launcher.show(ui.ctx(), cost.as_ref(), running) {
                self.last_error = None;
                self.backend.send(request);
            }
        }
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading(RichText::new("Gridwatch").strong());
            let (badge, hover) = match (&self.model.mode(), self.model.status.as_ref()) {
                (Mode::Kinesis, Some(s)) => (
                    format!(" KINESIS {} ", s.stream.as_deref().unwrap_or("")),
                    "Live data from the stream's shards, cached locally",
                ),
                _ => (
                    " EMBEDDED ".to_string(),
                    "The whole pipeline on this machine: simulator, in-process bus, cache",
                ),
            };
            ui.label(
                RichText::new(badge)
                    .background_color(Color32::from_rgb(15, 42, 68))
                    .color(Color32::from_rgb(255, 196, 0)),
            )
            .on_hover_text(hover);
            // Buttons come before anything whose width changes as data
            // arrives, so they never move under the pointer.
            if ui
                .button(if self.dark { "Light" } else { "Dark" })
                .on_hover_text("Switch the theme (Ctrl+D)")
                .clicked()
            {
                self.dark = !self.dark;
            }
            if ui
                .button("Connections…")
                .on_hover_text("AWS, Kinesis, Timestream, S3, lake folder and cache")
                .clicked()
            {
                self.connections.open = !self.connections.open;
                if self.connections.open {
                    if let Some(s) = &self.model.status {
                        self.connections.lake_dir = s.lake_dir.clone();
                    }
                    self.connections.retention =
                        self.retention_days.map_or(String::new(), |d| d.to_string());
                }
            }
            ui.separator();
            if ui
                .button("Fleet…")
                .on_hover_text("Launch or stop a simulated fleet (Ctrl+F)")
                .clicked()
            {
                self.launcher.open = !self.launcher.open;
            }
            let status = self.model.status.clone();
            let running = status.as_ref().and_then(|s| s.running.clone());
            match &running {
                Some(spec) => {
                    if ui.button("Stop fleet").clicked() {
                        self.backend.send(Request::StopFleet);
                    }
                    let into = status.as_ref().and_then(|s| s.production.as_ref()).map_or(
                        String::new(),
                        |p| {
                            format!(
                                " into {}: {} records/s",
                                p.sink,
                                thousands(p.records_per_s.round() as u64)
                            )
                        },
                    );
                    ui.label(format!(
                        "Fleet: {} devices every {}{into}",
                        spec.device_count(),
                        format_interval(spec.interval_ms)
                    ));
                    // The live cost of running this fleet through AWS.
                    if let Some(c) = self.cost_for(spec) {
                        ui.label(format!("≈ ${:.0}/month on AWS", c.total_usd))
                            .on_hover_text(crate::launcher::cost_breakdown(&c));
                    }
                }
                None => {
                    ui.label("Fleet stopped");
                }
            }
            ui.separator();
            let s = &self.model.stats;
            ui.label(format!(
                "{} records/s",
                thousands(s.records_per_s.round() as u64)
            ));
            ui.label(format!("{} readings", thousands(s.readings_ingested)));
            let q = RichText::new(format!("{} quarantined", thousands(s.records_quarantined)));
            ui.label(if s.records_quarantined > 0 {
                q.color(Color32::from_rgb(230, 120, 40))
            } else {
                q
            });
            if s.readings_conflicting > 0 {
                ui.label(
                    RichText::new(format!("{} conflicts", thousands(s.readings_conflicting)))
                        .color(Color32::from_rgb(230, 120, 40)),
                )
                .on_hover_text(CONFLICTS_HINT);
            }
            let open = self.model.alarms.unacknowledged();
            if open > 0 {
                ui.separator();
                ui.label(
                    RichText::new(format!("{open} alarms")).color(Color32::from_rgb(230, 120, 40)),
                );
            }
        });
    }

    /// Devices over time for the chosen measure: a row per device (the first
    /// 40 in the list), a column per 5 s of the last 2.5 minutes.
    fn heatmap(&self, ui: &mut egui::Ui) {
        const COLUMNS: usize = 30;
        const SPAN_US: i64 = 150_000_000;
        let devices: Vec<String> = self.model.devices.keys().take(40).cloned().collect();
        let grid = self
            .model
            .heatmap(&devices, &self.measure, SPAN_US, COLUMNS);
        let values = grid.iter().flatten().flatten();
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
        ui.label(format!(
            "Heatmap: {} of {} devices, last 2.5 min ({:.1} to {:.1})",
            self.measure,
            devices.len(),
            if lo.is_finite() { lo } else { 0.0 },
            if hi.is_finite() { hi } else { 0.0 }
        ));
        let cell = egui::vec2(
            (ui.available_width() / COLUMNS as f32).clamp(4.0, 24.0),
            4.0,
        );
        let (rect, _) = ui.allocate_exact_size(
            egui::vec2(cell.x * COLUMNS as f32, cell.y * devices.len() as f32),
            egui::Sense::hover(),
        );
        let painter = ui.painter_at(rect);
        for (r, row) in grid.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let Some(v) = v else { continue };
                let t = if hi > lo {
                    ((v - lo) / (hi - lo)) as f32
                } else {
                    0.5
                };
                // Dark blue (low) to the Gridwatch yellow (high).
                let colour = Color32::from_rgb(
                    (15.0 + 240.0 * t) as u8,
                    (42.0 + 154.0 * t) as u8,
                    (68.0 * (1.0 - t)) as u8,
                );
                let min = rect.min + egui::vec2(c as f32 * cell.x, r as f32 * cell.y);
                painter.rect_filled(egui::Rect::from_min_size(min, cell), 0.0, colour);
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
                self.backend
                    .send(Request::SaveSettings(Box::new(self.settings())));
            }
            self.backend.send(Request::Quit);
        }
        ui.ctx().set_theme(if self.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
    }

    fn toggle_rules_form(&mut self) {
        if self.rules_form.take().is_some() {
            return;
        }
        let rules = &self.model.alarms.rules;
        let text = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        let mut form: std::collections::BTreeMap<String, (String, String)> = rules
            .limits
            .iter()
            .map(|(m, l)| (m.clone(), (text(l.min), text(l.max))))
            .collect();
        for m in &self.model.fleet_summary {
            form.entry(m.measure.clone()).or_default();
        }
        self.rules_form = Some(form);
    }

    /// The alarm rules: tolerances, and limits per measure. Changes apply
    /// at once (and are saved with the layout).
    fn rules_window(&mut self, ctx: &egui::Context) {
        let Some(mut form) = self.rules_form.take() else {
            return;
        };
        let mut open = true;
        let rules = &mut self.model.alarms.rules;
        egui::Window::new("Alarm rules")
            .default_pos(egui::pos2(330.0, 300.0))
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                egui::Grid::new("alarm_tolerances")
                    .num_columns(2)
                    .show(ui, |ui| {
                        ui.label("Voltage tolerance (± % of nominal)");
                        ui.add(
                            egui::DragValue::new(&mut rules.voltage_tolerance_pct)
                                .range(0.5..=50.0)
                                .speed(0.1),
                        )
                        .accessible_name("Voltage tolerance");
                        ui.end_row();
                        ui.label("Rapid power change (× from one reading)");
                        ui.add(
                            egui::DragValue::new(&mut rules.rapid_change_factor)
                                .range(1.1..=100.0)
                                .speed(0.05),
                        )
                        .accessible_name("Rapid change factor");
                        ui.end_row();
                        ui.label("Stale after (missed readings)");
                        ui.add(egui::DragValue::new(&mut rules.stale_intervals).range(1..=1000))
                            .accessible_name("Stale intervals");
                        ui.end_row();
                    });
                ui.separator();
                ui.label("Limits per measure (empty: none)");
                egui::Grid::new("alarm_limits")
                    .num_columns(3)
                    .striped(true)
                    .show(ui, |ui| {
                        for h in ["measure", "min", "max"] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        for (measure, (min, max)) in form.iter_mut() {
                            ui.label(format!("{measure} ({})", unit(measure)));
                            let parse = |ui: &mut egui::Ui, text: &mut String, name: String| {
                                ui.add(egui::TextEdit::singleline(text).desired_width(70.0))
                                    .accessible_name(name);
                                let t = text.trim();
                                if t.is_empty() {
                                    Ok(None)
                                } else {
                                    t.parse::<f64>().map(Some).map_err(|_| t.to_owned())
                                }
                            };
                            let lo = parse(ui, min, format!("{measure} min"));
                            let hi = parse(ui, max, format!("{measure} max"));
                            match (lo, hi) {
                                (Ok(None), Ok(None)) => {
                                    rules.limits.remove(measure);
                                }
                                (Ok(min), Ok(max)) => {
                                    rules.limits.insert(
                                        measure.clone(),
                                        gridwatch_types::MeasureLimit { min, max },
                                    );
                                }
                                (Err(bad), _) | (_, Err(bad)) => {
                                    error_label(ui, format!("{bad:?} is not a number"));
                                }
                            }
                            ui.end_row();
                        }
                    });
            });
        if open {
            self.rules_form = Some(form);
        }
    }

    fn alarm_list(&mut self, ui: &mut egui::Ui) {
        let open = self.model.alarms.unacknowledged();
        let mut acknowledge = Vec::new();
        ui.horizontal(|ui| {
            // The button before the count, so it stays put as alarms come.
            if ui
                .add_enabled(open > 0, egui::Button::new("Acknowledge all").small())
                .clicked()
            {
                acknowledge.extend(self.model.alarms.list.iter().map(|a| a.id));
            }
            if ui.small_button("Rules…").clicked() {
                self.toggle_rules_form();
            }
            ui.heading(format!("Alarms ({open} unacknowledged)"));
        });
        // Only the rows in view are laid out: a busy fleet keeps hundreds
        // of alarms, and the panel shows a handful.
        let shown: Vec<&crate::alarms::Alarm> = self
            .model
            .alarms
            .list
            .iter()
            .rev()
            .filter(|a| !a.acknowledged)
            .collect();
        let row_height = ui.spacing().interact_size.y;
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show_rows(ui, row_height, shown.len(), |ui, range| {
                for a in &shown[range] {
                    ui.horizontal(|ui| {
                        let colour = if a.cleared {
                            Color32::from_rgb(150, 150, 150)
                        } else {
                            Color32::from_rgb(230, 120, 40)
                        };
                        ui.label(RichText::new(crate::clock::format_utc(a.raised_us)).weak());
                        ui.label(short_id(&a.device_id)).on_hover_text(&a.device_id);
                        ui.label(RichText::new(&a.message).color(colour));
                        if a.cleared {
                            ui.label(RichText::new("(cleared)").weak());
                        }
                        if ui.small_button("Acknowledge").clicked() {
                            acknowledge.push(a.id);
                        }
                    });
                }
            });
        for id in acknowledge {
            self.model.alarms.acknowledge(id);
        }
    }

    fn shard_panel(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let shards = self.model.shards.clone();
            if let Some(r) = export_buttons(ui, "shards", || shard_table(&shards)) {
                self.backend.send(r);
            }
            ui.heading(format!("Shards ({})", self.model.shards.len()));
        });
        let conflicts = self.model.stats.readings_conflicting;
        if conflicts > 0 {
            ui.label(format!(
                "{} readings came again with another value",
                thousands(conflicts)
            ))
            .on_hover_text(CONFLICTS_HINT);
        }
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::Grid::new("shard_grid")
                .striped(true)
                .num_columns(7)
                .show(ui, |ui| {
                    for h in [
                        "Shard",
                        "State",
                        "Parent",
                        "rec/s",
                        "Lag",
                        "Throttled",
                        "Quarantined",
                    ] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for s in &self.model.shards {
                        ui.label(short_shard(&s.shard_id))
                            .on_hover_text(&s.shard_id);
                        let state = match s.state {
                            ShardState::Waiting => "waiting for parents",
                            ShardState::Reading if s.open => "open, reading",
                            ShardState::Reading => "closed, draining",
                            ShardState::CaughtUp => "caught up",
                            ShardState::Ended => "closed, read",
                        };
                        let state = ui.label(state);
                        if let Some(e) = &s.last_error {
                            state.on_hover_text(e);
                        }
                        let parents: Vec<String> = [&s.parent, &s.adjacent_parent]
                            .into_iter()
                            .flatten()
                            .map(|p| short_shard(p))
                            .collect();
                        ui.label(if parents.is_empty() {
                            "–".into()
                        } else {
                            parents.join(" + ")
                        });
                        ui.label(format!("{:.0}", s.records_per_s));
                        ui.label(s.millis_behind.map_or("–".into(), |m| format!("{m} ms")));
                        ui.label(thousands(s.throttled));
                        ui.label(thousands(s.quarantined));
                        ui.end_row();
                    }
                });
        });
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if let Some(s) = &self.model.status {
                ui.label(format!("Cache: {}", s.cache_path));
                ui.label(format!("{} shards", s.shards));
            }
            if let Some(e) = &self.last_error {
                let text = match e.code {
                    ErrorCode::FleetRunning => format!("A fleet is already running. {}", e.message),
                    ErrorCode::Cache => format!("Cache problem: {}", e.message),
                    _ => e.message.clone(),
                };
                error_label(ui, text);
                if ui.small_button("Dismiss").clicked() {
                    self.last_error = None;
                }
            }
            // The followed stream's trouble: a stopped follower (its cache
            // writer or the stream failed) leaves its cause on every shard.
            let stream_error = (self.model.mode() == Mode::Kinesis)
                .then(|| self.model.shards.iter().find_map(|s| s.last_error.clone()))
                .flatten();
            if let Some(e) = stream_error {
                error_label(ui, format!("Stream: {e}"));
                if ui
                    .small_button("Retry")
                    .on_hover_text("Connect to the stream again; it resumes after its checkpoints")
                    .clicked()
                {
                    self.backend
                        .send(Request::ConnectStream(self.stream_settings.clone()));
                }
            }
        });
    }

    fn device_list(&mut self, ui: &mut egui::Ui) {
        ui.heading(format!("Devices ({})", self.model.devices.len()));
        ui.add(
            egui::TextEdit::singleline(&mut self.filter)
                .hint_text("search by ID, region, feeder…")
                .desired_width(f32::INFINITY),
        )
        .accessible_name("Search devices");
        // Pickers by dimension, with the values the fleet has.
        for (key, label) in [
            ("Region", "Region"),
            ("Feeder", "Feeder"),
            ("DeviceType", "Type"),
        ] {
            let values = self
                .model
                .dimension_values
                .get(key)
                .cloned()
                .unwrap_or_default();
            let chosen = self.dimension_filter.entry(key.to_string()).or_default();
            egui::ComboBox::from_label(label)
                .selected_text(if chosen.is_empty() {
                    "all"
                } else {
                    chosen.as_str()
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(chosen, String::new(), "all");
                    for v in values {
                        ui.selectable_value(chosen, v.clone(), v);
                    }
                });
        }
        ui.separator();
        let needle = self.filter.to_lowercase();
        let shown: Vec<&String> = self
            .model
            .devices
            .iter()
            .filter(|(id, row)| {
                needle.is_empty()
                    || id.to_lowercase().contains(&needle)
                    || row.info.as_ref().is_some_and(|i| {
                        i.dimensions
                            .values()
                            .any(|v| v.to_lowercase().contains(&needle))
                    })
            })
            .filter(|(_, row)| {
                self.dimension_filter
                    .iter()
                    .all(|(k, v)| v.is_empty() || row.dimension(k) == Some(v.as_str()))
            })
            .map(|(id, _)| id)
            .collect();
        let row_height = ui.spacing().interact_size.y;
        let mut clicked = None;
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show_rows(ui, row_height, shown.len(), |ui, range| {
                for &id in &shown[range] {
                    let row = &self.model.devices[id];
                    let watt = row
                        .latest_value("watt")
                        .map_or("–".to_string(), |w| format!("{w:.0} W"));
                    let region = row.dimension("Region").unwrap_or("?");
                    let text = format!("{}  {}  {}", short_id(id), region, watt);
                    let selected = self.model.selected.as_ref() == Some(id);
                    if ui
                        .selectable_label(selected, text)
                        .on_hover_text(id.as_str())
                        .clicked()
                    {
                        clicked = Some(id.clone());
                    }
                }
            });
        if let Some(id) = clicked {
            self.select(Some(id));
        }
    }

    /// One measure's chart of the selected device, with a time cursor
    /// linked to the others.
    fn device_chart(
        &self,
        ui: &mut egui::Ui,
        measure: &str,
        points: Vec<[f64; 2]>,
        link: egui::Id,
        height: f32,
    ) {
        let newest = points.last().map(|p| p[0]);
        // Following live: the last five minutes, moving; otherwise the
        // operator's own pan and zoom stay put.
        let live = newest
            .filter(|_| self.follow_live)
            .map(|t| (t - 300.0, t + 5.0));
        let pixels = (ui.available_width() * ui.ctx().pixels_per_point()) as usize;
        Plot::new(("device_chart", measure))
            .height(height)
            .legend(Legend::default())
            .x_axis_formatter(time_axis)
            .link_cursor(link, [true, false])
            .link_axis(link, [true, false])
            .show(ui, |plot| {
                if let Some((lo, hi)) = live {
                    plot.set_plot_bounds_x(lo..=hi);
                    plot.set_auto_bounds([false, true]);
                }
                // Two points per pixel column of what is in view, at most.
                // Auto-fitting to the data: the whole series is in view
                // (the bounds would otherwise follow what was decimated).
                let bounds = plot.plot_bounds();
                let whole = (points.first().map_or(0.0, |p| p[0]), newest.unwrap_or(0.0));
                let (lo, hi) = if let Some(window) = live {
                    window
                } else if plot.auto_bounds().x {
                    whole
                } else {
                    (bounds.min()[0], bounds.max()[0])
                };
                let shown = if hi > lo {
                    crate::decimate::min_max(&points, lo, hi, pixels)
                } else {
                    points
                };
                plot.line(Line::new(
                    format!("{measure} ({})", unit(measure)),
                    PlotPoints::from(shown),
                ));
            });
    }

    fn charts(&mut self, ui: &mut egui::Ui) {
        let Some(selected) = self.model.selected.clone() else {
            ui.centered_and_justified(|ui| {
                ui.label("Waiting for the first readings…");
            });
            return;
        };
        let row = self
            .model
            .devices
            .get(&selected)
            .cloned()
            .unwrap_or_default();
        ui.horizontal(|ui| {
            ui.heading(short_id(&selected));
            for key in ["DeviceType", "Region", "Feeder"] {
                if let Some(v) = row.dimension(key) {
                    ui.label(RichText::new(v).weak());
                }
            }
        });
        let mut measures = self.model.selected_measures();
        for m in &self.charted {
            if !measures.contains(m) {
                measures.push(m.clone());
            }
        }
        let mut toggled = None;
        ui.horizontal(|ui| {
            ui.label("Charts:");
            for m in &measures {
                let on = self.charted.contains(m);
                if ui
                    .selectable_label(on, m.as_str())
                    .on_hover_text("Show or hide this measure's chart")
                    .clicked()
                {
                    toggled = Some(m.clone());
                }
            }
            ui.checkbox(&mut self.follow_live, "Follow live");
        });
        if let Some(m) = toggled {
            if let Some(i) = self.charted.iter().position(|c| *c == m) {
                // One chart always stays.
                if self.charted.len() > 1 {
                    self.charted.remove(i);
                }
            } else {
                self.charted.push(m.clone());
                self.request_measure_history(&m);
            }
            self.measure = m;
        }

        let link = egui::Id::unique("gridwatch_time_axis");
        let grid_height = (ui.available_height() - 40.0).max(200.0) * 0.6;
        let height = (grid_height / self.charted.len() as f32 - 24.0).max(80.0);
        for measure in self.charted.clone() {
            let points = self
                .model
                .series
                .get(&measure)
                .map(|s| s.to_vec())
                .unwrap_or_default();
            ui.horizontal(|ui| {
                // Controls first: the label after them grows with the data.
                let name = format!("{}-{}", short_id(&selected), measure);
                if let Some(r) = export_buttons(ui, &name, || chart_table(&measure, &points)) {
                    self.backend.send(r);
                }
                ui.label(format!(
                    "Chart: {} of {} ({} points, UTC)",
                    measure,
                    short_id(&selected),
                    points.len()
                ));
            });
            self.device_chart(ui, &measure, points, link, height);
        }
        if let Some(path) = &self.strategic.saved {
            ui.label(RichText::new(format!("Saved to {path}")).weak());
        }

        // The fleet at a glance: each measure across every device's latest.
        egui::CollapsingHeader::new("Fleet panel")
            .default_open(true)
            .show(ui, |ui| {
                egui::Grid::new("fleet_panel").striped(true).show(ui, |ui| {
                    for h in ["measure", "devices", "readings", "avg", "p90", "p95", "p99"] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    let mut last_measure = None;
                    for m in &self.model.fleet_summary {
                        let of = m
                            .device_type
                            .as_ref()
                            .map_or(String::new(), |t| format!(" · {t}"));
                        ui.label(format!("{} ({}){of}", m.measure, unit(&m.measure)));
                        ui.label(m.devices.to_string());
                        // Readings are counted per measure, not per type:
                        // on the measure's first row.
                        let first = last_measure != Some(m.measure.as_str());
                        last_measure = Some(m.measure.as_str());
                        let readings = self
                            .model
                            .readings_by_measure
                            .get(&m.measure)
                            .filter(|_| first);
                        ui.label(readings.map_or(String::new(), |n| thousands(*n)));
                        for v in [m.avg, m.p90, m.p95, m.p99] {
                            ui.label(format!("{v:.2}"));
                        }
                        ui.end_row();
                    }
                });
                self.heatmap(ui);
                let s = &self.model.stats;
                ui.label(format!(
                    "{} records, {} readings ingested since start",
                    thousands(s.records_ingested),
                    thousands(s.readings_ingested)
                ));
            });
        let fleet = self.model.fleet.to_vec();
        let reporting = self.model.last_fleet.map_or(0, |f| f.devices_reporting);
        let total = self.model.last_fleet.map_or(0.0, |f| f.total_watt / 1000.0);
        ui.horizontal(|ui| {
            if let Some(r) = export_buttons(ui, "fleet-power", || chart_table("fleet_kw", &fleet)) {
                self.backend.send(r);
            }
            ui.label(format!(
                "Fleet total power: {total:.1} kW from {reporting} devices"
            ));
        });
        Plot::new("fleet_chart")
            .height(ui.available_height().max(120.0))
            .x_axis_formatter(time_axis)
            .link_cursor(link, [true, false])
            .show(ui, |plot| {
                plot.line(
                    Line::new("fleet power (kW)", PlotPoints::from(fleet))
                        .color(Color32::from_rgb(255, 196, 0)),
                );
            });
    }
}

pub(crate) fn field(ui: &mut egui::Ui, name: &str, value: &mut String, hint: &str) {
    ui.label(name);
    ui.add(
        egui::TextEdit::singleline(value)
            .hint_text(hint)
            .desired_width(260.0),
    )
    .accessible_name(name);
    ui.end_row();
}

pub(crate) fn optional_field(
    ui: &mut egui::Ui,
    name: &str,
    value: &mut Option<String>,
    hint: &str,
) {
    let mut text = value.clone().unwrap_or_default();
    field(ui, name, &mut text, hint);
    *value = (!text.trim().is_empty()).then(|| text.trim().to_string());
}

/// `shardId-000000000004` -> `shard 4`.
fn short_shard(id: &str) -> String {
    id.strip_prefix("shardId-")
        .and_then(|n| n.parse::<u64>().ok())
        .map_or_else(|| id.to_string(), |n| format!("shard {n}"))
}

/// The shard panel as a table.
fn shard_table(shards: &[gridwatch_types::ShardStatus]) -> gridwatch_types::ResultTable {
    use gridwatch_types::Cell;
    let text = |s: &Option<String>| s.clone().map_or(Cell::Null, Cell::Text);
    gridwatch_types::ResultTable {
        columns: [
            "shard",
            "open",
            "state",
            "parent",
            "adjacent_parent",
            "records",
            "records_per_s",
            "millis_behind",
            "throttled",
            "expired_iterators",
            "quarantined",
        ]
        .map(String::from)
        .to_vec(),
        rows: shards
            .iter()
            .map(|s| {
                vec![
                    Cell::Text(s.shard_id.clone()),
                    Cell::Text(s.open.to_string()),
                    Cell::Text(format!("{:?}", s.state).to_lowercase()),
                    text(&s.parent),
                    text(&s.adjacent_parent),
                    Cell::Number(s.records as f64),
                    Cell::Number(s.records_per_s),
                    s.millis_behind
                        .map_or(Cell::Null, |m| Cell::Number(m as f64)),
                    Cell::Number(s.throttled as f64),
                    Cell::Number(s.expired_iterators as f64),
                    Cell::Number(s.quarantined as f64),
                ]
            })
            .collect(),
        skipped: Vec::new(),
        lake_dir: String::new(),
    }
}

/// A chart's points as a table: time (UTC) and value.
fn chart_table(measure: &str, points: &[[f64; 2]]) -> gridwatch_types::ResultTable {
    use gridwatch_types::Cell;
    gridwatch_types::ResultTable {
        columns: vec!["time".into(), measure.to_owned()],
        rows: points
            .iter()
            .map(|[t, v]| {
                vec![
                    Cell::Text(crate::clock::format_utc((t * 1e6) as i64)),
                    Cell::Number(*v),
                ]
            })
            .collect(),
        skipped: Vec::new(),
        lake_dir: String::new(),
    }
}

/// Time of day (UTC) for the x axis; tenths of a second when zoomed in that far.
pub(crate) fn time_axis(mark: GridMark, _range: &RangeInclusive<f64>) -> String {
    let secs = mark.value.rem_euclid(86_400.0);
    let h = (secs / 3600.0).floor();
    let m = ((secs - h * 3600.0) / 60.0).floor();
    let s = secs - h * 3600.0 - m * 60.0;
    if mark.step_size < 1.0 {
        format!("{h:02}:{m:02}:{s:04.1}")
    } else {
        format!("{h:02}:{m:02}:{:02}", s.floor() as u32)
    }
}

fn unit(measure: &str) -> &'static str {
    match measure {
        "voltage" => "V",
        "current" => "A",
        "watt" => "W",
        "energy" => "kWh",
        "temperature" | "oil_temperature" => "°C",
        "load_pct" => "%",
        _ => "",
    }
}

/// The first block of a UUID-like ID is enough to tell devices apart on
/// screen; the full ID is on hover.
pub fn short_id(id: &str) -> &str {
    match id.find('-') {
        Some(i) if i >= 6 => &id[..i],
        _ => id,
    }
}

/// A line saying what went wrong, in the error colour every view uses.
pub(crate) fn error_label(ui: &mut egui::Ui, text: impl Into<String>) {
    ui.label(RichText::new(text.into()).color(Color32::from_rgb(220, 60, 60)));
}

/// A reporting interval as an operator says it: 250 ms, 5 s, 15 min.
pub fn format_interval(ms: u64) -> String {
    if ms.is_multiple_of(60_000) {
        format!("{} min", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_group_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn short_ids_keep_the_first_block() {
        assert_eq!(short_id("c0ffee12-aaaa-4bbb"), "c0ffee12");
        assert_eq!(short_id("meter-1"), "meter-1");
    }

    #[test]
    fn axis_shows_time_of_day() {
        let mark = GridMark {
            value: 3600.0 * 25.0 + 61.0,
            step_size: 1.0,
        };
        assert_eq!(time_axis(mark, &(0.0..=1.0)), "01:01:01");
        let fine = GridMark {
            value: 61.25,
            step_size: 0.25,
        };
        assert_eq!(time_axis(fine, &(0.0..=1.0)), "00:01:01.2");
    }
}
