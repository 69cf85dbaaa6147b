//! A [`Desktop`] without a window, for scripted runs and tests: files are
//! saved into one folder under the name the dialog would suggest, the
//! folder dialog answers with a folder set beforehand, and notifications
//! are kept to be read back.

use std::path::PathBuf;
use std::sync::Mutex;

use gridwatch_types::Notification;

use crate::{Desktop, FileFilter, lock};

#[derive(Debug, Default)]
pub struct Headless {
    /// Where saved files go; None: every save is cancelled.
    pub save_dir: Option<PathBuf>,
    /// What the folder dialog answers; None: it is cancelled.
    pub picked_folder: Mutex<Option<PathBuf>>,
    /// The notifications asked for, oldest first.
    pub notifications: Mutex<Vec<Notification>>,
    /// Whether the UI asked to quit.
    pub quit: Mutex<bool>,
}

impl Headless {
    /// Saves into `dir`.
    pub fn saving_into(dir: PathBuf) -> Headless {
        Headless {
            save_dir: Some(dir),
            ..Headless::default()
        }
    }

    /// The next folder dialog picks `dir` (None: cancelled).
    pub fn pick(&self, dir: Option<PathBuf>) {
        *lock(&self.picked_folder) = dir;
    }
}

impl Desktop for Headless {
    async fn save_path(&self, suggested_name: &str, _filter: &FileFilter) -> Option<PathBuf> {
        self.save_dir.as_ref().map(|d| d.join(suggested_name))
    }

    async fn pick_folder(&self, _title: &str) -> Option<PathBuf> {
        lock(&self.picked_folder).clone()
    }

    fn notify(&self, notification: &Notification) -> Result<(), String> {
        lock(&self.notifications).push(notification.clone());
        Ok(())
    }

    fn quit(&self) {
        *lock(&self.quit) = true;
    }
}
