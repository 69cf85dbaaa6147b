//! The Operations view: the device list, the chosen device's live charts,
//! the fleet panel and heatmap, the alarms and, following a stream, its
//! shards. The top bar and the status bar are drawn here too, and by the
//! app above and below every view.

pub mod alarm_list;
pub mod charts;
pub mod device_list;
pub mod fleet_panel;
pub mod heatmap;
pub mod shard_panel;
pub mod status_bar;
pub mod top_bar;

use std::collections::BTreeMap;

use gridwatch_types::{ChartRequest, Mode, Reply, Request};

use crate::backend::{Answer, Outbox};
use crate::format::short_id;
use crate::model::{LIVE_WINDOW_US, Model};
use crate::windows::rules::RulesWindow;

/// How much history the device chart loads when a device is chosen.
const HISTORY_US: i64 = LIVE_WINDOW_US;
/// The pixel columns of that history: enough for any screen's chart.
const HISTORY_PIXELS: u32 = 1_200;
/// Either side of an alarm's time when its device is opened there.
pub(crate) const ALARM_WINDOW_US: i64 = 150_000_000;

/// What a conflict is, for the operator who hovers over the count.
pub(crate) const CONFLICTS_HINT: &str = "A reading arrived again for the same device, measure and \
time with another value. The first value stays the reading; the second is kept in the cache's \
conflict table.";

#[derive(Debug)]
pub struct Operations {
    /// The device list's search.
    pub filter: String,
    /// Dimension -> chosen value ("" for all), for the device list.
    pub dimension_filter: BTreeMap<String, String>,
    /// The measure of the heatmap: the one the operator picked last.
    pub measure: String,
    /// The device's charts, one per measure, stacked with a linked cursor.
    pub charted: Vec<String>,
    /// The device chart shows the last minutes, moving, when set.
    pub follow_live: bool,
    /// The "Alarm rules" window.
    pub rules: RulesWindow,
    /// Where the last export went.
    pub saved: Option<String>,
    /// Why the charts' history or an export failed, until the next try.
    pub error: Option<String>,
    /// Fit the charts' time axis to what they hold on the next frame.
    pub fit_pending: bool,
    /// Show the charts around this time (epoch seconds) on the next frame:
    /// an alarm's.
    pub focus_s: Option<f64>,
    /// A device to open (from an alarm or the heatmap), and the time in
    /// epoch microseconds to show it at.
    pub open: Option<(String, Option<i64>)>,
    /// The device list leaves out devices with no recent reading.
    pub hide_offline: bool,
    /// Frames in which a typed `/` is not text: it moved to the search.
    pub swallow_slash: u8,
    /// What each chart showed on the last frame, top to bottom.
    pub shown: Vec<crate::chart::Shown>,
}

impl Default for Operations {
    fn default() -> Self {
        Operations {
            filter: String::new(),
            dimension_filter: BTreeMap::new(),
            measure: "watt".into(),
            charted: vec!["watt".into()],
            follow_live: true,
            rules: RulesWindow::default(),
            saved: None,
            error: None,
            fit_pending: true,
            focus_s: None,
            open: None,
            hide_offline: false,
            swallow_slash: 0,
            shown: Vec::new(),
        }
    }
}

