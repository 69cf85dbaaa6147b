//! The UTC calendar, for the pipeline and the UI alike, and times as an
//! operator types and reads them. Times inside Gridwatch are epoch
//! microseconds (`i64`).

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

/// The earliest time Gridwatch (and Timestream) holds: 1970-01-01.
pub const EARLIEST_US: i64 = 0;
/// The latest: 9999-12-31T23:59:59.999999Z (Timestream's own limit too).
pub const LATEST_US: i64 = MAX_US - 1;

/// `us` when it lies in [`EARLIEST_US`]..=[`LATEST_US`]; otherwise which
/// side it fell off, for a message that names the value.
pub fn check_time_us(us: i64) -> Result<i64, &'static str> {
    if us < EARLIEST_US {
        Err("before 1970-01-01")
    } else if us > LATEST_US {
        Err("after 9999-12-31")
    } else {
        Ok(us)
    }
}

// Times and durations as an operator types them (the CLI's flags). Every
// time is checked against the span above, and all arithmetic on it is
// checked: a typo such as `--from 99999999999999999` is an error naming
// it, never a wrapped number or a panic.

/// A point in time: `now`, `now-1h` or `-1h` (relative to now), an
/// RFC 3339 time (`2026-11-26T08:00:00Z`, `2026-11-26 08:00:00` is UTC), or
/// epoch milliseconds. Out of 1970-01-01..9999-12-31 it is an error.
pub fn parse_time(s: &str, now_us: i64) -> Result<i64, String> {
    let t = s.trim();
    let us = parse_unchecked(t, now_us)?;
    check_time_us(us).map_err(|range| format!("{t:?} is {range}"))
}

fn parse_unchecked(t: &str, now_us: i64) -> Result<i64, String> {
    let before = || format!("{t:?} is before 1970-01-01");
    let after = || format!("{t:?} is after 9999-12-31");
    if t.eq_ignore_ascii_case("now") {
        return Ok(now_us);
    }
    let relative = t
        .strip_prefix("now-")
        .or_else(|| t.strip_prefix("now -"))
        .or_else(|| t.strip_prefix('-'));
    if let Some(ago) = relative {
        let d = match parse_duration(ago.trim()) {
            Ok(d) => d,
            // A duration, only longer than the calendar: so long ago.
            Err(_) if humantime::parse_duration(ago.trim()).is_ok() => return Err(before()),
            Err(e) => return Err(e),
        };
        // parse_duration keeps durations within the span, so this fits;
        // checked anyway rather than trusted.
        let ago_us = i64::try_from(d.as_micros()).map_err(|_| before())?;
        return now_us.checked_sub(ago_us).ok_or_else(before);
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let ms: i64 = t.parse().map_err(|_| after())?;
        return ms.checked_mul(1000).ok_or_else(after);
    }
    match humantime::parse_rfc3339_weak(t) {
        Ok(st) => {
            let d = st
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|_| before())?;
            i64::try_from(d.as_micros()).map_err(|_| after())
        }
        Err(humantime::TimestampError::OutOfRange) => Err(format!(
            "{t:?} is not a time in 1970-01-01..9999-12-31 (or its month, day, hour, minute or second is out of range)"
        )),
        Err(_) => Err(format!(
            "{t:?} is not a time: use now, -1h (ago), 2026-11-26T08:00:00Z, or epoch milliseconds"
        )),
    }
}

/// The longest duration that makes sense between two times Gridwatch holds.
fn longest() -> std::time::Duration {
    // LATEST_US - EARLIEST_US is a positive constant.
    std::time::Duration::from_micros((LATEST_US - EARLIEST_US).unsigned_abs())
}

/// A duration such as `1s`, `250ms`, `15m`, `1h 30m`, `7d`; at most the
/// span from 1970 to 9999, so callers may turn it into microseconds safely.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}): use e.g. 500ms, 1s, 15m, 24h, 7d"))?;
    if d > longest() {
        return Err(format!(
            "{s:?} is longer than the 8030 years from 1970 to 9999"
        ));
    }
    Ok(d)
}

