//! The UTC calendar, for the pipeline and the UI alike. Times inside
//! Gridwatch are epoch microseconds (`i64`).

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
    // In i128 and clamped: a day or hour far out of range (an untrusted
    // folder name) saturates instead of overflowing. In range, exact.
    let us = i128::from(days) * i128::from(MICROS_PER_DAY)
        + i128::from(hour) * i128::from(MICROS_PER_HOUR);
    us.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The first year the lake's partitions and the CLI's times may name.
pub const MIN_YEAR: i32 = 1970;
/// The last year (four digits in a `year=` folder, and Timestream's limit).
pub const MAX_YEAR: i32 = 9999;
/// 10000-01-01T00:00:00Z: the end (exclusive) of the supported times.
pub const MAX_US: i64 = 253_402_300_800 * MICROS_PER_SECOND;

/// Days in `month` of `year` (0 for a month that does not exist).
pub fn days_in_month(year: i32, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

/// Like [`from_civil`], for a date that exists within [`MIN_YEAR`] ..=
/// [`MAX_YEAR`] and an hour 0-23; `None` for anything else (`month=13`,
/// `day=0`, February 30th, `hour=24`, `year=300000`), so untrusted folder
/// names and arguments never reach the arithmetic out of range.
pub fn from_civil_checked(year: i32, month: u32, day: u32, hour: u32) -> Option<i64> {
    let valid = (MIN_YEAR..=MAX_YEAR).contains(&year)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24;
    valid.then(|| from_civil(year, month, day, hour))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_civil_refuses_what_does_not_exist_and_agrees_elsewhere() {
        assert_eq!(
            from_civil_checked(2023, 11, 14, 22),
            Some(from_civil(2023, 11, 14, 22))
        );
        assert_eq!(from_civil_checked(1970, 1, 1, 0), Some(0));
        assert_eq!(
            from_civil_checked(9999, 12, 31, 23),
            Some(MAX_US - MICROS_PER_HOUR)
        );
        assert_eq!(
            from_civil_checked(2024, 2, 29, 0),
            Some(from_civil(2024, 2, 29, 0))
        );
        for (y, m, d, h) in [
            (2023, 2, 29, 0),
            (2100, 2, 29, 0),
            (2023, 13, 1, 0),
            (2023, 0, 1, 0),
            (2023, 4, 31, 0),
            (2023, 1, 0, 0),
            (2023, 1, 1, 24),
            (2023, 1, 1, u32::MAX),
            (1969, 12, 31, 0),
            (10000, 1, 1, 0),
            (300_000, 1, 1, 0),
            (i32::MAX, u32::MAX, u32::MAX, u32::MAX),
            (i32::MIN, 1, 1, 0),
        ] {
            assert_eq!(from_civil_checked(y, m, d, h), None, "{y}-{m}-{d} {h}h");
        }
        // The unchecked form saturates rather than overflow.
        assert_eq!(from_civil(i32::MAX, u32::MAX, u32::MAX, u32::MAX), i64::MAX);
        assert_eq!(from_civil(2023, 1, 1, u32::MAX), i64::MAX);
    }
}
