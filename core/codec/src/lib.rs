//! The wire record: the JSON the seed's producer writes and its Flink job reads.
//!
//! ```json
//! {"Time": 1700000000000, "DeviceID": "c0ffee", "voltage_measure": 231.4, "Region": "north"}
//! ```
//!
//! `Time` is epoch milliseconds (fractions allowed), `DeviceID` the partition
//! key, every `*_measure` key a measure (a double), every other key a
//! dimension (a string). As the seed's Flink job reads them, the suffix and
//! the time key match in any case (`voltage_MEASURE`, `time`), and a
//! `TimeUnit` key (SECONDS, MILLISECONDS, MICROSECONDS, NANOSECONDS, in any
//! case) gives the time's unit. A measure keeps its stem as written and
//! loses the suffix (`Voltage_MEASURE` is the measure `Voltage`); the
//! bridge writes it back as `Voltage_measure`. Decoding never panics: each way a record can be wrong
//! has its own [`DecodeError`], with a stable [`DecodeError::code`] that the
//! quarantine stores next to the message.
//!
//! The decoder walks the JSON once with a serde visitor and borrows keys and
//! strings from the input where it can, instead of building a
//! `serde_json::Value` first: see `benches/hot_paths.rs`.
//!
//! The parts: `decode` (the visitor and the checks), `encode`, [`extract`]
//! (the framing of a lake extract), [`kpl`]
//! (KPL aggregates of many records), [`limits`]
//! (what a record may hold), `terminal` ([`printable`]), [`partition`]
//! (the lake's folder layout) and [`timestream_text`] (the text Timestream
//! answers scalars in). Here: the record, its keys, and the error.

use std::borrow::Cow;

/// Points further ahead of their arrival than this take the arrival time
/// (the seed's `OffsetFutureTimestreamPoints`: Timestream rejects them).
pub const MAX_FUTURE_US: i64 = 15 * 60 * 1_000_000;

/// The time key, read in any case (`Time`, `time`), as the seed's Flink
/// job reads it.
pub const TIME_KEY: &str = "Time";
/// The unit of the time key, read in any case; milliseconds without it.
pub const TIME_UNIT_KEY: &str = "TimeUnit";
pub const DEVICE_KEY: &str = "DeviceID";
pub const MEASURE_SUFFIX: &str = "_measure";

/// One decoded wire record: one device, one time, one or more measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub device_id: String,
    /// Epoch microseconds.
    pub time_us: i64,
    /// True when the record's own time was too far in the future and the
    /// arrival time was used instead.
    pub time_adjusted: bool,
    /// Measure names without the `_measure` suffix ("voltage"), with values.
    pub measures: Vec<(String, f64)>,
    pub dimensions: Vec<(String, String)>,
    /// The producer's own keys of the measures whose suffix it spelled
    /// other than `_measure` ("humidity_MEASURE"), by index in `measures`:
    /// one measure to Gridwatch, but the seed's Flink job names the
    /// Timestream measure by the key as written, so the bridge does too.
    /// Empty for nearly every record.
    pub measure_keys: Vec<(usize, String)>,
}

impl Record {
    /// Measure `i`'s key when its producer spelled the suffix otherwise
    /// ([`Record::measure_keys`]); None for `_measure`.
    pub fn spelled_key(&self, i: usize) -> Option<&str> {
        (self.measure_keys.iter())
            .find(|(at, _)| *at == i)
            .map(|(_, key)| key.as_str())
    }

    /// Measure `i`'s key as its producer wrote it: `voltage_measure`, or
    /// the spelling kept in [`Record::measure_keys`].
    pub fn measure_key(&self, i: usize) -> Cow<'_, str> {
        match self.spelled_key(i) {
            Some(key) => Cow::Borrowed(key),
            None => {
                let name = self.measures.get(i).map_or("", |(n, _)| n.as_str());
                Cow::Owned(format!("{name}{MEASURE_SUFFIX}"))
            }
        }
    }
}