/// `YYYY-MM-DD` and `hh:mm:ss` of a time, the year four digits within
/// 0000..9999 and ISO 8601's expanded form (`+10000`) outside.
fn date_and_time(us: i64) -> (String, String) {
    let c = civil(us);
    let year = if (0..=9999).contains(&c.year) {
        format!("{:04}", c.year)
    } else {
        format!("{:+05}", c.year)
    };
    (
        format!("{year}-{:02}-{:02}", c.month, c.day),
        format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second),
    )
}

/// RFC 3339 in UTC with as many fractional digits as needed (none,
/// milliseconds or microseconds). Total: a time outside 0000..9999 (which
/// [`parse_time`] refuses) is written with an ISO 8601 expanded year.
pub fn format_time(us: i64) -> String {
    let (date, time) = date_and_time(us);
    match us.rem_euclid(MICROS_PER_SECOND) {
        0 => format!("{date}T{time}Z"),
        f if f % 1000 == 0 => format!("{date}T{time}.{:03}Z", f / 1000),
        f => format!("{date}T{time}.{f:06}Z"),
    }
}

/// RFC 3339 in UTC with all six fractional digits, the form Timestream's
/// SQL compares exactly.
pub fn format_time_micros(us: i64) -> String {
    let (date, time) = date_and_time(us);
    format!("{date}T{time}.{:06}Z", us.rem_euclid(MICROS_PER_SECOND))
}

/// RFC 3339 in UTC to the second (the fraction dropped), as result tables
/// show an hour or a peak.
pub fn format_seconds(us: i64) -> String {
    let (date, time) = date_and_time(us);
    format!("{date}T{time}Z")
}

