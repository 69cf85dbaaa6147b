//! The in-process bus: the embedded stand-in for a Kinesis data stream.
//!
//! Records are routed like Kinesis routes them: the MD5 of the partition key,
//! read as a big-endian 128-bit number, falls in exactly one shard's hash-key
//! range, and the ranges split the 128-bit space evenly the way CreateStream
//! does. Each shard is a bounded queue (a full shard makes producers wait:
//! backpressure) with its own increasing sequence numbers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use md5::{Digest, Md5};
use tokio::sync::{Mutex, mpsc};

/// A shard's identity, printed like Kinesis's (`shardId-000000000000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardId(pub u32);

impl ShardId {
    pub fn name(self) -> String {
        format!("shardId-{:012}", self.0)
    }
}

impl std::fmt::Display for ShardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shardId-{:012}", self.0)
    }
}

/// The inclusive range of 128-bit hash keys a shard owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashKeyRange {
    pub starting: u128,
    pub ending: u128,
}

impl HashKeyRange {
    pub fn contains(&self, key: u128) -> bool {
        self.starting <= key && key <= self.ending
    }
}

/// MD5 of the partition key as a big-endian 128-bit number, as Kinesis does.
pub fn hash_key(partition_key: &str) -> u128 {
    let digest = Md5::digest(partition_key.as_bytes());
    u128::from_be_bytes(digest.into())
}

/// The ranges CreateStream gives `shards` shards: equal widths of
/// floor(2^128 / shards), the last one running to 2^128 - 1.
pub fn even_ranges(shards: u32) -> Vec<HashKeyRange> {
    let n = u128::from(shards.max(1));
    if n == 1 {
        return vec![HashKeyRange {
            starting: 0,
            ending: u128::MAX,
        }];
    }
    // floor(2^128 / n), computed without 2^128: it is floor((2^128-1)/n),
    // plus one exactly when n divides 2^128.
    let width = u128::MAX / n + u128::from(u128::MAX % n == n - 1);
    (0..n)
        .map(|i| HashKeyRange {
            starting: i * width,
            ending: if i == n - 1 {
                u128::MAX
            } else {
                (i + 1) * width - 1
            },
        })
        .collect()
}

/// One record as a consumer reads it from a shard.
#[derive(Debug, Clone)]
pub struct BusRecord {
    pub shard: ShardId,
    pub sequence: u64,
    pub partition_key: String,
    pub data: Vec<u8>,
    /// When the bus accepted it, epoch microseconds (Kinesis's
    /// ApproximateArrivalTimestamp).
    pub arrival_us: i64,
}

struct ShardInput {
    sender: Mutex<Option<mpsc::Sender<BusRecord>>>,
    next_sequence: AtomicU64,
}

/// The producer side of the bus. Cheap to share (`Arc`).
pub struct Bus {
    ranges: Vec<HashKeyRange>,
    inputs: Vec<ShardInput>,
}

/// The consumer side of one shard.
pub struct ShardReader {
    pub shard: ShardId,
    receiver: mpsc::Receiver<BusRecord>,
}

impl ShardReader {
    /// Waits for records and takes up to `limit` of them; an empty result
    /// means the bus was closed and the shard is drained.
    pub async fn read(&mut self, limit: usize) -> Vec<BusRecord> {
        let mut out = Vec::with_capacity(limit.min(1024));
        self.receiver.recv_many(&mut out, limit).await;
        out
    }
}

/// The bus was closed: no record can be put any more.
#[derive(Debug, thiserror::Error)]
#[error("the bus is closed")]
pub struct BusClosed;

impl Bus {
    /// A bus of `shards` shards, each holding up to `capacity` records before
    /// producers wait. `first_sequences[i]` is shard i's first sequence
    /// number (continue after a checkpoint so numbers never repeat).
    pub fn new(
        shards: u32,
        capacity: usize,
        first_sequences: &[u64],
    ) -> (Arc<Bus>, Vec<ShardReader>) {
        let ranges = even_ranges(shards);
        let mut inputs = Vec::with_capacity(ranges.len());
        let mut readers = Vec::with_capacity(ranges.len());
        for i in 0..ranges.len() {
            let (tx, rx) = mpsc::channel(capacity.max(1));
            inputs.push(ShardInput {
                sender: Mutex::new(Some(tx)),
                next_sequence: AtomicU64::new(first_sequences.get(i).copied().unwrap_or(1)),
            });
            readers.push(ShardReader {
                shard: ShardId(i as u32),
                receiver: rx,
            });
        }
        (Arc::new(Bus { ranges, inputs }), readers)
    }

    pub fn shard_count(&self) -> u32 {
        self.ranges.len() as u32
    }

    pub fn ranges(&self) -> &[HashKeyRange] {
        &self.ranges
    }

