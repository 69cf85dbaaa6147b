//! Running a job: the async runtime every subcommand uses, and the one
//! fleet driver behind `simulate` (into the cache, onto Kinesis, into the
//! lake): the plan its flags describe, a progress bar, a stop on SIGINT or
//! SIGTERM.

use anyhow::{Context, bail};
use gridwatch_simulator::{
    Embedded, Fleet, Pacing, RecordSink, RunOptions, RunProgress, RunSummary,
};
use gridwatch_types::FleetSpec;
use gridwatch_types::time::parse_time;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;

use super::args::{Destination, SimulateArgs};

/// The one async runtime builder, for the app and every command.
pub use crate::runtime;

/// A fleet to run, as `simulate`'s flags describe it, with its progress bar.
pub struct FleetRun {
    pub spec: FleetSpec,
    pub start_us: i64,
    pub options: RunOptions,
    bar: ProgressBar,
}

impl FleetRun {
    /// The fleet, start time and pacing the flags describe, checked.
    pub fn plan(args: &SimulateArgs) -> anyhow::Result<FleetRun> {
        let spec = FleetSpec {
            smart_meters: args.devices,
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
        Ok(summary?)
    }

    /// Runs the fleet onto `engine`'s bus to its end or the first SIGINT or
    /// SIGTERM, then commits everything on the bus; says what was ingested.
    pub async fn onto_bus(
        &self,
        engine: &Embedded,
    ) -> anyhow::Result<gridwatch_core::ingest::IngestSummary> {
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
        tokio::select! {
            r = engine.wait_fleet() => { r?; }
            _ = stop.changed() => {
                self.bar.println("stopping: committing what is on the bus…");
                engine.request_stop().await;
                engine.wait_fleet().await?;
            }
        }
        let summary = engine.shutdown().await?;
        self.bar.finish_and_clear();
        Ok(summary)
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
