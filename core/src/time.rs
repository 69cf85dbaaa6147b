//! Clock helpers. Times inside Gridwatch are epoch microseconds (`i64`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in epoch microseconds.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        // A clock before 1970 is a misconfigured machine; treat it as 1970.
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

pub const MICROS_PER_SECOND: i64 = 1_000_000;
