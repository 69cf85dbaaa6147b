//! The shell as the UI sees it: requests go out under an id, answers come
//! back under the same id, and the live feed comes in between.
//!
//! The UI never blocks: it sends a [`Request`] and, each frame, polls the
//! [`Event`]s that have arrived. In the webview the backend is Tauri's IPC
//! (see `web.rs`); in tests it is the real session in-process. What crosses
//! the wire is declared once, in [`gridwatch_types::ipc`].

use gridwatch_types::{ApiError, LiveBatch, Reply, Request};

/// Names one request, so that its answer goes back to whoever sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

impl RequestId {
    /// No request's: the live feed's own trouble (the subscription failed,
    /// a batch did not parse). The app numbers requests from 1.
    pub const LIVE_FEED: RequestId = RequestId(0);
}

/// What the backend has for the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The answer to request `id`, whose name on the wire is `kind`.
    Answer {
        id: RequestId,
        kind: &'static str,
        result: Result<Reply, ApiError>,
    },
    Live(LiveBatch),
}

/// An answer as a view receives it: the request it sent (the app keeps it
/// while the request is in flight) and what came back.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub request: Request,
    pub result: Result<Reply, ApiError>,
}

pub trait Backend {
    /// Sends `request`; its answer comes back from [`Backend::poll`] under
    /// `id`.
    fn send(&mut self, id: RequestId, request: Request);
    /// What arrived since the last call, in arrival order.
    fn poll(&mut self) -> Vec<Event>;
}

/// The requests a view asks for while it draws or takes an answer; the app
/// sends them, in order, as that view's.
#[derive(Debug, Default)]
pub struct Outbox(Vec<Request>);

impl Outbox {
    pub fn push(&mut self, request: Request) {
        self.0.push(request);
    }

    pub fn extend(&mut self, requests: impl IntoIterator<Item = Request>) {
        self.0.extend(requests);
    }

    /// What was asked for so far (for the views' own unit tests).
    pub fn requests(&self) -> &[Request] {
        &self.0
    }

    pub(crate) fn take(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_request_is_one_call_with_one_request_argument() {
        // What web.rs sends for each request: the request's serde JSON,
        // under its kind, as the `request` argument of `call`.
        let request = Request::WatchDevice(Some("m1".into()));
        let args = json!({ "request": request });
        assert_eq!(
            args,
            json!({"request": {"kind": "watch_device", "args": "m1"}})
        );
        let launch = Request::StartFleet(gridwatch_types::FleetLaunch::default());
        let args = json!({ "request": launch });
        assert_eq!(args["request"]["args"]["spec"]["smart_meters"], json!(200));
        assert_eq!(args["request"]["args"]["sink"]["kind"], json!("in_process"));
    }

    #[test]
    fn answers_parse_into_replies() {
        let reply: Reply = serde_json::from_value(json!({"kind": "devices", "value": [
            {"device_id": "a", "dimensions": {"Region": "n"}, "first_seen_us": 1, "last_seen_us": 2}
        ]}))
        .unwrap();
        let Reply::Devices(d) = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(d[0].dimensions["Region"], "n");
        assert!(serde_json::from_value::<Reply>(json!({"x": 1})).is_err());
    }
}
