//! The UTC calendar over every i64: no panic, and every time between 1970
//! and 9999 comes back from its calendar date to the second.
#![no_main]

use gridwatch_types::time::{MICROS_PER_SECOND, civil, from_civil};
use libfuzzer_sys::fuzz_target;

const YEAR_10000_US: i64 = 253_402_300_800_000_000;

fuzz_target!(|data: [u8; 8]| {
    let us = i64::from_le_bytes(data);
    let c = civil(us);
    if (0..YEAR_10000_US).contains(&us) {
        assert!((1970..=9999).contains(&c.year), "{us} -> {c:?}");
        let back = from_civil(c.year, c.month, c.day, c.hour)
            + i64::from(c.minute) * 60 * MICROS_PER_SECOND
            + i64::from(c.second) * MICROS_PER_SECOND;
        assert_eq!(back, us - us.rem_euclid(MICROS_PER_SECOND), "{c:?}");
    }
});
