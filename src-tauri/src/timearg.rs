//! Times and durations as an operator types them on the command line.

use std::time::{Duration, UNIX_EPOCH};

/// A point in time: `now`, `now-1h` or `-1h` (relative to now), an
/// RFC 3339 time (`2026-11-26T08:00:00Z`, `2026-11-26 08:00:00` is UTC), or
/// epoch milliseconds.
pub fn parse_time(s: &str, now_us: i64) -> Result<i64, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(now_us);
    }
    let relative = t
        .strip_prefix("now-")
        .or_else(|| t.strip_prefix("now -"))
        .or_else(|| t.strip_prefix('-'));
    if let Some(ago) = relative {
        let d = parse_duration(ago.trim())?;
        return Ok(now_us - d.as_micros() as i64);
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let ms: i64 = t
            .parse()
            .map_err(|_| format!("{t:?} is too large for epoch milliseconds"))?;
        return Ok(ms.saturating_mul(1000));
    }
    match humantime::parse_rfc3339_weak(t) {
        Ok(st) => st
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .map_err(|_| format!("{t:?} is before 1970")),
        Err(_) => Err(format!(
            "{t:?} is not a time: use now, -1h (ago), 2026-11-26T08:00:00Z, or epoch milliseconds"
        )),
    }
}

/// A duration such as `1s`, `250ms`, `15m`, `1h 30m`, `7d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}): use e.g. 500ms, 1s, 15m, 24h, 7d"))
}

/// RFC 3339 in UTC with as many fractional digits as needed.
pub fn format_time(us: i64) -> String {
    let st = if us >= 0 {
        UNIX_EPOCH + Duration::from_micros(us as u64)
    } else {
        UNIX_EPOCH
    };
    if us % 1_000_000 == 0 {
        humantime::format_rfc3339_seconds(st).to_string()
    } else if us % 1000 == 0 {
        humantime::format_rfc3339_millis(st).to_string()
    } else {
        humantime::format_rfc3339_micros(st).to_string()
    }
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
    }

    #[test]
    fn bad_times_say_what_is_accepted() {
        let e = parse_time("yesterday", NOW).unwrap_err();
        assert!(e.contains("\"yesterday\" is not a time"), "{e}");
        let e = parse_time("-soon", NOW).unwrap_err();
        assert!(e.contains("not a duration"), "{e}");
    }

    #[test]
    fn formats_round_trip() {
        assert_eq!(format_time(NOW), "2025-11-26T08:00:00Z");
        assert_eq!(format_time(NOW + 1500), "2025-11-26T08:00:00.001500Z");
        assert_eq!(parse_time(&format_time(NOW + 1500), 0).unwrap(), NOW + 1500);
    }
}
