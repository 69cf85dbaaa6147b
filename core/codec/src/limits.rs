//! What a wire record may hold. A record past any of these is quarantined
//! whole with its own reason code: each is far beyond any real device and
//! marks a producer bug or hostile input, which must not fill the cache or
//! the operator's screen.

use crate::DecodeError;

/// Characters in a device ID: the Kinesis partition key limit (the
/// device ID is the partition key).
pub const DEVICE_ID_CHARS: usize = 256;
/// Measures in one record: Timestream's limit for a multi-measure record.
pub const MEASURES: usize = 256;
/// Dimensions in one record: Timestream's limit for a table.
pub const DIMENSIONS: usize = 128;
/// Bytes in a measure or dimension name: Timestream's measure-name limit.
pub const KEY_BYTES: usize = 256;
/// Bytes in a dimension value: Timestream's dimension-value limit.
pub const DIMENSION_VALUE_BYTES: usize = 2048;
/// The magnitude no measure of any kind reaches.
pub const ANY_MEASURE: f64 = 1e15;
/// Values every kind's range below holds.
pub const EVERY_KIND: (f64, f64) = (-273.15, 5_000.0);

/// The plausible range of a measure of the kind `name` names (with or
/// without the `_measure` suffix, in any case): physically possible on a
/// distribution network, with room for faults and spikes.
pub fn measure_range(name: &str) -> (f64, f64) {
    let name = super::measure_name_ci(name);
    // By length first, then the exact spelling (one compare), then
    // case-blind (a loop over the bytes).
    let is = |k: &str| name == k || name.eq_ignore_ascii_case(k);
    match name.len() {
        // 1,000 kV: above the highest transmission voltage in service.
        7 if is("voltage") => (-1e6, 1e6),
        7 if is("current") => (-1e6, 1e6),
        // 10 GW: a large power station's output.
        4 if is("watt") => (-1e10, 1e10),
        // 1 TWh as a kWh counter.
        6 if is("energy") => (-1e12, 1e12),
        // From absolute zero to well past any fire.
        11 if is("temperature") => (-273.15, 5_000.0),
        15 if is("oil_temperature") => (-273.15, 5_000.0),
        8 if is("load_pct") || is("humidity") => (-1e4, 1e4),
        _ => (-ANY_MEASURE, ANY_MEASURE),
    }
}

/// Checks a measure's value: finite and within the plausible range of its
/// kind ([`measure_range`]). Every reader of readings (the wire
/// codec, the lake's Parquet reader) applies this one rule.
#[inline]
pub fn check_measure(key: &str, value: f64) -> Result<(), DecodeError> {
    // Inside every kind's range: most readings, with no look-up by name.
    if (EVERY_KIND.0..=EVERY_KIND.1).contains(&value) {
        return Ok(());
    }
    check_measure_by_kind(key, value)
}

#[inline(never)]
fn check_measure_by_kind(key: &str, value: f64) -> Result<(), DecodeError> {
    if !value.is_finite() {
        return Err(DecodeError::NotFiniteMeasure {
            key: key.to_owned(),
            value,
        });
    }
    let (min, max) = measure_range(key);
    if !(min..=max).contains(&value) {
        return Err(DecodeError::ImplausibleMeasure {
            key: key.to_owned(),
            value,
            min,
            max,
        });
    }
    Ok(())
}
