//! The text Timestream writes scalars in (timestamps, dates, times,
//! intervals, integers), read strictly into checked ranges, and times
//! written back for people. Only string arithmetic here: what may overflow
//! or wrap is checked in one place, apart from the SDK's types, so it
//! builds (and fuzzes) without them.

use gridwatch_types::time::{MICROS_PER_DAY, civil, from_civil};

/// Epoch nanoseconds. An `i128`: in an `i64` they end in 2262, and
/// Timestream's times run to 9999.
pub type EpochNanos = i128;

/// A value of the answer that Gridwatch cannot hold: it is shown as null
/// and reported, and the rest of its row stands.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error("{value:?} is not {kind}")]
    Malformed { kind: &'static str, value: String },
    #[error("{value:?} is out of range for {kind} ({range})")]
    OutOfRange {
        kind: &'static str,
        value: String,
        range: &'static str,
    },
}

/// A kind of value and the range it may take, for messages.
#[derive(Clone, Copy)]
pub struct Kind {
    name: &'static str,
    range: &'static str,
}

pub const DATE: Kind = Kind {
    name: "a date",
    range: "1970-01-01 to 9999-12-31",
};
pub const TIMESTAMP: Kind = Kind {
    name: "a timestamp",
    range: "1970-01-01 to 9999-12-31",
};
pub const TIME: Kind = Kind {
    name: "a time",
    range: "00:00:00 to 23:59:59.999999999",
};
pub const DAY_TO_SECOND: Kind = Kind {
    name: "a day-to-second interval",
    range: "at most 106751 days either way",
};
pub const YEAR_TO_MONTH: Kind = Kind {
    name: "a year-to-month interval",
    range: "at most 2^63 months either way",
};
pub const BIGINT: Kind = Kind {
    name: "a bigint",
    range: "-2^63 to 2^63-1",
};
pub const INTEGER: Kind = Kind {
    name: "an integer",
    range: "-2^31 to 2^31-1",
};

impl Kind {
    pub fn malformed(self, value: &str) -> ValueError {
        ValueError::Malformed {
            kind: self.name,
            value: value.to_owned(),
        }
    }

    pub fn out_of_range(self, value: &str) -> ValueError {
        ValueError::OutOfRange {
            kind: self.name,
            value: value.to_owned(),
            range: self.range,
        }
    }

    /// Decimal digits and nothing else (Rust's own parse takes a sign
    /// too); too many of them is out of range, not malformed.
    fn digits(self, part: &str, whole: &str) -> Result<u64, ValueError> {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.malformed(whole));
        }
        part.parse().map_err(|_| self.out_of_range(whole))
    }

    /// A signed integer of type `T`.
    pub fn integer<T>(self, s: &str) -> Result<T, ValueError>
    where
        T: std::str::FromStr<Err = std::num::ParseIntError>,
    {
        use std::num::IntErrorKind;
        s.parse()
            .map_err(|e: std::num::ParseIntError| match e.kind() {
                IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => self.out_of_range(s),
                _ => self.malformed(s),
            })
    }
}

pub const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// `HH:MM:SS[.fffffffff]` to nanoseconds since midnight, under a day.
pub fn parse_clock(s: &str, kind: Kind, whole: &str) -> Result<i64, ValueError> {
    let (hms, frac) = match s.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (s, None),
    };
    let mut parts = hms.split(':');
    let (Some(h), Some(m), Some(sec), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(kind.malformed(whole));
    };
    let field = |part: &str, max: u64| -> Result<i64, ValueError> {
        if part.len() > 2 {
            return Err(kind.malformed(whole));
        }
        let v = kind.digits(part, whole)?;
        if v > max {
            return Err(kind.malformed(whole));
        }
        // At most two digits: fits.
        Ok(v as i64)
    };
    let (h, m, sec) = (field(h, 23)?, field(m, 59)?, field(sec, 59)?);
    let mut ns = 0i64;
    if let Some(frac) = frac {
        if frac.is_empty() || frac.len() > 9 {
            return Err(kind.malformed(whole));
        }
        // At most nine digits: fits, and so does the scale below.
        ns = kind.digits(frac, whole)? as i64 * 10i64.pow(9 - frac.len() as u32);
    }
    Ok(((h * 60 + m) * 60 + sec) * 1_000_000_000 + ns)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// `YYYY-MM-DD`, 1970-01-01 to 9999-12-31, to days since the epoch.
