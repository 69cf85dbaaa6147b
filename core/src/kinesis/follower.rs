//! A stream followed into the cache: the consumer, the cache writer and the
//! live view, started and stopped together.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_kinesis::Client;
use gridwatch_types::ShardStatus;
use tokio::sync::watch;

use super::{ConsumerConfig, KinesisError, ShardBoard, consume};

/// A stream followed into the cache: the consumer, the cache writer and the
/// live view together, as the app and `gridwatch ingest` run them.
pub struct Follower {
    pub live: Arc<crate::live::LiveView>,
    pub board: ShardBoard,
    stop: watch::Sender<bool>,
    consumer: tokio::task::JoinHandle<Result<(), KinesisError>>,
    writer: crate::ingest::Writer,
    /// Why the consumer ended, if it failed.
    consumer_failure: Arc<std::sync::OnceLock<String>>,
}

impl Follower {
    /// Starts following `config.stream` into the cache at `cache`, resuming
    /// from the checkpoints stored under `source`. Must run in a tokio
    /// runtime.
    pub fn start(
        client: Client,
        config: ConsumerConfig,
        cache: crate::Cache,
        source: String,
    ) -> Result<Follower, crate::CacheError> {
        let checkpoints: HashMap<String, String> = cache
            .checkpoints(&source)?
            .into_iter()
            .map(|c| (c.shard, c.sequence))
            .collect();
        if !checkpoints.is_empty() {
            tracing::info!(shards = checkpoints.len(), %source, "resuming from checkpoints");
        }
        let live = Arc::new(crate::live::LiveView::new());
        let (tx, writer) = crate::ingest::spawn_writer(
            cache,
            live.clone(),
            crate::ingest::IngestConfig {
                source,
                ..crate::ingest::IngestConfig::default()
            },
        );
        let board: ShardBoard = Arc::default();
        let (stop, stop_rx) = watch::channel(false);
        let consumer_failure: Arc<std::sync::OnceLock<String>> = Arc::default();
        let noted = consumer_failure.clone();
        let writer_failure = writer.failure();
        let stream = config.stream.clone();
        let consumer = consume(client, config, checkpoints, tx, board.clone(), stop_rx);
        let consumer = tokio::spawn(async move {
            let result = consumer.await;
            // Said here, when it happens: an app may not look for a while.
            // A writer that failed has said why itself.
            match &result {
                Err(KinesisError::OutputClosed) => {
                    if writer_failure.get().is_none() {
                        tracing::error!(%stream, "stopped following: the cache writer stopped");
                    }
                }
                Err(e) => {
                    tracing::error!(%stream, error = %e, "stopped following");
                    let _ = noted.set(e.to_string());
                }
                Ok(()) => {}
            }
            result
        });
        Ok(Follower {
            live,
            board,
            stop,
            consumer,
            writer,
            consumer_failure,
        })
    }

    /// Why following stopped, if it failed: the cache writer's failure
    /// first (the consumer then only stopped for want of a writer).
    pub fn failure(&self) -> Option<String> {
        self.writer
            .failure()
            .get()
            .or_else(|| self.consumer_failure.get())
            .cloned()
    }

    /// A handle that stops the follower from elsewhere (Ctrl-C).
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    /// The shard panel's rows; once following has failed, each carries why
    /// as its last error (no reader is left to clear it).
    pub fn shards(&self) -> Vec<ShardStatus> {
        let failure = self.failure();
        let b = self.board.lock().unwrap_or_else(|e| e.into_inner());
        b.values()
            .cloned()
            .map(|mut s| {
                if failure.is_some() {
                    s.last_error.clone_from(&failure);
                }
                s
            })
            .collect()
    }

    /// Waits for the consumer to end (caught up, stopped, or failed), then
    /// for the last commit.
    pub async fn finish(
        self,
    ) -> (
        Result<(), KinesisError>,
        Result<crate::ingest::IngestSummary, crate::CacheError>,
    ) {
        let consumed = match self.consumer.await {
            Ok(r) => r,
            Err(e) => Err(KinesisError::Refused(format!(
                "the consumer task failed: {e}"
            ))),
        };
        (consumed, self.writer.finish().await)
    }

    /// Stops reading and waits for what was read to be committed.
    pub async fn stop(
        self,
    ) -> (
        Result<(), KinesisError>,
        Result<crate::ingest::IngestSummary, crate::CacheError>,
    ) {
        let _ = self.stop.send(true);
        self.finish().await
    }
}
