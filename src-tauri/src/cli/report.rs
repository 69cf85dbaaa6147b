//! `gridwatch report`: the lake's figures as a self-contained HTML or PDF
//! report (see `gridwatch_session::report`).

use std::path::PathBuf;

use clap::Args;

use super::args::{default_lake_dir, range};

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
    let (from_us, to_us) = range(&args.from, &args.to)?;
    let lake = args.lake.clone().unwrap_or_else(default_lake_dir);
    let filters = args
        .region
        .iter()
        .map(|r| ("Region".to_string(), r.clone()))
        .collect();
    gridwatch_session::report::write(&lake, from_us, to_us, filters, &args.devices, &args.out)?;
    println!("report -> {}", args.out.display());
    Ok(())
}
