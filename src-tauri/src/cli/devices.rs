//! `gridwatch devices`: the devices in the cache, with their dimensions.

use std::io::Write;
use std::path::Path;

use clap::Args;
use gridwatch_types::time::format_time;
use serde_json::json;

use super::args::open_reader;
use super::output::{Format, print, stdout};

#[derive(Debug, Args)]
pub struct DevicesArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(args: DevicesArgs, cache: &Path) -> anyhow::Result<()> {
    let reader = open_reader(cache)?;
    let devices = reader.devices()?;
    if args.format == Format::Json {
        let mut out = stdout(args.format)?;
        serde_json::to_writer_pretty(&mut out, &devices)?;
        writeln!(out)?;
        return Ok(());
    }
    // The well-known dimensions get their own columns; any other ones go in
    // a last column as key=value pairs.
    let known = ["DeviceType", "Region", "Feeder"];
    let rows = devices
        .iter()
        .map(|d| {
            let dim = |k: &str| json!(d.dimensions.get(k).cloned().unwrap_or_default());
            let other: Vec<String> = d
                .dimensions
                .iter()
                .filter(|(k, _)| !known.contains(&k.as_str()))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            vec![
                json!(d.device_id),
                dim("DeviceType"),
                dim("Region"),
                dim("Feeder"),
                json!(format_time(d.first_seen_us)),
                json!(format_time(d.last_seen_us)),
                json!(other.join(" ")),
            ]
        })
        .collect();
    print(
        &[
            "device_id",
            "type",
            "region",
            "feeder",
            "first_seen",
            "last_seen",
            "other_dimensions",
        ],
        rows,
        args.format,
    )
}
