//! Any bytes through the wire-record decoder: a record or a typed error,
//! never a panic; a decoded record encodes and decodes back to itself; and
//! whatever the record holds prints without control characters.
#![no_main]

use gridwatch_codec::{decode, encode, has_control, printable};
use libfuzzer_sys::fuzz_target;

/// Far ahead of any record's own time, so the 15-minute rule never moves it.
const ARRIVAL_US: i64 = i64::MAX / 2;
/// 2100-01-01: before it, fractional milliseconds survive an f64 exactly.
const EXACT_UNTIL_US: i64 = 4_102_444_800_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = decode(data, ARRIVAL_US) else {
        return;
    };
    assert!(!has_control(&record.device_id));
    let mut wire = Vec::new();
    encode(&record, &mut wire);
    let back = decode(&wire, ARRIVAL_US).expect("an encoded record decodes");
    if record.time_us % 1000 == 0 || record.time_us < EXACT_UNTIL_US {
        assert_eq!(back, record);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(!has_control(&printable(text)));
    }
});
