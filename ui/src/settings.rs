//! What the operator arranged, as one `Settings` value: read from the
//! views and windows to save it, and put back into them at the next start.

use gridwatch_types::{Layout, Request, Settings};

use crate::app::GridwatchUi;
use crate::backend::Outbox;
use crate::routing::Sender;

impl GridwatchUi {
    /// What the settings file should hold now.
    pub fn settings(&self) -> Settings {
        let ops = &self.operations;
        Settings {
            layout: Layout {
                view: self.view,
                dark: self.dark,
                device: self.model.selected.clone(),
                charts: ops.charted.clone(),
                heatmap_measure: ops.measure.clone(),
                dimension_filter: ops
                    .dimension_filter
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                follow_live: ops.follow_live,
                history_range_s: self.history.range_s,
                history_measure: self.history.measure.clone(),
                local_time: self.model.clock == crate::format::Clock::Local,
                hide_offline: ops.hide_offline,
            },
            stream: self.stream_settings.clone(),
            timestream: self.history.connection.clone(),
            influx: self.history.influx.clone(),
            lake: self.lake.clone(),
            athena: self.athena.clone(),
            lake_dir: self.lake_dir.clone(),
            cache_retention_days: self.retention_days,
            alarms: self.model.alarms.rules.clone(),
            fleet: self.launcher.spec.clone(),
        }
    }

    /// Puts the screen back as the settings say.
    pub(crate) fn apply_settings(&mut self, s: &Settings) {
        let l = &s.layout;
        self.view = l.view;
        self.dark = l.dark;
        let ops = &mut self.operations;
        if !l.charts.is_empty() {
            ops.charted = l.charts.clone();
        }
        ops.measure = l.heatmap_measure.clone();
        ops.dimension_filter = l.dimension_filter.clone().into_iter().collect();
        ops.follow_live = l.follow_live;
        ops.hide_offline = l.hide_offline;
        self.model.clock = if l.local_time {
            crate::format::Clock::Local
        } else {
            crate::format::Clock::Utc
        };
        self.history.range_s = l.history_range_s;
        self.history.measure = l.history_measure.clone();
        self.stream_settings = s.stream.clone();
        self.launcher.stream = s.stream.clone();
        self.history.connection = s.timestream.clone();
        self.history.influx = s.influx.clone();
        self.launcher.spec = s.fleet.clone();
        self.lake = s.lake.clone();
        self.athena = s.athena.clone();
        self.lake_dir = s.lake_dir.clone();
        self.retention_days = s.cache_retention_days;
        self.model.alarms.rules = s.alarms.clone();
        // The retention takes effect at once; the saved lake folder was
        // applied by the shell, which owns the settings file.
        if let Some(days) = s.cache_retention_days {
            self.requests.send(Sender::App, Request::PruneCache(days));
        }
        if l.device.is_some() {
            let mut out = Outbox::default();
            self.operations
                .select(&mut self.model, l.device.clone(), &mut out);
            self.requests.send_all(Sender::Operations, &mut out);
        }
    }

    /// Saves the layout when it differs from what the file holds (never
    /// before the file was read: a start must not overwrite it with
    /// defaults).
    pub(crate) fn save_settings_if_changed(&mut self) {
        let now = self.settings();
        if let Some(saved) = &self.saved_settings
            && *saved != now
        {
            self.requests
                .send(Sender::App, Request::SaveSettings(Box::new(now.clone())));
            self.saved_settings = Some(now);
        }
    }
}
