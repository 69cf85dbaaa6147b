//! How figures read on screen: device and shard names, intervals, counts,
//! units and the time axis.

use std::ops::RangeInclusive;

use egui_plot::GridMark;

/// The first block of a UUID-like ID is enough to tell devices apart on
/// screen; the full ID is on hover.
pub fn short_id(id: &str) -> &str {
    match id.find('-') {
        Some(i) if i >= 6 => &id[..i],
        _ => id,
    }
}

/// `shardId-000000000004` -> `shard 4`.
pub fn short_shard(id: &str) -> String {
    id.strip_prefix("shardId-")
        .and_then(|n| n.parse::<u64>().ok())
        .map_or_else(|| id.to_string(), |n| format!("shard {n}"))
}

/// A reporting interval as an operator says it: 250 ms, 5 s, 15 min.
pub fn format_interval(ms: u64) -> String {
    if ms.is_multiple_of(60_000) {
        format!("{} min", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// 1234567 -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A measure's unit, as the charts and tables label it.
pub fn unit(measure: &str) -> &'static str {
    match measure {
        "voltage" => "V",
        "current" => "A",
        "watt" => "W",
        "energy" => "kWh",
        "temperature" | "oil_temperature" => "°C",
        "load_pct" => "%",
        _ => "",
    }
}

/// Time of day (UTC) for the x axis; tenths of a second when zoomed in that far.
pub fn time_axis(mark: GridMark, _range: &RangeInclusive<f64>) -> String {
    let secs = mark.value.rem_euclid(86_400.0);
    let h = (secs / 3600.0).floor();
    let m = ((secs - h * 3600.0) / 60.0).floor();
    let s = secs - h * 3600.0 - m * 60.0;
    if mark.step_size < 1.0 {
        format!("{h:02}:{m:02}:{s:04.1}")
    } else {
        format!("{h:02}:{m:02}:{:02}", s.floor() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_group_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn short_ids_keep_the_first_block() {
        assert_eq!(short_id("c0ffee12-aaaa-4bbb"), "c0ffee12");
        assert_eq!(short_id("meter-1"), "meter-1");
        assert_eq!(short_shard("shardId-000000000004"), "shard 4");
        assert_eq!(short_shard("odd"), "odd");
    }

    #[test]
    fn intervals_read_as_an_operator_says_them() {
        assert_eq!(format_interval(250), "250 ms");
        assert_eq!(format_interval(5_000), "5 s");
        assert_eq!(format_interval(900_000), "15 min");
    }

    #[test]
    fn axis_shows_time_of_day() {
        let mark = GridMark {
            value: 3600.0 * 25.0 + 61.0,
            step_size: 1.0,
        };
        assert_eq!(time_axis(mark, &(0.0..=1.0)), "01:01:01");
        let fine = GridMark {
            value: 61.25,
            step_size: 0.25,
        };
        assert_eq!(time_axis(fine, &(0.0..=1.0)), "00:01:01.2");
    }
}
