//! Ctrl-C (SIGINT) and SIGTERM stop a CLI job cleanly: it keeps what it
//! made (readings committed, extracts flushed) and says what it did, as the
//! README promises. Each test sends the real signal to the real binary.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use gridwatch_tests::{KillOnDrop, gridwatch_bin, wait_for};

fn signal(child: &KillOnDrop, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.0.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} failed");
}

/// Waits for the child to exit (a hang guard, not a timing claim) and
/// returns its stdout and stderr.
fn finish(mut child: KillOnDrop) -> (std::process::ExitStatus, String, String) {
    let status = wait_for(Duration::from_secs(60), "the job to stop", || {
        child.0.try_wait().unwrap()
    });
    let mut out = String::new();
    let mut err = String::new();
    use std::io::Read;
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, out, err)
}

fn spawn(args: &[&str]) -> KillOnDrop {
    KillOnDrop(
        Command::new(gridwatch_bin())
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

fn readings(cache: &Path) -> Option<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(cache, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row("SELECT count(*) FROM reading", [], |r| r.get(0))
        .ok()
}

/// The number after `label` in a summary line such as "12 records".
fn figure(text: &str, label: &str) -> i64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text:?}"));
    text[..at]
        .split_whitespace()
        .last()
        .and_then(|n| n.trim_start_matches('(').parse().ok())
        .unwrap_or_else(|| panic!("no number before {label:?} in {text:?}"))
}

#[test]
fn sigterm_and_sigint_stop_an_embedded_simulation_with_every_reading_committed() {
    for sig in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("s.sqlite");
        let cache_arg = cache.to_str().unwrap();
        let child = spawn(&[
            "--cache",
            cache_arg,
            "simulate",
            "--devices",
            "20",
            "--interval",
            "200ms",
        ]);
        wait_for(Duration::from_secs(60), "readings in the cache", || {
            readings(&cache).filter(|n| *n > 100)
        });
        signal(&child, sig);
        let (status, out, err) = finish(child);
        assert!(status.success(), "SIG{sig}: {status}\n{err}");
        let new = figure(&out, "new readings");
        assert!(new > 100, "{out}");
        assert_eq!(readings(&cache), Some(new), "SIG{sig}: {out}");
    }
}

#[test]
fn a_signal_stops_a_lake_simulation_with_every_record_in_an_extract() {
    for sig in ["INT", "TERM"] {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().join("lake");
        // Ten years: far more than it writes before the signal.
        let child = spawn(&[
            "simulate",
            "--to",
            "lake",
            "--lake",
            lake.to_str().unwrap(),
            "--devices",
            "50",
            "--interval",
            "1s",
            "--days",
            "3650",
        ]);
        wait_for(Duration::from_secs(60), "a first extract", || {
            extract_lines(&lake).filter(|n| *n > 0)
        });
        signal(&child, sig);
        let (status, out, err) = finish(child);
        assert!(status.success(), "SIG{sig}: {status}\n{err}");
        let records = figure(&out, "records in");
        assert!(records > 0, "{out}");
        assert_eq!(extract_lines(&lake), Some(records), "SIG{sig}: {out}");
        assert!(!hidden_files(&lake), "no half-written extract stays behind");
    }
}

/// Records in the lake's JSON extracts: one a line.
fn extract_lines(lake: &Path) -> Option<i64> {
    let mut n = 0;
    for file in walk(&lake.join("readings/json")) {
        let name = file.file_name()?.to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let text = std::fs::read_to_string(&file).ok()?;
        n += text.lines().filter(|l| !l.trim().is_empty()).count() as i64;
    }
    Some(n)
}

fn hidden_files(lake: &Path) -> bool {
    walk(&lake.join("readings")).iter().any(|f| {
        f.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    })
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
