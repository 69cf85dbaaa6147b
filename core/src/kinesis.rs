//! Following a Kinesis data stream: every shard, in order, losing nothing.
//!
//! The places where Kinesis consumers usually fail their users, and what this
//! one does:
//! - iterators expire after 5 minutes: take a new one after the last
//!   sequence number seen;
//! - shards split and merge: a child is read only once every parent has been
//!   read to its end, so each device's readings stay in order;
//! - 5 GetRecords calls a second per shard: at most that, and back off on
//!   ProvisionedThroughputExceeded (counted, shown in the shard panel);
//! - the network or the service goes away: retry with backoff, forever,
//!   until stopped; but an answer that retrying cannot change (the stream
//!   is gone, access is denied, a checkpoint or a start time Kinesis
//!   refuses) ends the run at once, saying which;
//! - a start at LATEST or at a time carries over to the children of a
//!   reshard, so `--from latest` after a split shows no old records;
//! - checkpoints belong to one stream's identity (ARN, creation time,
//!   endpoint), so a stream made again under the same name starts afresh.
//!
//! Batches go to an `mpsc` channel as [`ShardBatch`]es carrying the shard's
//! checkpoint; the cache writer commits both in one transaction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::http::HttpResponse;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::{DateTime, DateTimeFormat};
use aws_sdk_kinesis::types::ShardIteratorType;
use gridwatch_types::{ShardState, ShardStatus};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::aws::{AwsProblem, describe_sdk_error};
use crate::ingest::{SHARD_END, ShardBatch};

/// Where to start reading a shard that has no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Latest,
    TrimHorizon,
    /// Epoch microseconds.
    Timestamp(i64),
}

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub stream: String,
    pub start: StartAt,
    /// Stop once every shard has been read to its tip.
    pub until_caught_up: bool,
    /// Records asked for per GetRecords call (Kinesis allows 10,000).
    pub records_per_call: i32,
    /// Pause after an empty read at the tip.
    pub idle_poll: Duration,
    /// How often shards are listed again, to find children and new shards.
    pub relist_every: Duration,
    /// Start every shard at `start`, ignoring stored checkpoints (which
    /// are then overwritten as it reads): starting over.
    pub ignore_checkpoints: bool,
}

impl ConsumerConfig {
    pub fn new(stream: impl Into<String>, start: StartAt) -> Self {
        ConsumerConfig {
            stream: stream.into(),
            start,
            until_caught_up: false,
            records_per_call: 10_000,
            idle_poll: Duration::from_millis(500),
            relist_every: Duration::from_secs(10),
            ignore_checkpoints: false,
        }
    }
}

/// Kinesis allows 5 GetRecords calls a second per shard.
const MIN_CALL_GAP: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum KinesisError {
    #[error("stream {stream:?} not found ({detail})")]
    StreamNotFound { stream: String, detail: String },
    #[error("access to stream {stream:?} denied: {detail}")]
    AccessDenied { stream: String, detail: String },
    /// A stored checkpoint that Kinesis refuses: the stream was deleted and
    /// made again, or the checkpoint came from elsewhere.
    #[error(
        "the checkpoint of {shard} (after sequence number {sequence}) is not valid in stream {stream:?}: {detail}"
    )]
    StaleCheckpoint {
        stream: String,
        shard: String,
        sequence: String,
        detail: String,
    },
    /// The start time asked for is refused (one in the future, say).
    #[error("Kinesis refused to start reading {shard} of {stream:?} at {at}: {detail}")]
    StartRefused {
        stream: String,
        shard: String,
        at: String,
        detail: String,
    },
    /// A refusal that retrying cannot change.
    #[error("Kinesis refused, and retrying cannot change that: {0}")]
    Invalid(String),
    /// A refusal that may pass (the network, the service's own trouble).
    #[error("Kinesis refused: {0}")]
    Refused(String),
    /// Whoever took the records stopped taking them (for ingest, the cache
    /// writer failed; its error says why).
    #[error("stopped reading: the records could no longer be delivered")]
    OutputClosed,
}

