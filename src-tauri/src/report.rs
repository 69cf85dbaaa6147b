//! `gridwatch report`: the lake's figures as a self-contained HTML or PDF
//! report (see `gridwatch_session::report`).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::timearg::parse_time;

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long, env = "GRIDWATCH_LAKE")]
    pub lake: Option<PathBuf>,
    #[arg(long, default_value = "-7d", allow_hyphen_values = true)]
    pub from: String,
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    pub to: String,
    /// Only this region.
    #[arg(long)]
    pub region: Option<String>,
    /// Only these devices (comma separated IDs).
    #[arg(long, value_delimiter = ',')]
    pub devices: Vec<String>,
    /// report.html, or report.pdf (printed by headless Chromium).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let now = gridwatch_core::time::now_us();
    let from_us = parse_time(&args.from, now).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to_us = parse_time(&args.to, now).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    if to_us <= from_us {
        bail!("--to must be after --from");
    }
    let lake = args
        .lake
        .clone()
        .unwrap_or_else(crate::lake::default_lake_dir);
    let filters = args
        .region
        .iter()
        .map(|r| ("Region".to_string(), r.clone()))
        .collect();
    gridwatch_session::report::write(&lake, from_us, to_us, filters, &args.devices, &args.out)?;
    println!("report -> {}", args.out.display());
    Ok(())
}
