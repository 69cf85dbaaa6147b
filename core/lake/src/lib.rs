//! The data lake side of Gridwatch: Firehose-style extracts in a local
//! folder (synced from S3 or written by the simulator), read with partition
//! pruning into compact columns, and the strategic views over them.
//!
//! - [`extract`]: finding and reading extract files (JSON, gzip, Parquet).
//! - [`readings`]: a range's readings in columns, in memory or on disk.
//! - [`aggregate`]: energy, peak demand, load factor, voltage quality.
//! - [`table`]: records as a wide table, and result tables for people.
//! - [`compact`]: whole days of JSON into Parquet.
//! - [`athena`]: the Athena DDL for the same layout.
//! - [`sync`]: extracts from S3 into the local folder.

pub mod aggregate;
pub mod athena;
pub mod compact;
pub mod extract;
pub mod readings;
pub mod sync;
pub mod table;

use std::path::{Path, PathBuf};

use polars::prelude::PolarsError;

pub use aggregate::{AggregateRequest, GroupKey, aggregate, load_duration};
pub use extract::{BadLine, ExtractError};
pub use readings::{Readings, ReadingsQuery};

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
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
}
