//! A session: what the app does for its UI, as plain Rust, so the Tauri
//! commands stay one line each and the UI's tests drive the very same code
//! in-process.
//!
//! A session owns the embedded pipeline and, when the operator connects to a
//! Kinesis stream, a [`Follower`] of that stream. The UI is fed from one of
//! their live views, the *active* one.

pub mod report;
pub mod settings;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use gridwatch_core::aws::{AwsOptions, AwsProblem};
use gridwatch_core::kinesis::{
    ConsumerConfig, Follower, KinesisError, StartAt, list_shards, stream_identity,
};
use gridwatch_core::live::LiveView;
use gridwatch_core::probe;
use gridwatch_core::{Cache, CacheReader};
use gridwatch_simulator::kinesis::KinesisSink;
use gridwatch_simulator::lake::{LakeOptions, LakeSink};
use gridwatch_simulator::{Embedded, Pacing, RunOptions, RunProgress};
use gridwatch_types::{
    AggregateQuery, ApiError, Cell, ChartRequest, ChartSeries, ConnectionTarget, ConnectionTest,
    DeviceInfo, ErrorCode, FillLake, FleetLaunch, FleetSink, FleetSpec, FleetStatus, HistoryQuery,
    HistoryResult, JobStatus, Mode, Production, ResultTable, ShardStatus, StreamConnection,
};

/// Which live view feeds the UI; swapped when a stream is connected.
pub type ActiveLive = Arc<RwLock<Arc<LiveView>>>;

/// The live view `active` points at now.
pub fn current(active: &ActiveLive) -> Arc<LiveView> {
    // A poisoned lock still holds a valid Arc: use it.
    active
        .read()
        .map(|a| a.clone())
        .unwrap_or_else(|e| e.into_inner().clone())
}

/// The checkpoint source a stream's shards are filed under in the cache,
/// from its identity ([`gridwatch_core::kinesis::stream_identity`]: ARN,
/// creation time, endpoint), so a stream made again under the same name, or
/// one of another account, never resumes from foreign sequence numbers.
pub fn stream_source(identity: &str) -> String {
    format!("kinesis:{identity}")
}

fn cache_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Cache, e.to_string())
}

/// A long job running in the background, with its progress.
struct Job {
    name: String,
    progress: Arc<std::sync::Mutex<(f32, String)>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<String, String>>,
}

pub struct Session {
    engine: Embedded,
    /// Changed from the Connections window; read by each lake job.
    lake_dir: RwLock<PathBuf>,
    job: tokio::sync::Mutex<Option<Job>>,
    last_job: std::sync::Mutex<Option<JobStatus>>,
    /// One per running history query (Discover runs two at once); Cancel
    /// stops them all.
    history_stop: std::sync::Mutex<Vec<tokio::sync::watch::Sender<bool>>>,
    stream: tokio::sync::Mutex<Option<(String, Follower)>>,
    active: ActiveLive,
    production: std::sync::Mutex<Option<ProductionMeter>>,
}

impl Session {
    pub fn new(engine: Embedded, lake_dir: PathBuf) -> Session {
        Session {
            lake_dir: RwLock::new(lake_dir),
            job: tokio::sync::Mutex::new(None),
            last_job: std::sync::Mutex::new(None),
            history_stop: std::sync::Mutex::new(Vec::new()),
            active: Arc::new(RwLock::new(engine.live().clone())),
            stream: tokio::sync::Mutex::new(None),
            production: std::sync::Mutex::new(None),
            engine,
        }
    }

