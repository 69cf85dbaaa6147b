//! Any folder name through the partition parser: a value in its key's
//! range, an error naming the folder, or not a folder of that key; never a
//! panic. A day it accepts is a real day whose calendar comes back.
#![no_main]

use gridwatch_codec::partition::{Key, check_range, day_start, parse};
use gridwatch_types::time::civil;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, u32, u32, u32, i64, i64)| {
    let (name, year, month, day, from, to) = input;
    for (key, (min, max)) in [
        (Key::Year, (1970, 9999)),
        (Key::Month, (1, 12)),
        (Key::Day, (1, 31)),
        (Key::Hour, (0, 23)),
    ] {
        match parse(name, key) {
            Some(Ok(v)) => assert!((min..=max).contains(&v), "{name:?} gave {v}"),
            Some(Err(reason)) => assert!(reason.contains(key.name()), "{reason}"),
            None => assert!(!name.starts_with(&format!("{}=", key.name()))),
        }
    }
    if let Ok(start) = day_start(year, month, day) {
        let c = civil(start);
        assert_eq!(
            (c.year as u32, c.month, c.day, c.hour),
            (year, month, day, 0)
        );
    }
    if check_range(from, to).is_ok() {
        assert!(from >= 0 && to >= 0);
    }
});
