//! The Connections window: how to reach AWS (profile, region, endpoint),
//! the Kinesis stream, the Timestream table, the S3 lake, and the local lake
//! folder and cache retention. Each service has a Test button whose answer
//! says what was found, or why not: no credentials, access denied, not
//! found, unreachable.

use std::collections::BTreeMap;

use egui::RichText;
use gridwatch_types::{
    ApiError, BridgeJob, BridgeStatus, BridgeTarget, ConnectionTarget, ConnectionTest, ErrorCode,
    InfluxConnection, LakeConnection, Reply, Request, StreamConnection, TimestreamConnection,
};

use crate::backend::Answer;
use crate::theme;
use crate::widgets::{error_label, field, optional_field};

#[derive(Debug, Default)]
pub struct Connections {
    pub open: bool,
    /// The service whose test is running.
    pub testing: Option<&'static str>,
    /// Each service's last test: what was found, or the error.
    pub results: BTreeMap<&'static str, Result<String, ApiError>>,
    /// The retention being edited, in days ("" keeps everything).
    pub retention: String,
    /// The lake folder being edited.
    pub lake_dir: String,
    /// What the last retention run removed.
    pub pruned: Option<Result<u64, ApiError>>,
    /// Why the last lake folder was not taken.
    pub lake_error: Option<String>,
    /// The stream job's last status, and why the last ask failed.
    pub bridge: Option<BridgeStatus>,
    pub bridge_error: Option<String>,
    /// The stream job writes to InfluxDB (else Timestream).
    pub bridge_to_influx: bool,
    /// When its status was last asked, seconds on egui's clock.
    bridge_asked_s: f64,
}

/// The connection settings the window edits, all held by the app.
pub struct Forms<'a> {
    pub stream: &'a mut StreamConnection,
    pub timestream: &'a mut TimestreamConnection,
    pub influx: &'a mut InfluxConnection,
    pub lake: &'a mut LakeConnection,
    pub athena: &'a mut gridwatch_types::AthenaConnection,
    pub connected: bool,
    pub cache_path: &'a str,
}

impl Connections {
    /// Takes the answer to one of this window's requests; gives back what
    /// it leaves to the app (the stream's status, the lake folder in use).
    pub fn on_reply(&mut self, answer: Answer) -> Option<Answer> {
        match (answer.request, answer.result) {
            (Request::TestConnection(test), result) => {
                let service = test.target.service();
                if self.testing == Some(service) {
                    self.testing = None;
                }
                let found = result.and_then(|reply| match reply {
                    Reply::Tested(found) => Ok(found),
                    other => Err(unexpected(&other)),
                });
                self.results.insert(service, found);
            }
            (Request::PruneCache(_), result) => {
                self.pruned = Some(result.and_then(|reply| match reply {
                    Reply::Pruned(n) => Ok(n),
                    other => Err(unexpected(&other)),
                }));
            }
            (request @ (Request::SetLakeDir(_) | Request::ChooseLakeDir), result) => {
                match &result {
                    Ok(Reply::LakeDir(dir)) => {
                        self.lake_dir = dir.clone();
                        self.lake_error = None;
                    }
                    Ok(_) => {}
                    Err(e) => self.lake_error = Some(e.message.clone()),
                }
                // The app keeps the folder in the settings.
                return Some(Answer { request, result });
            }
            (Request::StartBridge(_) | Request::StopBridge | Request::BridgeStatus, result) => {
                match result {
                    Ok(Reply::Bridge(status)) => {
                        self.bridge = Some(status);
                        self.bridge_error = None;
                    }
                    Ok(other) => self.bridge_error = Some(unexpected(&other).message),
                    Err(e) => self.bridge_error = Some(crate::format::failure(&e)),
                }
            }
            (request, result) => return Some(Answer { request, result }),
        }
        None
    }

    fn test(&mut self, forms: &Forms<'_>, target: ConnectionTarget) -> Request {
        self.testing = Some(target.service());
        self.results.remove(target.service());
        Request::TestConnection(ConnectionTest {
            target,
            profile: forms.stream.profile.clone(),
            region: forms.stream.region.clone(),
            endpoint_url: forms.stream.endpoint_url.clone(),
        })
    }

