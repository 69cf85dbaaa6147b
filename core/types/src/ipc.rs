//! What crosses the IPC boundary: every request the UI may make and every
//! reply the shell gives, declared once for the shell, the session and the
//! UI.
//!
//! A request is named by its verb, and that one name is used in every
//! layer: `Request::Chart` is answered by `Session::chart`, and crosses the
//! wire as `{"kind": "chart", "args": …}`. A reply is named by what it
//! carries: several requests answer with the same [`Reply::FleetStatus`].

use serde::{Deserialize, Serialize};

use crate::{
    AggregateQuery, CatalogQuery, ChartRequest, ChartSeries, ConnectionTest, CostEstimate,
    DeviceInfo, ExportTable, FillLake, FleetLaunch, FleetSpec, FleetStatus, HistoryQuery,
    HistoryResult, JobStatus, LakeCatalog, LakeSqlQuery, Notification, ResultTable, SaveReport,
    Saved, Settings, ShardStatus, StreamConnection, View,
};

/// The Tauri command every [`Request`] goes through, as its `request`
/// argument; it answers with a [`Reply`] or an [`crate::ApiError`].
pub const CALL_COMMAND: &str = "call";
/// The Tauri command that opens the live feed (a channel of
/// [`crate::LiveBatch`]es, as its `on_batch` argument).
pub const SUBSCRIBE_LIVE_COMMAND: &str = "subscribe_live";

/// Everything the UI may ask of the shell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "args", rename_all = "snake_case")]
pub enum Request {
    FleetStatus,
    StartFleet(FleetLaunch),
    StopFleet,
    Devices,
    /// Every new reading of this device comes with the live batches.
    WatchDevice(Option<String>),
    /// A device's (or the fleet's) readings from the local cache.
    Chart(ChartRequest),
    ReportHealth(UiHealth),
    /// Follow a Kinesis stream instead of the embedded pipeline.
    ConnectStream(StreamConnection),
    /// Back to the embedded pipeline.
    DisconnectStream,
    Shards,
    /// A strategic view over the lake.
    Aggregate(AggregateQuery),
    /// A strategic view as a job: answered at once with its status, its
    /// progress and, once it has ended well, its figures through JobStatus;
    /// CancelJob stops it.
    RunView(AggregateQuery),
    /// What a view on Athena would scan and cost, before it runs.
    EstimateView(AggregateQuery),
    /// The measures and dimensions the extracts of a range hold.
    LakeCatalog(CatalogQuery),
    /// SQL over the lake's readings (polars' SQL context).
    LakeSql(LakeSqlQuery),
    /// Stops the running LakeSql queries: they answer `Cancelled`.
    CancelLakeSql,
    /// Write simulated history into the lake (a long job).
    FillLake(FillLake),
    JobStatus,
    CancelJob,
    /// History from Timestream (a chart, or the operator's SQL).
    History(HistoryQuery),
    CancelHistory,
    /// The template variables the query's SQL names, with the pickers'
    /// options filled (a custom list's values, a query variable's answer).
    HistoryVariables(HistoryQuery),
    /// The stream job (the seed's Flink job) in the background: a Kinesis
    /// stream into Timestream or InfluxDB, resuming after its checkpoints.
    StartBridge(crate::BridgeJob),
    StopBridge,
    BridgeStatus,
    /// The pipeline's monthly cost for a fleet.
    EstimateCost(FleetSpec),
    /// Export a table; the shell asks where.
    ExportTable(ExportTable),
    /// Save a report over the lake; the shell asks where.
    SaveReport(SaveReport),
    /// The layout, connections and last fleet saved in the previous run.
    LoadSettings,
    SaveSettings(Box<Settings>),
    /// A desktop notification (alarms).
    Notify(Notification),
    /// Close the app (window state and layout saved).
    Quit,
    /// The Connections window's Test buttons.
    TestConnection(ConnectionTest),
    /// Readings older than this many days leave the cache.
    PruneCache(u32),
    /// Read the lake in this folder, which must already hold one.
    SetLakeDir(String),
    /// Let the operator pick the lake folder in the desktop's folder dialog.
    ChooseLakeDir,
    /// Read a Grafana dashboard export and save it by name.
    ImportDashboard(crate::ImportDashboard),
    /// "Open Grafana dashboard…": the desktop's file dialog, then import.
    ChooseDashboardFile,
    /// The names of the saved dashboards.
    Dashboards,
    /// A saved dashboard, by name.
    LoadDashboard(String),
    /// Run a saved dashboard's panels (cached answers when offline).
    RunDashboard(crate::RunDashboard),
}

