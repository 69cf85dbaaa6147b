//! What the UI asks of the shell, and what comes back.
//!
//! The UI never blocks: it sends [`Request`]s and, each frame, polls the
//! [`Reply`]s that have arrived. In the webview the backend is Tauri's IPC
//! (see `web.rs`); in tests it is the real pipeline in-process.

use gridwatch_types::{
    AggregateQuery, ApiError, ChartRequest, ChartSeries, CostEstimate, DeviceInfo, FillLake,
    FleetSpec, FleetStatus, HistoryQuery, HistoryResult, JobStatus, LiveBatch, ResultTable,
    ShardStatus, StreamConnection, UiHealth, command,
};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    FleetStatus,
    StartFleet(gridwatch_types::FleetLaunch),
    StopFleet,
    ListDevices,
    /// Every new reading of this device comes with the live batches.
    WatchDevice(Option<String>),
    DeviceChart(ChartRequest),
    ReportHealth(UiHealth),
    /// Follow a Kinesis stream instead of the embedded pipeline.
    ConnectStream(StreamConnection),
    /// Back to the embedded pipeline.
    DisconnectStream,
    ShardStatus,
    /// A strategic view over the lake.
    Aggregate(AggregateQuery),
    /// Write simulated history into the lake (a long job).
    FillLake(FillLake),
    JobStatus,
    CancelJob,
    /// History from Timestream (a chart, or the operator's SQL).
    History(HistoryQuery),
    /// History from the local cache, for the history view.
    HistoryFromCache(ChartRequest),
    CancelHistory,
    /// The pipeline's monthly cost for a fleet.
    EstimateCost(FleetSpec),
    /// Export a table; the shell asks where.
    ExportTable(gridwatch_types::ExportTable),
    /// Save a report over the lake; the shell asks where.
    SaveReport(gridwatch_types::SaveReport),
    /// The layout, connections and last fleet saved in the previous run.
    LoadSettings,
    SaveSettings(Box<gridwatch_types::Settings>),
    /// A desktop notification (alarms).
    Notify(gridwatch_types::Notification),
    /// Close the app (window state and layout saved).
    Quit,
    /// The Connections window's Test buttons.
    TestConnection(gridwatch_types::ConnectionTest),
    /// Readings older than this many days leave the cache.
    PruneCache(u32),
    /// The lake folder the strategic view reads.
    SetLakeDir(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    FleetStatus(FleetStatus),
    Devices(Vec<DeviceInfo>),
    Chart(ChartSeries),
    Live(LiveBatch),
    Shards(Vec<ShardStatus>),
    Table(ResultTable),
    Job(JobStatus),
    History(HistoryResult),
    CacheHistory(ChartSeries),
    Cost(CostEstimate),
    Saved(gridwatch_types::Saved),
    Settings(Box<gridwatch_types::Settings>),
    /// What a connection test found.
    Tested(String),
    /// Readings removed by a retention run.
    Pruned(u64),
    /// A request that returns nothing went through.
    Done,
    Failed {
        command: &'static str,
        error: ApiError,
    },
}

impl Request {
    /// The Tauri command and its arguments (every command takes one
    /// `request` argument, see the shell's `app.rs`).
    pub fn to_command(&self) -> (&'static str, Value) {
        match self {
            Request::FleetStatus => (command::FLEET_STATUS, json!({})),
            Request::StartFleet(launch) => (command::START_FLEET, json!({ "request": launch })),
            Request::StopFleet => (command::STOP_FLEET, json!({})),
            Request::ListDevices => (command::LIST_DEVICES, json!({})),
            Request::WatchDevice(d) => (command::WATCH_DEVICE, json!({ "request": d })),
            Request::DeviceChart(r) | Request::HistoryFromCache(r) => {
                (command::DEVICE_CHART, json!({ "request": r }))
            }
            Request::ReportHealth(h) => (command::REPORT_UI_HEALTH, json!({ "request": h })),
            Request::ConnectStream(c) => (command::CONNECT_STREAM, json!({ "request": c })),
            Request::DisconnectStream => (command::DISCONNECT_STREAM, json!({})),
            Request::ShardStatus => (command::SHARD_STATUS, json!({})),
            Request::Aggregate(q) => (command::AGGREGATE, json!({ "request": q })),
            Request::FillLake(f) => (command::FILL_LAKE, json!({ "request": f })),
            Request::JobStatus => (command::JOB_STATUS, json!({})),
            Request::CancelJob => (command::CANCEL_JOB, json!({})),
            Request::History(q) => (command::HISTORY, json!({ "request": q })),
            Request::CancelHistory => (command::CANCEL_HISTORY, json!({})),
            Request::EstimateCost(spec) => (command::ESTIMATE_COST, json!({ "request": spec })),
            Request::ExportTable(e) => (command::EXPORT_TABLE, json!({ "request": e })),
            Request::SaveReport(r) => (command::SAVE_REPORT, json!({ "request": r })),
            Request::LoadSettings => (command::LOAD_SETTINGS, json!({})),
            Request::SaveSettings(s) => (command::SAVE_SETTINGS, json!({ "request": s })),
            Request::Notify(n) => (command::NOTIFY, json!({ "request": n })),
            Request::Quit => (command::QUIT, json!({})),
            Request::TestConnection(t) => (command::TEST_CONNECTION, json!({ "request": t })),
            Request::PruneCache(days) => (command::PRUNE_CACHE, json!({ "request": days })),
            Request::SetLakeDir(dir) => (command::SET_LAKE_DIR, json!({ "request": dir })),
        }
    }

