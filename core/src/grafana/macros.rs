//! The Grafana Timestream plugin's macros, and `$__interval` as Grafana
//! computes it from the range and the panel's width.
//!
//! What each macro becomes follows the plugin's documentation (its README
//! and query-editor page) and its backend's own tests:
//!
//! | macro | becomes |
//! | --- | --- |
//! | `$__database`, `$__table`, `$__measure` | the configured name, as it is |
//! | `$__timeFilter` | `time BETWEEN from_milliseconds(F) AND from_milliseconds(T)` |
//! | `$__timeFrom`, `$__timeTo` | `F`, `T` (epoch milliseconds) |
//! | `$__interval_ms`, `$__interval` | `<n>ms` (a Timestream interval literal) |
//! | `$__interval_raw_ms` | `<n>` |
//! | `$__now_ms` | now, epoch milliseconds |
//! | `$__refId` | the query's ref id (`A`) |
//!
//! The names are "as they are" only when they are plain names: anything
//! else is quoted for where it lands ([`super::expand`]), so a measure
//! with a quote in it stays data.

use crate::timestream::{check_range, check_time_us};
use gridwatch_types::time::format_time_micros as iso;

use super::ExpandError;

/// What Grafana's macros stand for in one query.
#[derive(Debug, Clone, Default)]
pub struct MacroContext {
    pub database: Option<String>,
    pub table: Option<String>,
    pub measure: Option<String>,
    pub from_us: i64,
    pub to_us: i64,
    /// The panel's width in pixels (or its max data points): Grafana's
    /// resolution for `$__interval`.
    pub pixels: u32,
    pub now_us: i64,
    /// The panel's "Min interval" in milliseconds: `$__interval` is never
    /// shorter. None: 1 ms, Grafana's own floor.
    pub min_interval_ms: Option<i64>,
    /// The query's ref id, for `$__refId` (Grafana's first is `A`).
    pub ref_id: Option<String>,
}

impl MacroContext {
    /// `$__interval` in milliseconds, as Grafana computes it: the range
    /// over the resolution, rounded to Grafana's ladder of intervals, at
    /// least the minimum interval. The range is checked first
    /// ([`check_range`]), so any context gives an answer or an error,
    /// never an overflow.
    pub fn interval_ms(&self) -> Result<i64, String> {
        check_range(self.from_us, self.to_us)?;
        // In range: the difference is positive and far from overflowing.
        let span_ms = (self.to_us - self.from_us) / 1000;
        Ok(calculate_interval_ms(
            span_ms,
            self.pixels,
            self.min_interval_ms,
        ))
    }

    /// The range's ends in epoch milliseconds, checked.
    pub fn range_ms(&self) -> Result<(i64, i64), String> {
        check_range(self.from_us, self.to_us)?;
        Ok((self.from_us / 1000, self.to_us / 1000))
    }

    /// Now in epoch milliseconds, checked.
    pub fn now_ms(&self) -> Result<i64, String> {
        check_time_us(self.now_us)
            .map(|now| now / 1000)
            .map_err(|side| format!("now, {}, is {side}", iso(self.now_us)))
    }
}

/// Grafana's `calculateInterval`: the span over the resolution (in
/// floating point, as Grafana divides), rounded by [`round_interval`],
/// raised to the low limit (1 ms when none).
pub fn calculate_interval_ms(span_ms: i64, resolution: u32, low_limit_ms: Option<i64>) -> i64 {
    let raw = span_ms as f64 / f64::from(resolution.max(1));
    round_interval(raw).max(low_limit_ms.unwrap_or(1).max(1))
}

/// Grafana's ladder of "nice" intervals (`rangeutil.roundInterval`): each
/// raw interval below a bound becomes the step beside it.
pub fn round_interval(raw_ms: f64) -> i64 {
    const LADDER: [(f64, i64); 30] = [
        (10.0, 1),
        (15.0, 10),
        (35.0, 20),
        (75.0, 50),
        (150.0, 100),
        (350.0, 200),
        (750.0, 500),
        (1_500.0, 1_000),
        (3_500.0, 2_000),
        (7_500.0, 5_000),
        (12_500.0, 10_000),
        (17_500.0, 15_000),
        (25_000.0, 20_000),
        (45_000.0, 30_000),
        (90_000.0, 60_000),
        (210_000.0, 120_000),
        (450_000.0, 300_000),
        (750_000.0, 600_000),
        (1_050_000.0, 900_000),
        (1_500_000.0, 1_200_000),
        (2_700_000.0, 1_800_000),
        (5_400_000.0, 3_600_000),
        (9_000_000.0, 7_200_000),
        (16_200_000.0, 10_800_000),
        (32_400_000.0, 21_600_000),
        (86_400_000.0, 43_200_000),
        (604_800_000.0, 86_400_000),
        (1_814_400_000.0, 604_800_000),
        (3_628_800_000.0, 2_592_000_000),
        (f64::INFINITY, 31_536_000_000),
    ];
    LADDER
        .iter()
        .find(|(bound, _)| raw_ms < *bound)
        .map_or(31_536_000_000, |(_, step)| *step)
}

/// A Grafana interval (`10s`, `500ms`, `1h`, `>1m`; a bare number is
/// seconds) in milliseconds, as Grafana's `intervalToMs` reads it.
pub fn parse_interval_ms(s: &str) -> Result<i64, ExpandError> {
    let bad = || {
        ExpandError::Interval(format!(
            "{s:?} is not an interval: use e.g. 500ms, 10s, 1m, 1h, 1d"
        ))
    };
    let t = s.trim().trim_start_matches('>').trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: f64 = n.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "" | "s" => 1_000.0,
        "ms" => 1.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        "w" => 604_800_000.0,
        "M" => 2_592_000_000.0,
        "y" => 31_536_000_000.0,
        _ => return Err(bad()),
    };
    let ms = n * unit_ms;
    // Within a thousand years: far from any overflow, and no interval a
    // dashboard means is longer.
    if !(0.0..=31_536_000_000_000.0).contains(&ms) {
        return Err(bad());
    }
    Ok(ms as i64)
}
