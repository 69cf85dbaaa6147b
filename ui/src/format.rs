//! How figures read on screen: device and shard names, intervals, counts,
//! units and the time axis.

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

/// The steps a unit scales by, smallest first: W, kW, MW, GW.
fn scales(unit: &str) -> &'static [(&'static str, f64)] {
    match unit {
        "W" => &[("W", 1.0), ("kW", 1e3), ("MW", 1e6), ("GW", 1e9)],
        // Energy is carried in kWh.
        "kWh" => &[("Wh", 1e-3), ("kWh", 1.0), ("MWh", 1e3), ("GWh", 1e6)],
        "V" => &[("V", 1.0), ("kV", 1e3)],
        "A" => &[("A", 1.0), ("kA", 1e3)],
        _ => &[],
    }
}

/// The unit to show figures of about `magnitude` (in `unit`) in, and what
/// to divide them by: 6,439,400 W reads in MW.
pub fn scale_for(unit: &str, magnitude: f64) -> (&str, f64) {
    let steps = scales(unit);
    let Some(first) = steps.first() else {
        return (unit, 1.0);
    };
    let m = magnitude.abs();
    steps
        .iter()
        .rev()
        .find(|(_, d)| m >= *d)
        .map_or((first.0, first.1), |(u, d)| (*u, *d))
}

/// Decimals that show `scaled` to at most four significant digits.
fn decimals_for(scaled: f64) -> usize {
    let m = scaled.abs();
    if m < 1e-12 {
        return 0;
    }
    let int_digits = (m.log10().floor() as i32 + 1).max(1);
    (4 - int_digits).clamp(0, 3) as usize
}

/// A reading as an operator reads it: scaled to its unit's step (W, kW,
/// MW…) and at most four significant digits: `6.439 MW`, `230.1 V`.
pub fn value(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let (u, div) = scale_for(unit, v);
    let scaled = v / div;
    let text = format!("{scaled:.*}", decimals_for(scaled));
    if u.is_empty() {
        text
    } else {
        format!("{text} {u}")
    }
}

/// A number in a table: at most four decimals, none when whole, never the
/// fifteen digits of a float.
pub fn table_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return format!("{n:.0}");
    }
    let text = format!("{n:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Ticks of a value axis over `lo..hi`: on round steps (1, 2 or 5 times a
/// power of ten), at least three and at most `most`. The step is never finer
/// than four significant digits of the scaled unit can tell apart.
pub fn value_ticks(lo: f64, hi: f64, most: usize, unit: &str) -> (f64, Vec<f64>) {
    let span = hi - lo;
    if !span.is_finite() || span <= 0.0 {
        return (1.0, Vec::new());
    }
    let most = most.max(3);
    let (_, div) = scale_for(unit, lo.abs().max(hi.abs()));
    let magnitude = lo.abs().max(hi.abs()) / div;
    let int_digits = if magnitude < 1.0 {
        1
    } else {
        magnitude.log10().floor() as i32 + 1
    };
    let finest = 10f64.powi(int_digits - 4) * div;
    let mut step = 10f64.powf((span / 4.0).log10().floor());
    // The largest round step that still gives three ticks, made coarser
    // until there are no more than `most`.
    for m in [5.0, 2.0, 1.0] {
        if span / (step * m) >= 3.0 {
            step *= m;
            break;
        }
    }
    let count = |s: f64| ((hi / s).floor() - (lo / s).ceil() + 1.0) as usize;
    while count(step) > most {
        step = next_round_step(step);
    }
    while count(step) < 3 && step > finest {
        step = previous_round_step(step);
    }
    let step = step.max(finest);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    let ticks = (first..=last).map(|i| i as f64 * step).collect();
    (step, ticks)
}

fn next_round_step(step: f64) -> f64 {
    let p = 10f64.powf(step.log10().floor());
    match (step / p).round() as i64 {
        1 => 2.0 * p,
        2 => 5.0 * p,
        _ => 10.0 * p,
    }
}

fn previous_round_step(step: f64) -> f64 {
    let p = 10f64.powf(step.log10().floor());
    match (step / p).round() as i64 {
        5 => 2.0 * p,
        2 => p,
        _ => 0.5 * p,
    }
}

/// A value axis's tick: scaled to the unit the whole axis uses (so every
/// tick of one axis reads in kW, say) with the decimals its step needs.
pub fn axis_value(v: f64, step: f64, axis_magnitude: f64, unit: &str) -> String {
    let (u, div) = scale_for(unit, axis_magnitude);
    let s = step / div;
    let decimals = if s >= 1.0 {
        0
    } else {
        ((-s.log10()).ceil() as usize).min(3)
    };
    let scaled = v / div;
    // -0 reads as 0.
    let scaled = if scaled.abs() < s * 1e-6 { 0.0 } else { scaled };
    let text = format!("{scaled:.decimals$}");
    if u.is_empty() {
        text
    } else {
        format!("{text} {u}")
    }
}

/// The calendar steps a time axis takes, in seconds.
const TIME_STEPS: [f64; 16] = [
    1.0,
    5.0,
    15.0,
    30.0,
    60.0,
    300.0,
    900.0,
    1_800.0,
    3_600.0,
    10_800.0,
    21_600.0,
    43_200.0,
    86_400.0,
    172_800.0,
    604_800.0,
    2_419_200.0,
];

/// Ticks of a time axis over `lo..hi` epoch seconds, `px` points wide: on
/// round calendar steps (1/5/15 min, 1/3/6/12 h, 1 day) of the clock the
/// operator chose (`offset_s` east of UTC), about `spacing` points apart.
pub fn time_ticks(lo: f64, hi: f64, px: f64, spacing: f64, offset_s: f64) -> (f64, Vec<f64>) {
    let span = hi - lo;
    if !span.is_finite() || span <= 0.0 || px <= 0.0 {
        return (1.0, Vec::new());
    }
    let most = (px / spacing).floor().max(2.0);
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|s| span / s <= most)
        .unwrap_or(TIME_STEPS[TIME_STEPS.len() - 1]);
    // Steps of a day or more start at midnight on the chosen clock.
    let first = ((lo + offset_s) / step).ceil() as i64;
    let last = ((hi + offset_s) / step).floor() as i64;
    let ticks = (first..=last).map(|i| i as f64 * step - offset_s).collect();
    (step, ticks)
}

