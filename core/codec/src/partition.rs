//! The lake's layout, written once: where each kind of extract lives, the
//! partition folders (`year=YYYY/month=MM/day=DD/hour=HH`) as Firehose
//! names them, and the times the lake accepts. The simulator writes with
//! these, and the lake lists, syncs and compacts with them.
//!
//! Folder names come from whoever wrote the lake or the bucket, so they are
//! parsed into checked ranges: a `hour=4294967295` or `year=300000` is
//! skipped and reported, never turned into a time by arithmetic that
//! overflows.

use gridwatch_types::time::{MAX_US, MAX_YEAR, MIN_YEAR, civil, from_civil_checked};

/// The lake's own folder below its root; everything it reads is under it.
pub const READINGS_DIR: &str = "readings";
/// Firehose's JSON extracts, by hour: `readings/json/<hour path>/<file>`.
pub const JSON_DIR: &str = "readings/json";
/// Compacted days: `readings/parquet/<day path>/part-N.parquet`.
pub const PARQUET_DIR: &str = "readings/parquet";
/// Extracts with bad lines, moved whole from under [`JSON_DIR`] to the same
/// path here (which no reader reads).
pub const QUARANTINE_DIR: &str = "readings/quarantine";

/// A day's folder below a kind's folder: `year=YYYY/month=MM/day=DD`.
pub fn day_path(year: i32, month: u32, day: u32) -> String {
    format!("year={year:04}/month={month:02}/day={day:02}")
}

/// An hour's folder: `year=YYYY/month=MM/day=DD/hour=HH`.
pub fn hour_path(year: i32, month: u32, day: u32, hour: u32) -> String {
    format!("{}/hour={hour:02}", day_path(year, month, day))
}

/// Where an extract's key lies below the lake's root, for messages:
/// `readings/json/year=/month=/day=/hour=/<file>`.
pub fn extract_shape() -> String {
    format!("{JSON_DIR}/year=/month=/day=/hour=/<file>")
}

/// The folder of the day that holds `us` (epoch microseconds, UTC).
pub fn day_path_at(us: i64) -> String {
    let c = civil(us);
    day_path(c.year, c.month, c.day)
}

/// The folder of the hour that holds `us` (epoch microseconds, UTC).
pub fn hour_path_at(us: i64) -> String {
    let c = civil(us);
    hour_path(c.year, c.month, c.day, c.hour)
}

/// A range outside what the lake can name: before 1970 or past 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the range {from_us} to {to_us} (epoch microseconds) is outside the years {MIN_YEAR} to {MAX_YEAR}"
)]
pub struct RangeError {
    pub from_us: i64,
    pub to_us: i64,
}

/// Refuses a range that starts before 1970-01-01 or ends after the end of
/// 9999, before any work: the lake's folders name only those years, and a
/// range past them would walk millions of days.
pub fn check_range(from_us: i64, to_us: i64) -> Result<(), RangeError> {
    if (0..=MAX_US).contains(&from_us) && (0..=MAX_US).contains(&to_us) {
        Ok(())
    } else {
        Err(RangeError { from_us, to_us })
    }
}

/// The partition keys, in folder order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Year,
    Month,
    Day,
    Hour,
}

impl Key {
    pub fn name(self) -> &'static str {
        match self {
            Key::Year => "year",
            Key::Month => "month",
            Key::Day => "day",
            Key::Hour => "hour",
        }
    }

    fn range(self) -> (u32, u32) {
        match self {
            Key::Year => (MIN_YEAR as u32, MAX_YEAR as u32),
            Key::Month => (1, 12),
            Key::Day => (1, 31),
            Key::Hour => (0, 23),
        }
    }
}

