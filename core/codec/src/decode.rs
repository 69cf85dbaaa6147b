//! The decoder: one pass over the JSON with a serde visitor, keys and
//! strings borrowed from the input where they can be, then every field
//! checked against [`crate::limits`] before it becomes a [`RecordRef`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::{
    DEVICE_KEY, DecodeError, MAX_FUTURE_US, MEASURE_SUFFIX, Record, RecordRef, TIME_KEY,
    TIME_UNIT_KEY, TimeUnit, check_measure, has_control, limits,
};

/// Decodes one wire record that arrived at `arrival_us` (epoch microseconds).
pub fn decode(bytes: &[u8], arrival_us: i64) -> Result<Record, DecodeError> {
    let mut decoder = Decoder::default();
    decoder.decode(bytes, arrival_us)?;
    Ok(decoder.record.into_record())
}

/// Decodes many records out of one buffer (a file, a batch) without
/// allocating per record: its lists are kept and reused, and strings are
/// borrowed from the buffer.
#[derive(Default)]
pub struct Decoder<'a> {
    raw: RawRecord<'a>,
    record: RecordRef<'a>,
}

impl<'a> Decoder<'a> {
    /// Like [`decode`]; the record lives until the next call.
    pub fn decode(
        &mut self,
        bytes: &'a [u8],
        arrival_us: i64,
    ) -> Result<&RecordRef<'a>, DecodeError> {
        self.raw.clear();
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let top = TopSeed { raw: &mut self.raw }
            .deserialize(&mut de)
            .map_err(|e| DecodeError::NotJson(e.to_string()))?;
        de.end().map_err(|e| DecodeError::NotJson(e.to_string()))?;
        match top {
            Top::Object => {
                // Raw control characters are not valid JSON inside strings,
                // so in input of printable ASCII only a string that had
                // escapes (an owned one) can hold one: one vectorised pass
                // here spares a scan of every borrowed string.
                let unusual = bytes
                    .iter()
                    .fold(false, |any, &b| any | !(0x20..0x7f).contains(&b));
                self.raw.validate(arrival_us, !unusual, &mut self.record)?
            }
            Top::Other(kind) => return Err(DecodeError::NotObject(kind)),
        }
        Ok(&self.record)
    }
}

/// A JSON value as the decoder needs to see it: scalars kept, containers
/// skipped and only named.
#[derive(Debug)]
enum Field<'a> {
    /// A whole number, kept exact: a time in nanoseconds needs all 64 bits.
    Int(i64),
    Num(f64),
    Str(Cow<'a, str>),
    Bool(bool),
    Null,
    Array,
    Object,
}

impl Field<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Field::Int(_) | Field::Num(_) => "a number",
            Field::Str(_) => "a string",
            Field::Bool(_) => "a boolean",
            Field::Null => "null",
            Field::Array => "an array",
            Field::Object => "an object",
        }
    }

    fn describe(&self) -> String {
        match self {
            Field::Str(s) => format!("the string {s:?}"),
            Field::Bool(b) => format!("the boolean {b}"),
            other => other.kind().to_string(),
        }
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Field::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Field::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Field::Num(v as f64), Field::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Field::Num(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Object)
    }
}

impl<'de> de::Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

/// A key, borrowed from the input unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// What the top of the JSON was; an object's fields are in the decoder.
enum Top {
    Object,
    Other(&'static str),
}

#[derive(Default)]
struct RawRecord<'a> {
    time: Option<Field<'a>>,
    time_unit: Option<Field<'a>>,
    device: Option<Field<'a>>,
    measures: Vec<(Cow<'a, str>, Field<'a>)>,
    dimensions: Vec<(Cow<'a, str>, Field<'a>)>,
    /// Keys seen of each kind, beyond what the lists keep past the limits.
    measure_keys: usize,
    dimension_keys: usize,
    duplicate: Option<String>,
}

struct TopSeed<'s, 'a> {
    raw: &'s mut RawRecord<'a>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, 'de> {
    type Value = Top;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(TopVisitor { raw: self.raw })
    }
}

struct TopVisitor<'s, 'a> {
    raw: &'s mut RawRecord<'a>,
}

