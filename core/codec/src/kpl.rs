//! KPL aggregated records: many user records in one Kinesis record, as the
//! Kinesis Producer Library, Fluent Bit and AWS Labs' aggregation libraries
//! write them, and as the KCL, Flink's consumer and Firehose read them.
//!
//! The published format (awslabs/amazon-kinesis-producer,
//! `aggregation-format.md`):
//!
//! ```text
//! F3 89 9A C2                       magic
//! AggregatedRecord (protobuf 2)     the body
//! MD5 of the body                   16 bytes
//!
//! message AggregatedRecord {
//!   repeated string partition_key_table     = 1;
//!   repeated string explicit_hash_key_table = 2;
//!   repeated Record records                 = 3;
//! }
//! message Record {
//!   required uint64 partition_key_index     = 1;
//!   optional uint64 explicit_hash_key_index = 2;
//!   required bytes  data                    = 3;
//!   repeated Tag    tags                    = 4;
//! }
//! message Tag { required string key = 1; optional string value = 2; }
//! ```
//!
//! The reader is a bounds-checked walk over varints and length-delimited
//! fields (no protobuf library): it never panics and never allocates more
//! than the input's size, whatever the input (`fuzz/fuzz_targets/kpl.rs`).
//! User records borrow their bytes from the aggregate. Unknown fields are
//! skipped, as protobuf readers do, so a producer that adds one is still
//! read.
//!
//! A user record is never dropped for its hash key: the KCL drops those
//! outside the shard's range, which loses records of aggregators that set
//! their own explicit hash keys (kinesis-aggregation issue 11). Each user
//! record is read where its aggregate landed.

use std::collections::HashMap;

use md5::{Digest, Md5};

/// The four bytes every KPL aggregate starts with.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
/// The MD5 digest at the end of an aggregate.
const DIGEST_BYTES: usize = 16;

/// The reason code a corrupt aggregate is quarantined with.
pub const BAD_AGGREGATE: &str = "bad_aggregate";

/// Whether a Kinesis record is a KPL aggregate (by its magic).
#[inline]
pub fn is_aggregate(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// Whether a record that is not an aggregate by its magic is one whose
/// magic was damaged: its last 16 bytes are the MD5 of what lies between
/// the first four and them. Plain text does not end in its own digest by
/// chance, so this tells a corrupt aggregate (kept as `bad_aggregate`)
/// from a record that was never one.
pub fn has_damaged_magic(data: &[u8]) -> bool {
    if data.len() < MAGIC.len() + DIGEST_BYTES || is_aggregate(data) {
        return false;
    }
    let (body, digest) = data[MAGIC.len()..].split_at(data.len() - MAGIC.len() - DIGEST_BYTES);
    Md5::digest(body).as_slice() == digest
}

/// Why an aggregate cannot be read. Every one of these quarantines the
/// aggregate whole, with reason [`BAD_AGGREGATE`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregateError {
    #[error("{0} bytes: too short for the magic, a body and the 16-byte MD5")]
    TooShort(usize),
    #[error("it does not start with the KPL magic F3 89 9A C2")]
    BadMagic,
    #[error("its MD5 does not match its body (damaged or truncated)")]
    BadChecksum,
    #[error("the body is not a valid AggregatedRecord: {what} at byte {at}")]
    Malformed { what: &'static str, at: usize },
    #[error("user record {index} names {table} entry {entry}, but the table holds {len}")]
    BadIndex {
        index: usize,
        table: &'static str,
        entry: u64,
        len: usize,
    },
    #[error("it holds no user record")]
    Empty,
}

impl AggregateError {
    /// The stable reason code, the same for every way an aggregate is bad.
    pub fn code(&self) -> &'static str {
        BAD_AGGREGATE
    }
}

/// One user record of an aggregate, in the order the producer added it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserRecord<'a> {
    /// Its place in the aggregate, from 0: its sub-sequence number.
    pub index: usize,
    /// Its own partition key, from the aggregate's table (not the Kinesis
    /// record's, which is only the first user record's).
    pub partition_key: &'a str,
    pub explicit_hash_key: Option<&'a str>,
    pub data: &'a [u8],
}

/// A read aggregate: its user records, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregate<'a> {
    pub records: Vec<UserRecord<'a>>,
}

/// A user record as found, before its table indices are resolved (the
/// tables may come after the records: protobuf fixes no field order).
struct RawUserRecord<'a> {
    partition_key: Option<u64>,
    explicit_hash_key: Option<u64>,
    data: Option<&'a [u8]>,
}

impl<'a> Aggregate<'a> {
    /// Reads an aggregate: magic, MD5, then the body.
    pub fn parse(data: &'a [u8]) -> Result<Self, AggregateError> {
        if data.len() < MAGIC.len() + DIGEST_BYTES {
            return Err(AggregateError::TooShort(data.len()));
        }
        if !is_aggregate(data) {
            return Err(AggregateError::BadMagic);
        }
        let (body, digest) = data[MAGIC.len()..].split_at(data.len() - MAGIC.len() - DIGEST_BYTES);
        if Md5::digest(body).as_slice() != digest {
            return Err(AggregateError::BadChecksum);
        }
        Self::parse_body(body, MAGIC.len())
    }

