//! `lake sql`: the operator's SQL over the readings of a range, through
//! polars' SQL context, as one table `readings` with the columns of the
//! seed's Athena table: `Time` (epoch ms), `DeviceID`, every dimension and
//! every measure under the names records carry (`Region`, `watt_measure`),
//! and `time` as a timestamp.
//!
//! How the table is made, so a range larger than memory works:
//! - only the pruned partitions are listed ([`crate::extract::select`], the
//!   views' own selection, manifests and checksums included);
//! - compacted Parquet is scanned lazily where it lies;
//! - JSON extracts (newline or back to back, plain or gzip) go through the
//!   views' decoder, which keeps the record rules and names bad lines, file
//!   by file into Parquet staging files of at most a part of the memory
//!   budget each, in a hidden folder of the lake that goes when the query
//!   is done;
//! - one lazy scan over all of them (a column a file lacks reads as null)
//!   runs under polars' streaming engine, which reads in morsels.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use gridwatch_core::codec::RecordRef;
use polars::prelude::*;
use polars::sql::SQLContext;

use crate::readings::Progress;
use crate::table::{Columns, DEVICE, TIME};
use crate::{LakeError, LoadReport, SkippedFile, extract, io_at};

/// The table the SQL reads.
pub const TABLE: &str = "readings";

/// One `lake sql` question.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlRequest {
    pub sql: String,
    pub from_us: i64,
    pub to_us: i64,
    /// Bytes of decoded JSON held before a staging file is written.
    pub memory_budget: usize,
}

/// A query's answer and what was read to give it.
#[derive(Debug)]
pub struct SqlAnswer {
    pub frame: DataFrame,
    pub report: LoadReport,
}

/// Bytes a staged reading is taken to cost in memory, for the budget.
const STAGED_ROW_BYTES: usize = 160;

/// JSON extracts decoded into Parquet staging files.
struct Staging {
    folder: tempfile::TempDir,
    columns: Columns,
    files: Vec<PathBuf>,
    rows_per_file: usize,
}

impl Staging {
    fn new(lake: &Path, budget: usize) -> Result<Self, LakeError> {
        let folder = tempfile::Builder::new()
            .prefix(".gridwatch-sql-")
            .tempdir_in(lake)
            .map_err(io_at(lake))?;
        Ok(Staging {
            folder,
            columns: Columns::default(),
            files: Vec::new(),
            // A quarter of the budget: the columns, the frame made of
            // them and the Parquet writer's buffers are alive together.
            rows_per_file: (budget / 4 / STAGED_ROW_BYTES).max(1024),
        })
    }

    fn flush(&mut self) -> Result<(), LakeError> {
        if self.columns.is_empty() {
            return Ok(());
        }
        let mut frame = std::mem::take(&mut self.columns).into_frame()?;
        let path = self
            .folder
            .path()
            .join(format!("part-{}.parquet", self.files.len()));
        let file = std::fs::File::create(&path).map_err(io_at(&path))?;
        ParquetWriter::new(file).finish(&mut frame)?;
        self.files.push(path);
        Ok(())
    }
}

/// The columns of a Parquet file in the lake's schema (`time_us`,
/// `device_id`, dimensions as text, measures as numbers).
fn parquet_schema(path: &Path) -> Result<Schema, LakeError> {
    let file = std::fs::File::open(path).map_err(io_at(path))?;
    let arrow = ParquetReader::new(file).schema()?;
    Ok(Schema::from_arrow_schema(&arrow))
}

