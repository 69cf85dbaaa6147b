//! Any text as each kind of Timestream scalar: a value in its kind's
//! range or an error that names the text, never a panic; and what is read
//! is written back (dates, times of day, timestamps, integers) to text that
//! reads as the same value.
#![no_main]

use gridwatch_codec::timestream_text::{
    BIGINT, DATE, INTEGER, NANOS_PER_DAY, TIME, ValueError, format_clock, format_date,
    parse_clock, parse_date, parse_day_to_second, parse_timestamp, parse_year_to_month,
};
use libfuzzer_sys::fuzz_target;

/// 9999-12-31 in days since 1970-01-01.
const LAST_DAY: i64 = 2_932_896;

fn names(e: &ValueError, s: &str) -> bool {
    match e {
        ValueError::Malformed { value, .. } | ValueError::OutOfRange { value, .. } => value == s,
    }
}

fuzz_target!(|s: &str| {
    match parse_date(s, DATE, s) {
        Ok(days) => {
            assert!((0..=LAST_DAY).contains(&days), "{s:?} -> {days}");
            let text = format_date(days);
            assert_eq!(parse_date(&text, DATE, &text), Ok(days), "{s:?} -> {text}");
        }
        Err(e) => assert!(names(&e, s), "{e}"),
    }
    match parse_clock(s, TIME, s) {
        Ok(ns) => {
            assert!((0..NANOS_PER_DAY).contains(&ns), "{s:?} -> {ns}");
            let text = format_clock(ns);
            assert_eq!(parse_clock(&text, TIME, &text), Ok(ns), "{s:?} -> {text}");
        }
        Err(e) => assert!(names(&e, s), "{e}"),
    }
    match parse_timestamp(s) {
        Ok(ns) => {
            let day = i128::from(NANOS_PER_DAY);
            let days = i64::try_from(ns.div_euclid(day)).expect("a day number fits");
            assert!((0..=LAST_DAY).contains(&days), "{s:?} -> {ns}");
            let clock = i64::try_from(ns.rem_euclid(day)).expect("under a day fits");
            let text = format!("{} {}", format_date(days), format_clock(clock));
            assert_eq!(parse_timestamp(&text), Ok(ns), "{s:?} -> {text}");
        }
        Err(e) => assert!(names(&e, s), "{e}"),
    }
    if let Err(e) = parse_day_to_second(s) {
        assert!(names(&e, s), "{e}");
    }
    if let Err(e) = parse_year_to_month(s) {
        assert!(names(&e, s), "{e}");
    }
    match BIGINT.integer::<i64>(s) {
        Ok(v) => assert_eq!(BIGINT.integer::<i64>(&v.to_string()), Ok(v)),
        Err(e) => assert!(names(&e, s), "{e}"),
    }
    match INTEGER.integer::<i32>(s) {
        Ok(v) => assert_eq!(INTEGER.integer::<i32>(&v.to_string()), Ok(v)),
        Err(e) => assert!(names(&e, s), "{e}"),
    }
});
