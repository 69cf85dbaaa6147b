//! `gridwatch simulate`: a fleet through the embedded pipeline into the
//! cache, onto a Kinesis stream, or into a lake folder.

use std::path::Path;

use anyhow::Context;
use gridwatch_simulator::kinesis::KinesisSink;
use gridwatch_simulator::lake::{LakeOptions, LakeSink};
use gridwatch_simulator::{Embedded, RunSummary};

use super::args::{Destination, SimulateArgs, default_lake_dir};
use super::fleet_run::{FleetRun, runtime};

pub fn run(args: SimulateArgs, cache: &Path) -> anyhow::Result<()> {
    let fleet = FleetRun::plan(&args)?;
    match args.to {
        Destination::Embedded => embedded(&args, &fleet, cache),
        Destination::Kinesis => kinesis(&args, &fleet),
        Destination::Lake => lake(&args, &fleet),
    }
}

fn embedded(args: &SimulateArgs, fleet: &FleetRun, cache: &Path) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let engine = Embedded::open(cache, args.shards)
            .with_context(|| format!("cannot open the cache at {}", cache.display()))?;
        let (run, summary) = fleet.onto_bus(&engine).await?;
        println!(
            "simulated {} devices: {} records, {} new readings ({} already cached, {} conflicts), {} quarantined, in {} commits -> {}",
            fleet.spec.device_count(),
            summary.records,
            summary.readings_new,
            summary.readings_repeated,
            summary.conflicts,
            summary.quarantined,
            summary.commits,
            cache.display()
        );
        realism(&run);
        tracing::debug!(stats = ?engine.live().stats(), "live view at the end");
        anyhow::Ok(())
    })
}

fn kinesis(args: &SimulateArgs, fleet: &FleetRun) -> anyhow::Result<()> {
    let stream = args.stream.clone().context("--to kinesis needs --stream")?;
    let aws = args.aws.options();
    runtime()?.block_on(async {
        let conf = aws.load().await;
        let client = aws_sdk_kinesis::Client::new(&conf);
        let mut sink = KinesisSink::connect(client, &stream, args.aggregate as usize)
            .await
            .with_context(|| format!("cannot produce to {stream:?} with {}", aws.describe()))?;
        let summary = fleet.into_sink(&mut sink, "readings").await?;
        let stats = sink.stats();
        println!(
            "simulated {} devices onto {stream} ({} open shards): {} readings in {} Kinesis records, {} PutRecords calls, {} entries resent, {} throttled",
            fleet.spec.device_count(),
            sink.open_shards(),
            summary.records,
            stats.records_put,
            stats.calls,
            stats.entries_retried,
            stats.throttled
        );
        realism(&summary);
        anyhow::Ok(())
    })
}

fn lake(args: &SimulateArgs, fleet: &FleetRun) -> anyhow::Result<()> {
    let dir = args.lake.clone().unwrap_or_else(default_lake_dir);
    let mut options = LakeOptions::new(&dir);
    options.gzip = args.gzip;
    options.newline_delimited = !args.no_delimiter;
    runtime()?.block_on(async {
        let mut sink = LakeSink::new(options);
        // Stopped by a signal, the sink still writes out what it holds, so
        // every record simulated lands in an extract.
        let summary = fleet.into_sink(&mut sink, "records").await?;
        let stats = sink.stats();
        println!(
            "simulated {} devices into the lake: {} records in {} files ({} bytes) -> {}",
            fleet.spec.device_count(),
            summary.records,
            stats.files,
            stats.bytes,
            dir.display()
        );
        realism(&summary);
        anyhow::Ok(())
    })
}

/// What the outages and the imperfect delivery did, when they did anything.
fn realism(run: &RunSummary) {
    let f = run.fleet;
    if f.silenced + f.late + f.duplicates > 0 {
        println!(
            "{} readings taken, {} silenced by outages, {} delivered late, {} delivered twice",
            f.readings, f.silenced, f.late, f.duplicates
        );
    }
}