/// What the shell answers a [`Request`] with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Reply {
    /// To FleetStatus, StartFleet, StopFleet, ConnectStream and
    /// DisconnectStream.
    FleetStatus(FleetStatus),
    Devices(Vec<DeviceInfo>),
    Chart(ChartSeries),
    Shards(Vec<ShardStatus>),
    /// A strategic view's figures; the answer to LakeSql.
    Table(ResultTable),
    /// To LakeCatalog.
    Catalog(LakeCatalog),
    /// To EstimateView.
    Estimate(crate::ScanEstimate),
    /// To FillLake, JobStatus and CancelJob.
    Job(JobStatus),
    History(HistoryResult),
    /// To HistoryVariables.
    Variables(crate::HistoryVariables),
    /// To StartBridge, StopBridge and BridgeStatus.
    Bridge(crate::BridgeStatus),
    Cost(CostEstimate),
    /// To ExportTable and SaveReport.
    Saved(Saved),
    Settings(Box<Settings>),
    /// What a connection test found.
    Tested(String),
    /// Readings removed by a retention run.
    Pruned(u64),
    /// The lake folder in use now (unchanged if the dialog was cancelled).
    LakeDir(String),
    /// To ImportDashboard, ChooseDashboardFile and LoadDashboard.
    Dashboard(Box<crate::Dashboard>),
    /// To Dashboards.
    Dashboards(Vec<String>),
    /// To RunDashboard.
    DashboardAnswers(Box<crate::DashboardAnswers>),
    /// A request that answers nothing went through.
    Done,
}

impl Request {
    /// The request's name on the wire, for logs and error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::FleetStatus => "fleet_status",
            Request::StartFleet(_) => "start_fleet",
            Request::StopFleet => "stop_fleet",
            Request::Devices => "devices",
            Request::WatchDevice(_) => "watch_device",
            Request::Chart(_) => "chart",
            Request::ReportHealth(_) => "report_health",
            Request::ConnectStream(_) => "connect_stream",
            Request::DisconnectStream => "disconnect_stream",
            Request::Shards => "shards",
            Request::Aggregate(_) => "aggregate",
            Request::RunView(_) => "run_view",
            Request::EstimateView(_) => "estimate_view",
            Request::LakeCatalog(_) => "lake_catalog",
            Request::LakeSql(_) => "lake_sql",
            Request::CancelLakeSql => "cancel_lake_sql",
            Request::FillLake(_) => "fill_lake",
            Request::JobStatus => "job_status",
            Request::CancelJob => "cancel_job",
            Request::History(_) => "history",
            Request::CancelHistory => "cancel_history",
            Request::HistoryVariables(_) => "history_variables",
            Request::StartBridge(_) => "start_bridge",
            Request::StopBridge => "stop_bridge",
            Request::BridgeStatus => "bridge_status",
            Request::EstimateCost(_) => "estimate_cost",
            Request::ExportTable(_) => "export_table",
            Request::SaveReport(_) => "save_report",
            Request::LoadSettings => "load_settings",
            Request::SaveSettings(_) => "save_settings",
            Request::Notify(_) => "notify",
            Request::Quit => "quit",
            Request::TestConnection(_) => "test_connection",
            Request::PruneCache(_) => "prune_cache",
            Request::SetLakeDir(_) => "set_lake_dir",
            Request::ChooseLakeDir => "choose_lake_dir",
            Request::ImportDashboard(_) => "import_dashboard",
            Request::ChooseDashboardFile => "choose_dashboard_file",
            Request::Dashboards => "dashboards",
            Request::LoadDashboard(_) => "load_dashboard",
            Request::RunDashboard(_) => "run_dashboard",
        }
    }
}

