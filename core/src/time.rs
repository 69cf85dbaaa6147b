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

pub const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SECOND;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// A UTC calendar date and time, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Civil {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Epoch microseconds to the UTC calendar (Howard Hinnant's algorithm).
pub fn civil(us: i64) -> Civil {
    let days = us.div_euclid(MICROS_PER_DAY);
    let secs = us.rem_euclid(MICROS_PER_DAY) / MICROS_PER_SECOND;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Civil {
        year,
        month,
        day,
        hour: (secs / 3_600) as u32,
        minute: (secs % 3_600 / 60) as u32,
        second: (secs % 60) as u32,
    }
}

/// The UTC calendar to epoch microseconds.
pub fn from_civil(year: i32, month: u32, day: u32, hour: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * MICROS_PER_DAY + i64::from(hour) * MICROS_PER_HOUR
}

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
