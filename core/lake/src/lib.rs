//! The data lake side of Gridwatch: Firehose-style extracts in a local
//! folder (synced from S3 or written by the simulator), read with partition
//! pruning into a polars table, and the strategic views over it.
//!
//! - [`extract`]: finding and reading extract files (JSON, gzip, Parquet).
//! - [`table`]: records as a wide table with time keys.
//! - [`aggregate`]: energy, peak demand, load factor, voltage quality.
//! - [`compact`]: whole days of JSON into Parquet.
//! - [`athena`]: the Athena DDL for the same layout.
//! - [`sync`]: extracts from S3 into the local folder.

pub mod aggregate;
pub mod athena;
pub mod compact;
pub mod extract;
pub mod sync;
pub mod table;

use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;

pub use aggregate::{AggregateRequest, GroupKey, aggregate, availability, load_duration};
pub use extract::{BadLine, ExtractError};

#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("{0}")]
    Polars(#[from] PolarsError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What a load read, and what it could not.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LoadReport {
    pub json_files: usize,
    pub parquet_files: usize,
    pub records: usize,
    pub bad_lines: Vec<BadLine>,
}

/// Gives every frame the same columns (missing ones null) in the same order.
fn align(frames: Vec<DataFrame>) -> PolarsResult<Vec<DataFrame>> {
    let mut names: Vec<(PlSmallStr, DataType)> = Vec::new();
    for f in &frames {
        for (n, t) in f.schema().iter() {
            if !names.iter().any(|(k, _)| k == n) {
                names.push((n.clone(), t.clone()));
            }
        }
    }
    frames
        .into_iter()
        .map(|mut f| {
            let h = f.height();
            for (n, t) in &names {
                if !f.schema().contains(n) {
                    f.with_column(Column::full_null(n.clone(), h, t))?;
                }
            }
            f.select(names.iter().map(|(n, _)| n.clone()))
        })
        .collect()
}

/// Reads the extracts covering [from, to) into one table with time keys.
/// Rows outside the range may remain (files hold whole hours); the views
/// filter by time themselves.
pub fn load(lake: &Path, from_us: i64, to_us: i64) -> Result<(DataFrame, LoadReport), LakeError> {
    let sel = extract::select(lake, from_us, to_us)?;
    let mut report = LoadReport {
        json_files: sel.json.len(),
        parquet_files: sel.parquet.len(),
        ..LoadReport::default()
    };
    // Files decode in parallel; each becomes columns, merged in file order.
    let parts: Vec<Result<(table::Columns, Vec<BadLine>), ExtractError>> = sel
        .json
        .par_iter()
        .map(|path| {
            let (records, bad) = extract::read_json(path)?;
            let mut cols = table::Columns::default();
            for r in records {
                cols.push(r);
            }
            Ok((cols, bad))
        })
        .collect();
    let mut columns = table::Columns::default();
    for part in parts {
        let (cols, bad) = part?;
        columns.append(cols);
        report.bad_lines.extend(bad);
    }
    let mut frames = Vec::new();
    if !columns.is_empty() || sel.parquet.is_empty() {
        frames.push(columns.into_frame()?);
    }
    for path in &sel.parquet {
        let file = std::fs::File::open(path).map_err(|source| LakeError::Io {
            path: path.clone(),
            source,
        })?;
        frames.push(ParquetReader::new(file).finish()?);
    }
    let mut frames = align(frames)?.into_iter();
    let mut df = frames.next().unwrap_or_default();
    for f in frames {
        df.vstack_mut_owned(f)?;
    }
    df.rechunk_mut();
    report.records = df.height();
    Ok((table::with_time_keys(df)?, report))
}
