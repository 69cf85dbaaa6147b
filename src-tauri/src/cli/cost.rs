//! `gridwatch cost`: the seed's pipeline, priced for a fleet.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use gridwatch_core::cost::{CostInput, Prices, SEED_PRICES, estimate};
use gridwatch_lake::Rows;
use gridwatch_types::time::parse_duration;
use serde_json::json;

use super::output::{Format, stdout};

#[derive(Debug, Args)]
pub struct CostArgs {
    /// Devices in the fleet.
    #[arg(long, default_value_t = 50)]
    pub devices: u64,
    /// Time between two records of one device.
    #[arg(long, default_value = "6s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Bytes of one record on the wire.
    #[arg(long, default_value_t = 200)]
    pub record_bytes: u64,
    /// Measures in one record (Timestream writes one record per measure).
    #[arg(long, default_value_t = 5)]
    pub measures: u64,
    /// Provisioned shards instead of on-demand.
    #[arg(long)]
    pub provisioned: bool,
    /// Consumers reading the stream (the Flink job and Firehose: 2).
    #[arg(long, default_value_t = 2)]
    pub consumers: u64,
    /// KPUs of the Flink application.
    #[arg(long, default_value_t = 1)]
    pub kpus: u64,
    /// Hours Timestream keeps data in its memory store.
    #[arg(long, default_value_t = 12)]
    pub memory_store_hours: u64,
    /// Months the magnetic store and S3 keep data.
    #[arg(long, default_value_t = 12)]
    pub retention_months: u64,
    /// Full scans of a month of lake data by Athena each month.
    #[arg(long, default_value_t = 30)]
    pub athena_scans: u64,
    /// A price file (JSON); `--write-prices` gives one to edit.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Write the built-in prices to this file and stop.
    #[arg(long)]
    pub write_prices: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(args: CostArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.write_prices {
        std::fs::write(path, SEED_PRICES)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "wrote the built-in prices to {}; edit them and pass --prices",
            path.display()
        );
        return Ok(());
    }
    let prices = match &args.prices {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Prices::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => Prices::seed(),
    };
    if args.devices == 0 || args.interval.is_zero() {
        anyhow::bail!("give at least one device and an interval above zero");
    }
    let input = CostInput {
        devices: args.devices as f64,
        interval_s: args.interval.as_secs_f64(),
        record_bytes: args.record_bytes as f64,
        measures_per_record: args.measures as f64,
        provisioned: args.provisioned,
        consumers: args.consumers as f64,
        kpus: args.kpus as f64,
        memory_store_hours: args.memory_store_hours as f64,
        retention_months: args.retention_months as f64,
        athena_scans: args.athena_scans as f64,
    };
    let e = estimate(&input, &prices);
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(());
    }
    let mut rows: Vec<Vec<serde_json::Value>> = e
        .lines
        .iter()
        .map(|l| {
            vec![
                json!(l.service),
                json!(l.item),
                json!(format!("{:.3} {}", l.quantity, l.unit)),
                json!(format!("{:.2}", l.monthly_usd)),
            ]
        })
        .collect();
    rows.push(vec![
        json!("Total"),
        json!(""),
        json!(""),
        json!(format!("{:.2}", e.total_usd)),
    ]);
    let mut out = stdout(args.format)?;
    Rows {
        columns: ["service", "item", "quantity", "usd_per_month"]
            .map(String::from)
            .to_vec(),
        rows,
    }
    .write(args.format.into(), &mut out)?;
    if args.format == Format::Table {
        use std::io::Write;
        writeln!(
            out,
            "\n{:.2} records/s, {:.0} bytes/s{}; prices: {}",
            e.records_per_second,
            e.bytes_per_second,
            if args.provisioned {
                format!(", {} shards", e.shards)
            } else {
                String::new()
            },
            e.prices
        )?;
    }
    Ok(())
}