    /// The shard whose hash-key range holds MD5(partition_key).
    pub fn route(&self, partition_key: &str) -> ShardId {
        let key = hash_key(partition_key);
        // Ranges are sorted and cover the whole space, so the search always
        // lands in one of them.
        let idx = self.ranges.partition_point(|r| r.ending < key);
        ShardId(idx.min(self.ranges.len() - 1) as u32)
    }

    /// Puts one record, waiting while its shard is full. Returns where it
    /// landed: the shard and its sequence number there.
    pub async fn put(
        &self,
        partition_key: &str,
        data: Vec<u8>,
        arrival_us: i64,
    ) -> Result<(ShardId, u64), BusClosed> {
        let shard = self.route(partition_key);
        let input = &self.inputs[shard.0 as usize];
        // The lock makes "take a sequence number" and "enqueue" one step, so
        // a shard's queue is always in sequence order.
        let guard = input.sender.lock().await;
        let sender = guard.as_ref().ok_or(BusClosed)?;
        let permit = sender.reserve().await.map_err(|_| BusClosed)?;
        let sequence = input.next_sequence.fetch_add(1, Ordering::Relaxed);
        permit.send(BusRecord {
            shard,
            sequence,
            partition_key: partition_key.to_owned(),
            data,
            arrival_us,
        });
        Ok((shard, sequence))
    }

    /// Closes every shard: readers drain what is queued, then see the end.
    pub async fn close(&self) {
        for input in &self.inputs {
            input.sender.lock().await.take();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_match_create_stream() {
        // Kinesis's own split for 3 shards (as DescribeStream prints it).
        let r = even_ranges(3);
        assert_eq!(r[0].starting, 0);
        assert_eq!(r[0].ending, 113427455640312821154458202477256070484);
        assert_eq!(r[1].starting, 113427455640312821154458202477256070485);
        assert_eq!(r[1].ending, 226854911280625642308916404954512140969);
        assert_eq!(r[2].starting, 226854911280625642308916404954512140970);
        assert_eq!(r[2].ending, u128::MAX);
        // And for 2: the halves of the space.
        let r = even_ranges(2);
        assert_eq!(r[0].ending, (1u128 << 127) - 1);
        assert_eq!(r[1].starting, 1u128 << 127);
        // One shard owns everything.
        assert_eq!(
            even_ranges(1),
            vec![HashKeyRange {
                starting: 0,
                ending: u128::MAX
            }]
        );
    }

    #[test]
    fn md5_hash_keys_are_big_endian() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(hash_key(""), 0xd41d8cd98f00b204e9800998ecf8427e);
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(hash_key("a"), 0x0cc175b9c0f1b6a831c399e269772661);
    }

    #[test]
    fn routing_lands_in_the_range_holding_the_hash() {
        for shards in [1, 2, 3, 4, 7, 16] {
            let (bus, _readers) = Bus::new(shards, 8, &[]);
            for i in 0..500 {
                let key = format!("device-{i}");
                let shard = bus.route(&key);
                let h = hash_key(&key);
                assert!(
                    bus.ranges()[shard.0 as usize].contains(h),
                    "{key} in {shards}"
                );
            }
        }
        // Known keys, worked out by hand from their MD5 for 4 shards (quarters
        // of the space are chosen by the top two bits of the digest).
        let (bus, _r) = Bus::new(4, 8, &[]);
        assert_eq!(bus.route("a"), ShardId(0)); // 0x0c.. -> 00
        assert_eq!(bus.route(""), ShardId(3)); // 0xd4.. -> 11
    }

    #[tokio::test]
    async fn sequences_increase_per_shard_and_full_shards_push_back() {
        let (bus, mut readers) = Bus::new(1, 2, &[100]);
        assert_eq!(
            bus.put("k", b"1".to_vec(), 0).await.unwrap(),
            (ShardId(0), 100)
        );
        assert_eq!(
            bus.put("k", b"2".to_vec(), 0).await.unwrap(),
            (ShardId(0), 101)
        );
        // The shard holds two: the third put waits until a reader takes some.
        let bus2 = bus.clone();
        let third = tokio::spawn(async move { bus2.put("k", b"3".to_vec(), 0).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !third.is_finished(),
            "a full shard must make the producer wait"
        );
        let got = readers[0].read(10).await;
        assert_eq!(got.len(), 2);
        assert_eq!(third.await.unwrap().unwrap().1, 102);
        bus.close().await;
        let rest = readers[0].read(10).await;
        assert_eq!(
            rest.iter().map(|r| r.sequence).collect::<Vec<_>>(),
            vec![102]
        );
        assert!(readers[0].read(10).await.is_empty(), "closed and drained");
        assert!(bus.put("k", vec![], 0).await.is_err());
    }
}