/// Which clock times are shown in: UTC or the machine's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    #[default]
    Utc,
    Local,
}

impl Clock {
    /// Seconds east of UTC at `t` (epoch seconds).
    pub fn offset_s(self, t: f64) -> f64 {
        match self {
            Clock::Utc => 0.0,
            Clock::Local => crate::clock::local_offset_s(t),
        }
    }

    /// What the top bar calls it.
    pub fn name(self) -> &'static str {
        match self {
            Clock::Utc => "UTC",
            Clock::Local => "local",
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The civil date and time of `t` epoch seconds on `clock`.
fn civil_at(t: f64, clock: Clock) -> gridwatch_types::time::Civil {
    let local = t + clock.offset_s(t);
    gridwatch_types::time::civil((local * 1e6).floor() as i64)
}

/// `Mar 2`.
fn date(c: &gridwatch_types::time::Civil) -> String {
    let month = MONTHS[(c.month as usize).clamp(1, 12) - 1];
    format!("{month} {}", c.day)
}

/// A time axis's tick at `t` with `step` between ticks: the time of day
/// (seconds only when the step needs them), and the date under it where the
/// date changes and at the axis's first tick (`lo`).
pub fn time_tick(t: f64, step: f64, lo: f64, clock: Clock) -> String {
    let c = civil_at(t, clock);
    if step >= 86_400.0 {
        return date(&c);
    }
    let time = if step < 60.0 {
        format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second)
    } else {
        format!("{:02}:{:02}", c.hour, c.minute)
    };
    let before = civil_at(t - step, clock);
    if t - step < lo || (before.year, before.month, before.day) != (c.year, c.month, c.day) {
        format!("{time}\n{}", date(&c))
    } else {
        time
    }
}

/// A moment as the hover and the alarms say it: `2026-03-02 00:00:05 UTC`.
pub fn moment(t: f64, clock: Clock) -> String {
    let c = civil_at(t, clock);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {}",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        clock.name()
    )
}

/// How old something is, as an operator says it: `4 s`, `3 min`, `2 h`.
pub fn age(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7_200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.0} h", s / 3_600.0)
    } else {
        format!("{:.0} d", s / 86_400.0)
    }
}