impl Operations {
    /// Draws the view's panels around its charts.
    pub fn show(&mut self, ui: &mut egui::Ui, model: &mut Model, now_us: i64, out: &mut Outbox) {
        egui::Panel::bottom("alarms")
            .resizable(true)
            .default_size(130.0)
            .show(ui, |ui| {
                let clock = model.clock;
                let summary = &model.fleet_summary;
                if let Some(open) =
                    alarm_list::show(ui, &mut model.alarms, &mut self.rules, summary, clock)
                {
                    self.open = Some((open.0, Some(open.1)));
                }
            });
        egui::Panel::left("devices")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| {
                if let Some(device) = device_list::show(ui, self, model, now_us) {
                    self.select(model, Some(device), out);
                }
            });
        if let Some((device, at_us)) = self.open.take() {
            self.open_at(model, device, at_us, out);
        }
        if model.mode() == Mode::Kinesis {
            egui::Panel::right("shards")
                .resizable(true)
                .default_size(430.0)
                .show(ui, |ui| shard_panel::show(ui, model, out));
        }
        egui::CentralPanel::default().show(ui, |ui| {
            // Everything stays in reach on a small screen: the panel scrolls.
            egui::ScrollArea::vertical()
                .id_salt("operations_scroll")
                .auto_shrink([false, false])
                .show(ui, |ui| charts::show(ui, self, model, now_us, out));
        });
    }

    /// Charts another device (None: none), with its cached history.
    pub fn select(&mut self, model: &mut Model, device: Option<String>, out: &mut Outbox) {
        if device == model.selected {
            return;
        }
        model.select(device.clone());
        out.push(Request::WatchDevice(device));
        self.error = None;
        self.fit_pending = true;
        for measure in self.charted.clone() {
            self.request_history(model, &measure, None, out);
        }
    }

    /// Opens `device` at an alarm's time (epoch µs): its charts centred
    /// there, with the history around it even when the alarm is older than
    /// the live window.
    pub fn open_at(
        &mut self,
        model: &mut Model,
        device: String,
        at_us: Option<i64>,
        out: &mut Outbox,
    ) {
        let Some(at) = at_us else {
            self.select(model, Some(device), out);
            return;
        };
        if model.selected.as_deref() != Some(device.as_str()) {
            model.select(Some(device.clone()));
            out.push(Request::WatchDevice(Some(device)));
        }
        self.error = None;
        for measure in self.charted.clone() {
            self.request_history(model, &measure, Some(at), out);
        }
        self.focus_s = Some(at as f64 / 1e6);
    }

    /// Cached history under the live points of one charted measure: the
    /// live window, or (`around_us`) the stretch around an older moment.
    pub fn request_history(
        &self,
        model: &Model,
        measure: &str,
        around_us: Option<i64>,
        out: &mut Outbox,
    ) {
        let Some(device) = model.selected.clone() else {
            return;
        };
        let newest = model.newest_us.max(1) + 1;
        let (from_us, to_us) = match around_us {
            // Its whole alarm window is not in the live window: that stretch.
            Some(at) if at - ALARM_WINDOW_US < newest - HISTORY_US => {
                (at - HISTORY_US / 2, at + HISTORY_US / 2)
            }
            _ => (newest - HISTORY_US, newest),
        };
        out.push(Request::Chart(ChartRequest {
            device_id: Some(device),
            measure: measure.to_owned(),
            from_us,
            to_us,
            pixels: HISTORY_PIXELS,
        }));
    }

    /// Takes the answer to one of this view's requests; gives back what it
    /// leaves to the app.
    pub fn on_reply(&mut self, model: &mut Model, answer: Answer) -> Option<Answer> {
        match (answer.request, answer.result) {
            (_, Ok(Reply::Chart(chart))) => model.apply_chart(chart),
            (_, Ok(Reply::Saved(saved))) => {
                if let Some(path) = saved.path {
                    self.saved = Some(path);
                }
            }
            (Request::Chart(c), Err(e)) => {
                let device = c.device_id.as_deref().map_or("the fleet", short_id);
                self.error = Some(format!(
                    "The history of {} of {device} could not be read: {}",
                    c.measure, e.message
                ));
            }
            (Request::ExportTable(_), Err(e)) => {
                self.error = Some(format!("Not exported: {}", e.message));
            }
            (request, result) => return Some(Answer { request, result }),
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The history asked when an alarm's device is opened at `at_us`, with
    /// the newest reading at `newest_us`.
    fn asked(newest_us: i64, at_us: i64) -> Vec<(i64, i64)> {
        let mut view = Operations::default();
        let mut model = Model {
            newest_us,
            ..Model::default()
        };
        let mut out = Outbox::default();
        view.open_at(&mut model, "m-1".into(), Some(at_us), &mut out);
        assert_eq!(view.focus_s, Some(at_us as f64 / 1e6));
        out.requests()
            .iter()
            .filter_map(|r| match r {
                Request::Chart(c) => Some((c.from_us, c.to_us)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_alarm_opens_its_device_with_the_history_around_it() {
        let now = 1_700_000_000_000_000;
        let charted = Operations::default().charted.len();
        assert!(charted > 0);
        // Inside the live window: the live window's history.
        let recent = asked(now, now - 60_000_000);
        assert_eq!(recent, vec![(now + 1 - HISTORY_US, now + 1); charted]);
        // An hour ago: the stretch around it, the alarm in its middle.
        let old = now - 3_600_000_000;
        let earlier = asked(now, old);
        assert_eq!(
            earlier,
            vec![(old - HISTORY_US / 2, old + HISTORY_US / 2); charted]
        );
    }
}