/// The shard panel's data, shared with whoever shows it.
pub type ShardBoard = Arc<Mutex<BTreeMap<String, ShardStatus>>>;

fn update(board: &ShardBoard, shard: &str, f: impl FnOnce(&mut ShardStatus)) {
    // A poisoned board only means a display went stale; keep consuming.
    let mut b = board.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = b.get_mut(shard) {
        f(s);
    }
}

#[derive(Debug, Clone)]
struct ShardInfo {
    id: String,
    parents: Vec<String>,
    closed: bool,
}

/// All shards of the stream, through every ListShards page.
pub async fn list_shards(
    client: &Client,
    stream: &str,
) -> Result<Vec<ShardInfoPublic>, KinesisError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        // With a NextToken, ListShards refuses the stream name.
        let req = match &token {
            Some(t) => client.list_shards().next_token(t),
            None => client.list_shards().stream_name(stream),
        };
        let page = req.send().await.map_err(|e| list_error(stream, &e))?;
        for s in page.shards() {
            let range = s.hash_key_range();
            out.push(ShardInfoPublic {
                shard_id: s.shard_id().to_owned(),
                parent: s.parent_shard_id().map(str::to_owned),
                adjacent_parent: s.adjacent_parent_shard_id().map(str::to_owned),
                starting_hash_key: range.map(|r| r.starting_hash_key().to_owned()),
                ending_hash_key: range.map(|r| r.ending_hash_key().to_owned()),
                closed: s
                    .sequence_number_range()
                    .and_then(|r| r.ending_sequence_number())
                    .is_some(),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// A shard as ListShards describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfoPublic {
    pub shard_id: String,
    pub parent: Option<String>,
    pub adjacent_parent: Option<String>,
    pub starting_hash_key: Option<String>,
    pub ending_hash_key: Option<String>,
    pub closed: bool,
}

impl ShardInfoPublic {
    /// Whether this shard's hash-key range holds `key`.
    pub fn holds(&self, key: u128) -> bool {
        let parse = |s: &Option<String>| s.as_deref().and_then(|v| v.parse::<u128>().ok());
        match (parse(&self.starting_hash_key), parse(&self.ending_hash_key)) {
            (Some(a), Some(b)) => a <= key && key <= b,
            _ => false,
        }
    }
}

fn list_error<E>(stream: &str, e: &SdkError<E, HttpResponse>) -> KinesisError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match classify(stream, e) {
        Failure::Fatal(e) => e,
        Failure::Throttled | Failure::Expired | Failure::Retry(_) => {
            KinesisError::Refused(describe_sdk_error(e))
        }
    }
}

/// A time for a message: RFC 3339.
fn rfc3339(us: i64) -> String {
    DateTime::from_nanos(i128::from(us) * 1000)
        .ok()
        .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
        .unwrap_or_else(|| format!("{us} µs after 1970"))
}

/// Who a stream is, for filing its checkpoints: its ARN (account, region,
/// name) and creation time, since a stream deleted and made again under the
/// same name is another stream whose sequence numbers mean nothing to the
/// old checkpoints; and `endpoint`, the endpoint URL when one is given,
/// since two emulators (or a VPC endpoint and an emulator) can share an ARN.
pub async fn stream_identity(
    client: &Client,
    stream: &str,
    endpoint: Option<&str>,
) -> Result<String, KinesisError> {
    let out = client
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| list_error(stream, &e))?;
    let Some(summary) = out.stream_description_summary() else {
        return Err(KinesisError::Invalid(format!(
            "DescribeStreamSummary said nothing of stream {stream:?}"
        )));
    };
    let created = summary
        .stream_creation_timestamp()
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| summary.stream_creation_timestamp().secs().to_string());
    let mut identity = format!("{}@{created}", summary.stream_arn());
    if let Some(endpoint) = endpoint {
        identity.push_str(" via ");
        identity.push_str(endpoint);
    }
    Ok(identity)
}

