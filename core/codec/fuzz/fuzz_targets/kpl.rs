//! Any bytes through the KPL aggregate reader: user records or a typed
//! error, never a panic; what it reads, written again by the aggregator,
//! reads back the same.
#![no_main]

use gridwatch_codec::kpl::{Aggregate, Aggregator, MAGIC, has_damaged_magic};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = has_damaged_magic(data);
    // As found, and framed with the magic and a correct MD5, so the body's
    // reader is reached however the fuzzer mutates it.
    check(data);
    let mut framed = MAGIC.to_vec();
    framed.extend_from_slice(data);
    framed.extend_from_slice(&md5(data));
    check(&framed);
});

fn check(data: &[u8]) {
    let Ok(aggregate) = Aggregate::parse(data) else {
        return;
    };
    assert!(!aggregate.records.is_empty());
    let mut again = Aggregator::new();
    for (i, r) in aggregate.records.iter().enumerate() {
        assert_eq!(r.index, i);
        again.add(r.partition_key, r.explicit_hash_key, r.data);
    }
    let size = again.size();
    let written = again.finish();
    assert_eq!(written.len(), size);
    let back = Aggregate::parse(&written).expect("what the aggregator writes reads back");
    assert_eq!(back.records, aggregate.records);
}

/// The digest the aggregate format ends with: the MD5 of the body.
fn md5(body: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(body).into()
}
