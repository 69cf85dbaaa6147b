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
    /// Count, sum, min, max, mean and exact p50/p90/p95/p99 of these
    /// measures (as records name them, `watt` or `watt_measure`) instead
    /// of the energy figures.
    #[serde(default)]
    pub measures: Vec<String>,
    /// Fold all device types into one figure; by default each type is its
    /// own group, so 11 kV and 230 V never share a percentile.
    #[serde(default)]
    pub all_types: bool,
    /// Run the view on Athena over the lake's Glue table; None: the lake
    /// folder on this machine.
    #[serde(default)]
    pub athena: Option<AthenaTarget>,
}

/// The lake's Athena table (`gridwatch lake athena-setup` makes it) and
/// how queries may run there. Saved with the settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AthenaConnection {
    /// The Glue database and table.
    pub database: String,
    pub table: String,
    /// The workgroup (empty: primary).
    pub workgroup: String,
    /// Where Athena writes answers, `s3://…/` (empty: the workgroup's).
    pub output: String,
    /// No query estimated to scan more GB (decimal, as AWS bills) is
    /// started.
    pub max_scan_gb: u64,
}

impl Default for AthenaConnection {
    fn default() -> Self {
        AthenaConnection {
            database: "gridwatch".into(),
            table: "gridwatch_readings".into(),
            workgroup: String::new(),
            output: String::new(),
            max_scan_gb: 100,
        }
    }
}

impl AthenaConnection {
    /// The scan limit in bytes.
    pub fn max_scan_bytes(&self) -> u64 {
        self.max_scan_gb.saturating_mul(1_000_000_000)
    }
}

/// Athena, and how to reach AWS (no secrets: the profile chain).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AthenaTarget {
    pub connection: AthenaConnection,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Bytes for people: `812 B`, `3.4 MB`, `1.20 TB` (decimal, as AWS bills).
pub fn bytes_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.3} {}", UNITS[u]).replace(".000 ", " ")
    }
}

/// What a query on Athena will scan, before it runs: the objects under
/// the range's partitions, and what Athena bills for them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanEstimate {
    /// Partitions (hourly prefixes) listed.
    pub partitions: u64,
    pub objects: u64,
    pub bytes: u64,
    /// What Athena bills: rounded up to a whole MB, at least 10 MB.
    pub billed_bytes: u64,
    pub cost_usd: f64,
}

/// Which measures and dimensions the extracts of a range hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogQuery {
    pub from_us: i64,
    pub to_us: i64,
}

/// What the extracts of a range hold: the pickers' choices.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LakeCatalog {
    /// Measures as records name them without `_measure` (`watt`).
    pub measures: Vec<String>,
    /// Dimensions as records name them (`Region`).
    pub dimensions: Vec<String>,
    pub records: u64,
}

/// SQL over the lake's readings of a range (`lake sql`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LakeSqlQuery {
    pub sql: String,
    pub from_us: i64,
    pub to_us: i64,
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
    /// A strategic view's run (not a lake being written).
    #[serde(default)]
    pub view: bool,
    /// Files read so far, of the files to read (a view's run).
    #[serde(default)]
    pub files_read: u64,
    #[serde(default)]
    pub files_total: u64,
    /// A view's figures, once, when it has ended well; never partial.
    #[serde(default)]
    pub table: Option<ResultTable>,
    /// How the figures were made (energy from a counter or from power).
    #[serde(default)]
    pub notes: Vec<String>,
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

/// What a figure measures, for scaling it for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    Energy,
    Power,
    Voltage,
    Current,
    Temperature,
    /// A share between 0 and 1 (load factor, compliance).
    Ratio,
}

impl Quantity {
    /// The quantity of a measure, as records name it (`watt`, `watt_measure`).
    pub fn of_measure(measure: &str) -> Option<Quantity> {
        let m = measure.to_ascii_lowercase();
        let m = m.strip_suffix("_measure").unwrap_or(&m);
        Some(match m {
            "watt" | "power" => Quantity::Power,
            "energy" => Quantity::Energy,
            "voltage" => Quantity::Voltage,
            "current" => Quantity::Current,
            "temperature" | "oil_temperature" => Quantity::Temperature,
            _ => return None,
        })
    }