    fn result_line(&self, ui: &mut egui::Ui, service: &'static str) {
        match self.results.get(service) {
            Some(Ok(found)) => {
                let line = crate::format::one_line(found, crate::format::FAILURE_CHARS - 4);
                ui.label(RichText::new(format!("OK: {line}")).color(theme::OK))
                    .on_hover_text(found);
            }
            Some(Err(e)) => {
                // One line, worded as Connect and the status bar word it;
                // the raw error under Details.
                error_label(ui, crate::format::failure(e));
                egui::CollapsingHeader::new("Details")
                    .id_salt(("details", service))
                    .show(ui, |ui| {
                        ui.add(
                            egui::Label::new(RichText::new(&e.message).small().monospace()).wrap(),
                        );
                    });
            }
            None if self.testing == Some(service) => {
                ui.spinner();
            }
            None => {}
        }
    }

    /// Draws the window; returns the requests it wants sent.
    pub fn show(&mut self, ctx: &egui::Context, mut forms: Forms<'_>) -> Vec<Request> {
        let mut out = Vec::new();
        if !self.open {
            return out;
        }
        let mut open = true;
        let idle = self.testing.is_none();
        // Below the bars, beside the device list: the top bar's buttons stay
        // in reach.
        // Never taller than the screen: what does not fit scrolls.
        let screen = ctx.content_rect();
        let max_height = (screen.height() - 140.0).max(200.0);
        egui::Window::new("Connections")
            .default_pos(egui::pos2(330.0, 90.0))
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            // As tall as the screen allows from the start: the sections
            // below the fold (the stream job, S3, the lake) scroll into
            // a window this size, not a small one.
            .default_height(max_height)
            .max_height(max_height)
            .constrain(true)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical()
                    .max_height(max_height)
                    .show(ui, |ui| self.form(ui, &mut forms, idle, &mut out));
            });
        if !open {
            self.open = false;
        }
        out
    }

    /// The window's contents, service by service.
    fn form(
        &mut self,
        ui: &mut egui::Ui,
        forms: &mut Forms<'_>,
        idle: bool,
        out: &mut Vec<Request>,
    ) {
        {
            {
                ui.strong("AWS");
                egui::Grid::new("aws_form").num_columns(2).show(ui, |ui| {
                    optional_field(ui, "Profile", &mut forms.stream.profile, "default chain");
                    optional_field(ui, "Region", &mut forms.stream.region, "from the profile");
                    optional_field(ui, "Endpoint URL", &mut forms.stream.endpoint_url, "AWS");
                });
                ui.label(
                    RichText::new("Credentials come from your AWS profile chain; none are stored.")
                        .weak(),
                );
                // Timestream is reached the same way.
                forms.timestream.profile = forms.stream.profile.clone();
                forms.timestream.region = forms.stream.region.clone();
                forms.timestream.endpoint_url = forms.stream.endpoint_url.clone();
                ui.separator();

                ui.strong("Kinesis");
                ui.horizontal(|ui| {
                    // Buttons first: the result after them grows.
                    let named = !forms.stream.stream.trim().is_empty();
                    if ui
                        .add_enabled(named && idle, egui::Button::new("Test Kinesis"))
                        .clicked()
                    {
                        let target = ConnectionTarget::Kinesis {
                            stream: forms.stream.stream.clone(),
                        };
                        out.push(self.test(forms, target));
                    }
                    if ui
                        .add_enabled(named, egui::Button::new("Connect"))
                        .clicked()
                    {
                        out.push(Request::ConnectStream(forms.stream.clone()));
                        self.open = false;
                    }
                    if forms.connected && ui.button("Back to embedded").clicked() {
                        out.push(Request::DisconnectStream);
                        self.open = false;
                    }
                });
                egui::Grid::new("kinesis_form")
                    .num_columns(2)
                    .show(ui, |ui| {
                        field(ui, "Stream", &mut forms.stream.stream, "telemetry");
                    });
                self.result_line(ui, "Kinesis");
                ui.separator();

                ui.strong("Timestream");
                if ui
                    .add_enabled(idle, egui::Button::new("Test Timestream"))
                    .clicked()
                {
                    let target = ConnectionTarget::Timestream {
                        database: forms.timestream.database.clone(),
                        table: forms.timestream.table.clone(),
                    };
                    out.push(self.test(forms, target));
                }
                egui::Grid::new("timestream_form")
                    .num_columns(2)
                    .show(ui, |ui| {
                        field(
                            ui,
                            "Timestream database",
                            &mut forms.timestream.database,
                            "grid",
                        );
                        field(
                            ui,
                            "Timestream table",
                            &mut forms.timestream.table,
                            "readings",
                        );
                    });
                self.result_line(ui, "Timestream");
                ui.separator();
                self.influx_form(ui, forms, idle, out);
                ui.separator();
                self.bridge_form(ui, forms, out);
                ui.separator();

                ui.strong("S3 lake");
                if ui.add_enabled(idle, egui::Button::new("Test S3")).clicked() {
                    let target = ConnectionTarget::S3 {
                        bucket: forms.lake.bucket.clone(),
                        prefix: forms.lake.prefix.clone(),
                    };
                    out.push(self.test(forms, target));
                }
                egui::Grid::new("s3_form").num_columns(2).show(ui, |ui| {
                    field(ui, "Bucket", &mut forms.lake.bucket, "telemetry-lake");
                    field(ui, "Prefix", &mut forms.lake.prefix, "readings/json/");
                });
                self.result_line(ui, "S3");
                ui.separator();
                self.athena_form(ui, forms, idle, out);
                ui.separator();

                ui.strong("On this machine");
                ui.horizontal(|ui| {
                    // The folder dialog is the shell's. A typed name must
                    // already hold a lake.
                    if ui
                        .button("Choose…")
                        .on_hover_text("Pick any folder for a new lake in the folder dialog")
                        .clicked()
                    {
                        self.lake_error = None;
                        out.push(Request::ChooseLakeDir);
                    }
                    if ui
                        .add_enabled(
                            !self.lake_dir.trim().is_empty(),
                            egui::Button::new("Use folder"),
                        )
                        .clicked()
                    {
                        self.lake_error = None;
                        out.push(Request::SetLakeDir(self.lake_dir.trim().to_owned()));
                    }
                    ui.label("Lake folder");
                    ui.add(egui::TextEdit::singleline(&mut self.lake_dir).desired_width(300.0))
                        .accessible_name("Lake folder");
                });
                if let Some(e) = &self.lake_error {
                    error_label(ui, e);
                }
                ui.horizontal(|ui| {
                    let days = self.retention.trim().parse::<u32>().ok().filter(|d| *d > 0);
                    if ui
                        .add_enabled(days.is_some(), egui::Button::new("Apply retention"))
                        .clicked()
                        && let Some(days) = days
                    {
                        self.pruned = None;
                        out.push(Request::PruneCache(days));
                    }
                    ui.label("Keep readings for");
                    ui.add(egui::TextEdit::singleline(&mut self.retention).desired_width(50.0))
                        .accessible_name("Keep days");
                    ui.label("days");
                    match &self.pruned {
                        Some(Ok(n)) => {
                            ui.label(format!("{n} older readings removed"));
                        }
                        Some(Err(e)) => {
                            error_label(ui, &e.message);
                        }
                        None => {}
                    }
                });
                ui.label(
                    RichText::new(format!(
                        "Cache: {} (start with --cache to use another)",
                        forms.cache_path
                    ))
                    .weak(),
                );
            }
        }
    }
}

