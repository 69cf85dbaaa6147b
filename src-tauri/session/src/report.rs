//! Reports: a self-contained HTML (or PDF) page over the lake: summary
//! figures, charts as inline SVG, tables. The figures are the `aggregate`
//! command's, computed the same way. The CLI's `report` and the app's
//! "Save report…" both use this.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use gridwatch_lake::table::format_datetime as format_time;
use gridwatch_lake::{GroupKey, LakeError};
use gridwatch_types::{Cell, ResultTable, format_figure};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read the extracts in {lake}: {source}")]
    Lake {
        lake: std::path::PathBuf,
        #[source]
        source: LakeError,
    },
    #[error(transparent)]
    Figures(#[from] LakeError),
    #[error(
        "a PDF is printed by Chromium, which is not installed (apt-get install chromium), or write --out report.html"
    )]
    NoChromium,
    #[error("Chromium did not write the PDF: {0}")]
    Chromium(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The figures of a report, as computed.
pub struct Report {
    pub title: String,
    pub summary: ResultTable,
    pub by_day: ResultTable,
    pub by_region: ResultTable,
    pub top: ResultTable,
    pub availability: Option<f64>,
    /// The devices with voltage alarms (a reading outside ±10% of their
    /// type's nominal), each with its number of such readings, most first:
    /// the "devices with alarms" figure is how many there are.
    pub alarms: Vec<(String, f64)>,
}

fn number(t: &ResultTable, row: usize, col: &str) -> Option<f64> {
    let i = t.columns.iter().position(|c| c == col)?;
    match t.rows.get(row)?.get(i)? {
        Cell::Number(n) => Some(*n),
        _ => None,
    }
}

fn text(t: &ResultTable, row: usize, col: &str) -> String {
    let Some(i) = t.columns.iter().position(|c| c == col) else {
        return String::new();
    };
    match t.rows.get(row).and_then(|r| r.get(i)) {
        Some(Cell::Text(s)) => s.clone(),
        Some(Cell::Number(n)) => format!("{n}"),
        _ => "–".into(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Computes the report's figures from the lake.
pub fn compute(
    lake: &Path,
    from_us: i64,
    to_us: i64,
    filters: Vec<(String, String)>,
    devices: &[String],
) -> Result<Report, ReportError> {
    let query = gridwatch_lake::ReadingsQuery {
        filters: filters.clone(),
        devices: devices.to_vec(),
        ..gridwatch_lake::ReadingsQuery::new(from_us, to_us)
    };
    // One read of the range serves every figure of the report.
    let readings =
        gridwatch_lake::Readings::scan(lake, &query).map_err(|source| ReportError::Lake {
            lake: lake.to_owned(),
            source,
        })?;
    if !readings.report.bad_lines.is_empty() {
        tracing::warn!(
            lines = readings.report.bad_lines.len(),
            "unreadable lines skipped in the report's range"
        );
    }
    let table = |by: Vec<GroupKey>| -> Result<ResultTable, LakeError> {
        Ok(gridwatch_lake::table::result_table(
            &readings.aggregate(&by, None)?,
        )?)
    };
    let mut summary = table(vec![])?;
    // Files not read at all, named on the page: the figures are the rest's.
    summary.skipped = readings
        .report
        .skipped_files
        .iter()
        .map(|f| f.to_string())
        .collect();
    let by_day = table(vec![GroupKey::Day])?;
    let by_region = table(vec![GroupKey::Dimension("Region".into())])?;
    let by_device = table(vec![GroupKey::Device])?;
    // The top consumers are the device view's ten most energetic rows; no
    // need to aggregate the whole range again for them.
    let mut top = by_device.clone();
    let energy = |row: &Vec<Cell>| -> f64 {
        let i = by_device.columns.iter().position(|c| c == "energy_kwh");
        match i.and_then(|i| row.get(i)) {
            Some(Cell::Number(n)) => *n,
            _ => f64::NEG_INFINITY,
        }
    };
    top.rows.sort_by(|a, b| energy(b).total_cmp(&energy(a)));
    top.rows.truncate(10);
    // One row per device in the device view: distinct by construction.
    let mut alarms: Vec<(String, f64)> = (0..by_device.rows.len())
        .filter_map(|i| {
            let n = number(&by_device, i, "voltage_anomalies").unwrap_or(0.0);
            (n > 0.0).then(|| (text(&by_device, i, by_device.columns[0].as_str()), n))
        })
        .collect();
    alarms.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let availability = readings.availability(from_us, to_us)?;
    let mut title = format!(
        "Gridwatch report, {} to {}",
        format_time(from_us),
        format_time(to_us)
    );
    for (k, v) in &filters {
        let _ = write!(title, ", {k} {v}");
    }
    if !devices.is_empty() {
        let _ = write!(title, ", {} devices", devices.len());
    }
    Ok(Report {
        title,
        summary,
        by_day,
        by_region,
        top,
        availability,
        alarms,
    })
}

/// A figure in `unit` (kWh or kW) as people read it, `30.27 GWh`,
/// `6.439 MW`: the rule of the CLI's tables and the app's exports
/// ([`format_figure`]), so the report never shows a figure another way.
pub fn scaled(v: f64, unit: &str) -> String {
    match unit {
        "kWh" => format_figure("energy_kwh", v),
        "kW" => format_figure("peak_demand_w", v * 1000.0),
        _ => format!("{} {unit}", format_figure("", v)),
    }
}

/// Round ticks from 0 to at least `max`: 1, 2 or 5 times a power of ten,
/// four or five of them.
fn ticks(max: f64) -> Vec<f64> {
    let max = max.max(1e-9);
    let raw = max / 4.0;
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p);
    let n = (max / step).ceil() as usize;
    (0..=n).map(|i| i as f64 * step).collect()
}

/// The width of `text` in the report's sans-serif at `size` px, a little
/// generous so that labels laid out by it never touch.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.62
}

/// A bar chart as SVG: one bar per label, a value axis of round ticks in
/// the unit, and every label that fits without touching its neighbours
/// (whole, never cut).
fn bars(title: &str, labels: &[String], values: &[f64], unit: &str) -> String {
    let (w, h) = (720.0, 260.0);
    let (left, right, top, bottom) = (70.0, 16.0, 34.0, 40.0);
    let ticks = ticks(values.iter().copied().fold(0.0f64, f64::max));
    let max = ticks.last().copied().unwrap_or(1.0).max(1e-9);
    let n = values.len().max(1) as f64;
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let bw = plot_w / n;
    let mut svg = format!(
        r##"<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><rect width="100%" height="100%" fill="#fff"/><text x="{left}" y="20" font-size="14" font-family="sans-serif">{t} ({u})</text>"##,
        t = escape(title),
        u = escape(unit)
    );
    for t in &ticks {
        let y = top + plot_h * (1.0 - t / max);
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="10" font-family="sans-serif" text-anchor="end">{}</text>"##,
            w - right,
            left - 6.0,
            y + 3.5,
            escape(&axis_label(*t, unit))
        );
    }
    // Labels skip evenly so that none touches the next.
    let widest = labels
        .iter()
        .map(|l| text_width(l, 10.0))
        .fold(0.0, f64::max);
    let every = ((widest + 8.0) / bw).ceil().max(1.0) as usize;
    for (i, (label, v)) in labels.iter().zip(values).enumerate() {
        let bh = plot_h * v / max;
        let x = left + i as f64 * bw;
        let y = top + plot_h - bh;
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="#0f2a44"><title>{}: {}</title></rect>"##,
            x + bw * 0.1,
            (bw * 0.8).max(1.0),
            escape(label),
            escape(&axis_label(*v, unit))
        );
        if i % every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" font-family="sans-serif" text-anchor="middle">{}</text>"##,
                x + bw * 0.5,
                h - bottom + 16.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A value axis's label: percentages as they are, energy and power scaled.
fn axis_label(v: f64, unit: &str) -> String {
    match unit {
        "%" => format!("{v:.0}%"),
        _ if v == 0.0 => format!("0 {unit}"),
        _ => scaled(v, unit),
    }
}

/// The devices with voltage alarms: the most alarmed twenty, and how many
/// more.
fn alarm_table(alarms: &[(String, f64)]) -> String {
    let mut s = String::from(
        "<table class=alarms><thead><tr><th>device</th><th>readings outside ±10%</th></tr></thead><tbody>",
    );
    for (device, n) in alarms.iter().take(20) {
        let _ = write!(s, "<tr><td>{}</td><td>{n:.0}</td></tr>", escape(device));
    }
    s.push_str("</tbody></table>");
    if alarms.len() > 20 {
        let _ = write!(s, "<p>and {} more devices.</p>", alarms.len() - 20);
    }
    s
}

fn html_table(t: &ResultTable) -> String {
    let mut s = String::from("<table><thead><tr>");
    for c in &t.columns {
        let _ = write!(s, "<th>{}</th>", escape(c));
    }
    s.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        s.push_str("<tr>");
        for (c, column) in row.iter().zip(&t.columns) {
            let v = match c {
                // Scaled and rounded as the CLI's tables show it.
                Cell::Number(n) => escape(&format_figure(column, *n)),
                Cell::Text(t) => escape(t),
                Cell::Null => "–".into(),
            };
            let _ = write!(s, "<td>{v}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

fn series(t: &ResultTable, key: &str, value: &str) -> (Vec<String>, Vec<f64>) {
    (0..t.rows.len())
        .map(|i| (text(t, i, key), number(t, i, value).unwrap_or(0.0)))
        .unzip()
}

/// The report as one self-contained HTML page.
pub fn html(r: &Report) -> String {
    let s = &r.summary;
    let figure = |label: &str, value: String| {
        format!("<div class=fig><div class=v>{value}</div><div class=l>{label}</div></div>")
    };
    let pct = |v: Option<f64>| v.map_or("–".into(), |v| format!("{:.1}%", v * 100.0));
    let figures = [
        figure(
            "energy",
            scaled(number(s, 0, "energy_kwh").unwrap_or(0.0), "kWh"),
        ),
        figure(
            "peak demand",
            scaled(number(s, 0, "peak_demand_w").unwrap_or(0.0) / 1000.0, "kW"),
        ),
        figure("peak at", text(s, 0, "peak_at")),
        figure(
            "load factor",
            format!("{:.2}", number(s, 0, "load_factor").unwrap_or(0.0)),
        ),
        figure(
            "voltage within ±10%",
            pct(number(s, 0, "voltage_compliance")),
        ),
        figure(
            "voltage anomalies",
            format!("{:.0}", number(s, 0, "voltage_anomalies").unwrap_or(0.0)),
        ),
        figure("devices with voltage alarms", r.alarms.len().to_string()),
        figure("device availability", pct(r.availability)),
    ]
    .join("");
    let (days, energy) = series(&r.by_day, "day", "energy_kwh");
    let (_, peaks) = series(&r.by_day, "day", "peak_demand_w");
    let (regions, compliance) = series(&r.by_region, "Region", "voltage_compliance");
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:24px;color:#111}}h1{{font-size:20px}}h2{{font-size:16px;margin-top:28px}}
.figs{{display:flex;flex-wrap:wrap;gap:12px}}.fig{{border:1px solid #ccc;border-radius:6px;padding:10px 14px;min-width:140px}}
.v{{font-size:20px;font-weight:bold}}.l{{color:#555;font-size:12px}}table{{border-collapse:collapse;font-size:11px}}
td,th{{border:1px solid #ddd;padding:3px 6px;text-align:right}}th{{background:#f0f0f0}}</style></head><body>
<h1>{title}</h1>{skipped}<div class=figs>{figures}</div>
<h2>Energy per day</h2>{energy_chart}
<h2>Peak demand per day</h2>{peak_chart}
<h2>Voltage compliance per region</h2>{compliance_chart}
<h2>Summary</h2>{summary}
<h2>By day</h2>{by_day}
<h2>By region</h2>{by_region}
<h2>Top 10 consumers</h2>{top}
<h2>Devices with voltage alarms</h2>{alarms}
<p style="color:#777;font-size:11px">Figures as `gridwatch aggregate` computes them. Generated by Gridwatch.</p>
</body></html>"#,
        title = escape(&r.title),
        skipped = if s.skipped.is_empty() {
            String::new()
        } else {
            format!(
                r#"<p class=skipped style="color:#a40">Skipped files, not in these figures: {}</p>"#,
                escape(&s.skipped.join("; "))
            )
        },
        energy_chart = bars("Energy per day", &days, &energy, "kWh"),
        peak_chart = bars(
            "Peak demand per day",
            &days,
            &peaks.iter().map(|p| p / 1000.0).collect::<Vec<_>>(),
            "kW"
        ),
        compliance_chart = bars(
            "Voltage within ±10%",
            &regions,
            &compliance.iter().map(|c| c * 100.0).collect::<Vec<_>>(),
            "%"
        ),
        summary = html_table(&r.summary),
        by_day = html_table(&r.by_day),
        by_region = html_table(&r.by_region),
        top = html_table(&r.top),
        alarms = alarm_table(&r.alarms),
    )
}

/// Prints HTML to PDF with headless Chromium.
/// Chromium headless on a machine with no way out: no sandbox (it may run
/// as root), no GPU, and none of the background calls home that a closed
/// network refuses.
pub const HEADLESS_CHROMIUM: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Prints the HTML report to a PDF, with Chromium.
pub fn print_pdf(html_path: &Path, pdf: &Path) -> Result<(), ReportError> {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new("sh")
                .args(["-c", &format!("command -v {c}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or(ReportError::NoChromium)?;
    let temp = |source| ReportError::Write {
        path: std::env::temp_dir(),
        source,
    };
    let profile = tempfile::tempdir().map_err(temp)?;
    let out = Command::new(chromium)
        .args(HEADLESS_CHROMIUM)
        .arg("--no-pdf-header-footer")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html_path.display()))
        .output()
        .map_err(|e| ReportError::Chromium(format!("cannot run it: {e}")))?;
    if !pdf.exists() {
        return Err(ReportError::Chromium(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(())
}

/// Writes the report over [from, to) of the lake to `out`: PDF when it ends
/// in `.pdf`, HTML otherwise.
pub fn write(
    lake: &Path,
    from_us: i64,
    to_us: i64,
    filters: Vec<(String, String)>,
    devices: &[String],
    out: &Path,
) -> Result<(), ReportError> {
    let report = compute(lake, from_us, to_us, filters, devices)?;
    let page = html(&report);
    let write_at = |path: &Path| {
        let path = path.to_owned();
        move |source| ReportError::Write { path, source }
    };
    if out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
    {
        let dir = tempfile::tempdir().map_err(write_at(&std::env::temp_dir()))?;
        let html_path = dir.path().join("report.html");
        std::fs::write(&html_path, &page).map_err(write_at(&html_path))?;
        print_pdf(
            &html_path,
            &std::path::absolute(out).map_err(write_at(out))?,
        )?;
    } else {
        std::fs::write(out, &page).map_err(write_at(out))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_tables_show_figures_scaled_and_rounded() {
        // The figures the issue found printed raw: float noise and watts.
        let t = ResultTable {
            columns: vec![
                "Region".into(),
                "energy_kwh".into(),
                "voltage_p95".into(),
                "peak_demand_w".into(),
                "readings".into(),
            ],
            rows: vec![vec![
                Cell::Text("east".into()),
                Cell::Number(903.671_099_999_925_4),
                Cell::Number(232.155_999_999_999_95),
                Cell::Number(10_351_084.0),
                Cell::Number(96_000.0),
            ]],
            ..ResultTable::default()
        };
        let html = html_table(&t);
        assert!(
            html.contains(
                "<td>east</td><td>903.7 kWh</td><td>232.2 V</td><td>10.35 MW</td><td>96000</td>"
            ),
            "{html}"
        );
        assert_eq!(scaled(30_270_000.0, "kWh"), "30.27 GWh");
        assert_eq!(scaled(6_439.2, "kW"), "6.439 MW");
    }
}
