//! Any text as the CLI's times and durations (`--from`, `--to`,
//! `--every`): a time between 1970 and 9999 or an error, never a panic or
//! a wrapped number; a time that is read is written back (RFC 3339) to
//! text that reads as the same time.
#![no_main]

use gridwatch_types::time::{LATEST_US, check_time_us, format_time, parse_duration, parse_time};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, i64)| {
    let (s, now) = input;
    // The clock's now is itself a time in range.
    let now = now.rem_euclid(LATEST_US + 1);
    if let Ok(us) = parse_time(s, now) {
        assert_eq!(check_time_us(us), Ok(us), "{s:?}");
        let text = format_time(us);
        assert_eq!(parse_time(&text, now), Ok(us), "{s:?} -> {text}");
    }
    if let Ok(d) = parse_duration(s) {
        let span = u128::try_from(LATEST_US).expect("positive");
        assert!(d.as_micros() <= span, "{s:?} -> {d:?}");
    }
});
