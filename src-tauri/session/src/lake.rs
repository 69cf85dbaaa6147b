//! The lake: which folder the strategic view reads, its aggregates, the
//! long job that writes simulated history into it, and what is saved from
//! it (tables, reports).

use std::path::PathBuf;
use std::sync::Arc;

use gridwatch_simulator::{Pacing, RunOptions};
use gridwatch_types::{
    AggregateQuery, ExportTable, FillLake, FleetSpec, JobStatus, ResultTable, SaveReport, Saved,
};

use crate::{Error, Result, Session, blocking, report};

/// A long job running in the background, with its progress.
pub(crate) struct Job {
    name: String,
    progress: Arc<std::sync::Mutex<(f32, String)>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<String, String>>,
}

/// Whether `dir` holds a lake: readings under Firehose's layout.
fn holds_lake(dir: &std::path::Path) -> bool {
    dir.join(gridwatch_lake::partition::READINGS_DIR).is_dir()
}

/// The simulated history an embedded first start writes, so the strategic
/// view has figures without a click: 30 days of the default fleet, a reading
/// every 15 minutes.
pub const FIRST_LAKE_DAYS: u32 = 30;
pub const FIRST_LAKE_INTERVAL_MS: u64 = 15 * 60 * 1000;

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

    /// A strategic view over the lake's extracts.
    pub async fn aggregate(&self, query: AggregateQuery) -> Result<ResultTable> {
        if query.to_us <= query.from_us {
            return Err(Error::Invalid("the range must end after it starts".into()));
        }
        let lake = self.lake_dir();
        blocking(move || {
            if !holds_lake(&lake) {
                return Err(Error::NotFound(format!(
                    "the lake at {} has no extracts yet",
                    lake.display()
                )));
            }
            let request = gridwatch_lake::AggregateRequest {
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
            };
            // The same entry point as the CLI's `lake aggregate`; the app's
            // views are small enough not to need cancelling.
            let never = std::sync::atomic::AtomicBool::new(false);
            let options = gridwatch_lake::table::ViewOptions::default();
            Ok(gridwatch_lake::table::view(&lake, &request, &options, &never)?.table)
        })
        .await
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
            Ok(format!(
                "{} records in {} files",
                summary.records, stats.files
            ))
        });
        *slot = Some(Job {
            name: format!("writing {} days of history", request.days),
            progress,
            stop,
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
                return JobStatus {
                    running: true,
                    name: job.name.clone(),
                    fraction,
                    message,
                    error: None,
                };
            }
            if let Some(job) = slot.take() {
                let ended = |fraction, message, error| JobStatus {
                    running: false,
                    name: job.name.clone(),
                    fraction,
                    message,
                    error,
                };
                let status = match job.task.await {
                    Ok(Ok(message)) => ended(1.0, message, None),
                    Ok(Err(e)) => ended(0.0, String::new(), Some(e)),
                    Err(e) => ended(0.0, String::new(), Some(e.to_string())),
                };
                *crate::lock(&self.last_job) = Some(status);
            }
        }
        crate::lock(&self.last_job).clone().unwrap_or_default()
    }

    /// Asks the running job to stop; what it wrote so far stays.
    pub async fn cancel_job(&self) -> JobStatus {
        if let Some(job) = self.job.lock().await.as_ref() {
            let _ = job.stop.send(true);
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
