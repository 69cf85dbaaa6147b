//! Reports: the same figures as `aggregate`, a PDF that renders, and HTML
//! that headless Chromium opens with its charts.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::path::Path;
use std::process::Command;

use gridwatch_session::report::HEADLESS_CHROMIUM;
use gridwatch_tests::{gridwatch_ok, simulate_into_lake};
use serde_json::Value;

const START_MS: i64 = 1_700_000_000_000;
const DAY_MS: i64 = 86_400_000;

fn lake(dir: &Path) -> std::path::PathBuf {
    let lake = dir.join("lake");
    simulate_into_lake(
        &lake,
        &[
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
            // The report's summary folds every device type into one row.
            "--all-types",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    let a = &agg[0];
    for (col, v) in a.as_object().unwrap() {
        // Figures as the CLI's tables show them: scaled, four digits.
        let shown = match v {
            Value::Number(n) => gridwatch_types::format_figure(col, n.as_f64().unwrap()),
            Value::String(s) => s.clone(),
            _ => continue,
        };
        assert!(
            page.contains(&format!("<td>{shown}</td>")),
            "{col} = {shown} not in the report"
        );
    }
    // The headline figure, scaled to at most four significant digits.
    let energy = gridwatch_session::report::scaled(a["energy_kwh"].as_f64().unwrap(), "kWh");
    assert!(page.contains(&energy), "{energy} not in the report");
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

/// The devices with voltage anomalies by the aggregate command: one row per
/// device, so distinct.
fn alarmed_devices(dir: &Path, lake: &Path, from: &str, to: &str) -> usize {
    let rows: Value = serde_json::from_str(&gridwatch_ok(
        &dir.join("c.sqlite"),
        &[
            "aggregate",
            "--lake",
            lake.to_str().unwrap(),
            "--from",
            from,
            "--to",
            to,
            "--by",
            "device",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["voltage_anomalies"].as_f64().unwrap_or(0.0) > 0.0)
        .count()
}

#[test]
fn the_charts_labels_never_overlap_and_alarmed_devices_are_counted_once() {
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
            "--out",
            html.to_str().unwrap(),
        ],
    );
    let page = std::fs::read_to_string(&html).unwrap();

    // "devices with voltage alarms" is the alarms' distinct devices.
    let figure = page
        .split("<div class=l>devices with voltage alarms</div>")
        .next()
        .and_then(|before| before.rsplit("<div class=v>").next())
        .and_then(|v| v.split("</div>").next())
        .unwrap()
        .to_string();
    let distinct = alarmed_devices(dir.path(), &lake, &from, &to);
    assert_eq!(figure, distinct.to_string(), "the count means what it says");
    let listed = page
        .split("<table class=alarms>")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap()
        .matches("<tr><td>")
        .count();
    assert_eq!(listed, distinct.min(20));

    // Chromium lays the page out; each chart's labels' boxes never meet,
    // and none is cut at the chart's edge.
    let probe = dir.path().join("probe.html");
    let script = r#"<script>
const out = [];
for (const svg of document.querySelectorAll('svg')) {
  const w = svg.viewBox.baseVal.width, h = svg.viewBox.baseVal.height;
  const boxes = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBBox()]);
  for (const [text, b] of boxes) {
    if (b.x < 0 || b.y < 0 || b.x + b.width > w || b.y + b.height > h) out.push('cut: ' + text);
  }
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [ta, a] = boxes[i], [tb, b] = boxes[j];
    if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height)
      out.push('overlap: ' + ta + ' / ' + tb);
  }
  out.push('labels: ' + boxes.length);
}
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = out.join('\n');
document.body.appendChild(pre);
</script>"#;
    std::fs::write(&probe, page.replace("</body>", &format!("{script}</body>"))).unwrap();
    let profile = dir.path().join("profile");
    let dom = Command::new("chromium")
        .args(HEADLESS_CHROMIUM)
        .arg("--virtual-time-budget=5000")
        .arg("--dump-dom")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", probe.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    let found = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|p| p.split("</pre>").next())
        .unwrap_or_else(|| panic!("the probe ran: {dom}"));
    eprintln!("{found}");
    assert!(
        !found.contains("overlap") && !found.contains("cut:"),
        "{found}"
    );
    assert_eq!(found.matches("labels: ").count(), 3, "three charts probed");
    // The regions' names are whole ("central", never "ntral").
    for region in ["north", "south", "east", "west", "central"] {
        if page.contains(&format!("<td>{region}</td>")) {
            assert!(
                page.contains(&format!("text-anchor=\"middle\">{region}</text>")),
                "{region} labels its bar"
            );
        }
    }
}
