//! Wall-clock time for the UI. `SystemTime::now` panics on
//! wasm32-unknown-unknown, so the webview asks JavaScript's `Date`.

/// Now, in epoch microseconds.
pub fn now_us() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        (js_sys::Date::now() * 1000.0) as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0)
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…]Z` (or with a space, or ending ` UTC` as
/// [`format_utc`] writes it) to epoch seconds.
pub fn parse_utc(s: &str) -> Option<f64> {
    let s = s
        .trim()
        .trim_end_matches("UTC")
        .trim_end()
        .trim_end_matches('Z');
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':');
    let (h, min) = (
        t.next()?.parse::<f64>().ok()?,
        t.next()?.parse::<f64>().ok()?,
    );
    let sec = t.next().map_or(Some(0.0), |x| x.parse::<f64>().ok())?;
    Some(days_from_civil(y, m, day) as f64 * 86_400.0 + h * 3_600.0 + min * 60.0 + sec)
}

/// Epoch microseconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Inverse of days_from_civil (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_parses_and_formats() {
        assert_eq!(parse_utc("2023-11-14T22:13:20Z"), Some(1_700_000_000.0));
        assert_eq!(parse_utc("2023-11-14 22:13:20.5"), Some(1_700_000_000.5));
        assert_eq!(parse_utc("nope"), None);
        assert_eq!(parse_utc("2023-11-14 22:13 UTC"), Some(1_699_999_980.0));
        assert_eq!(
            parse_utc(&format_utc(1_700_000_000_000_000)),
            Some(1_700_000_000.0)
        );
        assert_eq!(format_utc(1_700_000_000_000_000), "2023-11-14 22:13:20 UTC");
    }
}
