//! The lake: which folder the strategic view reads, its aggregates, the
//! long job that writes simulated history into it, and what is saved from
//! it (tables, reports).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use gridwatch_simulator::{Pacing, RunOptions};
use gridwatch_types::{
    AggregateQuery, CatalogQuery, ExportTable, FillLake, FleetSpec, JobStatus, LakeCatalog,
    LakeSqlQuery, ResultTable, SaveReport, Saved,
};

use crate::{Error, Result, Session, blocking, report};

/// A long job running in the background, with its progress.
pub(crate) struct Job {
    name: String,
    progress: Arc<std::sync::Mutex<(f32, String)>>,
    /// Stops a lake being written (between records).
    stop: tokio::sync::watch::Sender<bool>,
    /// Stops a view's run (between files).
    cancel: Arc<AtomicBool>,
    /// A view's run: files read, files to read.
    view: Option<Arc<[AtomicU64; 2]>>,
    task: tokio::task::JoinHandle<Result<JobEnd, String>>,
}

/// What a job that ended well gives.
#[derive(Default)]
pub(crate) struct JobEnd {
    pub(crate) message: String,
    pub(crate) table: Option<ResultTable>,
    pub(crate) notes: Vec<String>,
}

impl From<String> for JobEnd {
    fn from(message: String) -> Self {
        JobEnd {
            message,
            ..JobEnd::default()
        }
    }
}

/// A strategic view's request in the lake's terms.
pub(crate) fn view_request(query: AggregateQuery) -> gridwatch_lake::AggregateRequest {
    gridwatch_lake::AggregateRequest {
        from_us: query.from_us,
        to_us: query.to_us,
        by: query
            .by
            .iter()
            // Parsing cannot fail: an unknown word is a dimension,
            // which the view refuses by name if the lake lacks it.
            .map(|k| {
                k.parse::<gridwatch_lake::GroupKey>()
                    .unwrap_or_else(|never| match never {})
            })
            .collect(),
        filters: query.filters,
        top: query.top.map(|n| n as usize),
        measures: query.measures,
        all_types: query.all_types,
        max_gap_us: None,
    }
}

/// Runs a view the way the CLI's `aggregate` does, through the one entry
/// point: its figures and how they were made, or why not.
fn run_view_on(
    lake: &Path,
    query: AggregateQuery,
    cancel: &AtomicBool,
    progress: gridwatch_lake::readings::Progress<'_>,
) -> Result<gridwatch_lake::View> {
    require_lake(lake)?;
    let options = gridwatch_lake::table::ViewOptions::default();
    let view = gridwatch_lake::table::view_observed(
        lake,
        &view_request(query),
        &options,
        cancel,
        progress,
        |_| {},
    )
    .map_err(gridwatch_lake::ViewError::into_lake_error)?;
    Ok(view)
}

/// A view or query of the lake covers a range that ends after it starts.
fn check_range(from_us: i64, to_us: i64) -> Result<()> {
    if to_us <= from_us {
        return Err(Error::Invalid("the range must end after it starts".into()));
    }
    Ok(())
}

/// Whether `dir` holds a lake: readings under Firehose's layout.
fn holds_lake(dir: &std::path::Path) -> bool {
    dir.join(gridwatch_lake::partition::READINGS_DIR).is_dir()
}

/// A view or a query needs a lake to read: none is `NotFound`, which the
/// Strategic view words as "fill or choose a lake".
fn require_lake(dir: &Path) -> Result<()> {
    if holds_lake(dir) {
        Ok(())
    } else {
        Err(Error::NotFound(format!(
            "the lake at {} has no extracts yet",
            dir.display()
        )))
    }
}

/// The simulated history an embedded first start writes, so the strategic
/// view has figures without a click: 30 days of the default fleet, a reading
/// every 15 minutes.
pub const FIRST_LAKE_DAYS: u32 = 30;
pub const FIRST_LAKE_INTERVAL_MS: u64 = 15 * 60 * 1000;

/// The name of a strategic view's run, as its status shows it.
pub const VIEW_JOB: &str = "reading the lake";

