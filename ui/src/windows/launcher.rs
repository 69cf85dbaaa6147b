//! The fleet launcher: what a test fleet is made of, how it behaves, where
//! its readings go, and what running it on AWS would cost.

use egui::RichText;
use gridwatch_types::{
    CostEstimate, FleetLaunch, FleetShape, FleetSink, FleetSpec, Outages, Request, StreamConnection,
};

use crate::format::{format_interval, thousands};
use crate::widgets::{field, optional_field};

/// Where the operator wants the readings to go; the Kinesis choice keeps its
/// stream form even while another is picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SinkChoice {
    #[default]
    InProcess,
    Kinesis,
    Lake,
}

#[derive(Debug, Default)]
pub struct Launcher {
    pub open: bool,
    pub spec: FleetSpec,
    pub sink: SinkChoice,
    pub stream: StreamConnection,
}

/// Intervals a fleet can report at: from a fast demo to the seed's metering.
const INTERVALS_MS: [u64; 6] = [250, 1_000, 5_000, 15_000, 60_000, 900_000];

impl Launcher {
    pub fn launch(&self) -> FleetLaunch {
        FleetLaunch {
            spec: self.spec.clone(),
            sink: match self.sink {
                SinkChoice::InProcess => FleetSink::InProcess,
                SinkChoice::Kinesis => FleetSink::Kinesis(self.stream.clone()),
                SinkChoice::Lake => FleetSink::Lake,
            },
        }
    }

