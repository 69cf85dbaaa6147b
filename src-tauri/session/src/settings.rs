//! The settings file: the operator's layout, connections and last fleet, as
//! JSON in the OS config folder. It never holds a secret.

use std::path::{Path, PathBuf};

use gridwatch_types::Settings;

/// Why the settings could not be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the settings file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not settings; the file was moved aside (`kept` says where).
    #[error("the settings file {path} is not valid ({error}); {kept}; starting from defaults")]
    Invalid {
        path: PathBuf,
        error: serde_json::Error,
        kept: String,
    },
    #[error("cannot save the settings to {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `~/.config/gridwatch/settings.json` on Linux; `GRIDWATCH_SETTINGS`
/// overrides it.
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("GRIDWATCH_SETTINGS") {
        return PathBuf::from(p);
    }
    dirs::config_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("gridwatch")
        .join("settings.json")
}

/// The saved settings; defaults when there are none yet. A file that cannot
/// be read as settings is moved aside (never lost, never silently
/// overwritten) and the error names it.
pub fn load(path: &Path) -> Result<Settings, SettingsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
        Err(source) => {
            return Err(SettingsError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    serde_json::from_str(&text).map_err(|error| {
        let aside = path.with_extension("json.broken");
        let kept = match std::fs::rename(path, &aside) {
            Ok(()) => format!("it was moved to {}", aside.display()),
            Err(m) => format!("and could not be moved aside: {m}"),
        };
        SettingsError::Invalid {
            path: path.to_owned(),
            error,
            kept,
        }
    })
}

/// Writes the settings whole: a new file renamed over the old, so a crash
/// mid-write leaves the previous settings.
pub fn save(path: &Path, settings: &Settings) -> Result<(), SettingsError> {
    let write = |source| SettingsError::Write {
        path: path.to_owned(),
        source,
    };
    // Settings are plain structs and string-keyed maps: encoding cannot fail,
    // but an error is still reported rather than assumed away.
    let json = serde_json::to_vec_pretty(settings).map_err(|e| write(std::io::Error::other(e)))?;
    gridwatch_core::files::write_whole(path, &json).map_err(write)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn settings_round_trip_and_a_missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gridwatch/settings.json");
        assert_eq!(load(&path).unwrap(), Settings::default());
        let mut s = Settings::default();
        s.layout.charts = vec!["voltage".into(), "current".into()];
        s.layout.device = Some("meter-7".into());
        s.stream.stream = "telemetry".into();
        save(&path, &s).unwrap();
        assert_eq!(load(&path).unwrap(), s);
    }

    #[test]
    fn an_unreadable_retention_prunes_nothing() {
        // The retention is applied at start only when it reads as a number
        // of days: anything else gives defaults, whose retention is none.
        assert_eq!(Settings::default().cache_retention_days, None);
        for bad in [r#""30x""#, "-5", "1e3", "99999999999", "null"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("settings.json");
            std::fs::write(&path, format!(r#"{{"cache_retention_days": {bad}}}"#)).unwrap();
            let retention = load(&path).map(|s| s.cache_retention_days);
            assert!(
                matches!(retention, Err(_) | Ok(None)),
                "{bad} gave {retention:?}"
            );
        }
    }

    #[test]
    fn a_broken_file_is_kept_aside_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{ not json").unwrap();
        let e = gridwatch_types::ApiError::from(crate::Error::from(load(&path).unwrap_err()));
        assert_eq!(e.code, gridwatch_types::ErrorCode::InvalidInput);
        assert!(e.message.contains("settings.json"), "{}", e.message);
        assert!(e.message.contains("settings.json.broken"), "{}", e.message);
        let aside = dir.path().join("settings.json.broken");
        assert_eq!(std::fs::read_to_string(aside).unwrap(), "{ not json");
        // The next save does not meet the broken file.
        save(&path, &Settings::default()).unwrap();
        assert_eq!(load(&path).unwrap(), Settings::default());
    }
}