    /// The lake folder the strategic view reads now.
    pub fn lake_dir(&self) -> PathBuf {
        match self.lake_dir.read() {
            Ok(d) => d.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    /// Points the strategic view (and lake fleets) at another folder, as the
    /// page asks: only a folder that already holds a lake (`readings/`
    /// under it). The page is not trusted to name any other path, since lake
    /// jobs write (and, cancelled, delete) there; a new folder comes from the
    /// native dialog, through [`Session::use_picked_lake_dir`].
    pub async fn set_lake_dir(&self, dir: String) -> Result<FleetStatus, ApiError> {
        let dir = PathBuf::from(dir.trim());
        if dir.as_os_str().is_empty() {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "name the lake folder",
            ));
        }
        if !dir.join("readings").is_dir() {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!(
                    "{} holds no lake (no readings/ folder in it): choose a new lake folder in the folder dialog",
                    dir.display()
                ),
            ));
        }
        self.use_picked_lake_dir(dir).await
    }

    /// Points the strategic view (and lake fleets) at a folder the operator
    /// picked in the native folder dialog (or one that holds a lake): any
    /// existing folder.
    pub async fn use_picked_lake_dir(&self, dir: PathBuf) -> Result<FleetStatus, ApiError> {
        if !dir.is_dir() {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{} is not a folder", dir.display()),
            ));
        }
        match self.lake_dir.write() {
            Ok(mut d) => *d = dir,
            Err(e) => *e.into_inner() = dir,
        }
        Ok(self.status().await)
    }

    pub fn engine(&self) -> &Embedded {
        &self.engine
    }

    /// A handle on the active live view that a feed task can keep.
    pub fn active_handle(&self) -> ActiveLive {
        self.active.clone()
    }

    fn set_active(&self, live: Arc<LiveView>) {
        match self.active.write() {
            Ok(mut a) => *a = live,
            Err(e) => *e.into_inner() = live,
        }
    }

    pub async fn status(&self) -> FleetStatus {
        let mut status = self.engine.status().await;
        status.lake_dir = self.lake_dir().display().to_string();
        if status.running.is_some() {
            status.production = lock(&self.production).as_ref().map(|m| m.read());
        }
        if let Some((name, _)) = self.stream.lock().await.as_ref() {
            status.mode = Mode::Kinesis;
            status.stream = Some(name.clone());
        }
        status
    }

    /// Starts a live fleet into the chosen sink: the embedded pipeline, a
    /// Kinesis stream or the lake folder.
    pub async fn start_fleet(&self, launch: FleetLaunch) -> Result<FleetStatus, ApiError> {
        let FleetLaunch { spec, sink } = launch;
        if spec.device_count() == 0 {
            return Err(ApiError::new(ErrorCode::InvalidInput, "the fleet is empty"));
        }
        if spec.interval_ms == 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "the interval must be longer than zero",
            ));
        }
        if !(0.0..=1.0).contains(&spec.anomaly_rate) {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("anomaly rate {} is not between 0 and 1", spec.anomaly_rate),
            ));
        }
        let live = RunOptions {
            pacing: Pacing::RealTime,
            end_us: None,
        };
        let meter = ProductionMeter::start(sink.describe());
        let progress = {
            let meter = meter.clone();
            move |p: RunProgress| meter.record(p.records)
        };
        let now = gridwatch_core::time::now_us();
        let started = match &sink {
            FleetSink::InProcess => self.engine.start_fleet(spec, now, live, progress).await,
            FleetSink::Kinesis(conn) => {
                let (client, aws) = kinesis_client(conn).await?;
                let sink = KinesisSink::connect(client, &conn.stream, 1)
                    .await
                    .map_err(|e| {
                        ApiError::new(ErrorCode::Aws, format!("{e} (using {})", aws.describe()))
                    })?;
                self.engine
                    .start_fleet_into(spec, sink, now, live, progress)
                    .await
            }
            FleetSink::Lake => {
                let mut options = LakeOptions::new(self.lake_dir());
                // Firehose's shortest buffer interval, so a live fleet's
                // extracts show up within a minute.
                options.buffer_interval = std::time::Duration::from_secs(60);
                self.engine
                    .start_fleet_into(spec, LakeSink::new(options), now, live, progress)
                    .await
            }
        };
        started.map_err(|e| ApiError::from(&e))?;
        *lock(&self.production) = Some(meter);
        Ok(self.status().await)
    }

    pub async fn stop_fleet(&self) -> Result<FleetStatus, ApiError> {
        self.engine
            .stop_fleet()
            .await
            .map_err(|e| ApiError::from(&e))?;
        Ok(self.status().await)
    }

    /// Sends every new reading of `device` with the live batches.
    pub fn watch(&self, device: Option<String>) {
        self.engine.live().watch(device.clone());
        current(&self.active).watch(device);
    }

    pub async fn devices(&self) -> Result<Vec<DeviceInfo>, ApiError> {
        let path = self.engine.cache_path().to_owned();
        blocking(move || {
            CacheReader::open(&path)
                .and_then(|r| r.devices())
                .map_err(cache_error)
        })
        .await
    }

    pub async fn chart(&self, request: ChartRequest) -> Result<ChartSeries, ApiError> {
        if request.pixels == 0 || request.pixels > 20_000 || request.to_us <= request.from_us {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "a chart needs 1 to 20000 pixels and a range that ends after it starts",
            ));
        }
        gridwatch_core::timestream::check_range(request.from_us, request.to_us)
            .map_err(|e| ApiError::new(ErrorCode::InvalidInput, e))?;
        let path = self.engine.cache_path().to_owned();
        blocking(move || {
            let reader = CacheReader::open(&path).map_err(cache_error)?;
            let columns = reader
                .chart(
                    request.device_id.as_deref(),
                    &request.measure,
                    request.from_us,
                    request.to_us,
                    request.pixels,
                )
                .map_err(cache_error)?;
            Ok(ChartSeries {
                device_id: request.device_id,
                measure: request.measure,
                columns,
            })
        })
        .await
    }

    /// Follows `conn.stream` into the cache and feeds the UI from it.
    pub async fn connect(&self, conn: StreamConnection) -> Result<FleetStatus, ApiError> {
        let (client, aws) = kinesis_client(&conn).await?;
        // Listing the shards first turns a wrong name, region or credential
        // into a clear error now rather than a silent empty chart.
        let refused = |e: KinesisError| {
            let code = match e {
                KinesisError::StreamNotFound { .. } => ErrorCode::NotFound,
                _ => ErrorCode::Aws,
            };
            ApiError::new(code, format!("{e} (using {})", aws.describe()))
        };
        list_shards(&client, &conn.stream).await.map_err(refused)?;
        let identity = stream_identity(&client, &conn.stream, aws.endpoint_url.as_deref())
            .await
            .map_err(refused)?;
        self.disconnect().await;
        // Checkpoints an earlier Gridwatch filed under the stream's bare
        // name are not taken over here, unlike `ingest`: a refused one would
        // leave the app no way to start over (the CLI has --from), so the
        // app starts at LATEST once after the upgrade instead.
        let cache = Cache::open(self.engine.cache_path()).map_err(cache_error)?;
        let follower = Follower::start(
            client,
            ConsumerConfig::new(&conn.stream, StartAt::Latest),
            cache,
            stream_source(&identity),
        )
        .map_err(cache_error)?;
        self.set_active(follower.live.clone());
        tracing::info!(stream = %conn.stream, using = %aws.describe(), "following a Kinesis stream");
        *self.stream.lock().await = Some((conn.stream, follower));
        Ok(self.status().await)
    }

    /// Stops following the stream, if any; the embedded pipeline feeds the
    /// UI again.
    pub async fn disconnect(&self) -> FleetStatus {
        let previous = self.stream.lock().await.take();
        self.set_active(self.engine.live().clone());
        if let Some((name, follower)) = previous {
            let (consumed, written) = follower.stop().await;
            if let Err(e) = consumed {
                tracing::warn!(stream = %name, error = %e, "the stream consumer had failed");
            }
            match written {
                Ok(summary) => tracing::info!(stream = %name, ?summary, "stopped following"),
                Err(e) => {
                    tracing::warn!(stream = %name, error = %e, "the stream's cache writer failed")
                }
            }
        }
        self.status().await
    }

    /// The Connections window's Test button: one read-only call that says
    /// whether the settings reach what they name, and if not, why.
    pub async fn test_connection(&self, test: ConnectionTest) -> Result<String, ApiError> {
        let aws = AwsOptions::from_form(&test.profile, &test.region, &test.endpoint_url);
        let service = test.target.service();
        let missing = |what: &str| {
            Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{service}: name the {what}"),
            ))
        };
        let found = match &test.target {
            ConnectionTarget::Kinesis { stream } if stream.trim().is_empty() => {
                return missing("stream");
            }
            ConnectionTarget::Kinesis { stream } => probe::kinesis(&aws, stream.trim()).await,
            ConnectionTarget::Timestream { database, table }
                if database.trim().is_empty() || table.trim().is_empty() =>
            {
                return missing("database and the table");
            }
            ConnectionTarget::Timestream { database, table } => {
                probe::timestream(&aws, database.trim(), table.trim()).await
            }
            ConnectionTarget::S3 { bucket, .. } if bucket.trim().is_empty() => {
                return missing("bucket");
            }
            ConnectionTarget::S3 { bucket, prefix } => {
                probe_s3(&aws, bucket.trim(), prefix.trim()).await
            }
        };
        found.map_err(|e| probe_error(service, e))
    }

    /// Applies a retention: readings older than `days` leave the cache.
    pub async fn prune_cache(&self, days: u32) -> Result<u64, ApiError> {
        if days == 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "keep at least one day of readings",
            ));
        }
        let path = self.engine.cache_path().to_owned();
        // Checked: a retention longer than the calendar keeps everything.
        let before = i64::from(days)
            .checked_mul(gridwatch_core::time::MICROS_PER_DAY)
            .and_then(|keep| gridwatch_core::time::now_us().checked_sub(keep))
            .unwrap_or(i64::MIN);
        blocking(move || {
            Cache::open(&path)
                .and_then(|mut c| c.prune_before(before))
                .map_err(cache_error)
        })
        .await
    }

    /// The shard panel: the followed stream's shards. Once following has
    /// failed (the cache writer or the stream), every shard's `last_error`
    /// says why, which the status bar shows.
    pub async fn shards(&self) -> Vec<ShardStatus> {
        self.stream
            .lock()
            .await
            .as_ref()
            .map(|(_, f)| f.shards())
            .unwrap_or_default()
    }

    /// A strategic view over the lake's extracts.
    pub async fn aggregate(&self, query: AggregateQuery) -> Result<ResultTable, ApiError> {
        if query.to_us <= query.from_us {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "the range must end after it starts",
            ));
        }
        let lake = self.lake_dir();
        blocking(move || {
            if !lake.join("readings").exists() {
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!("the lake at {} has no extracts yet", lake.display()),
                ));
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
            let lake_error =
                |e: &dyn std::fmt::Display| ApiError::new(ErrorCode::InvalidInput, e.to_string());
            let (out, report) =
                gridwatch_lake::aggregate(&lake, &request).map_err(|e| lake_error(&e))?;
            let mut table =
                gridwatch_lake::table::result_table(&out).map_err(|e| lake_error(&e))?;
            table.skipped = report.bad_lines.iter().map(|b| b.to_string()).collect();
            // Whole files not read, with why: the figures are the rest's.
            table.skipped.extend(
                report
                    .skipped_files
                    .iter()
                    .map(|f| format!("skipped file {f}")),
            );
            table.lake_dir = lake.display().to_string();
            Ok(table)
        })
        .await
    }

    /// Starts writing `days` of simulated history into the lake.
    pub async fn fill_lake(&self, request: FillLake) -> Result<JobStatus, ApiError> {
        let mut slot = self.job.lock().await;
        if slot.as_ref().is_some_and(|j| !j.task.is_finished()) {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "a job is already running; cancel it or wait",
            ));
        }
        if request.days == 0 || request.spec.device_count() == 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "give at least one day and one device",
            ));
        }
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
                let status = match job.task.await {
                    Ok(Ok(message)) => JobStatus {
                        running: false,
                        name: job.name,
                        fraction: 1.0,
                        message,
                        error: None,
                    },
                    Ok(Err(e)) => JobStatus {
                        running: false,
                        name: job.name,
                        fraction: 0.0,
                        message: String::new(),
                        error: Some(e),
                    },
                    Err(e) => JobStatus {
                        running: false,
                        name: job.name,
                        fraction: 0.0,
                        message: String::new(),
                        error: Some(e.to_string()),
                    },
                };
                if let Ok(mut last) = self.last_job.lock() {
                    *last = Some(status);
                }
            }
        }
        self.last_job
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .unwrap_or_default()
    }

    /// Asks the running job to stop; what it wrote so far stays.
    pub async fn cancel_job(&self) -> JobStatus {
        if let Some(job) = self.job.lock().await.as_ref() {
            let _ = job.stop.send(true);
        }
        self.job_status().await
    }

    /// History from Timestream: a chart aggregated on the server to the
    /// chart's width, or the operator's SQL; cached for offline use.
    pub async fn history(&self, q: HistoryQuery) -> Result<HistoryResult, ApiError> {
        use gridwatch_core::timestream::{self, MacroContext, TimestreamError};
        let c = &q.connection;
        let measure = if q.measure.ends_with(gridwatch_core::codec::MEASURE_SUFFIX) {
            q.measure.clone()
        } else {
            format!("{}{}", q.measure, gridwatch_core::codec::MEASURE_SUFFIX)
        };
        let invalid = |e: String| ApiError::new(ErrorCode::InvalidInput, e);
        // The page's range is checked before any arithmetic on it.
        timestream::check_range(q.from_us, q.to_us).map_err(invalid)?;
        let ctx = MacroContext {
            database: Some(c.database.clone()).filter(|s| !s.is_empty()),
            table: Some(c.table.clone()).filter(|s| !s.is_empty()),
            measure: Some(measure.clone()),
            from_us: q.from_us,
            to_us: q.to_us,
            pixels: q.pixels.max(1),
            now_us: gridwatch_core::time::now_us(),
        };
        let sql = match q.sql.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(sql) => timestream::expand_macros(sql, &ctx).map_err(invalid)?,
            None => {
                if c.database.is_empty() || c.table.is_empty() {
                    return Err(invalid("name the Timestream database and table".into()));
                }
                // Grafana's $__interval_ms idea: one bucket per pixel.
                let bucket_ms = ctx.interval_ms().map_err(invalid)?;
                timestream::bucket_query(
                    &c.database,
                    &c.table,
                    &measure,
                    q.device.as_deref(),
                    q.from_us,
                    q.to_us,
                    std::time::Duration::from_millis(bucket_ms.unsigned_abs()),
                )
            }
        };
        let options = AwsOptions::from_form(&c.profile, &c.region, &c.endpoint_url);
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        {
            let mut running = lock(&self.history_stop);
            // Finished queries dropped their receivers.
            running.retain(|s| !s.is_closed());
            running.push(stop);
        }
        let fetched = timestream::fetch_with_cache(
            &options,
            &sql,
            q.max_bytes,
            &stop_rx,
            self.engine.cache_path(),
        )
        .await
        .map_err(|e| {
            let code = match &e {
                TimestreamError::Cancelled => ErrorCode::Cancelled,
                TimestreamError::OverCap { .. } => ErrorCode::InvalidInput,
                TimestreamError::Aws { problem, .. } => problem_code(*problem),
                TimestreamError::Parse(_) => ErrorCode::Aws,
            };
            ApiError::new(code, format!("{e} (using {})", options.describe()))
        })?;
        let cell = |v: &serde_json::Value| match v {
            serde_json::Value::Null => Cell::Null,
            serde_json::Value::Number(n) => n.as_f64().map_or(Cell::Null, Cell::Number),
            serde_json::Value::String(s) => Cell::Text(s.clone()),
            other => Cell::Text(other.to_string()),
        };
        Ok(HistoryResult {
            table: ResultTable {
                columns: fetched.columns.clone(),
                rows: fetched
                    .rows
                    .iter()
                    .map(|r| r.iter().map(cell).collect())
                    .collect(),
                // Values that could not be read, shown as nulls.
                skipped: fetched.problems.clone(),
                lake_dir: String::new(),
            },
            sql,
            bytes_scanned: fetched.stats.bytes_scanned,
            bytes_metered: fetched.stats.bytes_metered,
            cached_at_us: fetched.cached_at_us,
        })
    }

    /// What the seed's pipeline would cost a month for this fleet (the
    /// built-in prices; records of about 200 bytes).
    pub fn estimate_cost(&self, spec: &FleetSpec) -> gridwatch_types::CostEstimate {
        use gridwatch_core::cost::{CostInput, Prices, estimate};
        estimate(
            &CostInput {
                devices: f64::from(spec.device_count()),
                interval_s: spec.interval_ms as f64 / 1000.0,
                ..CostInput::default()
            },
            &Prices::seed(),
        )
    }

    /// Writes a table the UI shows to `path` (chosen in a save dialog).
    pub async fn export_table(
        &self,
        request: gridwatch_types::ExportTable,
        path: PathBuf,
    ) -> Result<gridwatch_types::Saved, ApiError> {
        blocking(move || {
            gridwatch_lake::table::write_table(&request.table, &path, request.format)
                .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
            Ok(gridwatch_types::Saved {
                path: Some(path.display().to_string()),
            })
        })
        .await
    }

    /// Writes a report over the lake to `path` (chosen in a save dialog).
    pub async fn save_report(
        &self,
        request: gridwatch_types::SaveReport,
        path: PathBuf,
    ) -> Result<gridwatch_types::Saved, ApiError> {
        let lake = self.lake_dir();
        blocking(move || {
            let filters = request
                .region
                .iter()
                .map(|r| ("Region".to_string(), r.clone()))
                .collect();
            report::write(&lake, request.from_us, request.to_us, filters, &[], &path)
                .map_err(|e| ApiError::new(ErrorCode::Internal, format!("{e:#}")))?;
            Ok(gridwatch_types::Saved {
                path: Some(path.display().to_string()),
            })
        })
        .await
    }

    /// Cancels the running history queries, if any: each stops and calls
    /// Timestream's CancelQuery, so none keeps running (and metering).
    pub fn cancel_history(&self) {
        for stop in lock(&self.history_stop).drain(..) {
            let _ = stop.send(true);
        }
    }

    /// Stops everything and commits what was read.
    pub async fn shutdown(&self) -> Result<(), ApiError> {
        self.disconnect().await;
        self.engine
            .shutdown()
            .await
            .map(|summary| tracing::info!(?summary, "ingest drained"))
            .map_err(|e| ApiError::from(&e))
    }
}

