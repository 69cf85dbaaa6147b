//! The simulated fleet: start it into a sink, stop it, and how fast it
//! produces.

use std::sync::Arc;

use gridwatch_simulator::kinesis::KinesisSink;
use gridwatch_simulator::lake::{LakeOptions, LakeSink};
use gridwatch_simulator::{Pacing, RunOptions, RunProgress};
use gridwatch_types::{
    CostEstimate, FleetLaunch, FleetSink, FleetSpec, FleetStatus, Mode, Production,
};

use crate::{Error, Result, Session, current, lock, stream::kinesis_client};

impl Session {
    pub async fn fleet_status(&self) -> FleetStatus {
        let mut status = self.engine.status().await;
        status.lake_dir = self.lake_dir().display().to_string();
        if status.running.is_some() {
            status.production = lock(&self.production).as_ref().map(|m| m.read());
        }
        if let Some((name, _)) = self.stream.lock().await.as_ref() {
            status.mode = Mode::Kinesis;
            status.stream = Some(name.clone());
        }
        status
    }

    /// Starts a live fleet into the chosen sink: the embedded pipeline, a
    /// Kinesis stream or the lake folder.
    pub async fn start_fleet(&self, launch: FleetLaunch) -> Result<FleetStatus> {
        let FleetLaunch { spec, sink } = launch;
        spec.validate()?;
        let live = RunOptions {
            pacing: Pacing::RealTime,
            end_us: None,
        };
        let meter = ProductionMeter::start(sink.describe());
        let progress = {
            let meter = meter.clone();
            move |p: RunProgress| meter.record(p.records)
        };
        let now = gridwatch_core::time::now_us();
        match &sink {
            FleetSink::InProcess => self.engine.start_fleet(spec, now, live, progress).await?,
            FleetSink::Kinesis(conn) => {
                let (client, aws) = kinesis_client(conn).await?;
                let sink = KinesisSink::connect(client, &conn.stream, 1)
                    .await
                    .map_err(|error| Error::Sink {
                        error: Box::new(error),
                        using: aws.describe(),
                    })?;
                self.engine
                    .start_fleet_into(spec, sink, now, live, progress)
                    .await?
            }
            FleetSink::Lake => {
                let mut options = LakeOptions::new(self.lake_dir());
                // Firehose's shortest buffer interval, so a live fleet's
                // extracts show up within a minute.
                options.buffer_interval = std::time::Duration::from_secs(60);
                self.engine
                    .start_fleet_into(spec, LakeSink::new(options), now, live, progress)
                    .await?
            }
        }
        *lock(&self.production) = Some(meter);
        Ok(self.fleet_status().await)
    }

    pub async fn stop_fleet(&self) -> Result<FleetStatus> {
        self.engine.stop_fleet().await?;
        Ok(self.fleet_status().await)
    }

    /// Sends every new reading of `device` with the live batches.
    pub fn watch_device(&self, device: Option<String>) {
        self.engine.live().watch(device.clone());
        current(&self.active).watch(device);
    }

    /// What the seed's pipeline would cost a month for this fleet (the
    /// built-in prices; records of about 200 bytes).
    pub fn estimate_cost(&self, spec: &FleetSpec) -> CostEstimate {
        use gridwatch_core::cost::{CostInput, Prices, estimate};
        estimate(
            &CostInput {
                devices: f64::from(spec.device_count()),
                interval_s: spec.interval_ms as f64 / 1000.0,
                ..CostInput::default()
            },
            &Prices::seed(),
        )
    }
}

/// Counts what the running fleet's sink has taken, for the production rate.
#[derive(Clone)]
pub(crate) struct ProductionMeter(Arc<std::sync::Mutex<MeterState>>);

struct MeterState {
    sink: String,
    records: u64,
    rate: f64,
    last: (std::time::Instant, u64),
}

impl ProductionMeter {
    fn start(sink: String) -> Self {
        ProductionMeter(Arc::new(std::sync::Mutex::new(MeterState {
            sink,
            records: 0,
            rate: 0.0,
            last: (std::time::Instant::now(), 0),
        })))
    }

    /// Progress arrives every few thousand records or quarter second; the
    /// rate is taken over at least a second so it does not flicker.
    fn record(&self, records: u64) {
        let mut m = lock(&self.0);
        m.records = records;
        let elapsed = m.last.0.elapsed().as_secs_f64();
        if elapsed >= 1.0 {
            m.rate = (records - m.last.1) as f64 / elapsed;
            m.last = (std::time::Instant::now(), records);
        }
    }

    fn read(&self) -> Production {
        let m = lock(&self.0);
        Production {
            sink: m.sink.clone(),
            records: m.records,
            records_per_s: m.rate,
        }
    }
}