/// The seed's Athena columns over the lake's own: `Time` in epoch ms,
/// `DeviceID`, `time` as a timestamp, dimensions as they are and each
/// measure as `<name>_measure`.
fn seed_columns(schema: &Schema) -> Vec<Expr> {
    let mut out = vec![
        col(TIME).floor_div(lit(1000i64)).alias("Time"),
        col(DEVICE).alias("DeviceID"),
        col(TIME)
            .cast(DataType::Datetime(TimeUnit::Microseconds, None))
            .alias("time"),
    ];
    for (name, dtype) in schema.iter() {
        if name == TIME || name == DEVICE {
            continue;
        }
        if dtype.is_primitive_numeric() {
            out.push(
                col(name.clone())
                    .cast(DataType::Float64)
                    .alias(format!("{name}_measure")),
            );
        } else {
            out.push(col(name.clone()));
        }
    }
    out
}

/// The lazy `readings` table of a range: pruned partitions, JSON staged.
fn readings_frame(
    lake: &Path,
    req: &SqlRequest,
    cancel: &AtomicBool,
    progress: Progress<'_>,
) -> Result<(LazyFrame, LoadReport, Staging), LakeError> {
    let sel = extract::select(lake, req.from_us, req.to_us)?;
    let total = sel.json.len() + sel.parquet.len();
    let mut report = LoadReport {
        json_files: sel.json.len(),
        parquet_files: sel.parquet.len(),
        skipped_files: sel.skipped,
        ..LoadReport::default()
    };
    let mut staging = Staging::new(lake, req.memory_budget)?;
    let mut files = Vec::new();
    progress(0, total);
    for (n, path) in sel.parquet.iter().enumerate() {
        match crate::manifest::verify(path)
            .and_then(|()| parquet_schema(path).map_err(|e| e.to_string()))
        {
            Ok(schema) => files.push((path.clone(), schema)),
            Err(reason) => report.skipped_files.push(SkippedFile {
                path: path.clone(),
                reason,
            }),
        }
        progress(n + 1, total);
    }
    for (n, path) in sel.json.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(LakeError::Cancelled);
        }
        let mut records = 0usize;
        let mut file = Columns::default();
        let read = extract::for_each_record(path, |r: &RecordRef<'_>| {
            records += 1;
            if (req.from_us..req.to_us).contains(&r.time_us) {
                file.push(r.clone().into_record());
            }
        });
        match read {
            Ok(bad) => {
                report.records += records;
                report.bad_lines.extend(bad);
                staging.columns.append(file);
            }
            Err(e) => {
                // Whole files or nothing, as the views read them.
                report.skipped_files.push(SkippedFile {
                    path: path.clone(),
                    reason: e.reason(),
                });
            }
        }
        if staging.columns.len() >= staging.rows_per_file {
            staging.flush()?;
        }
        progress(sel.parquet.len() + n + 1, total);
    }
    staging.flush()?;
    for path in &staging.files {
        files.push((path.clone(), parquet_schema(path)?));
    }
    // One schema over every file: a column some file lacks reads as null.
    let mut schema = Schema::default();
    schema.insert(TIME.into(), DataType::Int64);
    schema.insert(DEVICE.into(), DataType::String);
    for (_, s) in &files {
        for (name, dtype) in s.iter() {
            if !schema.contains(name) {
                schema.insert(name.clone(), dtype.clone());
            }
        }
    }
    let columns = seed_columns(&schema);
    let range = col(TIME)
        .gt_eq(lit(req.from_us))
        .and(col(TIME).lt(lit(req.to_us)));
    let frame = if files.is_empty() {
        DataFrame::empty_with_schema(&schema).lazy()
    } else {
        let args = ScanArgsParquet {
            schema: Some(Arc::new(schema)),
            allow_missing_columns: true,
            // The folders' year=/month=/day= are the records' own time,
            // not columns of the table.
            hive_options: polars::io::HiveOptions {
                enabled: Some(false),
                ..Default::default()
            },
            ..ScanArgsParquet::default()
        };
        let paths = files
            .iter()
            .map(|(p, _)| PlRefPath::new(p.to_string_lossy().into_owned()))
            .collect();
        LazyFrame::scan_parquet_files(paths, args)?
    };
    Ok((frame.filter(range).select(columns), report, staging))
}