    /// Reads the protobuf body; `base` is its offset in the record, for
    /// messages.
    fn parse_body(body: &'a [u8], base: usize) -> Result<Self, AggregateError> {
        let mut partition_keys: Vec<&'a str> = Vec::new();
        let mut hash_keys: Vec<&'a str> = Vec::new();
        let mut raw: Vec<RawUserRecord<'a>> = Vec::new();
        let mut r = Reader::new(body, base);
        while !r.done() {
            let (field, wire) = r.key()?;
            match (field, wire) {
                (1, LEN) => partition_keys.push(r.string()?),
                (2, LEN) => hash_keys.push(r.string()?),
                (3, LEN) => {
                    let at = r.offset();
                    let bytes = r.bytes()?;
                    raw.push(parse_record(bytes, at)?);
                }
                (1..=3, _) => return Err(r.malformed("a known field of the wrong wire type")),
                _ => r.skip(wire)?,
            }
        }
        if raw.is_empty() {
            return Err(AggregateError::Empty);
        }
        let records = raw
            .into_iter()
            .enumerate()
            .map(|(index, rec)| {
                let lookup = |table: &[&'a str], name, entry: u64| {
                    usize::try_from(entry)
                        .ok()
                        .and_then(|i| table.get(i).copied())
                        .ok_or(AggregateError::BadIndex {
                            index,
                            table: name,
                            entry,
                            len: table.len(),
                        })
                };
                // Both fields are required in protobuf 2, but writers of
                // protobuf 3 leave out zeros and empty bytes: read those as
                // such (an empty user record is then quarantined alone).
                let key = rec.partition_key.unwrap_or(0);
                let data = rec.data.unwrap_or_default();
                let explicit_hash_key = rec
                    .explicit_hash_key
                    .map(|e| lookup(&hash_keys, "explicit_hash_key_table", e))
                    .transpose()?;
                Ok(UserRecord {
                    index,
                    partition_key: lookup(&partition_keys, "partition_key_table", key)?,
                    explicit_hash_key,
                    data,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Aggregate { records })
    }
}

/// One `Record` message.
fn parse_record(bytes: &[u8], base: usize) -> Result<RawUserRecord<'_>, AggregateError> {
    let mut rec = RawUserRecord {
        partition_key: None,
        explicit_hash_key: None,
        data: None,
    };
    let mut r = Reader::new(bytes, base);
    while !r.done() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, VARINT) => rec.partition_key = Some(r.varint()?),
            (2, VARINT) => rec.explicit_hash_key = Some(r.varint()?),
            (3, LEN) => rec.data = Some(r.bytes()?),
            (4, LEN) => {
                let at = r.offset();
                check_tag(r.bytes()?, at)?;
            }
            (1..=4, _) => return Err(r.malformed("a known field of the wrong wire type")),
            _ => r.skip(wire)?,
        }
    }
    Ok(rec)
}

/// A `Tag` message: read for its shape only (Gridwatch has no use for tags).
fn check_tag(bytes: &[u8], base: usize) -> Result<(), AggregateError> {
    let mut r = Reader::new(bytes, base);
    let mut has_key = false;
    while !r.done() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, LEN) => {
                r.string()?;
                has_key = true;
            }
            (2, LEN) => {
                r.string()?;
            }
            (1 | 2, _) => return Err(r.malformed("a known field of the wrong wire type")),
            _ => r.skip(wire)?,
        }
    }
    if has_key {
        Ok(())
    } else {
        Err(r.malformed("a tag without its required key"))
    }
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// A bounds-checked cursor over protobuf bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Where `bytes` starts in the whole record, for messages.
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], base: usize) -> Self {
        Reader {
            bytes,
            pos: 0,
            base,
        }
    }

    fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn malformed(&self, what: &'static str) -> AggregateError {
        AggregateError::Malformed {
            what,
            at: self.offset(),
        }
    }

    fn varint(&mut self) -> Result<u64, AggregateError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.malformed("a varint cut short"));
            };
            self.pos += 1;
            // The tenth byte holds only the top bit of a u64.
            if i == 9 && b > 1 {
                return Err(self.malformed("a varint past 64 bits"));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.malformed("a varint past 64 bits"))
    }

    /// A field's number and wire type.
    fn key(&mut self) -> Result<(u64, u8), AggregateError> {
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 {
            return Err(self.malformed("field number 0"));
        }
        Ok((field, (key & 7) as u8))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], AggregateError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.malformed("a field longer than what is left (truncated)"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn bytes(&mut self) -> Result<&'a [u8], AggregateError> {
        let len = self.varint()?;
        let len = usize::try_from(len)
            .map_err(|_| self.malformed("a field longer than what is left (truncated)"))?;
        self.take(len)
    }

    fn string(&mut self) -> Result<&'a str, AggregateError> {
        let at = self.offset();
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|_| AggregateError::Malformed {
            what: "a string that is not UTF-8",
            at,
        })
    }

    /// Skips an unknown field's value.
    fn skip(&mut self, wire: u8) -> Result<(), AggregateError> {
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.bytes().map(drop),
            FIXED32 => self.take(4).map(drop),
            // Groups (3, 4) were never in this format; 6 and 7 do not exist.
            _ => Err(self.malformed("an unknown wire type")),
        }
    }
}