/// What the UI tells the shell about itself, for smoke tests and soak logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UiHealth {
    pub frames: u64,
    pub batches_received: u64,
    pub points_on_chart: u64,
    pub devices_listed: u64,
    /// 99th percentile of the last frames' CPU time, in milliseconds.
    pub frame_ms_p99: f64,
    #[serde(default)]
    pub frame_ms_p50: f64,
    /// 99th percentile of the UI's own logic per frame (no painting).
    #[serde(default)]
    pub logic_ms_p99: f64,
    /// The view on screen, and whether a fleet runs (for end-to-end tests
    /// that drive the window with keys).
    #[serde(default)]
    pub view: View,
    #[serde(default)]
    pub fleet_running: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConnectionTarget, ResultTable, TableFormat};
    use serde_json::json;

    fn one_of_each() -> Vec<Request> {
        let chart = ChartRequest {
            device_id: Some("m1".into()),
            measure: "power_kw".into(),
            from_us: 0,
            to_us: 1,
            pixels: 1,
        };
        vec![
            Request::FleetStatus,
            Request::StartFleet(FleetLaunch::default()),
            Request::StopFleet,
            Request::Devices,
            Request::WatchDevice(None),
            Request::Chart(chart),
            Request::ReportHealth(UiHealth::default()),
            Request::ConnectStream(StreamConnection::default()),
            Request::DisconnectStream,
            Request::Shards,
            Request::Aggregate(AggregateQuery::default()),
            Request::RunView(AggregateQuery::default()),
            Request::EstimateView(AggregateQuery::default()),
            Request::LakeCatalog(CatalogQuery::default()),
            Request::LakeSql(LakeSqlQuery::default()),
            Request::CancelLakeSql,
            Request::FillLake(FillLake {
                days: 1,
                spec: FleetSpec::default(),
            }),
            Request::JobStatus,
            Request::CancelJob,
            Request::History(HistoryQuery::default()),
            Request::CancelHistory,
            Request::HistoryVariables(HistoryQuery::default()),
            Request::StartBridge(crate::BridgeJob {
                stream: crate::StreamConnection::default(),
                target: crate::BridgeTarget::Influx {
                    connection: crate::InfluxConnection::default(),
                },
            }),
            Request::StopBridge,
            Request::BridgeStatus,
            Request::EstimateCost(FleetSpec::default()),
            Request::ExportTable(ExportTable {
                table: ResultTable::default(),
                format: TableFormat::Csv,
                name: "t.csv".into(),
            }),
            Request::SaveReport(SaveReport {
                from_us: 0,
                to_us: 1,
                region: None,
                pdf: false,
            }),
            Request::LoadSettings,
            Request::SaveSettings(Box::default()),
            Request::Notify(Notification {
                title: "t".into(),
                body: "b".into(),
            }),
            Request::Quit,
            Request::TestConnection(ConnectionTest {
                target: ConnectionTarget::Kinesis { stream: "s".into() },
                profile: None,
                region: None,
                endpoint_url: None,
            }),
            Request::PruneCache(30),
            Request::SetLakeDir("/lake".into()),
            Request::ChooseLakeDir,
            Request::ImportDashboard(crate::ImportDashboard::default()),
            Request::ChooseDashboardFile,
            Request::Dashboards,
            Request::LoadDashboard("Grid".into()),
            Request::RunDashboard(crate::RunDashboard::default()),
        ]
    }

    #[test]
    fn each_request_crosses_the_wire_under_its_kind_and_back() {
        let all = one_of_each();
        let count = all.len();
        let mut kinds: Vec<_> = all.iter().map(Request::kind).collect();
        for request in all {
            let wire = serde_json::to_value(&request).unwrap();
            assert_eq!(wire["kind"], json!(request.kind()), "{wire}");
            let back: Request = serde_json::from_value(wire).unwrap();
            assert_eq!(back, request);
        }
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), count, "every request has a name of its own");
    }

    #[test]
    fn a_request_is_a_kind_and_its_arguments() {
        let wire = serde_json::to_value(Request::PruneCache(30)).unwrap();
        assert_eq!(wire, json!({"kind": "prune_cache", "args": 30}));
        let wire = serde_json::to_value(Request::Devices).unwrap();
        assert_eq!(wire, json!({"kind": "devices"}));
        let reply: Reply = serde_json::from_value(json!({"kind": "pruned", "value": 7})).unwrap();
        assert_eq!(reply, Reply::Pruned(7));
        assert_eq!(
            serde_json::to_value(Reply::Done).unwrap(),
            json!({"kind": "done"})
        );
    }
}
