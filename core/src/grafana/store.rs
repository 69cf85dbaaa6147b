//! Imported dashboards, saved by name in a `dashboards` folder beside the
//! cache file, so the app and the command line (which share the cache)
//! see the same ones, and they come back at the next start.
//!
//! Each file keeps the Grafana JSON as imported, with the name it was
//! saved under: a newer Gridwatch reads it again with what it has learnt.

use std::path::{Path, PathBuf};

use gridwatch_types::Dashboard;
use serde::{Deserialize, Serialize};

use super::{GrafanaError, parse_dashboard};

#[derive(Serialize, Deserialize)]
struct Saved {
    name: String,
    grafana: serde_json::Value,
}

/// The folder of saved dashboards.
#[derive(Debug, Clone)]
pub struct DashboardStore {
    dir: PathBuf,
}

impl DashboardStore {
    /// The store beside the cache file at `cache`.
    pub fn beside_cache(cache: &Path) -> DashboardStore {
        let parent = cache.parent().unwrap_or_else(|| Path::new("."));
        DashboardStore {
            dir: parent.join("dashboards"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A file name for `name`: readable, and distinct for distinct names
    /// (a hash of the exact name), so no name can reach outside the folder.
    fn path(&self, name: &str) -> PathBuf {
        let slug: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(48)
            .collect();
        // FNV-1a: stable across runs and builds, unlike std's hasher.
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        self.dir.join(format!("{slug}-{:08x}.json", hash as u32))
    }

    /// Reads a Grafana export and saves it under `name` (its title when
    /// None), replacing a dashboard saved under the same name.
    pub fn import(&self, json: &str, name: Option<&str>) -> Result<Dashboard, GrafanaError> {
        let mut dashboard = parse_dashboard(json)?;
        if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) {
            dashboard.name = name.to_owned();
        }
        let grafana: serde_json::Value =
            serde_json::from_str(json).map_err(|e| GrafanaError::Parse(e.to_string()))?;
        let saved = Saved {
            name: dashboard.name.clone(),
            grafana,
        };
        let io = |what, path: &Path| {
            let path = path.to_owned();
            move |source| GrafanaError::Io { what, path, source }
        };
        let path = self.path(&dashboard.name);
        let text =
            serde_json::to_vec_pretty(&saved).map_err(|e| GrafanaError::Parse(e.to_string()))?;
        // Written whole (a hidden file, synced, then renamed): a crash never
        // leaves half a file, and two imports never share a temporary name.
        crate::files::write_whole(&path, &text).map_err(io("cannot write", &path))?;
        Ok(dashboard)
    }

    fn read(path: &Path) -> Option<Saved> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The names of the saved dashboards, sorted. A file that does not
    /// read is skipped with a warning, never fatal.
    pub fn list(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| match Self::read(&p) {
                Some(saved) => Some(saved.name),
                None => {
                    tracing::warn!(path = %p.display(), "a saved dashboard does not read; skipped");
                    None
                }
            })
            .collect();
        names.sort();
        names
    }

    /// The dashboard saved under `name`.
    pub fn load(&self, name: &str) -> Result<Dashboard, GrafanaError> {
        let saved = Self::read(&self.path(name))
            .filter(|s| s.name == name)
            .ok_or_else(|| GrafanaError::NotFound(name.to_owned()))?;
        let mut dashboard = parse_dashboard(&saved.grafana.to_string())?;
        dashboard.name = saved.name;
        Ok(dashboard)
    }
}
