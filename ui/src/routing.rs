//! Requests by id: the app numbers each request, remembers which view sent
//! it, and hands the answer back to that view, which takes what is its own
//! and leaves the rest (the fleet's status, an error no view words) to the
//! app. No view is told of another's answers, and two requests of the same
//! kind in flight (the Operations chart and the History chart) cannot be
//! mistaken for each other.

use std::collections::HashMap;

use gridwatch_types::{Reply, Request, Settings};

use crate::app::GridwatchUi;
use crate::backend::{Answer, Backend, Event, Outbox, RequestId};

/// Who sent a request, and so who gets its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The app itself: status, settings, health, the top and status bars.
    App,
    Operations,
    History,
    Strategic,
    Dashboards,
    Connections,
    Launcher,
}

/// The backend, with the requests in flight.
pub struct Requests {
    backend: Box<dyn Backend>,
    next: u64,
    in_flight: HashMap<RequestId, (Sender, Request)>,
}

impl Requests {
    pub fn new(backend: Box<dyn Backend>) -> Requests {
        Requests {
            backend,
            // 0 is the live feed's.
            next: 1,
            in_flight: HashMap::new(),
        }
    }

    pub fn send(&mut self, from: Sender, request: Request) -> RequestId {
        let id = RequestId(self.next);
        self.next += 1;
        self.in_flight.insert(id, (from, request.clone()));
        self.backend.send(id, request);
        id
    }

    /// Sends what `out` holds, in order, as `from`'s.
    pub fn send_all(&mut self, from: Sender, out: &mut Outbox) {
        for request in out.take() {
            self.send(from, request);
        }
    }

    fn poll(&mut self) -> Vec<Event> {
        self.backend.poll()
    }

    /// The kinds of the requests that wait for their answer, sorted.
    pub fn in_flight(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.in_flight.values().map(|(_, r)| r.kind()).collect();
        kinds.sort_unstable();
        kinds
    }
}

impl GridwatchUi {
    /// Takes what arrived: live batches into the model, each answer to the
    /// view that asked.
    pub(crate) fn handle_events(&mut self) {
        for event in self.requests.poll() {
            match event {
                Event::Live(batch) => self.model.apply_live(batch),
                Event::Answer { id, result, .. } => {
                    match self.requests.in_flight.remove(&id) {
                        Some((from, request)) => self.route(from, Answer { request, result }),
                        // The live feed's trouble (or an answer to nothing
                        // sent): only a failure has something to say.
                        None => {
                            if let Err(e) = result {
                                self.last_error = Some(e);
                            }
                        }
                    }
                }
            }
        }
        // Until the operator picks one, show the first device there is.
        if self.model.selected.is_none()
            && let Some(first) = self.model.devices.keys().next().cloned()
        {
            let mut out = Outbox::default();
            self.operations
                .select(&mut self.model, Some(first), &mut out);
            self.requests.send_all(Sender::Operations, &mut out);
        }
    }

    fn route(&mut self, from: Sender, answer: Answer) {
        let mut out = Outbox::default();
        let left = match from {
            Sender::App | Sender::Launcher => Some(answer),
            Sender::Operations => self.operations.on_reply(&mut self.model, answer),
            Sender::History => self.history.on_reply(answer),
            Sender::Strategic => self.strategic.on_reply(answer, (self.clock)(), &mut out),
            Sender::Connections => self.connections.on_reply(answer),
            Sender::Dashboards => self.dashboards.on_reply(answer, &mut out),
        };
        self.requests.send_all(from, &mut out);
        if let Some(answer) = left {
            self.on_reply(answer);
        }
    }

    /// What the app keeps itself: the shared picture of the fleet, the
    /// settings, and errors no view words (in the status bar).
    fn on_reply(&mut self, answer: Answer) {
        match answer.result {
            Ok(Reply::FleetStatus(status)) => {
                // The folder in use, whether typed or picked in the shell's
                // dialog, is what the settings keep.
                if !status.lake_dir.is_empty() {
                    self.lake_dir = Some(status.lake_dir.clone());
                }
                self.model.apply_status(status);
            }
            Ok(Reply::LakeDir(dir)) => {
                if let Some(status) = &mut self.model.status {
                    status.lake_dir = dir.clone();
                }
                self.lake_dir = Some(dir);
            }
            Ok(Reply::Devices(list)) => self.model.apply_devices(list),
            Ok(Reply::Shards(shards)) => self.model.shards = shards,
            Ok(Reply::Cost(c)) => {
                if let Some(spec) = self.cost_asked.take() {
                    self.cost = Some((spec, c));
                }
            }
            Ok(Reply::Settings(saved)) => {
                self.apply_settings(&saved);
                self.saved_settings = Some(*saved);
            }
            Ok(_) => {}
            // The estimate failed: say so where it would be, and never
            // leave it "estimating" for ever.
            Err(error) if matches!(answer.request, Request::EstimateCost(_)) => {
                if let Some(spec) = self.cost_asked.take() {
                    self.cost_failed = Some((spec, crate::format::failure(&error)));
                }
            }
            Err(error) if answer.request == Request::LoadSettings => {
                // The shell kept the unreadable file aside; go on from
                // defaults and save those from now on.
                self.last_error = Some(error);
                self.saved_settings = Some(Settings::default());
            }
            // Worded as the view that sent it would: no wire names.
            Err(error) => self.last_error = Some(error),
        }
    }
}