/// A Kinesis client for `conn`, through the default credential chain, and
/// how it was reached (for error messages).
async fn kinesis_client(
    conn: &StreamConnection,
) -> Result<(aws_sdk_kinesis::Client, AwsOptions), ApiError> {
    if conn.stream.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "name the Kinesis stream",
        ));
    }
    let aws = AwsOptions::from_form(&conn.profile, &conn.region, &conn.endpoint_url);
    Ok((aws_sdk_kinesis::Client::new(&aws.load().await), aws))
}

/// A std mutex's guard; a poisoned lock still holds valid data here (plain
/// values, no invariants across fields).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts what the running fleet's sink has taken, for the production rate.
#[derive(Clone)]
struct ProductionMeter(Arc<std::sync::Mutex<MeterState>>);

struct MeterState {
    sink: String,
    records: u64,
    rate: f64,
    last: (std::time::Instant, u64),
}

impl ProductionMeter {
    fn start(sink: String) -> Self {
        ProductionMeter(Arc::new(std::sync::Mutex::new(MeterState {
            sink,
            records: 0,
            rate: 0.0,
            last: (std::time::Instant::now(), 0),
        })))
    }

    /// Progress arrives every few thousand records or quarter second; the
    /// rate is taken over at least a second so it does not flicker.
    fn record(&self, records: u64) {
        let mut m = lock(&self.0);
        m.records = records;
        let elapsed = m.last.0.elapsed().as_secs_f64();
        if elapsed >= 1.0 {
            m.rate = (records - m.last.1) as f64 / elapsed;
            m.last = (std::time::Instant::now(), records);
        }
    }