pub fn parse_date(s: &str, kind: Kind, whole: &str) -> Result<i64, ValueError> {
    let mut p = s.split('-');
    let (Some(y), Some(m), Some(d), None) = (p.next(), p.next(), p.next(), p.next()) else {
        return Err(kind.malformed(whole));
    };
    let (y, m, d) = (
        kind.digits(y, whole)?,
        kind.digits(m, whole)?,
        kind.digits(d, whole)?,
    );
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(kind.malformed(whole));
    }
    if !(1970..=9999).contains(&y) {
        return Err(kind.out_of_range(whole));
    }
    // Checked above: a year of four digits, a month and a day that exist.
    Ok(from_civil(y as i32, m as u32, d as u32, 0) / MICROS_PER_DAY)
}

/// `YYYY-MM-DD HH:MM:SS[.fffffffff]` (UTC), 1970 to 9999, to epoch
/// nanoseconds.
pub fn parse_timestamp(s: &str) -> Result<EpochNanos, ValueError> {
    let (date, clock) = s.split_once(' ').ok_or_else(|| TIMESTAMP.malformed(s))?;
    let days = parse_date(date, TIMESTAMP, s)?;
    let ns = parse_clock(clock, TIMESTAMP, s)?;
    Ok(EpochNanos::from(days) * EpochNanos::from(NANOS_PER_DAY) + EpochNanos::from(ns))
}

/// An optional leading minus.
fn sign(s: &str) -> (bool, &str) {
    match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    }
}

/// `D HH:MM:SS[.fffffffff]` (possibly negative) to nanoseconds.
pub fn parse_day_to_second(s: &str) -> Result<i64, ValueError> {
    let k = DAY_TO_SECOND;
    let (neg, rest) = sign(s);
    let (days, clock) = rest.split_once(' ').ok_or_else(|| k.malformed(s))?;
    let days = k.digits(days, s)?;
    let clock = parse_clock(clock, k, s)?;
    let ns = i64::try_from(days)
        .ok()
        .and_then(|d| d.checked_mul(NANOS_PER_DAY))
        .and_then(|n| n.checked_add(clock))
        .ok_or_else(|| k.out_of_range(s))?;
    Ok(if neg { -ns } else { ns })
}

/// `Y-M` (possibly negative; M under 12) to months.
pub fn parse_year_to_month(s: &str) -> Result<i64, ValueError> {
    let k = YEAR_TO_MONTH;
    let (neg, rest) = sign(s);
    let (y, m) = rest.split_once('-').ok_or_else(|| k.malformed(s))?;
    let (y, m) = (k.digits(y, s)?, k.digits(m, s)?);
    if m > 11 {
        return Err(k.malformed(s));
    }
    let months = i64::try_from(y)
        .ok()
        .and_then(|y| y.checked_mul(12))
        .and_then(|n| n.checked_add(m as i64))
        .ok_or_else(|| k.out_of_range(s))?;
    Ok(if neg { -months } else { months })
}

/// Epoch nanoseconds as RFC 3339 UTC, with the fraction only when there is
/// one. Total: past what the calendar holds, the number itself.
pub fn format_ns(ns: EpochNanos) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let Some(us) = secs
        .checked_mul(1_000_000)
        .and_then(|us| i64::try_from(us).ok())
    else {
        return format!("{ns} ns after 1970-01-01");
    };
    let c = civil(us);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    match ns.rem_euclid(1_000_000_000) {
        0 => format!("{base}Z"),
        frac => format!("{base}.{frac:09}Z"),
    }
}

/// Days since the epoch as `YYYY-MM-DD`. Total, like [`format_ns`].
pub fn format_date(days: i64) -> String {
    match days.checked_mul(MICROS_PER_DAY) {
        Some(us) => {
            let c = civil(us);
            format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
        }
        None => format!("{days} days after 1970-01-01"),
    }
}

/// Nanoseconds since midnight as `HH:MM:SS[.fffffffff]`. Total: hours
/// past 23 are written as they are, never wrapped into a day.
pub fn format_clock(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    let (secs, frac) = (abs / 1_000_000_000, abs % 1_000_000_000);
    let base = format!(
        "{sign}{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac == 0 {
        base
    } else {
        format!("{base}.{frac:09}")
    }
}
