//! Grafana dashboards in the app: imported from an export (a file the
//! operator picks, or its text), saved by name beside the cache, and run:
//! every panel's queries at once (a few at a time), answers cached so the
//! dashboard opens offline with its last answers, marked.

use std::path::PathBuf;

use gridwatch_core::aws::AwsOptions;
use gridwatch_core::grafana::{DashboardStore, RunOptions, run_dashboard};
use gridwatch_types::{Dashboard, DashboardAnswers, ImportDashboard, RunDashboard};

use crate::{Error, Result, Session, blocking};

/// Panel queries in flight at once, at most: Timestream queues what is
/// past an account's concurrency, and a dashboard should not take it all.
pub const PANEL_CONCURRENCY: usize = 4;

impl Session {
    fn dashboard_store(&self) -> DashboardStore {
        DashboardStore::beside_cache(self.engine.cache_path())
    }

    pub async fn import_dashboard(&self, import: ImportDashboard) -> Result<Dashboard> {
        let store = self.dashboard_store();
        blocking(move || Ok(store.import(&import.json, import.name.as_deref())?)).await
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
        Ok(self.dashboard_store().load(name)?)
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
            influx: run.influx.clone(),
        };
        // CancelHistory stops a dashboard's queries too.
        let stop_rx = self.history_stop_signal();
        Ok(run_dashboard(&dashboard, &run.variables, &run.panels, &options, &stop_rx).await?)
    }
}
