//! Grafana's time range syntax: `now`, `now-5m`, `now-1d/d` (rounded to
//! the day), an ISO time or epoch milliseconds.

use gridwatch_types::time::{MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_SECOND, parse_time};

/// One end of a Grafana range in epoch µs. `/unit` rounds down to the
/// start of that unit (s, m, h, d, UTC) for the start of a range, and up
/// to its end for the end of one (`is_end`), as Grafana does.
pub fn parse_grafana_time(s: &str, now_us: i64, is_end: bool) -> Result<i64, String> {
    let t = s.trim();
    let (base, round) = match t.rsplit_once('/') {
        Some((base, unit)) if base.starts_with("now") => (base, Some(unit)),
        _ => (t, None),
    };
    let us = parse_time(base, now_us).map_err(|e| format!("the dashboard's time {t:?}: {e}"))?;
    let Some(unit) = round else {
        return Ok(us);
    };
    let step = match unit {
        "s" => MICROS_PER_SECOND,
        "m" => 60 * MICROS_PER_SECOND,
        "h" => MICROS_PER_HOUR,
        "d" => MICROS_PER_DAY,
        _ => {
            return Err(format!(
                "the dashboard's time {t:?}: rounding to /{unit} is not supported yet (only /s, /m, /h, /d)"
            ));
        }
    };
    let start = us - us.rem_euclid(step);
    // Grafana works in milliseconds: the end is the unit's last one.
    Ok(if is_end { start + step - 1000 } else { start })
}
