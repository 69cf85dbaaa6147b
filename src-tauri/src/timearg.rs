//! Times and durations as an operator types them on the command line.
//!
//! Every time is checked against the span Gridwatch (and Timestream) can
//! hold, 1970-01-01 to 9999-12-31 UTC, and all arithmetic on it is checked:
//! a typo such as `--from 99999999999999999` is an error naming it, never a
//! wrapped number or a panic.

use std::time::{Duration, UNIX_EPOCH};

use gridwatch_core::timestream::{EARLIEST_US, LATEST_US, check_time_us};

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
            let d = st.duration_since(UNIX_EPOCH).map_err(|_| before())?;
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
fn longest() -> Duration {
    // LATEST_US - EARLIEST_US is a positive constant.
    Duration::from_micros((LATEST_US - EARLIEST_US).unsigned_abs())
}

/// A duration such as `1s`, `250ms`, `15m`, `1h 30m`, `7d`; at most the
/// span from 1970 to 9999, so callers may turn it into microseconds safely.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}): use e.g. 500ms, 1s, 15m, 24h, 7d"))?;
    if d > longest() {
        return Err(format!(
            "{s:?} is longer than the 8030 years from 1970 to 9999"
        ));
    }
    Ok(d)
}

/// RFC 3339 in UTC with as many fractional digits as needed (none,
/// milliseconds or microseconds). Total: a time outside 0000..9999 (which
/// [`parse_time`] refuses) is written with an ISO 8601 expanded year.
pub fn format_time(us: i64) -> String {
    let c = gridwatch_core::time::civil(us);
    let year = if (0..=9999).contains(&c.year) {
        format!("{:04}", c.year)
    } else {
        format!("{:+05}", c.year)
    };
    let base = format!(
        "{year}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.month, c.day, c.hour, c.minute, c.second
    );
    match us.rem_euclid(1_000_000) {
        0 => format!("{base}Z"),
        f if f % 1000 == 0 => format!("{base}.{:03}Z", f / 1000),
        f => format!("{base}.{f:06}Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    proptest! {
        #[test]
        fn every_time_in_range_round_trips(t in EARLIEST_US..=LATEST_US, now in any::<i64>()) {
            prop_assert_eq!(parse_time(&format_time(t), now), Ok(t));
        }

        #[test]
        fn whole_seconds_and_milliseconds_round_trip(s in 0..=LATEST_US / 1_000_000, ms in 0..1000i64) {
            let t = s * 1_000_000;
            prop_assert_eq!(parse_time(&format_time(t), 0), Ok(t));
            let t = t + ms * 1000;
            prop_assert_eq!(parse_time(&format_time(t), 0), Ok(t));
        }

        #[test]
        fn any_string_is_a_time_in_range_or_an_error(s in any::<String>(), now in any::<i64>()) {
            if let Ok(t) = parse_time(&s, now) {
                prop_assert!((EARLIEST_US..=LATEST_US).contains(&t), "{s:?} gave {t}");
            }
        }

        #[test]
        fn time_shaped_strings_never_panic(
            s in r"(now)?-?[0-9]{0,22}(y|d|h|m|s|ms|us|ns)?|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,12})?Z?",
            now in any::<i64>(),
        ) {
            if let Ok(t) = parse_time(&s, now) {
                prop_assert!((EARLIEST_US..=LATEST_US).contains(&t), "{s:?} gave {t}");
            }
        }

        #[test]
        fn any_string_is_a_duration_within_the_span_or_an_error(s in any::<String>()) {
            if let Ok(d) = parse_duration(&s) {
                prop_assert!(d <= longest());
            }
        }

        #[test]
        fn any_i64_formats(t in any::<i64>()) {
            let s = format_time(t);
            prop_assert!(s.ends_with('Z'));
        }
    }
}
