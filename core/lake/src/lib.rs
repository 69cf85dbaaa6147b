//! The data lake side of Gridwatch: Firehose-style extracts in a local
//! folder (synced from S3 or written by the simulator), read with partition
//! pruning into compact columns, and the strategic views over them.
//!
//! - [`extract`]: finding and reading extract files (JSON, gzip, Parquet).
//! - [`readings`]: a range's readings in columns, in memory or on disk.
//! - [`aggregate`]: energy, peak demand, load factor, voltage quality.
//! - [`table`]: records as a wide table, a view as a result table, and the
//!   one writer of tables (table, CSV, JSON, Parquet).
//! - [`compact`]: whole days of JSON into Parquet.
//! - [`manifest`]: what each compacted Parquet file holds, and its checksum.
//! - [`athena`]: the Athena DDL for the same layout.
//! - [`sync`]: extracts from S3 into the local folder.
//! - [`sql`]: the operator's SQL over a range's readings, through polars.
//! - [`partition`]: partition folder names and the times the lake accepts.

pub mod aggregate;
pub mod athena;
pub mod compact;
pub mod extract;
pub mod manifest;
/// The partition folder names, parsed into checked ranges: with the codec,
/// so they fuzz without polars.
pub use gridwatch_core::codec::partition;
pub mod readings;
pub mod sql;
pub mod sync;
pub mod table;

use std::path::{Path, PathBuf};

use polars::prelude::PolarsError;

pub use aggregate::{AggregateRequest, GroupKey, aggregate, load_duration};
pub use extract::{BadLine, ExtractError};
pub use partition::RangeError;
pub use readings::{Readings, ReadingsQuery};
pub use table::{
    OutputFormat, Rows, View, ViewError, ViewOptions, for_people, view, view_observed, view_with,
};

#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("{0}")]
    Polars(#[from] PolarsError),
    #[error("no {name} in the extracts (known: {known})")]
    UnknownKey { name: String, known: String },
    #[error("cannot filter on {0}: no such dimension in the extracts")]
    UnknownFilter(String),
    #[error("the extracts have no {0} measure")]
    MissingMeasure(&'static str),
    /// A `lake sql` query polars could not plan or run, in its words.
    #[error("{0}")]
    Query(#[source] PolarsError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Range(#[from] RangeError),
    #[error("not the lake's Parquet schema: {0}")]
    Schema(String),
    /// A compacted file did not read back as written; its JSON was kept.
    #[error("compaction failed its check: {0}")]
    Compaction(String),
    /// Stopped on request (a signal); what was written is whole.
    #[error("stopped before the end")]
    Cancelled,
}

/// An I/O error at `path`, as a lake error.
pub(crate) fn io_at(path: &Path) -> impl Fn(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a scan read, and what it could not.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LoadReport {
    pub json_files: usize,
    pub parquet_files: usize,
    /// Records read from the files, in the range or not.
    pub records: usize,
    pub bad_lines: Vec<BadLine>,
    /// Files and partition folders not read at all, and why (a corrupt
    /// gzip, a file that is not Parquet, `hour=24`); the figures are those
    /// of the rest.
    pub skipped_files: Vec<SkippedFile>,
}

impl LoadReport {
    /// What was not read, worded for the operator under a table: each bad
    /// line, then each file skipped whole with why (the figures are the
    /// rest's).
    pub fn skipped(&self) -> Vec<String> {
        let lines = self.bad_lines.iter().map(|b| b.to_string());
        let files = self
            .skipped_files
            .iter()
            .map(|f| format!("skipped file {f}"));
        lines.chain(files).collect()
    }
}

/// A file or folder a job skipped whole, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    pub path: PathBuf,
    pub reason: String,
}

impl std::fmt::Display for SkippedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}
