//! A strategic view as the app and the CLI ask for it: one entry point
//! ([`view_observed`] and its shorter forms), so both read, fold and word a
//! view the same way: per device type unless all types are asked for
//! together, any measure's figures, and notes saying how energy was made.

use std::sync::atomic::AtomicBool;

use polars::prelude::*;

use super::result_table;
use crate::aggregate::{DEFAULT_MAX_GAP_US, ENERGY_FROM_COUNTER, ENERGY_FROM_POWER};
use crate::readings::Progress;

/// A strategic view's request as the app and the CLI make it: one entry
/// point, so both read, fold and word a view the same way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewOptions {
    /// The load duration curve (each 15-minute demand, largest first)
    /// instead of the summary figures.
    pub load_duration: bool,
    /// Bytes the readings may take before they move to disk; `None`: a
    /// quarter of the memory available.
    pub memory_budget: Option<usize>,
}

/// A strategic view, ready to show or write.
#[derive(Debug, Clone)]
pub struct View {
    /// The figures; `skipped` says what was not read, `lake_dir` where.
    pub table: gridwatch_types::ResultTable,
    /// What the scan read and could not read, for callers that word it.
    pub report: crate::LoadReport,
    /// Buckets on disk the readings were folded from (0: all in memory).
    pub buckets_on_disk: usize,
    /// The memory budget the readings were held to.
    pub memory_budget: usize,
    /// How the figures were made, for the output's notes: energy from a
    /// counter or from power (and the rule), per device type.
    pub notes: Vec<String>,
}

/// Why a view failed: reading the extracts, or folding what was read.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("cannot read the extracts in {}", lake.display())]
    Read {
        lake: std::path::PathBuf,
        #[source]
        source: crate::LakeError,
    },
    /// A group key or filter the extracts lack, a measure missing.
    #[error(transparent)]
    Fold(crate::LakeError),
}

impl ViewError {
    /// The lake's own error, without saying where.
    pub fn into_lake_error(self) -> crate::LakeError {
        match self {
            ViewError::Read { source, .. } | ViewError::Fold(source) => source,
        }
    }
}

/// Reads the request's range (stopping with [`crate::LakeError::Cancelled`]
/// once `cancel` is set) and folds its summary figures or load duration
/// curve into a result table: the app's strategic view and the CLI's
/// `aggregate` alike.
pub fn view(
    lake: &std::path::Path,
    request: &crate::AggregateRequest,
    options: &ViewOptions,
    cancel: &AtomicBool,
) -> Result<View, crate::LakeError> {
    view_with(lake, request, options, cancel, |_| {}).map_err(ViewError::into_lake_error)
}

/// [`view`], telling `on_read` what was read and skipped before the fold
/// (so a caller's warnings come first, even if the fold then fails), and
/// saying which step failed.
pub fn view_with(
    lake: &std::path::Path,
    request: &crate::AggregateRequest,
    options: &ViewOptions,
    cancel: &AtomicBool,
    on_read: impl FnOnce(&crate::LoadReport),
) -> Result<View, ViewError> {
    view_observed(lake, request, options, cancel, &|_, _| {}, on_read)
}

/// The note of a view made per device type.
pub const PER_TYPE_NOTE: &str = "figures per device type (DeviceType): feeder, transformer and \
     meter readings are never summed or ranked together; --all-types folds them into one";

/// How energy was made, said once per rule found in the figures.
pub fn energy_notes(frame: &DataFrame, gap_us: i64) -> Vec<String> {
    let Ok(source) = frame.column("energy_source").and_then(|c| c.str().cloned()) else {
        return Vec::new();
    };
    let has = |what: &str| {
        source
            .iter()
            .any(|s| s.is_some_and(|s| s.split(" and ").any(|p| p == what)))
    };
    let mut notes = Vec::new();
    if has(ENERGY_FROM_COUNTER) {
        notes.push(
            "energy (counter): each device's energy-counter increments in time order; \
             a counter that goes down was reset and its new value is the increment"
                .to_string(),
        );
    }
    if has(ENERGY_FROM_POWER) {
        notes.push(format!(
            "energy (power): no energy counter, so integrated from watt readings: \
             trapezoids between each device's consecutive readings in time order; \
             readings more than {} apart count nothing (a gap)",
            duration(gap_us)
        ));
    }
    notes
}

/// A gap limit in the operator's words: `1 h`, `30 min`, `90 s`.
fn duration(us: i64) -> String {
    let s = us / 1_000_000;
    if s > 0 && s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s > 0 && s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// [`view_with`], telling `progress` the files read of the files to read.
pub fn view_observed(
    lake: &std::path::Path,
    request: &crate::AggregateRequest,
    options: &ViewOptions,
    cancel: &AtomicBool,
    progress: Progress<'_>,
    on_read: impl FnOnce(&crate::LoadReport),
) -> Result<View, ViewError> {
    let mut query = request.query();
    if let Some(budget) = options.memory_budget {
        query.memory_budget = budget;
    }
    let readings =
        crate::Readings::scan_observed(lake, &query, cancel, progress).map_err(|source| {
            ViewError::Read {
                lake: lake.to_owned(),
                source,
            }
        })?;
    on_read(&readings.report);
    let (by, per_type) = request.keys_for(&readings);
    let gap = request.max_gap_us.unwrap_or(DEFAULT_MAX_GAP_US);
    let frame = if !request.measures.is_empty() {
        readings.measure_figures(&by, &request.measures)
    } else if options.load_duration {
        readings.load_duration(&by)
    } else {
        readings.aggregate_with_gap(&by, request.top, gap)
    }
    .map_err(ViewError::Fold)?;
    let mut notes = energy_notes(&frame, gap);
    if per_type {
        notes.push(PER_TYPE_NOTE.to_string());
    }
    let mut table = result_table(&frame).map_err(|e| ViewError::Fold(e.into()))?;
    table.skipped = readings.report.skipped();
    table.lake_dir = lake.display().to_string();
    Ok(View {
        table,
        buckets_on_disk: readings.buckets_on_disk(),
        memory_budget: query.memory_budget,
        notes,
        report: readings.report,
    })
}