/// How one shard's reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShardOutcome {
    /// Closed and read to its end: children may start.
    Ended,
    /// At the tip, and the consumer was asked to stop there.
    CaughtUp,
    Stopped,
    /// The receiver of the batches went away: nothing read now could be
    /// delivered, so the whole consumer stops.
    OutputClosed,
}

/// Follows every shard of `config.stream`, sending decoded batches to `out`.
/// `checkpoints` maps shard IDs to the last sequence number already stored
/// (or [`SHARD_END`]). Returns when `stop` turns true, when caught up (if
/// asked), when `out`'s receiver goes away ([`KinesisError::OutputClosed`]:
/// every reader stops, none is started again), or on an error that retrying
/// cannot fix (the stream is gone, access denied, a refused checkpoint or
/// start time).
pub async fn consume(
    client: Client,
    config: ConsumerConfig,
    checkpoints: HashMap<String, String>,
    out: mpsc::Sender<ShardBatch>,
    board: ShardBoard,
    mut stop: watch::Receiver<bool>,
) -> Result<(), KinesisError> {
    let checkpoints = if config.ignore_checkpoints {
        HashMap::new()
    } else {
        checkpoints
    };
    // Read to their end in an earlier run.
    let ended_before: HashSet<String> = checkpoints
        .iter()
        .filter(|(_, seq)| seq.as_str() == SHARD_END)
        .map(|(s, _)| s.clone())
        .collect();
    // Read to their end in this run.
    let mut ended_here: HashSet<String> = HashSet::new();
    // Where each shard started in this run, and whether it was already
    // closed when first listed: that decides where its children start.
    let mut started: HashMap<String, (Position, bool)> = HashMap::new();
    let mut closed_when_seen: HashMap<String, bool> = HashMap::new();
    let mut done_for_now: HashSet<String> = HashSet::new();
    let mut running: HashSet<String> = HashSet::new();
    let mut tasks: JoinSet<(String, Result<ShardOutcome, KinesisError>)> = JoinSet::new();
    let (task_stop_tx, task_stop) = watch::channel(false);

    let mut listing = list_shards(&client, &config.stream).await?;
    let result = loop {
        let known: HashSet<&str> = listing.iter().map(|s| s.shard_id.as_str()).collect();
        for shard in &listing {
            closed_when_seen
                .entry(shard.shard_id.clone())
                .or_insert(shard.closed);
        }
        for shard in &listing {
            let id = &shard.shard_id;
            if ended_before.contains(id)
                || ended_here.contains(id)
                || running.contains(id)
                || done_for_now.contains(id)
            {
                continue;
            }
            let parents: Vec<String> = [&shard.parent, &shard.adjacent_parent]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            // What each parent says of where this child starts; None: wait
            // until it has been read to its end. A parent no longer listed
            // has aged out of the stream's retention: nothing to wait for.
            let from_parents: Option<Vec<Position>> = parents
                .iter()
                .filter(|p| known.contains(p.as_str()))
                .map(|p| child_start(p, &ended_before, &ended_here, &started))
                .collect();
            let Some(from_parents) = from_parents else {
                board_entry(&board, shard, ShardState::Waiting);
                continue;
            };
            let start = match checkpoints.get(id) {
                Some(seq) if seq != SHARD_END => Position::Checkpoint(seq.clone()),
                // The earliest any parent asks for, so nothing is skipped.
                _ => from_parents
                    .into_iter()
                    .min_by_key(Position::rank)
                    .unwrap_or_else(|| Position::from(config.start)),
            };
            board_entry(&board, shard, ShardState::Reading);
            running.insert(id.clone());
            let closed = closed_when_seen.get(id).copied().unwrap_or(shard.closed);
            started.insert(id.clone(), (start.clone(), closed));
            let info = ShardInfo {
                id: id.clone(),
                parents,
                closed: shard.closed,
            };
            tracing::info!(shard = %info.id, parents = ?info.parents, closed = info.closed, ?start, "reading shard");
            let task = ShardReader {
                client: client.clone(),
                stream: config.stream.clone(),
                shard: info.id.clone(),
                config: config.clone(),
                out: out.clone(),
                board: board.clone(),
                stop: task_stop.clone(),
            };
            tasks.spawn(async move {
                let id = task.shard.clone();
                (id, task.run(start).await)
            });
        }
        if config.until_caught_up && running.is_empty() {
            break Ok(());
        }
        let relist_at = tokio::time::sleep(config.relist_every);
        tokio::select! {
            Some(joined) = tasks.join_next() => {
                let (id, outcome) = match joined {
                    Ok(v) => v,
                    Err(e) => break Err(KinesisError::Refused(format!("a shard reader failed: {e}"))),
                };
                running.remove(&id);
                match outcome {
                    Ok(ShardOutcome::Ended) => {
                        update(&board, &id, |s| s.state = ShardState::Ended);
                        ended_here.insert(id);
                    }
                    Ok(ShardOutcome::CaughtUp) => {
                        update(&board, &id, |s| s.state = ShardState::CaughtUp);
                        done_for_now.insert(id);
                    }
                    Ok(ShardOutcome::Stopped) => {}
                    Ok(ShardOutcome::OutputClosed) => break Err(KinesisError::OutputClosed),
                    Err(e) => break Err(e),
                }
            }
            () = out.closed() => break Err(KinesisError::OutputClosed),
            _ = relist_at => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break Ok(());
                }
            }
        }
        match list_shards(&client, &config.stream).await {
            Ok(l) => listing = l,
            Err(e @ KinesisError::Refused(_)) => {
                tracing::warn!(error = %e, "listing shards failed; keeping the last listing");
            }
            Err(e) => break Err(e),
        }
    };
    let _ = task_stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    result
}

