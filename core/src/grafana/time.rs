//! Grafana's time range syntax ("date math"), in UTC: `now`, then any
//! number of steps `+N unit`, `-N unit` and `/unit` (rounded to the start
//! of that unit, or to its end for the end of a range), e.g. `now-5m`,
//! `now/d` (today), `now-1w/w` (last week), `now-1M/M` (last month); or
//! an absolute time (RFC 3339, epoch milliseconds).
//!
//! Units as Grafana has them: `s`, `m`, `h` (or `H`), `d`, `w`, `M`
//! (calendar month), `Q` (quarter), `y` (year). Months, quarters and years
//! move by the calendar and clamp to the month's last day (Jan 31 + 1M is
//! Feb 28 or 29), as Grafana's moment.js does. Weeks start on the
//! dashboard's `weekStart` day, Monday (ISO 8601) when it names none.

use gridwatch_types::time::{
    MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_SECOND, check_time_us, civil, days_in_month,
    from_civil, parse_time,
};

/// The day a week starts on, 0 = Monday … 6 = Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WeekStart(u8);

impl WeekStart {
    /// A dashboard's `weekStart` ("monday", "sunday", "saturday"; empty is
    /// the browser's, which Gridwatch takes as ISO's Monday).
    pub fn parse(s: &str) -> Result<WeekStart, String> {
        const DAYS: [&str; 7] = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        let s = s.trim();
        if s.is_empty() || s == "browser" {
            return Ok(WeekStart(0));
        }
        DAYS.iter()
            .position(|d| d.eq_ignore_ascii_case(s))
            // Seven names: the position fits a u8.
            .map(|i| WeekStart(i as u8))
            .ok_or_else(|| format!("the dashboard's weekStart {s:?} is not a day of the week"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    fn parse(c: &str) -> Option<Unit> {
        Some(match c {
            "s" => Unit::Second,
            "m" => Unit::Minute,
            "h" | "H" => Unit::Hour,
            "d" => Unit::Day,
            "w" => Unit::Week,
            "M" => Unit::Month,
            "Q" => Unit::Quarter,
            "y" => Unit::Year,
            _ => return None,
        })
    }

    /// Its length in µs, for the units of fixed length.
    fn fixed(self) -> Option<i64> {
        match self {
            Unit::Second => Some(MICROS_PER_SECOND),
            Unit::Minute => Some(60 * MICROS_PER_SECOND),
            Unit::Hour => Some(MICROS_PER_HOUR),
            Unit::Day => Some(MICROS_PER_DAY),
            Unit::Week => Some(7 * MICROS_PER_DAY),
            Unit::Month | Unit::Quarter | Unit::Year => None,
        }
    }

    fn months(self) -> i64 {
        match self {
            Unit::Quarter => 3,
            Unit::Year => 12,
            _ => 1,
        }
    }
}

/// `us` moved by `n` calendar months, the day clamped to the new month's
/// last; None outside 1970..9999.
fn add_months(us: i64, n: i64) -> Option<i64> {
    let c = civil(us);
    let index = i64::from(c.year).checked_mul(12)? + i64::from(c.month) - 1 + n;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    if !(1970..=9999).contains(&year) {
        return None;
    }
    // rem_euclid(12) + 1 is 1..=12.
    let month = (index.rem_euclid(12) + 1) as u32;
    let day = c.day.min(days_in_month(year, month));
    let within_day = us.rem_euclid(MICROS_PER_DAY);
    Some(from_civil(year, month, day, 0) + within_day)
}

/// The start of the `unit` that holds `us`.
fn start_of(us: i64, unit: Unit, week: WeekStart) -> i64 {
    match unit {
        Unit::Week => {
            let day = us - us.rem_euclid(MICROS_PER_DAY);
            // 1970-01-01 was a Thursday: day 3 counting from Monday.
            let weekday = (day.div_euclid(MICROS_PER_DAY) + 3).rem_euclid(7);
            let back = (weekday - i64::from(week.0)).rem_euclid(7);
            day - back * MICROS_PER_DAY
        }
        Unit::Month | Unit::Quarter | Unit::Year => {
            let c = civil(us);
            let month = match unit {
                Unit::Year => 1,
                Unit::Quarter => (c.month - 1) / 3 * 3 + 1,
                _ => c.month,
            };
            from_civil(c.year, month, 1, 0)
        }
        fixed => {
            // Every other unit has a fixed length.
            let step = fixed.fixed().unwrap_or(MICROS_PER_SECOND);
            us - us.rem_euclid(step)
        }
    }
}

/// One end of a Grafana range in epoch µs (`is_end`: rounding goes to the
/// end of the unit, its last millisecond, as Grafana's does).
pub fn parse_grafana_time(s: &str, now_us: i64, is_end: bool) -> Result<i64, String> {
    parse_grafana_time_in(s, now_us, is_end, WeekStart::default())
}

/// [`parse_grafana_time`] with weeks starting on `week`.
pub fn parse_grafana_time_in(
    s: &str,
    now_us: i64,
    is_end: bool,
    week: WeekStart,
) -> Result<i64, String> {
    let t = s.trim();
    let Some(mut rest) = t.strip_prefix("now") else {
        return parse_time(t, now_us).map_err(|e| format!("the dashboard's time {t:?}: {e}"));
    };
    let bad = |why: &str| format!("the dashboard's time {t:?}: {why}");
    let out_of_range = || bad("falls outside 1970-01-01..9999-12-31");
    let mut us = now_us;
    while !rest.is_empty() {
        let op = rest.as_bytes()[0];
        if !op.is_ascii() {
            return Err(bad("expected +, - or / after now"));
        }
        // An ASCII byte is a whole character.
        rest = &rest[1..];
        if op == b'/' {
            let unit = rest.get(..1).and_then(Unit::parse).ok_or_else(|| {
                bad("rounds to an unknown unit (use /s, /m, /h, /d, /w, /M, /Q or /y)")
            })?;
            rest = &rest[1..];
            let start = start_of(us, unit, week);
            us = if is_end {
                // The unit's end is the next unit's start, less Grafana's
                // millisecond.
                let next = match unit.fixed() {
                    Some(step) => start.checked_add(step),
                    None => add_months(start, unit.months()),
                };
                next.ok_or_else(out_of_range)? - 1000
            } else {
                start
            };
            continue;
        }
        let sign = match op {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(bad("expected +, - or / after now")),
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        // Grafana reads `now-d` as one day.
        let n: i64 = match &rest[..digits] {
            "" => 1,
            d => d.parse().map_err(|_| out_of_range())?,
        };
        rest = &rest[digits..];
        let unit = rest
            .get(..1)
            .and_then(Unit::parse)
            .ok_or_else(|| bad("has a step with an unknown unit (use s, m, h, d, w, M, Q or y)"))?;
        rest = &rest[1..];
        let n = n.checked_mul(sign).ok_or_else(out_of_range)?;
        us = match unit.fixed() {
            Some(step) => n
                .checked_mul(step)
                .and_then(|d| us.checked_add(d))
                .ok_or_else(out_of_range)?,
            None => n
                .checked_mul(unit.months())
                .and_then(|m| add_months(us, m))
                .ok_or_else(out_of_range)?,
        };
        check_time_us(us).map_err(|_| out_of_range())?;
    }
    check_time_us(us).map_err(|_| out_of_range())
}