/// `YYYY-MM-DD` of a time in UTC.
pub fn format_date(us: i64) -> String {
    date_and_time(us).0
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_144_000_000_000; // 2025-11-26T08:00:00Z

    #[test]
    fn times_parse_in_every_form() {
        assert_eq!(parse_time("now", NOW).unwrap(), NOW);
        assert_eq!(parse_time("-1h", NOW).unwrap(), NOW - 3_600_000_000);
        assert_eq!(parse_time("now-15m", NOW).unwrap(), NOW - 900_000_000);
        assert_eq!(parse_time("2025-11-26T08:00:00Z", 0).unwrap(), NOW);
        assert_eq!(parse_time("2025-11-26 08:00:00", 0).unwrap(), NOW);
        assert_eq!(parse_time("1764144000000", 0).unwrap(), NOW);
        // RFC 3339 exactly as typed, with and without a fraction.
        assert_eq!(
            parse_time("2026-12-01T19:00:00Z", NOW).unwrap(),
            1_796_151_600_000_000
        );
        assert_eq!(
            parse_time("2026-12-01T19:00:00.250Z", NOW).unwrap(),
            1_796_151_600_250_000
        );
        assert_eq!(
            parse_time("9999-12-31T23:59:59.999999Z", NOW).unwrap(),
            LATEST_US
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z", NOW).unwrap(), 0);
    }

    #[test]
    fn bad_times_say_what_is_accepted() {
        let e = parse_time("yesterday", NOW).unwrap_err();
        assert!(e.contains("\"yesterday\" is not a time"), "{e}");
        let e = parse_time("-soon", NOW).unwrap_err();
        assert!(e.contains("not a duration"), "{e}");
    }

    #[test]
    fn times_out_of_range_are_errors_naming_them() {
        // Epoch milliseconds past 9999 (this one saturated to i64::MAX).
        assert_eq!(
            parse_time("99999999999999999", NOW).unwrap_err(),
            "\"99999999999999999\" is after 9999-12-31"
        );
        assert_eq!(
            parse_time("253402300800000", NOW).unwrap_err(),
            "\"253402300800000\" is after 9999-12-31"
        );
        assert_eq!(
            parse_time("253402300799999", NOW).unwrap(),
            253_402_300_799_999_000
        );
        // Past i64 milliseconds altogether.
        assert_eq!(
            parse_time("99999999999999999999", NOW).unwrap_err(),
            "\"99999999999999999999\" is after 9999-12-31"
        );
        // -292300y wrapped through `as i64` and then overflowed (a panic
        // in debug builds).
        assert_eq!(
            parse_time("-292300y", NOW).unwrap_err(),
            "\"-292300y\" is before 1970-01-01"
        );
        // Within the span but before 1970.
        assert_eq!(
            parse_time("now-100y", NOW).unwrap_err(),
            "\"now-100y\" is before 1970-01-01"
        );
        assert_eq!(
            parse_time("-1us", 0).unwrap_err(),
            "\"-1us\" is before 1970-01-01"
        );
        assert_eq!(
            parse_time("now", i64::MAX).unwrap_err(),
            "\"now\" is after 9999-12-31"
        );
        let e = parse_time("1969-12-31T23:59:59Z", NOW).unwrap_err();
        assert!(e.contains("not a time in 1970-01-01..9999-12-31"), "{e}");
    }

    #[test]
    fn huge_durations_are_refused() {
        assert!(parse_duration("8029y").is_ok());
        assert_eq!(
            parse_duration("8031y").unwrap_err(),
            "\"8031y\" is longer than the 8030 years from 1970 to 9999"
        );
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn formats_round_trip() {
        assert_eq!(format_time(NOW), "2025-11-26T08:00:00Z");
        assert_eq!(format_time(NOW + 1500), "2025-11-26T08:00:00.001500Z");
        assert_eq!(format_time(NOW + 1000), "2025-11-26T08:00:00.001Z");
        assert_eq!(parse_time(&format_time(NOW + 1500), 0).unwrap(), NOW + 1500);
        assert_eq!(format_time_micros(NOW), "2025-11-26T08:00:00.000000Z");
        assert_eq!(format_seconds(NOW + 1500), "2025-11-26T08:00:00Z");
        assert_eq!(format_date(NOW + 1500), "2025-11-26");
    }

    #[test]
    fn any_time_formats_without_panicking() {
        // humantime refused (and panicked on) anything past 9999, and
        // showed times before 1970 as 1970.
        assert_eq!(format_time(i64::MAX), "+294247-01-10T04:00:54.775807Z");
        assert_eq!(format_time(i64::MIN), "-290308-12-21T19:59:05.224192Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(format_time(LATEST_US), "9999-12-31T23:59:59.999999Z");
    }

    proptest::proptest! {
        #[test]
        fn every_time_in_range_round_trips(t in EARLIEST_US..=LATEST_US, now in proptest::prelude::any::<i64>()) {
            proptest::prop_assert_eq!(parse_time(&format_time(t), now), Ok(t));
            proptest::prop_assert_eq!(parse_time(&format_time_micros(t), now), Ok(t));
        }

        #[test]
        fn whole_seconds_and_milliseconds_round_trip(s in 0..=LATEST_US / 1_000_000, ms in 0..1000i64) {
            let t = s * 1_000_000;
            proptest::prop_assert_eq!(parse_time(&format_time(t), 0), Ok(t));
            let t = t + ms * 1000;
            proptest::prop_assert_eq!(parse_time(&format_time(t), 0), Ok(t));
        }

        #[test]
        fn any_string_is_a_time_in_range_or_an_error(s in proptest::prelude::any::<String>(), now in proptest::prelude::any::<i64>()) {
            if let Ok(t) = parse_time(&s, now) {
                proptest::prop_assert!((EARLIEST_US..=LATEST_US).contains(&t), "{s:?} gave {t}");
            }
        }

        #[test]
        fn time_shaped_strings_never_panic(
            s in r"(now)?-?[0-9]{0,22}(y|d|h|m|s|ms|us|ns)?|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,12})?Z?",
            now in proptest::prelude::any::<i64>(),
        ) {
            if let Ok(t) = parse_time(&s, now) {
                proptest::prop_assert!((EARLIEST_US..=LATEST_US).contains(&t), "{s:?} gave {t}");
            }
        }

        #[test]
        fn any_string_is_a_duration_within_the_span_or_an_error(s in proptest::prelude::any::<String>()) {
            if let Ok(d) = parse_duration(&s) {
                proptest::prop_assert!(d <= longest());
            }
        }

        #[test]
        fn any_i64_formats(t in proptest::prelude::any::<i64>()) {
            let s = format_time(t);
            proptest::prop_assert!(s.ends_with('Z'));
        }
    }

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