/// Where a child of `parent` starts, as far as that parent goes; None while
/// the parent must still be read to its end (each device's readings stay in
/// order). The rule:
/// - a parent read to its end from its beginning, a checkpoint, or an
///   earlier run: the child's records all come after, so TRIM_HORIZON;
/// - a parent read from a time: the same time (the child may hold records
///   from before it, if the reshard came first);
/// - a parent read from LATEST that was already closed when first listed:
///   the reshard came before this run, so the child's records so far are
///   old too: LATEST, at once (the parent has nothing to read);
/// - a parent read from LATEST that was open: the reshard came during this
///   run, so every record of the child is new: TRIM_HORIZON, once the
///   parent has ended.
fn child_start(
    parent: &str,
    ended_before: &HashSet<String>,
    ended_here: &HashSet<String>,
    started: &HashMap<String, (Position, bool)>,
) -> Option<Position> {
    if ended_before.contains(parent) {
        return Some(Position::TrimHorizon);
    }
    match started.get(parent)? {
        (Position::Latest, true) => Some(Position::Latest),
        _ if !ended_here.contains(parent) => None,
        (Position::Timestamp(t), _) => Some(Position::Timestamp(*t)),
        _ => Some(Position::TrimHorizon),
    }
}

fn board_entry(board: &ShardBoard, shard: &ShardInfoPublic, state: ShardState) {
    let mut b = board.lock().unwrap_or_else(|e| e.into_inner());
    let entry = b
        .entry(shard.shard_id.clone())
        .or_insert_with(|| ShardStatus {
            shard_id: shard.shard_id.clone(),
            parent: shard.parent.clone(),
            adjacent_parent: shard.adjacent_parent.clone(),
            open: !shard.closed,
            state,
            records: 0,
            records_per_s: 0.0,
            millis_behind: None,
            throttled: 0,
            expired_iterators: 0,
            quarantined: 0,
            last_error: None,
        });
    entry.open = !shard.closed;
    if entry.state != ShardState::Ended {
        entry.state = state;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Position {
    Latest,
    TrimHorizon,
    Timestamp(i64),
    /// After the last record this run has read.
    After(String),
    /// After a checkpoint stored by an earlier run.
    Checkpoint(String),
}

impl Position {
    /// Earlier starts first: a child of two parents takes the earlier.
    fn rank(&self) -> u8 {
        match self {
            Position::TrimHorizon | Position::After(_) | Position::Checkpoint(_) => 0,
            Position::Timestamp(_) => 1,
            Position::Latest => 2,
        }
    }
}

impl From<StartAt> for Position {
    fn from(s: StartAt) -> Self {
        match s {
            StartAt::Latest => Position::Latest,
            StartAt::TrimHorizon => Position::TrimHorizon,
            StartAt::Timestamp(t) => Position::Timestamp(t),
        }
    }
}

struct ShardReader {
    client: Client,
    stream: String,
    shard: String,
    config: ConsumerConfig,
    out: mpsc::Sender<ShardBatch>,
    board: ShardBoard,
    stop: watch::Receiver<bool>,
}

enum Failure {
    Throttled,
    Expired,
    /// Worth another try after a pause.
    Retry(String),
    /// Retrying cannot change the answer: the consumer ends with this.
    Fatal(KinesisError),
}

/// Whether an error code says the request itself is refused, however often
/// it is sent.
fn is_invalid(code: &str) -> bool {
    matches!(
        code,
        "InvalidArgumentException" | "ValidationException" | "SerializationException"
    )
}

/// Sorts a Kinesis error into what the consumer does about it.
fn classify<E>(stream: &str, e: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = describe_sdk_error(e);
    let code = e.as_service_error().and_then(|s| s.code()).unwrap_or("");
    match code {
        "ProvisionedThroughputExceededException"
        | "KMSThrottlingException"
        | "LimitExceededException" => return Failure::Throttled,
        "ExpiredIteratorException" => return Failure::Expired,
        "ResourceNotFoundException" => {
            return Failure::Fatal(KinesisError::StreamNotFound {
                stream: stream.to_owned(),
                detail,
            });
        }
        c if is_invalid(c) => return Failure::Fatal(KinesisError::Invalid(detail)),
        // The stream's key is disabled, gone or not usable: an operator
        // must act.
        "KMSAccessDeniedException"
        | "KMSDisabledException"
        | "KMSInvalidStateException"
        | "KMSNotFoundException"
        | "KMSOptInRequired" => {
            return Failure::Fatal(KinesisError::AccessDenied {
                stream: stream.to_owned(),
                detail,
            });
        }
        _ => {}
    }
    match crate::aws::classify(e) {
        (AwsProblem::AccessDenied, detail) => Failure::Fatal(KinesisError::AccessDenied {
            stream: stream.to_owned(),
            detail,
        }),
        // Credentials that worked when the run started (the stream was
        // described with them) and fail now are a refresh that failed for
        // a while (instance metadata slow, an SSO session renewing): retry,
        // as for the network, rather than end a long-running follower.
        (AwsProblem::NoCredentials, detail) => Failure::Retry(detail),
        _ => Failure::Retry(detail),
    }
}

/// Exponential backoff with jitter, from a base, capped.
struct Backoff {
    next: Duration,
    base: Duration,
    seed: u64,
}

impl Backoff {
    fn new(base: Duration) -> Self {
        Backoff {
            next: base,
            base,
            seed: 0x9E37_79B9_7F4A_7C15,
        }
    }
    fn reset(&mut self) {
        self.next = self.base;
    }
    fn step(&mut self) -> Duration {
        // xorshift: jitter need not be cryptographic, only spread out.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let jitter = 0.5 + (self.seed % 1000) as f64 / 1000.0;
        let d = self.next.mul_f64(jitter);
        self.next = (self.next * 2).min(MAX_BACKOFF);
        d
    }
}

impl ShardReader {
    /// Sleeps unless stopped first; true if stopped.
    async fn pause(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => *self.stop.borrow(),
            changed = self.stop.changed() => changed.is_err() || *self.stop.borrow(),
        }
    }

    /// Waits for a request unless stopped first (None): a request hung on
    /// a dead connection must not keep a stopped consumer from ending.
    async fn unless_stopped<T>(&self, request: impl Future<Output = T>) -> Option<T> {
        let mut stop = self.stop.clone();
        tokio::select! {
            v = request => Some(v),
            // A dropped sender also means stop.
            _ = stop.wait_for(|s| *s) => None,
        }
    }

    async fn iterator(&self, position: &Position) -> Result<Option<String>, Failure> {
        let mut req = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(&self.shard);
        req = match position {
            Position::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
            Position::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            Position::Timestamp(us) => req
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(DateTime::from_millis(us / 1000)),
            Position::After(seq) | Position::Checkpoint(seq) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
        };
        let out = req.send().await.map_err(|e| {
            match (classify(&self.stream, &e), position) {
                // Say which start was refused: that is what to change.
                (Failure::Fatal(KinesisError::Invalid(detail)), Position::Checkpoint(seq)) => {
                    Failure::Fatal(KinesisError::StaleCheckpoint {
                        stream: self.stream.clone(),
                        shard: self.shard.clone(),
                        sequence: seq.clone(),
                        detail,
                    })
                }
                (Failure::Fatal(KinesisError::Invalid(detail)), Position::Timestamp(us)) => {
                    Failure::Fatal(KinesisError::StartRefused {
                        stream: self.stream.clone(),
                        shard: self.shard.clone(),
                        at: rfc3339(*us),
                        detail,
                    })
                }
                (f, _) => f,
            }
        })?;
        Ok(out.shard_iterator().map(str::to_owned))
    }

    async fn run(mut self, start: Position) -> Result<ShardOutcome, KinesisError> {
        let mut position = start;
        let mut iterator: Option<String> = None;
        // Set while a LATEST iterator is held and nothing has been read
        // from it: when it was asked for. The tip moves, so a fresh LATEST
        // would skip whatever came meanwhile: such an iterator is kept
        // through failures, and once it is lost (expired), reading goes on
        // from the time it was taken instead.
        let mut tip_taken_at: Option<i64> = None;
        let mut backoff = Backoff::new(Duration::from_millis(250));
        let mut last_call = Instant::now() - MIN_CALL_GAP;
        let mut rate_window = (Instant::now(), 0u64);
        loop {
            if *self.stop.borrow() {
                return Ok(ShardOutcome::Stopped);
            }
            let since = last_call.elapsed();
            if since < MIN_CALL_GAP && self.pause(MIN_CALL_GAP - since).await {
                return Ok(ShardOutcome::Stopped);
            }
            last_call = Instant::now();
            let it = match &iterator {
                Some(it) => it.clone(),
                None => {
                    let asked_at = crate::time::now_us();
                    match self.unless_stopped(self.iterator(&position)).await {
                        None => return Ok(ShardOutcome::Stopped),
                        Some(Ok(Some(it))) => {
                            if position == Position::Latest {
                                tip_taken_at = Some(asked_at);
                            }
                            iterator = Some(it.clone());
                            it
                        }
                        // No iterator: the shard is closed and nothing is
                        // after the position.
                        Some(Ok(None)) => return self.end().await,
                        Some(Err(f)) => {
                            if let Some(outcome) = self.failed(f, &mut backoff).await? {
                                return Ok(outcome);
                            }
                            continue;
                        }
                    }
                }
            };
            let request = self
                .client
                .get_records()
                .shard_iterator(&it)
                .limit(self.config.records_per_call)
                .send();
            let Some(result) = self.unless_stopped(request).await else {
                return Ok(ShardOutcome::Stopped);
            };
            let out = match result {
                Ok(out) => out,
                Err(e) => {
                    let (f, lost) = match classify(&self.stream, &e) {
                        Failure::Expired => (Failure::Expired, true),
                        // An iterator Kinesis refuses: a fresh one from the
                        // position settles it (a refused position is then
                        // refused where it is asked for, and said so).
                        Failure::Fatal(KinesisError::Invalid(detail)) => {
                            (Failure::Retry(detail), true)
                        }
                        // Still valid (it would say expired otherwise).
                        Failure::Throttled => (Failure::Throttled, false),
                        // After a record, a fresh iterator from it is
                        // always valid and an old one may not be; a held
                        // LATEST one is kept, a fresh one would skip.
                        f @ Failure::Retry(_) => (f, tip_taken_at.is_none()),
                        f @ Failure::Fatal(_) => (f, true),
                    };
                    if lost {
                        iterator = None;
                        if let Some(t) = tip_taken_at.take() {
                            position = Position::Timestamp(t);
                        }
                    }
                    if matches!(f, Failure::Expired) {
                        update(&self.board, &self.shard, |s| s.expired_iterators += 1);
                        tracing::info!(shard = %self.shard, ?position, "iterator expired; taking a new one after the last record");
                        continue;
                    }
                    if let Some(outcome) = self.failed(f, &mut backoff).await? {
                        return Ok(outcome);
                    }
                    continue;
                }
            };
            backoff.reset();
            let records = out.records();
            let behind = out.millis_behind_latest();
            if let Some(last) = records.last() {
                let mut batch = ShardBatch::new(self.shard.clone());
                let now = crate::time::now_us();
                for r in records {
                    let arrival = r
                        .approximate_arrival_timestamp()
                        .and_then(|t| t.to_millis().ok())
                        .map_or(now, |ms| ms * 1000);
                    batch.add(r.data().as_ref(), arrival, r.sequence_number());
                }
                let last_seq = last.sequence_number().to_owned();
                batch.checkpoint = Some(last_seq.clone());
                position = Position::After(last_seq);
                tip_taken_at = None;
                let n = records.len() as u64;
                let q = batch.quarantined.len() as u64;
                if self.out.send(batch).await.is_err() {
                    return Ok(ShardOutcome::OutputClosed);
                }
                rate_window.1 += n;
                let elapsed = rate_window.0.elapsed().as_secs_f64();
                update(&self.board, &self.shard, |s| {
                    s.records += n;
                    s.quarantined += q;
                    s.millis_behind = behind;
                    s.last_error = None;
                    if elapsed >= 1.0 {
                        s.records_per_s = rate_window.1 as f64 / elapsed;
                    }
                });
                if elapsed >= 1.0 {
                    rate_window = (Instant::now(), 0);
                }
            } else {
                update(&self.board, &self.shard, |s| {
                    s.millis_behind = behind;
                    s.last_error = None;
                });
            }
            match out.next_shard_iterator() {
                None => return self.end().await,
                Some(next) => iterator = Some(next.to_owned()),
            }
            if records.is_empty() && behind.unwrap_or(0) == 0 {
                if self.config.until_caught_up {
                    return Ok(ShardOutcome::CaughtUp);
                }
                if self.pause(self.config.idle_poll).await {
                    return Ok(ShardOutcome::Stopped);
                }
            }
        }
    }

    /// A closed shard read to its end: checkpoint that, so a restart never
    /// reads it again and its children may start.
    async fn end(&mut self) -> Result<ShardOutcome, KinesisError> {
        tracing::info!(shard = %self.shard, "shard read to its end");
        let mut batch = ShardBatch::new(self.shard.clone());
        batch.checkpoint = Some(SHARD_END.to_owned());
        if self.out.send(batch).await.is_err() {
            return Ok(ShardOutcome::OutputClosed);
        }
        Ok(ShardOutcome::Ended)
    }

    /// Waits out a failure; Some(outcome) ends the reader.
    async fn failed(
        &mut self,
        failure: Failure,
        backoff: &mut Backoff,
    ) -> Result<Option<ShardOutcome>, KinesisError> {
        let message = match failure {
            Failure::Throttled => {
                update(&self.board, &self.shard, |s| s.throttled += 1);
                "throttled (ProvisionedThroughputExceeded)".to_string()
            }
            Failure::Expired => "iterator expired".to_string(),
            Failure::Fatal(e) => {
                // Said once, by whoever runs the consumer, when it ends.
                update(&self.board, &self.shard, |s| {
                    s.last_error = Some(e.to_string())
                });
                return Err(e);
            }
            Failure::Retry(m) => m,
        };
        let wait = backoff.step();
        tracing::warn!(shard = %self.shard, error = %message, retry_in = ?wait, "read failed; retrying");
        update(&self.board, &self.shard, |s| s.last_error = Some(message));
        if self.pause(wait).await {
            return Ok(Some(ShardOutcome::Stopped));
        }
        Ok(None)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps_with_jitter() {
        let mut b = Backoff::new(Duration::from_millis(100));
        let waits: Vec<Duration> = (0..10).map(|_| b.step()).collect();
        assert!(waits[0] >= Duration::from_millis(50) && waits[0] <= Duration::from_millis(150));
        assert!(waits[3] > waits[0]);
        assert!(waits.iter().all(|w| *w <= MAX_BACKOFF.mul_f64(1.5)));
        b.reset();
        assert!(b.step() <= Duration::from_millis(150));
    }

    #[test]
    fn children_start_where_their_parents_started() {
        let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
        let mut started = HashMap::new();
        started.insert("latest-closed".to_string(), (Position::Latest, true));
        started.insert("latest-open".to_string(), (Position::Latest, false));
        started.insert("at".to_string(), (Position::Timestamp(7), false));
        started.insert("trim".to_string(), (Position::TrimHorizon, false));
        let none = set(&[]);
        let ended = set(&["latest-open", "at", "trim"]);
        // Resharded before the start: the child's records are old too.
        assert_eq!(
            child_start("latest-closed", &none, &none, &started),
            Some(Position::Latest)
        );
        // Resharded while reading: every record of the child is new, but
        // only once the parent has been read to its end.
        assert_eq!(child_start("latest-open", &none, &none, &started), None);
        assert_eq!(
            child_start("latest-open", &none, &ended, &started),
            Some(Position::TrimHorizon)
        );
        assert_eq!(
            child_start("at", &none, &ended, &started),
            Some(Position::Timestamp(7))
        );
        assert_eq!(
            child_start("trim", &none, &ended, &started),
            Some(Position::TrimHorizon)
        );
        // Read to its end by an earlier run; or not started yet.
        assert_eq!(
            child_start("gone", &set(&["gone"]), &none, &started),
            Some(Position::TrimHorizon)
        );
        assert_eq!(child_start("unknown", &none, &none, &started), None);
        // A merge takes the earlier of its parents' starts.
        let merged = [Position::Latest, Position::TrimHorizon]
            .into_iter()
            .min_by_key(Position::rank);
        assert_eq!(merged, Some(Position::TrimHorizon));
    }

    #[test]
    fn shards_know_their_hash_ranges() {
        let s = ShardInfoPublic {
            shard_id: "shardId-000000000000".into(),
            parent: None,
            adjacent_parent: None,
            starting_hash_key: Some("0".into()),
            ending_hash_key: Some("170141183460469231731687303715884105727".into()),
            closed: false,
        };
        assert!(s.holds(0));
        assert!(s.holds((1u128 << 127) - 1));
        assert!(!s.holds(1u128 << 127));
    }
}