    /// What stops the launch, in the operator's words.
    pub fn problem(&self) -> Option<&'static str> {
        if self.spec.device_count() == 0 {
            Some("add at least one device")
        } else if self.sink == SinkChoice::Kinesis && self.stream.stream.trim().is_empty() {
            Some("name the Kinesis stream")
        } else {
            None
        }
    }

    /// Draws the launcher window; returns what the operator asked for.
    /// `cost` is the estimate for `self.spec`, when it has arrived;
    /// `running` says whether a fleet runs now.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        cost: Option<&CostEstimate>,
        running: bool,
    ) -> Option<Request> {
        if !self.open {
            return None;
        }
        let mut open = true;
        let mut request = None;
        // Ctrl+Enter launches, as the button does.
        let launch_key =
            ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter));
        // On the right, below the bars, clear of the connection window.
        let right = ctx.content_rect().right();
        egui::Window::new("Fleet launcher")
            .default_pos(egui::pos2(right - 480.0, 90.0))
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                // The buttons first, so they stay put as the form changes.
                ui.horizontal(|ui| {
                    let problem = self.problem();
                    let can_launch = !running && problem.is_none();
                    if ui
                        .add_enabled(can_launch, egui::Button::new("Launch fleet"))
                        .on_hover_text("Ctrl+Enter")
                        .on_disabled_hover_text(if running {
                            "a fleet is running: stop it first"
                        } else {
                            problem.unwrap_or("")
                        })
                        .clicked()
                        || (launch_key && can_launch)
                    {
                        request = Some(Request::StartFleet(self.launch()));
                    }
                    if ui
                        .add_enabled(running, egui::Button::new("Stop running fleet"))
                        .clicked()
                    {
                        request = Some(Request::StopFleet);
                    }
                    // Why Launch is greyed, beside it, not only on hover.
                    if let Some(why) = problem.filter(|_| !running) {
                        ui.label(RichText::new(why).color(crate::theme::ERROR));
                    }
                });
                ui.separator();
                ui.horizontal(|ui| {
                    ui.label("Records");
                    let before = self.spec.shape;
                    ui.radio_value(&mut self.spec.shape, FleetShape::Utility, "Utility fleet")
                        .on_hover_text("meters on transformers on feeders on substations");
                    ui.radio_value(&mut self.spec.shape, FleetShape::Seed, "Seed producer")
                        .on_hover_text(
                            "the seed talk's sample producer: temperature, humidity, voltage, watt",
                        );
                    if self.spec.shape != before {
                        self.spec.smart_meters = shape_default_count(
                            before,
                            self.spec.shape,
                            self.spec.smart_meters,
                        );
                    }
                });
                egui::Grid::new("fleet_form").num_columns(2).show(ui, |ui| {
                    if self.spec.shape == FleetShape::Seed {
                        count(ui, "Devices", &mut self.spec.smart_meters);
                    } else {
                        count(ui, "Smart meters", &mut self.spec.smart_meters);
                        count(ui, "Feeders", &mut self.spec.feeders);
                        count(ui, "Transformers", &mut self.spec.transformers);
                    }
                    ui.label("Interval");
                    egui::ComboBox::from_id_salt("fleet_interval")
                        .selected_text(format_interval(self.spec.interval_ms))
                        .show_ui(ui, |ui| {
                            for ms in INTERVALS_MS {
                                ui.selectable_value(
                                    &mut self.spec.interval_ms,
                                    ms,
                                    format_interval(ms),
                                );
                            }
                        })
                        .response
                        .accessible_name("Interval");
                    ui.end_row();
                    ui.label("Anomaly rate");
                    ui.add(
                        egui::Slider::new(&mut self.spec.anomaly_rate, 0.0..=0.25)
                            .custom_formatter(|v, _| format!("{:.1}%", v * 100.0))
                            .custom_parser(|s| {
                                s.trim_end_matches('%').trim().parse::<f64>().ok().map(|v| v / 100.0)
                            }),
                    )
                    .accessible_name("Anomaly rate");
                    ui.end_row();
                    ui.label("Seed");
                    ui.add(egui::DragValue::new(&mut self.spec.seed))
                        .accessible_name("Seed");
                    ui.end_row();
                });
                if self.spec.shape == FleetShape::Utility {
                    self.network(ui);
                }
                self.realism(ui);
                ui.separator();
                ui.horizontal(|ui| {
                    ui.label("Readings go to");
                    ui.radio_value(&mut self.sink, SinkChoice::InProcess, "In-process");
                    ui.radio_value(&mut self.sink, SinkChoice::Kinesis, "Kinesis stream");
                    ui.radio_value(&mut self.sink, SinkChoice::Lake, "Lake folder");
                });
                match self.sink {
                    SinkChoice::InProcess => {
                        ui.label(
                            RichText::new("The embedded pipeline: bus, cache and live charts.")
                                .weak(),
                        );
                    }
                    SinkChoice::Kinesis => {
                        egui::Grid::new("fleet_stream").num_columns(2).show(ui, |ui| {
                            field(ui, "Fleet stream", &mut self.stream.stream, "telemetry");
                            optional_field(
                                ui,
                                "Fleet endpoint URL",
                                &mut self.stream.endpoint_url,
                                "AWS",
                            );
                        });
                        ui.label(
                            RichText::new(
                                "Profile and region as in Connections; credentials stay in the AWS profile chain.",
                            )
                            .weak(),
                        );
                    }
                    SinkChoice::Lake => {
                        ui.label(
                            RichText::new(
                                "Firehose-style extracts, a file a minute, under the lake folder.",
                            )
                            .weak(),
                        );
                    }
                }
                ui.separator();
                let per_s = self.spec.device_count() as f64 * 1000.0 / self.spec.interval_ms as f64;
                ui.label(format!(
                    "{} devices: {} readings/s",
                    thousands(u64::from(self.spec.device_count())),
                    thousands(per_s.round() as u64)
                ));
                match cost {
                    Some(c) => {
                        ui.label(format!("On AWS: ≈ ${:.0}/month", c.total_usd))
                            .on_hover_text(cost_breakdown(c));
                    }
                    None => {
                        ui.label(RichText::new("On AWS: estimating…").weak());
                    }
                }
            });
        if !open {
            self.open = false;
        }
        request
    }
}

impl Launcher {
    /// The network's layout: substations, and the fan-outs used when the
    /// fleet's own feeders or transformers are not given.
    fn network(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Network")
            .id_salt("fleet_network")
            .show(ui, |ui| {
                egui::Grid::new("fleet_network_form")
                    .num_columns(2)
                    .show(ui, |ui| {
                        let t = &mut self.spec.topology;
                        ui.label("Substations");
                        ui.add(
                            egui::DragValue::new(&mut t.substations)
                                .range(0..=10_000)
                                .custom_formatter(|v, _| {
                                    if v == 0.0 { "auto".into() } else { format!("{v}") }
                                }),
                        )
                        .on_hover_text("0: one for every four feeders")
                        .accessible_name("Substations");
                        ui.end_row();
                        fan_out(ui, "Meters per transformer", &mut t.meters_per_transformer);
                        fan_out(ui, "Transformers per feeder", &mut t.transformers_per_feeder);
                    });
                ui.label(
                    RichText::new(
                        "Transformers carry their meters plus 2%, feeders their transformers plus 3%.",
                    )
                    .weak(),
                );
            });
    }