/// A reply of the wrong kind: the shell and the UI disagree on the wire.
impl Connections {
    /// Athena over the lake's Glue table (`gridwatch lake athena-setup`
    /// makes it): the strategic views' engine past one machine. Test
    /// checks the workgroup, the table and that answers can be written.
    fn athena_form(
        &mut self,
        ui: &mut egui::Ui,
        forms: &mut Forms<'_>,
        idle: bool,
        out: &mut Vec<Request>,
    ) {
        ui.strong("Athena (the lake past one machine)");
        if ui
            .add_enabled(idle, egui::Button::new("Test Athena"))
            .clicked()
        {
            let target = ConnectionTarget::Athena(forms.athena.clone());
            out.push(self.test(forms, target));
        }
        egui::Grid::new("athena_form")
            .num_columns(2)
            .show(ui, |ui| {
                let a = &mut *forms.athena;
                field(ui, "Glue database", &mut a.database, "gridwatch");
                field(ui, "Glue table", &mut a.table, "gridwatch_readings");
                field(ui, "Workgroup", &mut a.workgroup, "primary");
                field(
                    ui,
                    "Answers to",
                    &mut a.output,
                    "s3://athena-results/gridwatch/",
                );
                ui.label("Scan limit (GB)");
                ui.add(egui::DragValue::new(&mut a.max_scan_gb).range(1..=100_000))
                    .accessible_name("Scan limit (GB)");
                ui.end_row();
            });
        self.result_line(ui, "Athena");
    }