impl<'de> Visitor<'de> for TopVisitor<'_, 'de> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let raw = self.raw;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let value: Field<'de> = map.next_value()?;
            // The seed's Flink job: a `_measure` suffix, `time` and
            // `timeunit` in any case. The device ID is Gridwatch's own key.
            let k = key.as_ref();
            // The exact spellings first: the seed's producer writes them.
            let slot_taken = match k {
                TIME_KEY => raw.time.replace(value).is_some(),
                DEVICE_KEY => raw.device.replace(value).is_some(),
                _ if k.ends_with(MEASURE_SUFFIX) || has_measure_suffix(k) => {
                    // Past a limit only the count goes on: the record is
                    // refused anyway, and the duplicate search stays bounded.
                    raw.measure_keys += 1;
                    if raw.measures.len() < limits::MEASURES {
                        // "watt_measure" and "watt_MEASURE" are one measure:
                        // the same stem, whatever the suffix's case.
                        let stem = &k.as_bytes()[..k.len() - MEASURE_SUFFIX.len()];
                        let dup = raw.measures.iter().any(|(n, _)| {
                            n.len() == k.len() && &n.as_bytes()[..stem.len()] == stem
                        });
                        raw.measures.push((key.clone(), value));
                        dup
                    } else {
                        false
                    }
                }
                _ if k.len() == TIME_KEY.len() && k.eq_ignore_ascii_case(TIME_KEY) => {
                    raw.time.replace(value).is_some()
                }
                _ if k.len() == TIME_UNIT_KEY.len() && k.eq_ignore_ascii_case(TIME_UNIT_KEY) => {
                    raw.time_unit.replace(value).is_some()
                }
                _ => {
                    raw.dimension_keys += 1;
                    if raw.dimensions.len() < limits::DIMENSIONS {
                        let dup = raw.dimensions.iter().any(|(n, _)| *n == key);
                        raw.dimensions.push((key.clone(), value));
                        dup
                    } else {
                        false
                    }
                }
            };
            if slot_taken && raw.duplicate.is_none() {
                raw.duplicate = Some(key.into_owned());
            }
        }
        Ok(Top::Object)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Top::Other("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Top::Other("a string"))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Top::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Top::Other("an array"))
    }
}

/// Whether a key ends in `_measure`, in any case.
#[inline]
fn has_measure_suffix(key: &str) -> bool {
    let b = key.as_bytes();
    let Some(tail) = b.len().checked_sub(MEASURE_SUFFIX.len()).map(|at| &b[at..]) else {
        return false;
    };
    // `_` has no case: one byte compare turns most dimensions away before
    // the case-blind loop over eight bytes.
    tail[0] == b'_' && tail.eq_ignore_ascii_case(MEASURE_SUFFIX.as_bytes())
}