    /// Outages, late and duplicate readings, clocks that are off.
    fn realism(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Outages and delivery")
            .id_salt("fleet_realism")
            .show(ui, |ui| {
                egui::Grid::new("fleet_realism_form")
                    .num_columns(2)
                    .show(ui, |ui| {
                        let o = &mut self.spec.outages;
                        let mut on = o.per_day > 0.0;
                        ui.label("Outages");
                        if ui
                            .checkbox(&mut on, "")
                            .accessible_name("Outages")
                            .changed()
                        {
                            o.per_day = if on { Outages::REALISTIC_PER_DAY } else { 0.0 };
                        }
                        ui.end_row();
                        if on {
                            ui.label("Outage chance a day");
                            ui.add(
                                egui::Slider::new(&mut o.per_day, 0.001..=1.0)
                                    .logarithmic(true)
                                    .custom_formatter(|v, _| format!("{:.1}%", v * 100.0)),
                            )
                            .on_hover_text("for each feeder, transformer and meter")
                            .accessible_name("Outage chance a day");
                            ui.end_row();
                            minutes(ui, "Shortest outage", &mut o.min_ms, 1..=1_440);
                            minutes(ui, "Longest outage", &mut o.max_ms, 1..=1_440);
                            o.max_ms = o.max_ms.max(o.min_ms);
                        }
                        let d = &mut self.spec.delivery;
                        share(ui, "Late readings", &mut d.late_share);
                        share(ui, "Duplicate readings", &mut d.duplicate_share);
                        share(ui, "Skewed clocks", &mut d.skewed_share);
                    });
            });
    }
}

/// The device count that goes with a change of shape: the seed's 50 for
/// the utility's 200 and back; any other count stays.
pub fn shape_default_count(from: FleetShape, to: FleetShape, count: u32) -> u32 {
    let default = |shape| match shape {
        FleetShape::Utility => FleetSpec::default().smart_meters,
        FleetShape::Seed => FleetSpec::SEED_DEVICES,
    };
    if count == default(from) {
        default(to)
    } else {
        count
    }
}

fn fan_out(ui: &mut egui::Ui, name: &str, value: &mut u32) {
    ui.label(name);
    ui.add(egui::DragValue::new(value).range(1..=1_000))
        .accessible_name(name);
    ui.end_row();
}

fn minutes(ui: &mut egui::Ui, name: &str, ms: &mut u64, range: std::ops::RangeInclusive<u64>) {
    ui.label(name);
    let mut min = *ms / 60_000;
    ui.add(egui::DragValue::new(&mut min).range(range).suffix(" min"))
        .accessible_name(name);
    *ms = min * 60_000;
    ui.end_row();
}

fn share(ui: &mut egui::Ui, name: &str, value: &mut f64) {
    ui.label(name);
    ui.add(
        egui::Slider::new(value, 0.0..=0.2)
            .custom_formatter(|v, _| format!("{:.1}%", v * 100.0))
            .custom_parser(|s| {
                s.trim_end_matches('%')
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .map(|v| v / 100.0)
            }),
    )
    .accessible_name(name);
    ui.end_row();
}

fn count(ui: &mut egui::Ui, name: &str, value: &mut u32) {
    ui.label(name);
    ui.add(egui::DragValue::new(value).range(0..=100_000).speed(5.0))
        .accessible_name(name);
    ui.end_row();
}

/// One line per service and item, and where the prices come from.
pub fn cost_breakdown(c: &CostEstimate) -> String {
    let lines: Vec<String> = c
        .lines
        .iter()
        .map(|l| format!("{} – {}: ${:.2}", l.service, l.item, l.monthly_usd))
        .collect();
    format!("{}\n\nprices: {}", lines.join("\n"), c.prices)
}