/// Builds KPL aggregates: user records added one by one, then the whole
/// written with magic and MD5 by [`Aggregator::finish`]. Partition keys and
/// explicit hash keys are written once each, in their tables.
#[derive(Debug, Default)]
pub struct Aggregator {
    partition_keys: Vec<String>,
    partition_key_index: HashMap<String, u64>,
    hash_keys: Vec<String>,
    hash_key_index: HashMap<String, u64>,
    /// The `records` fields written so far (key, length, message).
    records: Vec<u8>,
    /// The tables' fields' size in bytes so far.
    table_bytes: usize,
    count: usize,
}

/// Bytes a varint of `v` takes.
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field of `len` bytes, whole.
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

impl Aggregator {
    pub fn new() -> Self {
        Aggregator::default()
    }

    /// User records added since the last [`Aggregator::finish`].
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The size of the aggregate [`Aggregator::finish`] would write now.
    pub fn size(&self) -> usize {
        MAGIC.len() + self.table_bytes + self.records.len() + DIGEST_BYTES
    }

    /// The size the aggregate would have with one more user record: what a
    /// producer checks against Kinesis's 1 MiB before adding it.
    pub fn size_with(
        &self,
        partition_key: &str,
        explicit_hash_key: Option<&str>,
        data: usize,
    ) -> usize {
        let (pk_index, pk_table) = match self.partition_key_index.get(partition_key) {
            Some(&i) => (i, 0),
            None => (
                self.partition_keys.len() as u64,
                field_len(partition_key.len()),
            ),
        };
        let (ehk, ehk_table) = match explicit_hash_key {
            None => (0, 0),
            Some(k) => match self.hash_key_index.get(k) {
                Some(&i) => (1 + varint_len(i), 0),
                None => (
                    1 + varint_len(self.hash_keys.len() as u64),
                    field_len(k.len()),
                ),
            },
        };
        let message = 1 + varint_len(pk_index) + ehk + field_len(data);
        self.size() + pk_table + ehk_table + field_len(message)
    }

    /// Adds a user record.
    pub fn add(&mut self, partition_key: &str, explicit_hash_key: Option<&str>, data: &[u8]) {
        let pk = match self.partition_key_index.get(partition_key) {
            Some(&i) => i,
            None => {
                let i = self.partition_keys.len() as u64;
                self.partition_keys.push(partition_key.to_owned());
                self.partition_key_index.insert(partition_key.to_owned(), i);
                self.table_bytes += field_len(partition_key.len());
                i
            }
        };
        let ehk = explicit_hash_key.map(|k| match self.hash_key_index.get(k) {
            Some(&i) => i,
            None => {
                let i = self.hash_keys.len() as u64;
                self.hash_keys.push(k.to_owned());
                self.hash_key_index.insert(k.to_owned(), i);
                self.table_bytes += field_len(k.len());
                i
            }
        });
        let message =
            1 + varint_len(pk) + ehk.map_or(0, |i| 1 + varint_len(i)) + field_len(data.len());
        self.records.push(3 << 3 | LEN);
        push_varint(&mut self.records, message as u64);
        self.records.push(1 << 3 | VARINT);
        push_varint(&mut self.records, pk);
        if let Some(i) = ehk {
            self.records.push(2 << 3 | VARINT);
            push_varint(&mut self.records, i);
        }
        self.records.push(3 << 3 | LEN);
        push_varint(&mut self.records, data.len() as u64);
        self.records.extend_from_slice(data);
        self.count += 1;
    }

    /// The aggregate of the user records added so far (magic, body, MD5),
    /// and a fresh start for the next one.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size());
        out.extend_from_slice(&MAGIC);
        for (field, table) in [(1u8, &self.partition_keys), (2, &self.hash_keys)] {
            for key in table {
                out.push(field << 3 | LEN);
                push_varint(&mut out, key.len() as u64);
                out.extend_from_slice(key.as_bytes());
            }
        }
        out.extend_from_slice(&self.records);
        let digest = Md5::digest(&out[MAGIC.len()..]);
        out.extend_from_slice(&digest);
        *self = Aggregator {
            // The key maps' memory is kept for the next aggregate.
            partition_key_index: std::mem::take(&mut self.partition_key_index),
            hash_key_index: std::mem::take(&mut self.hash_key_index),
            records: std::mem::take(&mut self.records),
            ..Aggregator::default()
        };
        self.partition_key_index.clear();
        self.hash_key_index.clear();
        self.records.clear();
        out
    }
}

#[cfg(test)]
mod tests;
