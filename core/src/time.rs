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

// The calendar, and times as operators type and read them, live with the
// shared types: the wasm UI and the CLI use the same ones.
pub use gridwatch_types::time::{
    Civil, MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_SECOND, civil, format_date, format_seconds,
    format_time, format_time_micros, from_civil, parse_duration, parse_time,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_across_leap_years_and_eras() {
        for us in [
            0,
            951_782_400_000_000,   // 2000-02-29
            1_700_000_000_000_000, // 2023-11-14T22:13:20Z
            4_107_542_400_000_000, // 2100-02-28
            -86_400_000_000,       // 1969-12-31
        ] {
            let c = civil(us);
            let back = from_civil(c.year, c.month, c.day, c.hour)
                + i64::from(c.minute) * 60_000_000
                + i64::from(c.second) * 1_000_000;
            assert_eq!(back, us - us.rem_euclid(1_000_000), "{c:?}");
        }
        let c = civil(1_700_000_000_000_000);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2023, 11, 14, 22, 13, 20)
        );
        assert_eq!(civil(951_782_400_000_000).day, 29);
    }
}