    /// Turns the command's JSON answer into a reply.
    pub fn parse_reply(&self, answer: Value) -> Result<Reply, serde_json::Error> {
        Ok(match self {
            Request::FleetStatus
            | Request::StartFleet(_)
            | Request::StopFleet
            | Request::ConnectStream(_)
            | Request::DisconnectStream
            | Request::SetLakeDir(_) => Reply::FleetStatus(serde_json::from_value(answer)?),
            Request::TestConnection(_) => Reply::Tested(serde_json::from_value(answer)?),
            Request::PruneCache(_) => Reply::Pruned(serde_json::from_value(answer)?),
            Request::ListDevices => Reply::Devices(serde_json::from_value(answer)?),
            Request::DeviceChart(_) => Reply::Chart(serde_json::from_value(answer)?),
            Request::HistoryFromCache(_) => Reply::CacheHistory(serde_json::from_value(answer)?),
            Request::ShardStatus => Reply::Shards(serde_json::from_value(answer)?),
            Request::Aggregate(_) => Reply::Table(serde_json::from_value(answer)?),
            Request::History(_) => Reply::History(serde_json::from_value(answer)?),
            Request::CancelHistory => Reply::Done,
            Request::EstimateCost(_) => Reply::Cost(serde_json::from_value(answer)?),
            Request::ExportTable(_) | Request::SaveReport(_) => {
                Reply::Saved(serde_json::from_value(answer)?)
            }
            Request::FillLake(_) | Request::JobStatus | Request::CancelJob => {
                Reply::Job(serde_json::from_value(answer)?)
            }
            Request::LoadSettings => Reply::Settings(Box::new(serde_json::from_value(answer)?)),
            Request::WatchDevice(_)
            | Request::ReportHealth(_)
            | Request::SaveSettings(_)
            | Request::Notify(_)
            | Request::Quit => Reply::Done,
        })
    }
}

/// The shell as the UI sees it.
pub trait Backend {
    fn send(&mut self, request: Request);
    /// Replies that arrived since the last call, in arrival order.
    fn poll(&mut self) -> Vec<Reply>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_take_one_request_argument() {
        let (cmd, args) = Request::WatchDevice(Some("m1".into())).to_command();
        assert_eq!(cmd, "watch_device");
        assert_eq!(args, json!({"request": "m1"}));
        let (cmd, args) = Request::StartFleet(gridwatch_types::FleetLaunch::default()).to_command();
        assert_eq!(cmd, "start_fleet");
        assert_eq!(args["request"]["spec"]["smart_meters"], json!(200));
        assert_eq!(args["request"]["sink"]["kind"], json!("in_process"));
    }

    #[test]
    fn replies_parse_into_their_types() {
        let r = Request::ListDevices
            .parse_reply(json!([{"device_id": "a", "dimensions": {"Region": "n"},
                                 "first_seen_us": 1, "last_seen_us": 2}]))
            .unwrap();
        let Reply::Devices(d) = r else {
            panic!("{r:?}")
        };
        assert_eq!(d[0].dimensions["Region"], "n");
        assert!(Request::ListDevices.parse_reply(json!({"x": 1})).is_err());
    }
}
