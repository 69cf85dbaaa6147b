//! Reports: the same figures as `aggregate`, a PDF that renders, and HTML
//! that headless Chromium opens with its charts.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::path::Path;
use std::process::Command;

use gridwatch_session::report::HEADLESS_CHROMIUM;
use gridwatch_tests::gridwatch_ok;
use serde_json::Value;

const START_MS: i64 = 1_700_000_000_000;
const DAY_MS: i64 = 86_400_000;

fn lake(dir: &Path) -> std::path::PathBuf {
    let lake = dir.join("lake");
    gridwatch_ok(
        &dir.join("c.sqlite"),
        &[
            "simulate",
            "--to",
            "lake",
            "--lake",
            lake.to_str().unwrap(),
            "--devices",
            "40",
            "--interval",
            "15m",
            "--days",
            "3",
            "--start",
            &START_MS.to_string(),
        ],
    );
    lake
}

fn colours(png: &Path) -> u64 {
    let out = Command::new("convert")
        .arg(png)
        .args(["-format", "%k", "info:"])
        .output()
        .expect("ImageMagick");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn the_reports_figures_are_the_aggregate_commands() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let (from, to) = (START_MS.to_string(), (START_MS + 3 * DAY_MS).to_string());
    let html = dir.path().join("r.html");
    gridwatch_ok(
        &dir.path().join("c.sqlite"),
        &[
            "report",
            "--lake",
            lake.to_str().unwrap(),
            "--from",
            &from,
            "--to",
            &to,
            "--region",
            "north",
            "--out",
            html.to_str().unwrap(),
        ],
    );
    let page = std::fs::read_to_string(&html).unwrap();
    let agg: Value = serde_json::from_str(&gridwatch_ok(
        &dir.path().join("c.sqlite"),
        &[
            "aggregate",
            "--lake",
            lake.to_str().unwrap(),
            "--from",
            &from,
            "--to",
            &to,
            "--where",
            "region=north",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    let a = &agg[0];
    for (col, v) in a.as_object().unwrap() {
        let shown = match v {
            Value::Number(n) if n.is_i64() => n.to_string(),
            Value::Number(n) => format!("{:.3}", n.as_f64().unwrap()),
            Value::String(s) => s.clone(),
            _ => continue,
        };
        assert!(
            page.contains(&format!("<td>{shown}</td>")),
            "{col} = {shown} not in the report"
        );
    }
    assert!(page.contains(&format!("{:.0} kWh", a["energy_kwh"].as_f64().unwrap())));
    assert_eq!(page.matches("<svg").count(), 3, "three charts, inline");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "self-contained"
    );
}

#[test]
fn the_pdf_renders_and_the_html_opens_in_chromium_with_its_charts() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let (from, to) = (START_MS.to_string(), (START_MS + 3 * DAY_MS).to_string());
    let pdf = dir.path().join("r.pdf");
    let html = dir.path().join("r.html");
    for out in [&pdf, &html] {
        gridwatch_ok(
            &dir.path().join("c.sqlite"),
            &[
                "report",
                "--lake",
                lake.to_str().unwrap(),
                "--from",
                &from,
                "--to",
                &to,
                "--out",
                out.to_str().unwrap(),
            ],
        );
    }
    let pages = dir.path().join("page");
    let ok = Command::new("pdftoppm")
        .args(["-png", "-r", "50"])
        .arg(&pdf)
        .arg(&pages)
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(ok.success());
    let first = dir.path().join("page-1.png");
    assert!(colours(&first) > 10, "the first page is not blank");

    let shot = dir.path().join("shot.png");
    let profile = dir.path().join("profile");
    let out = Command::new("chromium")
        .args(HEADLESS_CHROMIUM)
        .arg("--window-size=900,1400")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium runs");
    assert!(shot.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(colours(&shot) > 10, "the page shows its charts");
    let dom = Command::new("chromium")
        .args(HEADLESS_CHROMIUM)
        .arg("--dump-dom")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(
        dom.matches("<svg").count(),
        3,
        "Chromium parsed the three charts"
    );
}
