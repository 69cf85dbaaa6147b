//! What the UI asks the shell again and again: the device list, its own
//! health, a lake job's progress, the fleet's production, the shards; and
//! the checks it runs on a timer (the saved layout, alarms for the desktop,
//! devices gone quiet).

use gridwatch_types::{Mode, Request};

use crate::app::GridwatchUi;
use crate::every::Every;
use crate::routing::Sender;

/// How often the device list (with dimensions) is fetched again.
const DEVICE_REFRESH_S: f64 = 5.0;
/// ... and while some devices are known only from live batches.
const UNKNOWN_DEVICE_REFRESH_S: f64 = 1.0;

#[derive(Debug)]
pub struct Timers {
    devices: Every,
    health: Every,
    job: Every,
    lake: Every,
    status: Every,
    shards: Every,
    settings: Every,
    stale: Every,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            devices: Every::at_once(DEVICE_REFRESH_S),
            health: Every::new(2.0),
            job: Every::new(0.5),
            lake: Every::new(2.0),
            status: Every::new(1.0),
            shards: Every::new(1.0),
            settings: Every::new(1.0),
            stale: Every::new(1.0),
        }
    }
}

impl GridwatchUi {
    /// The requests that are due, before this frame's answers are taken.
    pub(crate) fn poll(&mut self) {
        let now = self.now_s;
        let t = &mut self.timers;
        // New devices show up in live batches before the list knows their
        // dimensions: ask again soon rather than at the next regular refresh.
        let unknown = self.model.devices.values().any(|r| r.info.is_none());
        t.devices.period = if unknown {
            UNKNOWN_DEVICE_REFRESH_S
        } else {
            DEVICE_REFRESH_S
        };
        if t.devices.due(now) {
            self.requests.send(Sender::App, Request::Devices);
        }
        // Reported at once on the first frame and the first live point (the
        // cold-start benchmark times both), then every few seconds.
        let first_point = !self.health_log.reported_first_point
            && self.model.series.values().any(|s| !s.is_empty());
        if self.health_log.frames == 1 || first_point {
            t.health.restart(now);
        }
        if self.health_log.frames == 1 || first_point || t.health.due(now) {
            self.health_log.reported_first_point |= first_point;
            let health = self.health();
            self.requests
                .send(Sender::App, Request::ReportHealth(health));
        }
        let t = &mut self.timers;
        if self.strategic.job_running() && t.job.due(now) {
            self.requests.send(Sender::Strategic, Request::JobStatus);
        }
        // No lake yet: a job may start filling it (the app's first start
        // writes a simulated one); its progress shows once it is seen.
        if self.strategic.lake_empty && !self.strategic.job_running() && t.lake.due(now) {
            self.requests.send(Sender::Strategic, Request::JobStatus);
        }
        // The running fleet's production rate.
        if self.model.fleet_running() && t.status.due(now) {
            self.requests.send(Sender::App, Request::FleetStatus);
        }
        if self.model.mode() == Mode::Kinesis && t.shards.due(now) {
            self.requests.send(Sender::App, Request::Shards);
        }
    }

    /// The checks after this frame's answers: the layout saved when it
    /// changed, alarms to the desktop, devices gone quiet.
    pub(crate) fn check(&mut self) {
        let now = self.now_s;
        if self.timers.settings.due(now) {
            self.save_settings_if_changed();
        }
        if let Some(n) = self.model.alarms.notification(now) {
            self.requests.send(Sender::App, Request::Notify(n));
        }
        // Devices gone quiet, while something is feeding the view: against
        // the newest reading the pipeline delivered, not the clock, so a
        // backlog (every device late alike) raises nothing.
        if self.model.feeding() && self.timers.stale.due(now) {
            let interval_us = (self.model.interval_s() * 1e6) as i64;
            let newest_us = self.model.newest_us;
            let devices: Vec<(String, i64)> = self
                .model
                .devices
                .iter()
                .filter_map(|(id, r)| r.latest.as_ref().map(|l| (id.clone(), l.time_us)))
                .collect();
            self.model.alarms.check_stale(
                newest_us,
                interval_us,
                devices.iter().map(|(d, t)| (d.as_str(), *t)),
            );
        }
    }
}
