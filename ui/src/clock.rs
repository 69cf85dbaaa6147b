//! Wall-clock time for the UI. `SystemTime::now` panics on
//! wasm32-unknown-unknown, so the webview asks JavaScript's `Date`.

use gridwatch_types::time::{civil, from_civil};

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

/// Seconds east of UTC of the machine's clock at `t` epoch seconds. The
/// webview asks JavaScript's `Date`; natively (the tests) it is UTC.
pub fn local_offset_s(t: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t * 1000.0));
        -date.get_timezone_offset() * 60.0
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = t;
        0.0
    }
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
    let mut d = date.split('-');
    let y = d.next()?.parse::<i32>().ok()?;
    let m = d.next()?.parse::<u32>().ok()?;
    let day = d.next()?.parse::<u32>().ok()?;
    let mut t = time.split(':');
    let (h, min) = (
        t.next()?.parse::<f64>().ok()?,
        t.next()?.parse::<f64>().ok()?,
    );
    let sec = t.next().map_or(Some(0.0), |x| x.parse::<f64>().ok())?;
    let midnight = from_civil(y, m, day, 0) as f64 / 1e6;
    Some(midnight + h * 3_600.0 + min * 60.0 + sec)
}

/// Epoch microseconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(us: i64) -> String {
    let c = civil(us);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute, c.second
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
