//! The strategic view over the lake: aggregates, long jobs, exports.

use serde::{Deserialize, Serialize};

use crate::FleetSpec;

/// A strategic view over the lake's extracts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AggregateQuery {
    pub from_us: i64,
    pub to_us: i64,
    /// Group keys: device, region, feeder, type, hour, day, week, month.
    pub by: Vec<String>,
    /// Dimension = value filters.
    pub filters: Vec<(String, String)>,
    /// Only the N groups with the most energy.
    pub top: Option<u32>,
}

/// One cell of a result table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Number(f64),
    Text(String),
    Null,
}

/// A result table, as the strategic view shows and exports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Extract lines that could not be read, as `file:line: reason`.
    pub skipped: Vec<String>,
    pub lake_dir: String,
}

/// Write simulated history into the lake (a long job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FillLake {
    pub days: u32,
    pub spec: FleetSpec,
}

/// A long job's progress, for a progress bar with a Cancel button.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    pub running: bool,
    pub name: String,
    /// 0.0 to 1.0.
    pub fraction: f32,
    pub message: String,
    /// How the last job ended, if it failed or was cancelled.
    pub error: Option<String>,
}

/// A file format a table exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableFormat {
    Csv,
    Parquet,
}

/// Export a table the UI shows; the shell asks where with a save dialog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportTable {
    pub table: ResultTable,
    pub format: TableFormat,
    /// The file name the dialog suggests.
    pub name: String,
}

/// Save a report over the lake; the shell asks where with a save dialog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveReport {
    pub from_us: i64,
    pub to_us: i64,
    pub region: Option<String>,
    pub pdf: bool,
}

/// Where a file was saved; None when the operator cancelled the dialog.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub path: Option<String>,
}