    fn read(&self) -> Production {
        let m = lock(&self.0);
        Production {
            sink: m.sink.clone(),
            records: m.records,
            records_per_s: m.rate,
        }
    }
}

/// The error code the UI words an AWS problem by.
fn problem_code(problem: AwsProblem) -> ErrorCode {
    match problem {
        AwsProblem::NoCredentials => ErrorCode::NoCredentials,
        AwsProblem::AccessDenied => ErrorCode::AccessDenied,
        AwsProblem::NotFound => ErrorCode::NotFound,
        AwsProblem::Unreachable => ErrorCode::Unreachable,
        AwsProblem::Invalid => ErrorCode::InvalidInput,
        // No code of their own: the message says throttled.
        AwsProblem::Throttled | AwsProblem::Other => ErrorCode::Aws,
    }
}

fn probe_error(service: &str, (problem, message): (AwsProblem, String)) -> ApiError {
    ApiError::new(problem_code(problem), format!("{service}: {message}"))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("query task failed: {e}")))?
}

/// ListObjectsV2 of one key under the prefix: the bucket is there and
/// readable, and whether extracts are.
async fn probe_s3(aws: &AwsOptions, bucket: &str, prefix: &str) -> probe::ProbeResult {
    let conf = probe::sdk_config(aws).await?;
    let client = gridwatch_lake::sync::s3_client(&conf, aws);
    // HeadBucket first: a plain 404 or 403 for a missing or forbidden bucket.
    client
        .head_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| gridwatch_core::aws::classify(&e))?;
    let out = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .max_keys(1)
        .send()
        .await
        .map_err(|e| gridwatch_core::aws::classify(&e))?;
    Ok(if out.key_count().unwrap_or(0) > 0 {
        format!("bucket {bucket}: extracts under {prefix:?}")
    } else {
        format!("bucket {bucket}: reachable, nothing under {prefix:?} yet")
    })
}
