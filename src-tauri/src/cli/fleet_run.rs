//! Running a job: the async runtime every subcommand uses, and the one
//! fleet driver behind `simulate` (into the cache, onto Kinesis, into the
//! lake): the plan its flags describe, a progress bar, a stop on SIGINT or
//! SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use gridwatch_simulator::{
    Embedded, Fleet, Pacing, RecordSink, RunOptions, RunProgress, RunSummary,
};
use gridwatch_types::time::{parse_duration, parse_time};
use gridwatch_types::{Delivery, FleetShape, FleetSpec, Outages, Topology};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;

use super::args::{Destination, SimulateArgs};

/// The one async runtime builder, for the app and every command.
pub use crate::runtime;

/// `--shape`: whose records the fleet sends.
pub fn parse_shape(s: &str) -> Result<FleetShape, String> {
    FleetShape::ALL
        .into_iter()
        .find(|shape| shape.as_str() == s)
        .ok_or_else(|| format!("{s:?} is not a shape: utility or seed"))
}

/// How the utility fleet's network hangs together.
#[derive(Debug, Clone, Args)]
pub struct NetworkArgs {
    /// Substations the feeders are spread over [default: one for every
    /// four feeders].
    #[arg(long)]
    pub substations: Option<u32>,
    /// Meters on one transformer, when the fleet has no --transformers of
    /// its own (the transformers are then named on the meters' records but
    /// do not report).
    #[arg(long, default_value_t = Topology::default().meters_per_transformer,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub meters_per_transformer: u32,
    /// Transformers on one feeder, when the fleet has no --feeders of its
    /// own.
    #[arg(long, default_value_t = Topology::default().transformers_per_feeder,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub transformers_per_feeder: u32,
}

/// Outages, late and duplicate readings, clocks that are off.
#[derive(Debug, Clone, Args)]
pub struct RealismArgs {
    /// Outages: the chance that a given feeder, transformer or meter has one
    /// starting on a given day. `--outages` alone is 0.01, about four a year
    /// each.
    #[arg(long, num_args = 0..=1, default_missing_value = "0.01")]
    pub outages: Option<f64>,
    /// The shortest and longest outage, as MIN..MAX.
    #[arg(long, default_value = "5m..4h")]
    pub outage_duration: String,
    /// Writes the outages the fleet made to FILE, one JSON object a line:
    /// what went out, from when to when, and the devices that were silent.
    #[arg(long, value_name = "FILE")]
    pub outages_out: Option<PathBuf>,
    /// Share of readings delivered late, by a minute up to --late-max.
    #[arg(long, default_value_t = 0.0)]
    pub late: f64,
    /// The longest delay of a late reading.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub late_max: Duration,
    /// Share of readings delivered twice (a second copy seconds later).
    #[arg(long, default_value_t = 0.0)]
    pub duplicates: f64,
    /// Share of devices whose clock is off, by a second up to --skew-max.
    #[arg(long, default_value_t = 0.0)]
    pub skewed: f64,
    /// How far off such a clock may be, either way.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub skew_max: Duration,
}

impl RealismArgs {
    fn outages(&self) -> anyhow::Result<Outages> {
        let (min, max) = self
            .outage_duration
            .split_once("..")
            .context("--outage-duration is MIN..MAX, such as 5m..4h")?;
        let ms = |s: &str| {
            parse_duration(s.trim())
                .map(|d| d.as_millis().min(u128::from(u64::MAX)) as u64)
                .map_err(|e| anyhow::anyhow!("--outage-duration: {e}"))
        };
        Ok(Outages {
            per_day: self.outages.unwrap_or(0.0),
            min_ms: ms(min)?,
            max_ms: ms(max)?,
        })
    }

    fn delivery(&self) -> Delivery {
        let ms = |d: Duration| d.as_millis().min(u128::from(u64::MAX)) as u64;
        Delivery {
            late_share: self.late,
            late_max_ms: ms(self.late_max),
            duplicate_share: self.duplicates,
            skewed_share: self.skewed,
            skew_max_ms: ms(self.skew_max),
        }
    }
}

