//! Grafana dashboards brought into Gridwatch: template variables, panels
//! laid out on Grafana's 24-column grid, and each panel's answer.

use serde::{Deserialize, Serialize};

use crate::{ResultTable, TimestreamConnection};

/// What kind of template variable, as Grafana's `type` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableKind {
    /// Its options are the first column of its own query's answer.
    Query,
    /// Its options are a comma list written in the dashboard.
    #[default]
    Custom,
    Constant,
    Textbox,
    Interval,
    /// A kind Gridwatch does not fill (datasource, adhoc…): its saved
    /// value is used as it is.
    Other(String),
}

/// Which values of a variable are selected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Grafana's "All": the custom all value, or every option.
    All,
    Values(Vec<String>),
}

impl Default for Selection {
    fn default() -> Selection {
        Selection::Values(Vec::new())
    }
}

/// A dashboard template variable (`$name`, `${name}`, `[[name]]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    pub name: String,
    pub label: Option<String>,
    pub kind: VariableKind,
    /// The query of a query variable, the comma list of a custom one.
    pub definition: String,
    /// The values it may take (a query variable's come from its query).
    pub options: Vec<String>,
    pub multi: bool,
    pub include_all: bool,
    /// What "All" stands for when the dashboard says (e.g. `.*`).
    pub all_value: Option<String>,
    pub selected: Selection,
    /// Hidden from the pickers (Grafana's `hide: 2`).
    #[serde(default)]
    pub hidden: bool,
}

/// A variable's selection as the operator set it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableValue {
    pub name: String,
    pub selected: Selection,
}

/// How a panel draws its answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    /// `timeseries` and the older `graph`.
    #[default]
    TimeSeries,
    Stat,
    Gauge,
    BarGauge,
    Table,
    Heatmap,
    /// A row header (collapsed rows' panels are kept under it).
    Row,
    /// A panel Gridwatch cannot draw; it says why in its place.
    Unsupported(String),
}

/// Where a panel sits on Grafana's grid: 24 columns, rows of 30 px.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridPos {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// A threshold step: from `value` up (None: from minus infinity), `color`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub value: Option<f64>,
    pub color: String,
}

/// One query of a panel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub ref_id: String,
    pub raw_query: String,
    /// The query editor's database, table and measure; empty: the
    /// connection's.
    pub database: String,
    pub table: String,
    pub measure: String,
    pub hide: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Panel {
    pub id: u32,
    pub title: String,
    pub kind: PanelKind,
    pub grid: GridPos,
    pub targets: Vec<Target>,
    /// The data source's plugin type (`grafana-timestream-datasource`,
    /// `influxdb`…), when the dashboard says.
    pub datasource: Option<String>,
    /// Grafana's unit id (`volt`, `percent`, `kwatt`…).
    pub unit: Option<String>,
    pub decimals: Option<u32>,
    pub thresholds: Vec<Threshold>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The reducer of stat, gauge and bar gauge (`lastNotNull`, `mean`…).
    pub reducer: String,
    /// "Min interval" (e.g. `10s`), the low limit of `$__interval`.
    pub min_interval: Option<String>,
    pub max_data_points: Option<u32>,
    /// Why Gridwatch cannot run this panel, said in its place.
    pub unavailable: Option<String>,
    /// The row the panel sits under, and whether that row is collapsed.
    pub row: Option<String>,
    pub collapsed: bool,
}

/// A dashboard as Gridwatch keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The name it is saved under (its title unless renamed).
    pub name: String,
    pub uid: Option<String>,
    /// Grafana's time range, as written (`now-5m`, `now`, or a time).
    pub time_from: String,
    pub time_to: String,
    /// Refresh every (`30s`, `1m`), if the dashboard says.
    pub refresh: Option<String>,
    /// The day weeks start on for `/w` (`monday`, `sunday`…), if it says.
    #[serde(default)]
    pub week_start: Option<String>,
    pub variables: Vec<Variable>,
    pub panels: Vec<Panel>,
    pub schema_version: u32,
}

/// Import a Grafana dashboard export (the JSON text), saved by `name` (its
/// title when None).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportDashboard {
    pub json: String,
    pub name: Option<String>,
}

/// Run a saved dashboard's panels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunDashboard {
    pub name: String,
    pub connection: TimestreamConnection,
    /// Selections that differ from the dashboard's saved ones.
    pub variables: Vec<VariableValue>,
    /// Another range than the dashboard's (Grafana's syntax), if set.
    pub time_from: Option<String>,
    pub time_to: Option<String>,
    /// The dashboard's width in pixels; a panel gets its share of the 24
    /// columns, for `$__interval`.
    pub width_px: u32,
    /// Each query stops once it has metered more bytes than this.
    pub max_bytes: Option<i64>,
    /// Only these panels (all when empty).
    #[serde(default)]
    pub panels: Vec<u32>,
    /// Where panels whose data source is InfluxDB run, if anywhere.
    #[serde(default)]
    pub influx: Option<crate::InfluxConnection>,
}

/// A time series of a panel: its name and (epoch µs, value) points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PanelSeries {
    pub name: String,
    pub points: Vec<(i64, f64)>,
}

/// A stat, gauge or bar gauge's figure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    pub value: Option<f64>,
    /// The value in the panel's unit, as shown.
    pub text: String,
    /// The colour of the threshold step the value falls in.
    pub color: Option<String>,
}

/// One panel's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PanelAnswer {
    pub panel_id: u32,
    /// The SQL sent, one per target, variables and macros expanded.
    pub sql: Vec<String>,
    pub table: ResultTable,
    pub series: Vec<PanelSeries>,
    pub figures: Vec<Figure>,
    /// Set when Timestream was unreachable and this is the cached answer,
    /// fetched at this time (the oldest of the panel's targets).
    pub cached_at_us: Option<i64>,
    /// What went wrong, said in the panel's place.
    pub error: Option<String>,
}

/// A dashboard's answers: the variables as filled (a query variable's
/// options from its query) and each panel's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardAnswers {
    pub name: String,
    pub variables: Vec<Variable>,
    pub from_us: i64,
    pub to_us: i64,
    pub panels: Vec<PanelAnswer>,
    /// What went wrong outside any one panel (a query variable whose query
    /// failed keeps its saved options, and says so here).
    #[serde(default)]
    pub problems: Vec<String>,
}
