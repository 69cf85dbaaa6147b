//! The settings file: the operator's layout, connections and last fleet, as
//! JSON in the OS config folder. It never holds a secret.

use std::path::{Path, PathBuf};

use gridwatch_types::{ApiError, ErrorCode, Settings};

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
pub fn load(path: &Path) -> Result<Settings, ApiError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
        Err(e) => {
            return Err(ApiError::new(
                ErrorCode::Internal,
                format!("cannot read the settings file {}: {e}", path.display()),
            ));
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        let aside = path.with_extension("json.broken");
        let kept = match std::fs::rename(path, &aside) {
            Ok(()) => format!("it was moved to {}", aside.display()),
            Err(m) => format!("and could not be moved aside: {m}"),
        };
        ApiError::new(
            ErrorCode::InvalidInput,
            format!(
                "the settings file {} is not valid ({e}); {kept}; starting from defaults",
                path.display()
            ),
        )
    })
}

/// Writes the settings whole: a new file renamed over the old, so a crash
/// mid-write leaves the previous settings.
pub fn save(path: &Path, settings: &Settings) -> Result<(), ApiError> {
    let io = |e: std::io::Error| {
        ApiError::new(
            ErrorCode::Internal,
            format!("cannot save the settings to {}: {e}", path.display()),
        )
    };
    let json = serde_json::to_vec_pretty(settings)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    gridwatch_core::files::write_whole(path, &json).map_err(io)
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
        let e = load(&path).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert!(e.message.contains("settings.json"), "{}", e.message);
        let aside = dir.path().join("settings.json.broken");
        assert_eq!(std::fs::read_to_string(aside).unwrap(), "{ not json");
        // The next save does not meet the broken file.
        save(&path, &Settings::default()).unwrap();
        assert_eq!(load(&path).unwrap(), Settings::default());
    }
}