/// An error as one line of at most `max` characters: its first line, with
/// the SDK's debug dump (`DispatchFailure { … }`) and the request's wire
/// name left out.
pub fn one_line(message: &str, max: usize) -> String {
    let first = message.lines().next().unwrap_or("").trim();
    // The SDK's debug output starts where a type's fields open.
    let cut = [
        first.find('{'),
        first.find("DispatchFailure"),
        first.find("ConnectorError"),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(first.len());
    let text = first[..cut].trim_end_matches([' ', ':', '(', ',']).trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// What the operator's words for an error code are.
pub fn problem(code: gridwatch_types::ErrorCode) -> &'static str {
    use gridwatch_types::ErrorCode;
    match code {
        ErrorCode::NoCredentials => "No credentials",
        ErrorCode::AccessDenied => "Access denied",
        ErrorCode::NotFound => "Not found",
        ErrorCode::Unreachable => "Unreachable",
        ErrorCode::InvalidInput => "Incomplete",
        _ => "Failed",
    }
}

/// Longest a failure is on one line: a Test's result, the status bar.
pub const FAILURE_CHARS: usize = 120;

/// A failure worded the same way wherever it shows (a Test, Connect, the
/// status bar): what kind of problem, then the first line of why, in at
/// most [`FAILURE_CHARS`] characters.
pub fn failure(e: &gridwatch_types::ApiError) -> String {
    let kind = problem(e.code);
    let why = one_line(&e.message, FAILURE_CHARS);
    let text = if why.to_lowercase().starts_with(&kind.to_lowercase()) || kind == "Failed" {
        why
    } else {
        format!("{kind}: {why}")
    };
    one_line(&text, FAILURE_CHARS)
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
    fn values_scale_to_four_significant_digits() {
        assert_eq!(value(6_439_400.0, "W"), "6.439 MW");
        assert_eq!(value(30_271_663.0, "kWh"), "30.27 GWh");
        assert_eq!(value(230.14, "V"), "230.1 V");
        assert_eq!(value(11_000.0, "V"), "11.00 kV");
        assert_eq!(value(950.0, "W"), "950.0 W");
        assert_eq!(value(0.0, "W"), "0 W");
        assert_eq!(value(42.5, "%"), "42.50 %");
        assert_eq!(table_number(0.1 + 0.2), "0.3");
        assert_eq!(table_number(12.0), "12");
    }

    #[test]
    fn value_axes_have_three_round_ticks_or_more_in_one_unit() {
        let (step, ticks) = value_ticks(6_400_000.0, 6_480_000.0, 6, "W");
        assert!(ticks.len() >= 3 && ticks.len() <= 6, "{ticks:?}");
        let labels: Vec<String> = ticks
            .iter()
            .map(|t| axis_value(*t, step, 6_480_000.0, "W"))
            .collect();
        assert_eq!(
            labels,
            ["6.40 MW", "6.42 MW", "6.44 MW", "6.46 MW", "6.48 MW"]
        );
        let (step, ticks) = value_ticks(229.9, 230.6, 4, "V");
        assert!(ticks.len() >= 3, "{ticks:?}");
        assert_eq!(axis_value(ticks[0], step, 230.6, "V"), "230.0 V");
        // A flat line's tiny span never asks for more than four digits.
        let (step, _) = value_ticks(230.0, 230.0001, 6, "V");
        assert!(step >= 0.1, "{step}");
    }

    #[test]
    fn time_axes_step_on_the_calendar_and_print_the_date_when_it_changes() {
        let midnight = 1_772_409_600.0; // 2026-03-02 00:00 UTC
        let (step, ticks) = time_ticks(midnight - 3_000.0, midnight + 3_000.0, 800.0, 100.0, 0.0);
        assert_eq!(step, 900.0);
        assert_eq!(ticks[0], midnight - 2_700.0);
        let lo = midnight - 3_000.0;
        assert_eq!(time_tick(ticks[0], step, lo, Clock::Utc), "23:15\nMar 1");
        assert_eq!(time_tick(ticks[1], step, lo, Clock::Utc), "23:30");
        assert_eq!(time_tick(midnight, step, lo, Clock::Utc), "00:00\nMar 2");
        // Seven days: a tick a day, each a date.
        let (step, ticks) = time_ticks(midnight - 7.0 * 86_400.0, midnight, 900.0, 100.0, 0.0);
        assert_eq!(step, 86_400.0);
        assert_eq!(time_tick(ticks[0], step, 0.0, Clock::Utc), "Feb 23");
        assert_eq!(
            moment(midnight + 5.0, Clock::Utc),
            "2026-03-02 00:00:05 UTC"
        );
    }

    #[test]
    fn errors_read_as_one_short_line() {
        let raw = "Kinesis refused: dispatch failure: DispatchFailure { source: ConnectorError { kind: Io } }\nmore";
        assert_eq!(one_line(raw, 120), "Kinesis refused: dispatch failure");
        let long = "x".repeat(200);
        assert_eq!(one_line(&long, 120).chars().count(), 120);
        assert_eq!(age(4.25), "4.2 s");
        assert_eq!(age(300.0), "5 min");
    }
}