/// A fleet to run, as `simulate`'s flags describe it, with its progress bar.
pub struct FleetRun {
    pub spec: FleetSpec,
    pub start_us: i64,
    pub options: RunOptions,
    /// Where the ground truth of the outages goes.
    outages_out: Option<PathBuf>,
    bar: ProgressBar,
}

impl FleetRun {
    /// The fleet, start time and pacing the flags describe, checked.
    pub fn plan(args: &SimulateArgs) -> anyhow::Result<FleetRun> {
        let default_devices = match args.shape {
            FleetShape::Utility => FleetSpec::default().smart_meters,
            FleetShape::Seed => FleetSpec::SEED_DEVICES,
        };
        if args.shape == FleetShape::Seed && (args.feeders > 0 || args.transformers > 0) {
            bail!(
                "the seed's producer has no network: --shape seed takes no --feeders or --transformers"
            );
        }
        let spec = FleetSpec {
            smart_meters: args.devices.unwrap_or(default_devices),
            feeders: args.feeders,
            transformers: args.transformers,
            // Below a millisecond is a millisecond; only zero is refused.
            interval_ms: if args.interval.is_zero() {
                0
            } else {
                args.interval.as_millis().clamp(1, u128::from(u64::MAX)) as u64
            },
            anomaly_rate: args.anomaly_rate,
            seed: args.seed,
            shape: args.shape,
            topology: Topology {
                substations: args.network.substations.unwrap_or(0),
                meters_per_transformer: args.network.meters_per_transformer,
                transformers_per_feeder: args.network.transformers_per_feeder,
            },
            outages: args.realism.outages()?,
            delivery: args.realism.delivery(),
        };
        spec.validate().map_err(|e| {
            use gridwatch_types::FleetSpecError::*;
            match e {
                Empty => anyhow::anyhow!(
                    "the fleet is empty: give --devices, --feeders or --transformers a number above 0"
                ),
                AnomalyRate(rate) => {
                    anyhow::anyhow!("--anomaly-rate {rate} is not a chance between 0 and 1")
                }
                ZeroInterval => anyhow::anyhow!("--interval must be longer than zero"),
                Share { what, value } => anyhow::anyhow!(
                    "{what} {value} is not a share between 0 and 1 (--outages, --late, --duplicates, --skewed)"
                ),
                OutageDuration => anyhow::anyhow!(
                    "--outage-duration: outages last from more than zero to at most a day, the shortest first"
                ),
                LateDelay => anyhow::anyhow!("--late-max must be a minute or more"),
            }
        })?;
        let now = gridwatch_core::time::now_us();
        let duration_us = match (args.duration, args.days) {
            (Some(d), _) => Some(
                i64::try_from(d.as_micros())
                    .ok()
                    .context("--duration is longer than the calendar")?,
            ),
            (None, Some(days)) => Some(
                i64::from(days)
                    .checked_mul(gridwatch_core::time::MICROS_PER_DAY)
                    .with_context(|| format!("--days {days} is longer than the calendar"))?,
            ),
            (None, None) => None,
        };
        // A lake is history: it ends now unless told otherwise, and is
        // written as fast as the disk takes it.
        let fast = args.fast || args.to == Destination::Lake;
        if fast && duration_us.is_none() {
            bail!("--fast (and --to lake) need --duration or --days: how much history to write");
        }
        let start_us = match (&args.start, duration_us) {
            (Some(s), _) => parse_time(s, now).map_err(anyhow::Error::msg)?,
            // History that ends now starts no earlier than 1970.
            (None, Some(d)) if fast => now
                .checked_sub(d)
                .filter(|start| *start >= 0)
                .context("that much history would start before 1970")?,
            _ => now,
        };
        let options = RunOptions {
            pacing: if fast {
                Pacing::AsFastAsPossible
            } else {
                Pacing::RealTime
            },
            end_us: duration_us.map(|d| start_us + d),
        };
        Ok(FleetRun {
            bar: bar(&options, start_us),
            spec,
            start_us,
            options,
            outages_out: args.realism.outages_out.clone(),
        })
    }