    /// The quantity of a result column: the views' own names
    /// (`energy_kwh`, `peak_demand_w`, `voltage_p95`) and a measure's
    /// figures (`watt_p95`, `watt_sum`; not `watt_count`).
    pub fn of_column(column: &str) -> Option<Quantity> {
        match column {
            "energy_kwh" => return Some(Quantity::Energy),
            "peak_demand_w" | "demand_w" => return Some(Quantity::Power),
            "load_factor" | "voltage_compliance" => return Some(Quantity::Ratio),
            _ => {}
        }
        let (measure, stat) = column.rsplit_once('_')?;
        let figure = matches!(
            stat,
            "sum" | "min" | "max" | "mean" | "p50" | "p90" | "p95" | "p99"
        );
        // A sum of power readings is no energy: only the levels scale.
        let power_sum = stat == "sum" && Quantity::of_measure(measure) == Some(Quantity::Power);
        if figure && !power_sum {
            Quantity::of_measure(measure)
        } else {
            None
        }
    }

    /// The unit a value is shown in, and the factor from the stored unit
    /// (kWh, W, V, A, °C) to it: kWh/MWh/GWh, W/kW/MW, V/kV.
    pub fn unit_for(self, magnitude: f64) -> (&'static str, f64) {
        let m = magnitude.abs();
        match self {
            Quantity::Energy if m >= 1e6 => ("GWh", 1e-6),
            Quantity::Energy if m >= 1e3 => ("MWh", 1e-3),
            Quantity::Energy => ("kWh", 1.0),
            Quantity::Power if m >= 1e6 => ("MW", 1e-6),
            Quantity::Power if m >= 1e3 => ("kW", 1e-3),
            Quantity::Power => ("W", 1.0),
            Quantity::Voltage if m >= 1e3 => ("kV", 1e-3),
            Quantity::Voltage => ("V", 1.0),
            Quantity::Current => ("A", 1.0),
            Quantity::Temperature => ("°C", 1.0),
            Quantity::Ratio => ("", 1.0),
        }
    }
}

/// Significant digits a person is shown of a measured figure: more would
/// be noise from the sensors and the float sums.
pub const FIGURE_DIGITS: i32 = 4;

/// `value` rounded to `digits` significant digits.
pub fn round_significant(value: f64, digits: i32) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let magnitude = value.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits - 1 - magnitude);
    let rounded = (value * scale).round() / scale;
    // Dividing again by the power of ten can leave float noise behind
    // (0.1 * 3): the shortest decimal that reads back the same is printed.
    if rounded.is_finite() { rounded } else { value }
}

/// A number as plain text: whole numbers without a fraction, others as the
/// shortest decimal that reads back the same.
fn plain_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A figure of `column` for a person: scaled to its unit and rounded to
/// meaningful digits (`12.35 MWh`, `232.2 V`, `11.02 kV`, `0.874`);
/// counts and other whole numbers as they are; other fractions to six
/// significant digits, which hides float noise and keeps what was read.
pub fn format_figure(column: &str, value: f64) -> String {
    match Quantity::of_column(column) {
        Some(Quantity::Ratio) => format!("{value:.3}"),
        Some(q) => {
            let (unit, factor) = q.unit_for(value);
            let shown = plain_number(round_significant(value * factor, FIGURE_DIGITS));
            format!("{shown} {unit}")
        }
        None if value.fract() == 0.0 => plain_number(value),
        None => plain_number(round_significant(value, 6)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_aws_bills_them() {
        assert_eq!(bytes_text(812), "812 B");
        assert_eq!(bytes_text(3_400_000), "3.400 MB");
        assert_eq!(bytes_text(100_000_000_000), "100 GB");
    }
}