/// A record's time in epoch microseconds, from its `Time` and `TimeUnit`.
fn time_us(time: Option<Field<'_>>, unit: Option<Field<'_>>) -> Result<i64, DecodeError> {
    let unit = match unit {
        None | Some(Field::Null) => TimeUnit::Milliseconds,
        Some(Field::Str(s)) => TimeUnit::parse(&s).ok_or_else(|| {
            DecodeError::BadTime(format!(
                "\"TimeUnit\" is {s:?}, not MILLISECONDS, SECONDS, MICROSECONDS or NANOSECONDS"
            ))
        })?,
        Some(other) => {
            return Err(DecodeError::BadTime(format!(
                "\"TimeUnit\" is {}, not a string",
                other.describe()
            )));
        }
    };
    let field = time.ok_or(DecodeError::MissingTime)?;
    // Some producers stringify numbers (the Flink job reads every value as
    // a string): accept those too.
    let parsed;
    let field = match &field {
        Field::Str(s) => {
            let t = s.trim();
            parsed = t.parse::<i64>().map(Field::Int).or_else(|_| {
                t.parse::<f64>().map(Field::Num).map_err(|_| {
                    DecodeError::BadTime(format!(
                        "expected epoch {} as a number, found {}",
                        unit.name(),
                        field.describe()
                    ))
                })
            })?;
            &parsed
        }
        f => f,
    };
    let out_of_range = |shown: String| {
        DecodeError::BadTime(format!(
            "{shown} is not epoch {} between 1970 and 9999",
            unit.name()
        ))
    };
    let us = match *field {
        // Whole numbers exactly (nanoseconds need every bit).
        // Before 1970 even if it rounds to 1970.
        Field::Int(v) if v < 0 => None,
        Field::Num(v) if v < 0.0 => None,
        Field::Int(v) => unit.whole_to_us(v),
        Field::Num(v) if v.is_finite() => {
            let us = (v * unit.us_per_unit()).round();
            // In range, so the conversion to i64 below cannot saturate.
            (-1e18..=1e18).contains(&us).then_some(us as i64)
        }
        Field::Num(v) => return Err(out_of_range(v.to_string())),
        ref other => {
            return Err(DecodeError::BadTime(format!(
                "expected epoch {} as a number, found {}",
                unit.name(),
                other.describe()
            )));
        }
    };
    // Anything past year 9999 or before 1970 is not a telemetry time.
    match us {
        Some(us) if (0..=MAX_TIME_US).contains(&us) => Ok(us),
        _ => Err(out_of_range(match *field {
            Field::Int(v) => v.to_string(),
            Field::Num(v) => v.to_string(),
            _ => String::new(),
        })),
    }
}

/// 9999-12-31T24:00:00Z in epoch microseconds.
const MAX_TIME_US: i64 = 253_402_300_800_000_000;

/// Whether a string may hold a control character and must be scanned:
/// with `scan_all` (input not all printable ASCII) every string, otherwise
/// only those that had escapes (owned), since raw control characters are
/// not valid JSON inside strings.
#[inline(always)]
#[allow(clippy::ptr_arg)] // whether it is owned (it had escapes) is the point
fn may_hold_control(s: &Cow<'_, str>, scan_all: bool) -> bool {
    (scan_all || matches!(s, Cow::Owned(_))) && has_control(s)
}

