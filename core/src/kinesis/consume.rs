//! The consumer: which shard is read when. A reader per shard, a child
//! only once its parents allow (each device's readings stay in order), each
//! child started where its parents' starts say, and the shards listed again
//! to find children and new shards.

use std::collections::{HashMap, HashSet};

use aws_sdk_kinesis::Client;
use gridwatch_types::{ShardState, ShardStatus};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::reader::{Position, ShardOutcome, ShardReader};
use super::shards::{ShardInfoPublic, list_shards};
use super::{ConsumerConfig, KinesisError, ShardBoard, update};
use crate::ingest::{SHARD_END, ShardBatch};

#[derive(Debug, Clone)]
struct ShardInfo {
    id: String,
    parents: Vec<String>,
    closed: bool,
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
pub(super) fn child_start(
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