/// How often a running query looks for a cancel.
const CANCEL_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Runs `req.sql` over the range's readings. A query polars cannot plan or
/// run is [`LakeError::Query`], in polars' words.
pub fn run(
    lake: &Path,
    req: &SqlRequest,
    cancel: &AtomicBool,
    progress: Progress<'_>,
) -> Result<SqlAnswer, LakeError> {
    let (frame, report, staging) = readings_frame(lake, req, cancel, progress)?;
    let mut ctx = SQLContext::new();
    ctx.register(TABLE, frame);
    let plan = ctx.execute(&req.sql).map_err(LakeError::Query)?;
    // Polars' streaming engine runs the whole plan: the scan is read in
    // morsels, so a range larger than memory goes through (what the query
    // keeps must fit). `with_streaming(true).collect()` is not that: it is
    // the in-memory engine, which ran this bench's question 3.4x slower
    // (BENCHMARKS.md). On a thread of its own, so a cancel answers at once.
    // The engine cannot be stopped: a query still scanning fails when the
    // staging files go from under it; one past its scan runs to its end in
    // the background, and its answer is dropped.
    let (answer_tx, answer_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("lake-sql".into())
        .spawn(move || {
            // The receiver is gone only after a cancel: nobody wants it.
            let _ = answer_tx.send(plan.collect_with_engine(Engine::Streaming));
        })
        .map_err(io_at(Path::new("a thread for the query")))?;
    let frame = loop {
        match answer_rx.recv_timeout(CANCEL_POLL) {
            // Several frames come only of a plan with several sinks
            // (polars' collect_all); one SQL query is one plan, one frame.
            Ok(answer) => break answer.map_err(LakeError::Query)?.unwrap_single(),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if cancel.load(Ordering::Relaxed) {
                    return Err(LakeError::Cancelled);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(LakeError::Query(polars_err!(
                    ComputeError: "the query's thread stopped without an answer"
                )));
            }
        }
    };
    // The staging files go only once the query has read them.
    drop(staging);
    Ok(SqlAnswer { frame, report })
}

impl SqlAnswer {
    /// The answer as the app shows it and the CLI prints it.
    pub fn table(&self) -> Result<gridwatch_types::ResultTable, LakeError> {
        Ok(result_table(&self.frame)?)
    }

    /// The answer as Parquet, with its own column types.
    pub fn write_parquet(&mut self, out: &mut dyn std::io::Write) -> Result<(), LakeError> {
        // Whole, then written: polars wants a seekable sink.
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf).finish(&mut self.frame)?;
        out.write_all(&buf)
            .map_err(io_at(Path::new("standard output")))
    }
}

/// A query's answer as a result table: numbers as numbers, timestamps as
/// RFC 3339 text, anything else as polars prints it.
pub fn result_table(frame: &DataFrame) -> PolarsResult<gridwatch_types::ResultTable> {
    use gridwatch_types::Cell;
    let columns = frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut rows = Vec::with_capacity(frame.height());
    for i in 0..frame.height() {
        let mut row = Vec::with_capacity(frame.width());
        for c in frame.columns() {
            row.push(match c.get(i)? {
                AnyValue::Null => Cell::Null,
                AnyValue::Boolean(b) => Cell::Text(b.to_string()),
                AnyValue::String(s) => Cell::Text(s.to_owned()),
                AnyValue::StringOwned(s) => Cell::Text(s.to_string()),
                AnyValue::Datetime(us, TimeUnit::Microseconds, _) => {
                    Cell::Text(gridwatch_types::time::format_time_micros(us))
                }
                v if v.is_primitive_numeric() => {
                    v.extract::<f64>().map_or(Cell::Null, Cell::Number)
                }
                other => Cell::Text(other.to_string()),
            });
        }
        rows.push(row);
    }
    Ok(gridwatch_types::ResultTable {
        columns,
        rows,
        ..Default::default()
    })
}
