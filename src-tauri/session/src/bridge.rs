//! The stream job in the background: a Kinesis stream into Timestream or
//! InfluxDB, as `gridwatch bridge` does it (the same checkpoints, so the
//! app and the CLI take over from each other), with its status and a Stop.

use gridwatch_core::bridge::{self, BridgeSummary, CHECKPOINT_PREFIX, Progress, Sink};
use gridwatch_core::kinesis::{self, ConsumerConfig, StartAt};
use gridwatch_core::{Cache, aws::AwsOptions};
use gridwatch_types::{BridgeJob, BridgeStatus};
use tokio::sync::watch;

use crate::{Error, Result, Session, lock};

/// A running stream job.
pub(crate) struct BridgeTask {
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<Result<BridgeSummary, bridge::BridgeError>>,
    progress: Progress,
    stream: String,
    target: String,
    unit: &'static str,
}

fn status(
    summary: BridgeSummary,
    running: bool,
    (stream, target, unit): (&str, &str, &str),
    error: Option<String>,
) -> BridgeStatus {
    BridgeStatus {
        running,
        stream: stream.to_owned(),
        target: target.to_owned(),
        unit: unit.to_owned(),
        readings: summary.readings,
        written: summary.written,
        rejected: summary.rejected,
        quarantined: summary.quarantined,
        retries: summary.retries,
        error,
    }
}

impl BridgeTask {
    fn summary(&self) -> BridgeSummary {
        *self
            .progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn names(&self) -> (&str, &str, &str) {
        (&self.stream, &self.target, self.unit)
    }
}

impl Session {
    /// Starts the stream job; one runs at a time.
    pub async fn start_bridge(&self, job: BridgeJob) -> Result<BridgeStatus> {
        let mut slot = self.bridge.lock().await;
        if slot.as_ref().is_some_and(|t| !t.handle.is_finished()) {
            return Err(Error::Invalid(
                "the stream job is running already: stop it first".into(),
            ));
        }
        let stream = job.stream.stream.trim().to_owned();
        if stream.is_empty() {
            return Err(Error::Invalid("name the Kinesis stream to read".into()));
        }
        let s = &job.stream;
        let aws = AwsOptions::from_form(&s.profile, &s.region, &s.endpoint_url);
        let bridge_error = |e: bridge::BridgeError| Error::Invalid(e.to_string());
        let sink = Sink::connect(&job.target).await.map_err(bridge_error)?;
        let client = aws_sdk_kinesis::Client::new(&aws.load().await);
        let identity = kinesis::stream_identity(&client, &stream, aws.endpoint_url.as_deref())
            .await
            .map_err(|error| Error::Kinesis {
                error: Box::new(error),
                using: aws.describe(),
            })?;
        let cache = Cache::open(self.engine.cache_path())?;
        let progress = Progress::default();
        let (stop, stop_rx) = watch::channel(false);
        // Each shard resumes after its checkpoint; one without starts at
        // the oldest record, as the CLI's bridge does.
        let consumer = ConsumerConfig::new(&stream, StartAt::TrimHorizon);
        let handle = tokio::spawn({
            let progress = progress.clone();
            async move {
                bridge::run(
                    client,
                    sink,
                    consumer,
                    cache,
                    format!("{CHECKPOINT_PREFIX}{identity}"),
                    stop_rx,
                    &progress,
                )
                .await
            }
        });
        let task = BridgeTask {
            stop,
            handle,
            progress,
            stream,
            target: job.target.describe(),
            unit: job.target.unit(),
        };
        let now = status(task.summary(), true, task.names(), None);
        *slot = Some(task);
        Ok(now)
    }

    /// The stream job's figures so far, or how it ended.
    pub async fn bridge_status(&self) -> BridgeStatus {
        let mut slot = self.bridge.lock().await;
        match slot.take() {
            None => lock(&self.last_bridge).clone().unwrap_or_default(),
            Some(task) if !task.handle.is_finished() => {
                let now = status(task.summary(), true, task.names(), None);
                *slot = Some(task);
                now
            }
            // It ended by itself (a failure, or the stream is gone): say
            // how, and keep it for later asks.
            Some(task) => {
                let ended = Self::ended(task).await;
                *lock(&self.last_bridge) = Some(ended.clone());
                ended
            }
        }
    }

    /// Stops the stream job after the batch in hand is written and
    /// checkpointed.
    pub async fn stop_bridge(&self) -> BridgeStatus {
        let Some(task) = self.bridge.lock().await.take() else {
            return lock(&self.last_bridge).clone().unwrap_or_default();
        };
        let _ = task.stop.send(true);
        let ended = Self::ended(task).await;
        *lock(&self.last_bridge) = Some(ended.clone());
        ended
    }

    async fn ended(task: BridgeTask) -> BridgeStatus {
        let names = (task.stream.clone(), task.target.clone(), task.unit);
        let progress = task.progress.clone();
        let (summary, error) = match task.handle.await {
            Ok(Ok(summary)) => (summary, None),
            Ok(Err(e)) => (
                *progress
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
                Some(e.to_string()),
            ),
            Err(e) => (
                BridgeSummary::default(),
                Some(format!("the stream job failed: {e}")),
            ),
        };
        status(summary, false, (&names.0, &names.1, names.2), error)
    }
}