    /// Timestream for InfluxDB (or any InfluxDB): where, which database,
    /// its layout, and where its credentials come from (never typed here).
    fn influx_form(
        &mut self,
        ui: &mut egui::Ui,
        forms: &mut Forms<'_>,
        idle: bool,
        out: &mut Vec<Request>,
    ) {
        ui.strong("InfluxDB (Timestream for InfluxDB)");
        if ui
            .add_enabled(idle, egui::Button::new("Test InfluxDB"))
            .clicked()
        {
            let s = &forms.stream;
            let target = forms
                .influx
                .with_aws(&s.profile, &s.region, &s.endpoint_url);
            out.push(self.test(forms, ConnectionTarget::Influx(target)));
        }
        let influx = &mut *forms.influx;
        egui::Grid::new("influx_form")
            .num_columns(2)
            .show(ui, |ui| {
                field(
                    ui,
                    "InfluxDB URL",
                    &mut influx.url,
                    "https://<instance>:8086",
                );
                field(ui, "InfluxDB database", &mut influx.database, "grid");
                field(ui, "Measurement", &mut influx.measurement, "readings");
                field(ui, "Device tag", &mut influx.device_tag, "DeviceID");
                optional_field(
                    ui,
                    "Credentials secret",
                    &mut influx.credentials,
                    "Secrets Manager name; else INFLUX_TOKEN",
                );
            });
        ui.label(
            RichText::new(
                "Credentials: the secret above (AWS Secrets Manager), or INFLUX_TOKEN, or INFLUX_USERNAME and INFLUX_PASSWORD in the environment. Never saved.",
            )
            .small()
            .weak(),
        );
        self.result_line(ui, "InfluxDB");
    }
}

impl Connections {
    /// The stream job: the stream above into Timestream or InfluxDB, in the
    /// background, its figures asked every second while it runs.
    fn bridge_form(&mut self, ui: &mut egui::Ui, forms: &Forms<'_>, out: &mut Vec<Request>) {
        ui.strong("Stream job (the seed's Flink job)");
        let running = self.bridge.as_ref().is_some_and(|b| b.running);
        ui.horizontal(|ui| {
            ui.label("Into");
            // The target stays as it is while the job runs.
            ui.add_enabled_ui(!running, |ui| {
                ui.selectable_value(&mut self.bridge_to_influx, false, "Timestream");
                ui.selectable_value(&mut self.bridge_to_influx, true, "InfluxDB");
            });
            if ui
                .add_enabled(!running, egui::Button::new("Start stream job"))
                .clicked()
            {
                let target = if self.bridge_to_influx {
                    let s = &forms.stream;
                    BridgeTarget::Influx {
                        connection: forms
                            .influx
                            .with_aws(&s.profile, &s.region, &s.endpoint_url),
                    }
                } else {
                    BridgeTarget::Timestream {
                        connection: forms.timestream.clone(),
                        multi_measure: false,
                    }
                };
                self.bridge_error = None;
                out.push(Request::StartBridge(BridgeJob {
                    stream: forms.stream.clone(),
                    target,
                }));
            }
            if ui
                .add_enabled(running, egui::Button::new("Stop stream job"))
                .clicked()
            {
                out.push(Request::StopBridge);
            }
        });
        if let Some(b) = &self.bridge {
            let state = match (&b.error, b.running) {
                (Some(e), _) => format!("stopped: {}", crate::format::one_line(e, 120)),
                (None, true) => "running".into(),
                (None, false) => "stopped".into(),
            };
            let line = format!(
                "Stream job {state}: {} readings from {} to {}; {} {} written, {} rejected, {} quarantined, {} retried",
                b.readings,
                b.stream,
                b.target,
                b.written,
                b.unit,
                b.rejected,
                b.quarantined,
                b.retries
            );
            if b.error.is_some() {
                error_label(ui, line);
            } else {
                ui.label(line);
            }
        }
        if let Some(e) = &self.bridge_error {
            error_label(ui, e.clone());
        }
        if running {
            let now = ui.input(|i| i.time);
            if now - self.bridge_asked_s >= 1.0 {
                self.bridge_asked_s = now;
                out.push(Request::BridgeStatus);
            }
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_secs(1));
        }
    }
}

fn unexpected(reply: &Reply) -> ApiError {
    ApiError::new(ErrorCode::Ipc, format!("unexpected answer: {reply:?}"))
}