/// A measure or dimension name: short, and nothing a terminal would act on.
/// Small enough to inline on every key; the error is built out of line.
#[inline(always)]
#[allow(clippy::ptr_arg)] // see may_hold_control
fn check_key(key: &Cow<'_, str>, scan_all: bool) -> Result<(), DecodeError> {
    if key.len() > limits::KEY_BYTES || may_hold_control(key, scan_all) {
        return Err(bad_key(key));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn bad_key(key: &str) -> DecodeError {
    if key.len() > limits::KEY_BYTES {
        DecodeError::TooLong {
            what: "a key".into(),
            len: key.len(),
            max: limits::KEY_BYTES,
        }
    } else {
        // Debug escapes what a terminal would act on.
        DecodeError::ControlCharacter(format!("the key {key:?}"))
    }
}

#[cold]
#[inline(never)]
fn bad_dimension(key: &str, value: &str) -> DecodeError {
    if value.len() > limits::DIMENSION_VALUE_BYTES {
        DecodeError::TooLong {
            what: format!("dimension {key:?}"),
            len: value.len(),
            max: limits::DIMENSION_VALUE_BYTES,
        }
    } else {
        DecodeError::ControlCharacter(format!("dimension {key:?}"))
    }
}

impl<'a> RawRecord<'a> {
    fn clear(&mut self) {
        self.time = None;
        self.time_unit = None;
        self.device = None;
        self.measures.clear();
        self.dimensions.clear();
        self.measure_keys = 0;
        self.dimension_keys = 0;
        self.duplicate = None;
    }

    /// Checks the fields and moves them into `out`.
    /// `plain_input`: the record's bytes were printable ASCII, so only
    /// strings with escapes need a control-character scan.
    fn validate(
        &mut self,
        arrival_us: i64,
        plain_input: bool,
        out: &mut RecordRef<'a>,
    ) -> Result<(), DecodeError> {
        let scan_all = !plain_input;
        if let Some(key) = self.duplicate.take() {
            return Err(DecodeError::DuplicateKey(key));
        }
        let mut time_us = time_us(self.time.take(), self.time_unit.take())?;
        let device_id = match self.device.take() {
            None => return Err(DecodeError::MissingDeviceId),
            Some(Field::Str(s)) if !s.trim().is_empty() => s,
            Some(Field::Str(_)) => return Err(DecodeError::BadDeviceId("it is empty".into())),
            Some(other) => {
                return Err(DecodeError::BadDeviceId(format!(
                    "expected a string, found {}",
                    other.describe()
                )));
            }
        };
        // Bytes bound characters from above: count only when it may matter.
        if device_id.len() > limits::DEVICE_ID_CHARS {
            let chars = device_id.chars().count();
            if chars > limits::DEVICE_ID_CHARS {
                return Err(DecodeError::DeviceIdTooLong(chars));
            }
        }
        if may_hold_control(&device_id, scan_all) {
            return Err(DecodeError::ControlCharacter("\"DeviceID\"".into()));
        }
        if self.measure_keys > limits::MEASURES {
            return Err(DecodeError::TooManyMeasures(self.measure_keys));
        }
        if self.dimension_keys > limits::DIMENSIONS {
            return Err(DecodeError::TooManyDimensions(self.dimension_keys));
        }
        if self.measures.is_empty() {
            return Err(DecodeError::NoMeasure);
        }
        out.measures.clear();
        out.dimensions.clear();
        out.measure_keys.clear();
        let measures = &mut out.measures;
        for (key, value) in self.measures.drain(..) {
            let v = match &value {
                Field::Int(v) => *v as f64,
                Field::Num(v) => *v,
                // Some producers stringify numbers; accept those, and let
                // "NaN"/"Infinity" reach the finiteness check below.
                Field::Str(s) => {
                    s.trim()
                        .parse::<f64>()
                        .map_err(|_| DecodeError::NonNumericMeasure {
                            key: key.to_string(),
                            found: value.describe(),
                        })?
                }
                _ => {
                    return Err(DecodeError::NonNumericMeasure {
                        key: key.into_owned(),
                        found: value.describe(),
                    });
                }
            };
            check_key(&key, scan_all)?;
            check_measure(&key, v)?;
            // Every measure key ends in the (ASCII) suffix: its stem is a
            // plain cut on a character boundary.
            let stem_len = key.len() - MEASURE_SUFFIX.len();
            if stem_len == 0 {
                return Err(DecodeError::NonNumericMeasure {
                    key: key.into_owned(),
                    found: "a measure with no name".into(),
                });
            }
            if !key.ends_with(MEASURE_SUFFIX) {
                // "humidity_MEASURE": the bridge writes it back as spelled.
                out.measure_keys.push((measures.len(), key.clone()));
            }
            let name = match key {
                Cow::Borrowed(k) => Cow::Borrowed(k.get(..stem_len).unwrap_or(k)),
                Cow::Owned(mut k) => {
                    k.truncate(stem_len);
                    Cow::Owned(k)
                }
            };
            measures.push((name, v));
        }
        let dimensions = &mut out.dimensions;
        for (key, value) in self.dimensions.drain(..) {
            let v = match value {
                Field::Str(s) => s,
                // A numeric or boolean dimension ("Floor": 3) is still a label.
                Field::Int(n) => Cow::Owned(n.to_string()),
                Field::Num(n) => Cow::Owned(n.to_string()),
                Field::Bool(b) => Cow::Owned(b.to_string()),
                Field::Null => continue,
                other => {
                    return Err(DecodeError::BadDimension {
                        key: key.into_owned(),
                        found: other.kind(),
                    });
                }
            };
            check_key(&key, scan_all)?;
            if v.len() > limits::DIMENSION_VALUE_BYTES || may_hold_control(&v, scan_all) {
                return Err(bad_dimension(&key, &v));
            }
            dimensions.push((key, v));
        }
        let mut time_adjusted = false;
        if time_us > arrival_us.saturating_add(MAX_FUTURE_US) {
            time_us = arrival_us;
            time_adjusted = true;
        }
        out.device_id = device_id;
        out.time_us = time_us;
        out.time_adjusted = time_adjusted;
        Ok(())
    }
}