impl Session {
    /// Points the strategic view (and lake fleets) at another folder, as the
    /// page asks: only a folder that already holds a lake (`readings/`
    /// under it). The page is not trusted to name any other path, since lake
    /// jobs write (and, cancelled, delete) there; a new folder comes from the
    /// native dialog (ChooseLakeDir), through [`Session::use_lake_dir`].
    pub async fn set_lake_dir(&self, dir: String) -> Result<String> {
        let dir = PathBuf::from(dir.trim());
        if dir.as_os_str().is_empty() {
            return Err(Error::Invalid("name the lake folder".into()));
        }
        if !holds_lake(&dir) {
            return Err(Error::Invalid(format!(
                "{} holds no lake (no readings/ folder in it): choose a new lake folder in the folder dialog",
                dir.display()
            )));
        }
        self.use_lake_dir(dir)
    }

    /// Points the strategic view (and lake fleets) at a folder the operator
    /// picked in the native folder dialog, or the settings file saved: any
    /// existing folder. Answers the folder in use.
    pub fn use_lake_dir(&self, dir: PathBuf) -> Result<String> {
        if !dir.is_dir() {
            return Err(Error::Invalid(format!("{} is not a folder", dir.display())));
        }
        let shown = dir.display().to_string();
        match self.lake_dir.write() {
            Ok(mut d) => *d = dir,
            Err(e) => *e.into_inner() = dir,
        }
        Ok(shown)
    }

    /// A strategic view over the lake's extracts, answered when done (for
    /// scripts and tests; the app runs views as jobs, [`Session::run_view`]).
    pub async fn aggregate(&self, query: AggregateQuery) -> Result<ResultTable> {
        check_range(query.from_us, query.to_us)?;
        let lake = self.lake_dir();
        blocking(move || {
            let never = AtomicBool::new(false);
            Ok(run_view_on(&lake, query, &never, &|_, _| {})?.table)
        })
        .await
    }

