//! The one entry point of the IPC: each [`Request`] to the session method of
//! the same name, and its answer to a [`Reply`]. The Tauri shell calls
//! [`Session::dispatch`] from its one command; the UI's tests call it
//! in-process, so both drive the same code.

use std::future::Future;
use std::path::PathBuf;

use gridwatch_types::{ApiError, Notification, Reply, Request, Settings, TableFormat};

use crate::{Error, Result, Session, settings};

/// What only the desktop can do: its dialogs, notifications and the window.
/// The Tauri shell implements it with the desktop's own; tests with files
/// in a folder of theirs.
pub trait Desktop: Send + Sync {
    /// Where to save a file; None if the operator cancelled the dialog.
    fn save_path(
        &self,
        suggested_name: &str,
        filter: &FileFilter,
    ) -> impl Future<Output = Option<PathBuf>> + Send;
    /// A folder the operator picked; None if cancelled.
    fn pick_folder(&self, title: &str) -> impl Future<Output = Option<PathBuf>> + Send;
    /// A file to open, picked in the desktop's dialog; None if cancelled
    /// (and on desktops without one).
    fn open_path(
        &self,
        _title: &str,
        _filter: &FileFilter,
    ) -> impl Future<Output = Option<PathBuf>> + Send {
        async { None }
    }
    fn notify(&self, notification: &Notification) -> Result<(), String>;
    /// Closes the app; the shell drains the pipeline on its way out.
    fn quit(&self);
}

/// The kind of file a save dialog offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFilter {
    pub name: &'static str,
    pub extensions: &'static [&'static str],
}

impl FileFilter {
    pub const CSV: FileFilter = FileFilter {
        name: "CSV",
        extensions: &["csv"],
    };
    pub const PARQUET: FileFilter = FileFilter {
        name: "Parquet",
        extensions: &["parquet"],
    };
    pub const HTML: FileFilter = FileFilter {
        name: "HTML",
        extensions: &["html"],
    };
    pub const PDF: FileFilter = FileFilter {
        name: "PDF",
        extensions: &["pdf"],
    };
    pub const JSON: FileFilter = FileFilter {
        name: "Grafana dashboard (JSON)",
        extensions: &["json"],
    };
}

impl Session {
    /// Answers one request; every failure is worded and coded here, once.
    pub async fn dispatch(
        &self,
        desktop: &impl Desktop,
        request: Request,
    ) -> Result<Reply, ApiError> {
        let kind = request.kind();
        self.answer(desktop, request).await.map_err(|e| {
            tracing::debug!(request = kind, error = %e, "request failed");
            ApiError::from(e)
        })
    }

