//! Grafana dashboards in the app: imported from an export (a file the
//! operator picks, or its text), saved by name beside the cache, and run:
//! every panel's queries at once (a few at a time), answers cached so the
//! dashboard opens offline with its last answers, marked.

use std::path::PathBuf;

use gridwatch_core::aws::AwsOptions;
use gridwatch_core::grafana::{DashboardStore, GrafanaError, RunOptions, run_dashboard};
use gridwatch_types::{Dashboard, DashboardAnswers, ImportDashboard, RunDashboard};

use crate::{Error, Result, Session, blocking, lock};

/// Panel queries in flight at once, at most: Timestream queues what is
/// past an account's concurrency, and a dashboard should not take it all.
pub const PANEL_CONCURRENCY: usize = 4;

/// The session's error for a dashboard's: what is not there is NotFound,
/// the rest is the request's (a file that is no dashboard, a variable's
/// value that cannot be written safely).
fn error(e: GrafanaError) -> Error {
    match e {
        GrafanaError::NotFound(_) => Error::NotFound(e.to_string()),
        other => Error::Invalid(other.to_string()),
    }
}

impl Session {
    fn dashboard_store(&self) -> DashboardStore {
        DashboardStore::beside_cache(self.engine.cache_path())
    }

    pub async fn import_dashboard(&self, import: ImportDashboard) -> Result<Dashboard> {
        let store = self.dashboard_store();
        blocking(move || {
            store
                .import(&import.json, import.name.as_deref())
                .map_err(error)
        })
        .await
    }

    /// Imports the dashboard file the operator picked.
    pub async fn choose_dashboard_file(&self, path: PathBuf) -> Result<Dashboard> {
        let json = std::fs::read_to_string(&path)
            .map_err(|e| Error::Invalid(format!("cannot read {}: {e}", path.display())))?;
        self.import_dashboard(ImportDashboard { json, name: None })
            .await
    }

    pub fn dashboards(&self) -> Vec<String> {
        self.dashboard_store().list()
    }

    pub fn load_dashboard(&self, name: &str) -> Result<Dashboard> {
        self.dashboard_store().load(name).map_err(error)
    }

    pub async fn run_dashboard(&self, run: RunDashboard) -> Result<DashboardAnswers> {
        let dashboard = self.load_dashboard(&run.name)?;
        let c = &run.connection;
        let named = |s: &String| Some(s.clone()).filter(|s| !s.is_empty());
        let options = RunOptions {
            aws: AwsOptions::from_form(&c.profile, &c.region, &c.endpoint_url),
            database: named(&c.database),
            table: named(&c.table),
            measure: None,
            width_px: if run.width_px == 0 {
                1920
            } else {
                run.width_px
            },
            max_bytes: run.max_bytes,
            concurrency: PANEL_CONCURRENCY,
            cache: self.engine.cache_path().to_owned(),
            now_us: gridwatch_core::time::now_us(),
            time_from: run.time_from.clone(),
            time_to: run.time_to.clone(),
        };
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        {
            // CancelHistory stops a dashboard's queries too.
            let mut running = lock(&self.history_stop);
            running.retain(|s| !s.is_closed());
            running.push(stop);
        }
        run_dashboard(&dashboard, &run.variables, &run.panels, &options, &stop_rx)
            .await
            .map_err(error)
    }
}