    /// Starts a strategic view as the job: its status says the files read
    /// of the files to read, CancelJob stops it between files, and the
    /// status after it ended well carries its figures, once. A cancelled or
    /// failed run gives no figures at all. A view asked while another runs
    /// replaces it; while the lake is being written, the lake is taken as
    /// empty until that job ends (the view asks again then).
    pub async fn run_view(&self, query: AggregateQuery) -> Result<JobStatus> {
        check_range(query.from_us, query.to_us)?;
        let lake = self.lake_dir();
        if query.athena.is_none() {
            require_lake(&lake)?;
        }
        let mut slot = self.job.lock().await;
        if let Some(job) = slot.as_ref().filter(|j| !j.task.is_finished()) {
            if job.view.is_none() {
                return Err(Error::NotFound(
                    "the lake is being written; its figures follow when it is done".into(),
                ));
            }
            // The newer question wins; the older run stops at its next file.
            job.cancel.store(true, Ordering::Relaxed);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let files: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let progress = Arc::new(std::sync::Mutex::new((
            0.0f32,
            "listing the extracts".to_string(),
        )));
        let (stop, _) = tokio::sync::watch::channel(false);
        let (flag, counts, shared) = (cancel.clone(), files.clone(), progress.clone());
        let task = if let Some(target) = query.athena.clone() {
            let cache = self.engine.cache_path().to_path_buf();
            tokio::spawn(crate::athena::run_view(query, target, cache, flag, shared))
        } else {
            self.spawn_local_view(lake, query, flag, counts, shared)
        };
        *slot = Some(Job {
            name: VIEW_JOB.to_string(),
            progress,
            stop,
            cancel,
            view: Some(files),
            task,
        });
        drop(slot);
        Ok(self.job_status().await)
    }

    /// A view's run over the lake folder, on a blocking thread.
    fn spawn_local_view(
        &self,
        lake: PathBuf,
        query: AggregateQuery,
        flag: Arc<AtomicBool>,
        counts: Arc<[AtomicU64; 2]>,
        shared: Arc<std::sync::Mutex<(f32, String)>>,
    ) -> tokio::task::JoinHandle<Result<JobEnd, String>> {
        tokio::spawn(async move {
            let run = tokio::task::spawn_blocking(move || {
                let on_progress = |read: usize, total: usize| {
                    counts[0].store(read as u64, Ordering::Relaxed);
                    counts[1].store(total as u64, Ordering::Relaxed);
                    if let Ok(mut g) = shared.lock() {
                        g.0 = if total == 0 {
                            1.0
                        } else {
                            read as f32 / total as f32
                        };
                        g.1 = format!("{read} of {total} files read");
                    }
                };
                run_view_on(&lake, query, &flag, &on_progress)
            });
            match run.await {
                Ok(Ok(view)) => Ok(JobEnd {
                    message: format!(
                        "{} rows from {} records",
                        view.table.rows.len(),
                        view.report.records
                    ),
                    table: Some(view.table),
                    notes: view.notes,
                }),
                Ok(Err(Error::Lake(e))) if matches!(*e, gridwatch_lake::LakeError::Cancelled) => {
                    Err("cancelled; no figures".to_string())
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    /// The measures and dimensions the extracts of a range hold, for the
    /// view's pickers.
    pub async fn lake_catalog(&self, query: CatalogQuery) -> Result<LakeCatalog> {
        let lake = self.lake_dir();
        blocking(move || {
            if !holds_lake(&lake) {
                return Ok(LakeCatalog::default());
            }
            let never = AtomicBool::new(false);
            let (catalog, _) =
                gridwatch_lake::aggregate::catalog(&lake, query.from_us, query.to_us, &never)?;
            Ok(catalog)
        })
        .await
    }

    /// The operator's SQL over the lake's readings of a range, through
    /// polars (the CLI's `lake sql`).
    pub async fn lake_sql(&self, query: LakeSqlQuery) -> Result<ResultTable> {
        check_range(query.from_us, query.to_us)?;
        if query.sql.trim().is_empty() {
            return Err(Error::Invalid(
                "write a query over the table readings".into(),
            ));
        }
        let lake = self.lake_dir();
        let cancel = Arc::new(AtomicBool::new(false));
        crate::lock(&self.lake_sql_cancel).push(cancel.clone());
        let flag = cancel.clone();
        let answer = blocking(move || {
            require_lake(&lake)?;
            let request = gridwatch_lake::sql::SqlRequest {
                sql: query.sql,
                from_us: query.from_us,
                to_us: query.to_us,
                memory_budget: gridwatch_lake::readings::default_memory_budget(),
            };
            let answer = gridwatch_lake::sql::run(&lake, &request, &flag, &|_, _| {})?;
            let mut table = answer.table()?;
            table.lake_dir = lake.display().to_string();
            table.skipped = answer.report.skipped();
            Ok(table)
        })
        .await;
        crate::lock(&self.lake_sql_cancel).retain(|c| !Arc::ptr_eq(c, &cancel));
        answer
    }

    /// Stops the running LakeSql queries (the SQL box's Cancel): each
    /// answers `Cancelled` at once, with no table.
    pub fn cancel_lake_sql(&self) {
        for cancel in crate::lock(&self.lake_sql_cancel).drain(..) {
            cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Writes simulated history into an empty lake, so a first start in
    /// embedded mode has strategic figures; does nothing if the lake folder
    /// already holds readings (or a job runs).
    pub async fn fill_empty_lake(&self) -> Result<Option<JobStatus>> {
        if holds_lake(&self.lake_dir()) {
            return Ok(None);
        }
        let spec = FleetSpec {
            interval_ms: FIRST_LAKE_INTERVAL_MS,
            ..FleetSpec::default()
        };
        tracing::info!(lake = %self.lake_dir().display(), "no lake yet: writing {FIRST_LAKE_DAYS} days of simulated history");
        self.fill_lake(FillLake {
            days: FIRST_LAKE_DAYS,
            spec,
        })
        .await
        .map(Some)
    }

    /// Starts writing `days` of simulated history into the lake.
    pub async fn fill_lake(&self, request: FillLake) -> Result<JobStatus> {
        let mut slot = self.job.lock().await;
        if slot.as_ref().is_some_and(|j| !j.task.is_finished()) {
            return Err(Error::Invalid(
                "a job is already running; cancel it or wait".into(),
            ));
        }
        if request.days == 0 {
            return Err(Error::Invalid("give at least one day".into()));
        }
        request.spec.validate()?;
        let progress = Arc::new(std::sync::Mutex::new((0.0f32, "starting".to_string())));
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let now = gridwatch_core::time::now_us();
        let span = i64::from(request.days) * gridwatch_core::time::MICROS_PER_DAY;
        let start = now - span;
        let dir = self.lake_dir();
        let shared = progress.clone();
        let cancelled = stop_rx.clone();
        let task = tokio::spawn(async move {
            let mut sink = gridwatch_simulator::lake::LakeSink::new(
                gridwatch_simulator::lake::LakeOptions::new(&dir),
            );
            let mut fleet = gridwatch_simulator::Fleet::new(&request.spec, start);
            let options = RunOptions {
                pacing: Pacing::AsFastAsPossible,
                end_us: Some(now),
            };
            let summary =
                gridwatch_simulator::run_fleet(&mut fleet, &mut sink, options, stop_rx, move |p| {
                    if let Ok(mut g) = shared.lock() {
                        g.0 = ((p.reached_us - start) as f64 / span as f64).clamp(0.0, 1.0) as f32;
                        g.1 = format!("{} records", p.records);
                    }
                })
                .await
                .map_err(|e| e.to_string())?;
            if *cancelled.borrow() {
                sink.remove_written().map_err(|e| e.to_string())?;
                return Err("cancelled; the partial history was removed".to_string());
            }
            let stats = sink.stats();
            Ok(format!("{} records in {} files", summary.records, stats.files).into())
        });
        *slot = Some(Job {
            name: format!("writing {} days of history", request.days),
            progress,
            stop,
            cancel: Arc::new(AtomicBool::new(false)),
            view: None,
            task,
        });
        drop(slot);
        Ok(self.job_status().await)
    }

    /// The running (or last) long job.
    pub async fn job_status(&self) -> JobStatus {
        let mut slot = self.job.lock().await;
        if let Some(job) = slot.as_ref() {
            if !job.task.is_finished() {
                let (fraction, message) =
                    job.progress.lock().map(|g| g.clone()).unwrap_or_default();
                let [read, total] = job
                    .view
                    .as_ref()
                    .map_or([0, 0], |f| [0, 1].map(|i| f[i].load(Ordering::Relaxed)));
                return JobStatus {
                    running: true,
                    name: job.name.clone(),
                    fraction,
                    message,
                    view: job.view.is_some(),
                    files_read: read,
                    files_total: total,
                    ..JobStatus::default()
                };
            }
            if let Some(job) = slot.take() {
                let [read, total] = job
                    .view
                    .as_ref()
                    .map_or([0, 0], |f| [0, 1].map(|i| f[i].load(Ordering::Relaxed)));
                let ended = JobStatus {
                    running: false,
                    name: job.name.clone(),
                    view: job.view.is_some(),
                    files_read: read,
                    files_total: total,
                    ..JobStatus::default()
                };
                let status = match job.task.await {
                    Ok(Ok(end)) => JobStatus {
                        fraction: 1.0,
                        message: end.message,
                        table: end.table,
                        notes: end.notes,
                        ..ended
                    },
                    Ok(Err(e)) => JobStatus {
                        error: Some(e),
                        ..ended
                    },
                    Err(e) => JobStatus {
                        error: Some(e.to_string()),
                        ..ended
                    },
                };
                // The figures go out once, with this answer; the status
                // kept for later asks says only how the job ended.
                *crate::lock(&self.last_job) = Some(JobStatus {
                    table: None,
                    ..status.clone()
                });
                return status;
            }
        }
        crate::lock(&self.last_job).clone().unwrap_or_default()
    }

    /// Asks the running job to stop: a lake being written keeps what it
    /// wrote; a view's run stops between files and gives no figures.
    pub async fn cancel_job(&self) -> JobStatus {
        if let Some(job) = self.job.lock().await.as_ref() {
            let _ = job.stop.send(true);
            job.cancel.store(true, Ordering::Relaxed);
        }
        self.job_status().await
    }

    /// Writes a table the UI shows to `path` (chosen in a save dialog).
    pub async fn export_table(&self, request: ExportTable, path: PathBuf) -> Result<Saved> {
        blocking(move || {
            gridwatch_lake::table::write_table(&request.table, &path, request.format)?;
            Ok(Saved {
                path: Some(path.display().to_string()),
            })
        })
        .await
    }

    /// Writes a report over the lake to `path` (chosen in a save dialog).
    pub async fn save_report(&self, request: SaveReport, path: PathBuf) -> Result<Saved> {
        let lake = self.lake_dir();
        blocking(move || {
            let filters = request
                .region
                .iter()
                .map(|r| ("Region".to_string(), r.clone()))
                .collect();
            report::write(&lake, request.from_us, request.to_us, filters, &[], &path)?;
            Ok(Saved {
                path: Some(path.display().to_string()),
            })
        })
        .await
    }
}