    async fn answer(&self, desktop: &impl Desktop, request: Request) -> Result<Reply> {
        Ok(match request {
            Request::FleetStatus => Reply::FleetStatus(self.fleet_status().await),
            Request::StartFleet(launch) => Reply::FleetStatus(self.start_fleet(launch).await?),
            Request::StopFleet => Reply::FleetStatus(self.stop_fleet().await?),
            Request::Devices => Reply::Devices(self.devices().await?),
            Request::WatchDevice(device) => {
                self.watch_device(device);
                Reply::Done
            }
            Request::Chart(chart) => Reply::Chart(self.chart(chart).await?),
            Request::ReportHealth(health) => {
                self.report_health(health);
                Reply::Done
            }
            Request::ConnectStream(conn) => Reply::FleetStatus(self.connect_stream(conn).await?),
            Request::DisconnectStream => Reply::FleetStatus(self.disconnect_stream().await),
            Request::Shards => Reply::Shards(self.shards().await),
            Request::Aggregate(query) => Reply::Table(self.aggregate(query).await?),
            Request::RunView(query) => Reply::Job(self.run_view(query).await?),
            Request::EstimateView(query) => Reply::Estimate(self.estimate_view(query).await?),
            Request::LakeCatalog(query) => Reply::Catalog(self.lake_catalog(query).await?),
            Request::LakeSql(query) => Reply::Table(self.lake_sql(query).await?),
            Request::FillLake(fill) => Reply::Job(self.fill_lake(fill).await?),
            Request::JobStatus => Reply::Job(self.job_status().await),
            Request::CancelJob => Reply::Job(self.cancel_job().await),
            Request::History(query) => Reply::History(self.history(query).await?),
            Request::HistoryVariables(query) => {
                Reply::Variables(self.history_variables(query).await?)
            }
            Request::StartBridge(job) => Reply::Bridge(self.start_bridge(job).await?),
            Request::StopBridge => Reply::Bridge(self.stop_bridge().await),
            Request::BridgeStatus => Reply::Bridge(self.bridge_status().await),
            Request::CancelLakeSql => {
                self.cancel_lake_sql();
                Reply::Done
            }
            Request::CancelHistory => {
                self.cancel_history();
                Reply::Done
            }
            Request::EstimateCost(spec) => Reply::Cost(self.estimate_cost(&spec)),
            Request::ExportTable(export) => {
                let filter = match export.format {
                    TableFormat::Csv => FileFilter::CSV,
                    TableFormat::Parquet => FileFilter::PARQUET,
                };
                match desktop.save_path(&export.name, &filter).await {
                    Some(path) => Reply::Saved(self.export_table(export, path).await?),
                    None => Reply::Saved(Default::default()),
                }
            }
            Request::SaveReport(report) => {
                let (name, filter) = if report.pdf {
                    ("gridwatch-report.pdf", FileFilter::PDF)
                } else {
                    ("gridwatch-report.html", FileFilter::HTML)
                };
                match desktop.save_path(name, &filter).await {
                    Some(path) => Reply::Saved(self.save_report(report, path).await?),
                    None => Reply::Saved(Default::default()),
                }
            }
            Request::LoadSettings => Reply::Settings(Box::new(self.load_settings()?)),
            Request::SaveSettings(settings) => {
                self.save_settings(*settings)?;
                Reply::Done
            }
            Request::Notify(notification) => {
                tracing::info!(title = %notification.title, "desktop notification");
                desktop.notify(&notification).map_err(Error::Desktop)?;
                Reply::Done
            }
            Request::Quit => {
                desktop.quit();
                Reply::Done
            }
            Request::TestConnection(test) => Reply::Tested(self.test_connection(test).await?),
            Request::PruneCache(days) => Reply::Pruned(self.prune_cache(days).await?),
            Request::SetLakeDir(dir) => Reply::LakeDir(self.set_lake_dir(dir).await?),
            Request::ChooseLakeDir => match desktop.pick_folder("Lake folder").await {
                Some(dir) => Reply::LakeDir(self.use_lake_dir(dir)?),
                // Cancelled: nothing changes.
                None => Reply::LakeDir(self.lake_dir().display().to_string()),
            },
            Request::ImportDashboard(import) => {
                Reply::Dashboard(Box::new(self.import_dashboard(import).await?))
            }
            Request::ChooseDashboardFile => {
                match desktop
                    .open_path("Open Grafana dashboard", &FileFilter::JSON)
                    .await
                {
                    Some(path) => {
                        Reply::Dashboard(Box::new(self.choose_dashboard_file(path).await?))
                    }
                    // Cancelled: nothing changes.
                    None => Reply::Done,
                }
            }
            Request::Dashboards => Reply::Dashboards(self.dashboards()),
            Request::LoadDashboard(name) => Reply::Dashboard(Box::new(self.load_dashboard(&name)?)),
            Request::RunDashboard(run) => {
                Reply::DashboardAnswers(Box::new(self.run_dashboard(run).await?))
            }
        })
    }

    /// The settings saved in the previous run; their lake folder is used
    /// again.
    pub fn load_settings(&self) -> Result<Settings> {
        let settings = settings::load(&self.settings_path)?;
        self.use_saved_lake_dir(&settings);
        Ok(settings)
    }

    /// At start, before the UI asks for the settings: the lake folder of
    /// the previous run is used again. A settings file that does not read
    /// is left for [`Session::load_settings`] to report and move aside.
    pub fn resume_lake_dir(&self) {
        let saved = std::fs::read_to_string(&self.settings_path)
            .ok()
            .and_then(|text| serde_json::from_str::<Settings>(&text).ok());
        if let Some(settings) = saved {
            self.use_saved_lake_dir(&settings);
        }
    }

    /// The settings file is the app's own, written from what the operator
    /// picked: its lake folder is trusted, though it may hold no lake yet.
    fn use_saved_lake_dir(&self, settings: &Settings) {
        if let Some(dir) = settings
            .lake_dir
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            && let Err(e) = self.use_lake_dir(PathBuf::from(dir))
        {
            tracing::warn!(dir, error = %e, "the saved lake folder is not usable");
        }
    }

    pub fn save_settings(&self, mut settings: Settings) -> Result<()> {
        // The lake folder saved is the one in use, never one the page names:
        // the next start trusts the saved folder, so the page must not choose it.
        settings.lake_dir = Some(self.lake_dir().display().to_string());
        Ok(settings::save(&self.settings_path, &settings)?)
    }
}