/// A decoded record that borrows its strings from the input where it can.
/// Readers that only look at records (the lake's views) take this from a
/// [`Decoder`], and copy nothing per record; [`decode`] makes an owned
/// [`Record`] of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordRef<'a> {
    pub device_id: Cow<'a, str>,
    pub time_us: i64,
    pub time_adjusted: bool,
    pub measures: Vec<(Cow<'a, str>, f64)>,
    pub dimensions: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// As [`Record::measure_keys`].
    pub measure_keys: Vec<(usize, Cow<'a, str>)>,
}

impl RecordRef<'_> {
    pub fn into_record(self) -> Record {
        Record {
            device_id: self.device_id.into_owned(),
            time_us: self.time_us,
            time_adjusted: self.time_adjusted,
            measures: self
                .measures
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v))
                .collect(),
            dimensions: self
                .dimensions
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            measure_keys: self
                .measure_keys
                .into_iter()
                .map(|(i, k)| (i, k.into_owned()))
                .collect(),
        }
    }
}

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a JSON object but {0}")]
    NotObject(&'static str),
    #[error("missing \"Time\" (epoch milliseconds)")]
    MissingTime,
    #[error("bad \"Time\": {0}")]
    BadTime(String),
    #[error("missing \"DeviceID\"")]
    MissingDeviceId,
    #[error("bad \"DeviceID\": {0}")]
    BadDeviceId(String),
    #[error("no measure: no key ends in \"_measure\"")]
    NoMeasure,
    #[error("measure {key:?} is not a number: {found}")]
    NonNumericMeasure { key: String, found: String },
    #[error("measure {key:?} is {value}, not a finite number")]
    NotFiniteMeasure { key: String, value: f64 },
    #[error("dimension {key:?} is {found}, not a string")]
    BadDimension { key: String, found: &'static str },
    #[error("key {0:?} appears twice")]
    DuplicateKey(String),
    #[error("\"DeviceID\" is {0} characters long, more than {max}", max = limits::DEVICE_ID_CHARS)]
    DeviceIdTooLong(usize),
    #[error("{0} holds a control character")]
    ControlCharacter(String),
    #[error("{0} measures in one record, more than {max}", max = limits::MEASURES)]
    TooManyMeasures(usize),
    #[error("{0} dimensions in one record, more than {max}", max = limits::DIMENSIONS)]
    TooManyDimensions(usize),
    #[error("{what} is {len} bytes long, more than {max}")]
    TooLong {
        what: String,
        len: usize,
        max: usize,
    },
    #[error("measure {key:?} is {}, outside the plausible {}..{}", num(*.value), num(*.min), num(*.max))]
    ImplausibleMeasure {
        key: String,
        value: f64,
        min: f64,
        max: f64,
    },
}

/// A number as people read it: plain when short, in exponent form when huge
/// or tiny (`1.7e308`, not 309 digits).
fn num(v: f64) -> String {
    if v != 0.0 && !(1e-4..1e9).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

impl DecodeError {
    /// A stable, machine-readable reason, stored in the quarantine.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::NotJson(_) => "not_json",
            DecodeError::NotObject(_) => "not_object",
            DecodeError::MissingTime => "missing_time",
            DecodeError::BadTime(_) => "bad_time",
            DecodeError::MissingDeviceId => "missing_device_id",
            DecodeError::BadDeviceId(_) => "bad_device_id",
            DecodeError::NoMeasure => "no_measure",
            DecodeError::NonNumericMeasure { .. } => "non_numeric_measure",
            DecodeError::NotFiniteMeasure { .. } => "not_finite_measure",
            DecodeError::BadDimension { .. } => "bad_dimension",
            DecodeError::DuplicateKey(_) => "duplicate_key",
            DecodeError::DeviceIdTooLong(_) => "device_id_too_long",
            DecodeError::ControlCharacter(_) => "control_character",
            DecodeError::TooManyMeasures(_) => "too_many_measures",
            DecodeError::TooManyDimensions(_) => "too_many_dimensions",
            DecodeError::TooLong { .. } => "too_long",
            DecodeError::ImplausibleMeasure { .. } => "implausible_measure",
        }
    }
}

/// Canonical measure name: accepts "voltage", "voltage_measure" and
/// "voltage_MEASURE" alike (the suffix in any case, as the seed's Flink job
/// matches it).
pub fn measure_name(name: &str) -> &str {
    measure_name_ci(name)
}

/// The units a record's `TimeUnit` may name: Timestream's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

impl TimeUnit {
    /// The unit a `TimeUnit` value names, in any case; None for any other.
    pub fn parse(s: &str) -> Option<TimeUnit> {
        let is = |k: &str| s.eq_ignore_ascii_case(k);
        if is("MILLISECONDS") {
            Some(TimeUnit::Milliseconds)
        } else if is("SECONDS") {
            Some(TimeUnit::Seconds)
        } else if is("MICROSECONDS") {
            Some(TimeUnit::Microseconds)
        } else if is("NANOSECONDS") {
            Some(TimeUnit::Nanoseconds)
        } else {
            None
        }
    }

    /// The unit's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "seconds",
            TimeUnit::Milliseconds => "milliseconds",
            TimeUnit::Microseconds => "microseconds",
            TimeUnit::Nanoseconds => "nanoseconds",
        }
    }

    fn us_per_unit(self) -> f64 {
        match self {
            TimeUnit::Seconds => 1e6,
            TimeUnit::Milliseconds => 1e3,
            TimeUnit::Microseconds => 1.0,
            TimeUnit::Nanoseconds => 1e-3,
        }
    }

    /// A whole number of this unit in microseconds (nanoseconds rounded to
    /// the nearest); None past i64.
    fn whole_to_us(self, v: i64) -> Option<i64> {
        match self {
            TimeUnit::Seconds => v.checked_mul(1_000_000),
            TimeUnit::Milliseconds => v.checked_mul(1_000),
            TimeUnit::Microseconds => Some(v),
            TimeUnit::Nanoseconds => {
                let (q, r) = (v.div_euclid(1_000), v.rem_euclid(1_000));
                Some(if r >= 500 { q + 1 } else { q })
            }
        }
    }
}

/// Like [`measure_name`], with the suffix in any case ("Voltage_MEASURE").
fn measure_name_ci(name: &str) -> &str {
    let cut = name.len().saturating_sub(MEASURE_SUFFIX.len());
    match (name.get(..cut), name.get(cut..)) {
        // The exact spelling first: one compare for what producers write.
        (Some(stem), Some(suffix))
            if suffix == MEASURE_SUFFIX || suffix.eq_ignore_ascii_case(MEASURE_SUFFIX) =>
        {
            stem
        }
        _ => name,
    }
}

mod decode;
mod encode;
pub mod extract;
pub mod kpl;
pub mod limits;
pub mod partition;
mod terminal;
pub mod timestream_text;

pub use decode::{Decoder, decode};
pub use encode::{
    EncodedDimensions, MeasureKey, RecordWriter, encode, push_time_ms, round_half_away, round_to,
};
pub use limits::check_measure;
pub use terminal::{has_control, printable};

#[cfg(test)]
mod tests;