/// The value of a `key=value` folder name. `None`: the name is not of this
/// key at all (some other folder, left alone). `Some(Err)`: it is, but its
/// value is not a number in the key's range; the reason says so.
pub fn parse(name: &str, key: Key) -> Option<Result<u32, String>> {
    let value = name.strip_prefix(key.name())?.strip_prefix('=')?;
    let (min, max) = key.range();
    // Digits only: `u32::from_str` would take "+7", and a long run of
    // digits must not wrap.
    let parsed =
        (!value.is_empty() && value.len() <= 9 && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| value.parse::<u32>().ok())
            .flatten()
            .filter(|v| (min..=max).contains(v));
    Some(parsed.ok_or_else(|| {
        format!(
            "partition {name:?}: {} must be a number from {min} to {max}",
            key.name()
        )
    }))
}

/// The start of a day named by partition values, or why it names none
/// (February 30th).
pub fn day_start(year: u32, month: u32, day: u32) -> Result<i64, String> {
    i32::try_from(year)
        .ok()
        .and_then(|y| from_civil_checked(y, month, day, 0))
        .ok_or_else(|| format!("partition year={year}/month={month:02}/day={day:02}: no such day"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_parse_into_their_ranges_only() {
        assert_eq!(parse("hour=07", Key::Hour), Some(Ok(7)));
        assert_eq!(parse("hour=7", Key::Hour), Some(Ok(7)));
        assert_eq!(parse("hour=23", Key::Hour), Some(Ok(23)));
        assert_eq!(parse("year=2023", Key::Year), Some(Ok(2023)));
        assert_eq!(parse("something", Key::Hour), None);
        assert_eq!(parse("hours=1", Key::Hour), None);
        for (name, key) in [
            ("hour=24", Key::Hour),
            ("hour=4294967295", Key::Hour),
            ("hour=99999999999999999999", Key::Hour),
            ("hour=+7", Key::Hour),
            ("hour=-1", Key::Hour),
            ("hour=", Key::Hour),
            ("hour= 7", Key::Hour),
            ("month=13", Key::Month),
            ("month=0", Key::Month),
            ("day=0", Key::Day),
            ("day=32", Key::Day),
            ("year=300000", Key::Year),
            ("year=1969", Key::Year),
            ("year=10000", Key::Year),
        ] {
            let got = parse(name, key);
            assert!(matches!(got, Some(Err(_))), "{name}: {got:?}");
        }
        assert_eq!(
            parse("hour=24", Key::Hour),
            Some(Err(
                "partition \"hour=24\": hour must be a number from 0 to 23".into()
            ))
        );
        assert!(day_start(2023, 2, 30).is_err());
        assert!(day_start(2024, 2, 29).is_ok());
    }

    #[test]
    fn paths_written_parse_back_to_their_hour() {
        assert_eq!(day_path(2023, 11, 5), "year=2023/month=11/day=05");
        assert_eq!(
            hour_path(2023, 11, 5, 7),
            "year=2023/month=11/day=05/hour=07"
        );
        // 2023-11-14T22:13:20Z
        let us = 1_700_000_000_000_000;
        assert_eq!(hour_path_at(us), "year=2023/month=11/day=14/hour=22");
        assert_eq!(day_path_at(us), "year=2023/month=11/day=14");
        // MAX_US is the end of 9999, itself outside.
        for us in [0, us, MAX_US - 1] {
            let c = civil(us);
            let path = hour_path_at(us);
            let parts: Vec<&str> = path.split('/').collect();
            let keys = [Key::Year, Key::Month, Key::Day, Key::Hour];
            let values: Vec<u32> = parts
                .iter()
                .zip(keys)
                .map(|(p, k)| parse(p, k).unwrap().unwrap())
                .collect();
            assert_eq!(values, [c.year as u32, c.month, c.day, c.hour], "{path}");
        }
    }

    #[test]
    fn ranges_outside_1970_to_9999_are_refused() {
        assert!(check_range(0, MAX_US).is_ok());
        assert!(check_range(1_700_000_000_000_000, 1_700_000_000_000_001).is_ok());
        assert_eq!(
            check_range(0, i64::MAX / 2),
            Err(RangeError {
                from_us: 0,
                to_us: i64::MAX / 2
            })
        );
        assert!(check_range(-1, 10).is_err());
        assert!(check_range(0, MAX_US + 1).is_err());
        assert!(check_range(i64::MIN, i64::MAX).is_err());
    }
}