    /// Moves the bar with the running fleet: simulated seconds, and
    /// `noun`s sent.
    fn progress(&self, noun: &'static str) -> impl FnMut(RunProgress) + Send + 'static {
        let (bar, start_us) = (self.bar.clone(), self.start_us);
        move |p| {
            bar.set_position(((p.reached_us - start_us).max(0) / 1_000_000) as u64);
            bar.set_message(format!("{} {noun}", p.records));
        }
    }

    /// Runs the fleet into `sink` to its end or the first SIGINT or
    /// SIGTERM; either way the sink has taken every record simulated.
    pub async fn into_sink<S: RecordSink>(
        &self,
        sink: &mut S,
        noun: &'static str,
    ) -> anyhow::Result<RunSummary> {
        let (stop_tx, stop) = watch::channel(false);
        crate::signals::stop_on_signal(stop_tx);
        let mut fleet = Fleet::new(&self.spec, self.start_us);
        let progress = self.progress(noun);
        let summary =
            gridwatch_simulator::run_fleet(&mut fleet, sink, self.options, stop, progress).await;
        self.bar.finish_and_clear();
        let summary = summary?;
        self.write_outages(&fleet, &summary)?;
        Ok(summary)
    }

    /// Writes the outages of the span the run covered to `--outages-out`.
    fn write_outages(&self, fleet: &Fleet, summary: &RunSummary) -> anyhow::Result<()> {
        let Some(path) = &self.outages_out else {
            return Ok(());
        };
        let end = self
            .options
            .end_us
            .unwrap_or(summary.reached_us)
            .min(summary.reached_us.max(self.start_us) + 1);
        let outages = fleet.outages(self.start_us, end);
        let io = |e| anyhow::Error::new(e).context(format!("cannot write {}", path.display()));
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
        for outage in &outages {
            serde_json::to_writer(&mut out, outage)?;
            out.write_all(b"\n").map_err(io)?;
        }
        out.flush().map_err(io)?;
        eprintln!("{} outages -> {}", outages.len(), path.display());
        Ok(())
    }

    /// Runs the fleet onto `engine`'s bus to its end or the first SIGINT or
    /// SIGTERM, then commits everything on the bus; says what was ingested.
    pub async fn onto_bus(
        &self,
        engine: &Embedded,
    ) -> anyhow::Result<(RunSummary, gridwatch_core::ingest::IngestSummary)> {
        let (stop_tx, mut stop) = watch::channel(false);
        crate::signals::stop_on_signal(stop_tx);
        engine
            .start_fleet(
                self.spec.clone(),
                self.start_us,
                self.options,
                self.progress("records"),
            )
            .await?;
        let run = tokio::select! {
            r = engine.wait_fleet() => r?,
            _ = stop.changed() => {
                self.bar.println("stopping: committing what is on the bus…");
                engine.request_stop().await;
                engine.wait_fleet().await?
            }
        }
        .unwrap_or_default();
        let summary = engine.shutdown().await?;
        self.bar.finish_and_clear();
        if self.outages_out.is_some() {
            // Outages are a function of the seed: a fleet built again from
            // the spec lists the ones the engine's fleet made.
            self.write_outages(&Fleet::new(&self.spec, self.start_us), &run)?;
        }
        Ok((run, summary))
    }
}

/// A progress bar over the simulated span, or a spinner when it is open.
fn bar(options: &RunOptions, start_us: i64) -> ProgressBar {
    match options.end_us {
        Some(end) => {
            let bar = ProgressBar::new(((end - start_us) / 1_000_000).max(1) as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} simulated {pos}/{len} s [{bar:30}] {msg} ({eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        None => ProgressBar::new_spinner(),
    }
}
