//! The wire record: the JSON the seed's producer writes and its Flink job reads.
//!
//! ```json
//! {"Time": 1700000000000, "DeviceID": "c0ffee", "voltage_measure": 231.4, "Region": "north"}
//! ```
//!
//! `Time` is epoch milliseconds (fractions allowed), `DeviceID` the partition
//! key, every `*_measure` key a measure (a double), every other key a
//! dimension (a string). Decoding never panics: each way a record can be wrong
//! has its own [`DecodeError`], with a stable [`DecodeError::code`] that the
//! quarantine stores next to the message.
//!
//! The decoder walks the JSON once with a serde visitor and borrows keys and
//! strings from the input where it can, instead of building a
//! `serde_json::Value` first: see `benches/hot_paths.rs`.

pub mod partition;

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Points further ahead of their arrival than this take the arrival time
/// (the seed's `OffsetFutureTimestreamPoints`: Timestream rejects them).
pub const MAX_FUTURE_US: i64 = 15 * 60 * 1_000_000;

/// What a wire record may hold. A record past any of these is quarantined
/// whole with its own reason code: each is far beyond any real device and
/// marks a producer bug or hostile input, which must not fill the cache or
/// the operator's screen.
pub mod limits {
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
        // By length first, then case-blind.
        let is = |k: &str| name.eq_ignore_ascii_case(k);
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
}

pub const TIME_KEY: &str = "Time";
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

/// Canonical measure name: accepts "voltage" and "voltage_measure" alike.
pub fn measure_name(name: &str) -> &str {
    name.strip_suffix(MEASURE_SUFFIX).unwrap_or(name)
}

/// Like [`measure_name`], with the suffix in any case ("Voltage_MEASURE").
fn measure_name_ci(name: &str) -> &str {
    let cut = name.len().saturating_sub(MEASURE_SUFFIX.len());
    match (name.get(..cut), name.get(cut..)) {
        (Some(stem), Some(suffix)) if suffix.eq_ignore_ascii_case(MEASURE_SUFFIX) => stem,
        _ => name,
    }
}

/// Checks a measure's value: finite and within the plausible range of its
/// kind ([`limits::measure_range`]). Every reader of readings (the wire
/// codec, the lake's Parquet reader) applies this one rule.
#[inline]
pub fn check_measure(key: &str, value: f64) -> Result<(), DecodeError> {
    // Inside every kind's range: most readings, with no look-up by name.
    if (limits::EVERY_KIND.0..=limits::EVERY_KIND.1).contains(&value) {
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
    let (min, max) = limits::measure_range(key);
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

/// Whether `s` holds a control character (C0, DEL, C1) or a bidirectional
/// override, any of which can rewrite an operator's terminal or spoof text.
pub fn has_control(s: &str) -> bool {
    // One pass over the bytes for the usual printable ASCII; characters
    // only when there is anything else.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        false
    } else {
        s.chars().any(is_unsafe_char)
    }
}

fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` made safe to print on a terminal: control characters and
/// bidirectional overrides as `\u{..}` escapes, everything else as it is.
/// Anything that came from the data goes through this before a terminal.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !has_control(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes a record in the wire format (what the simulator puts on a stream).
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    out.push(b'{');
    out.extend_from_slice(b"\"Time\":");
    // Whole milliseconds print without a fraction, like the seed's producer.
    if record.time_us % 1000 == 0 {
        out.extend_from_slice((record.time_us / 1000).to_string().as_bytes());
    } else {
        let ms = record.time_us as f64 / 1000.0;
        out.extend_from_slice(ms.to_string().as_bytes());
    }
    out.extend_from_slice(b",\"DeviceID\":");
    push_json_str(out, &record.device_id);
    for (name, value) in &record.measures {
        out.push(b',');
        out.push(b'"');
        push_escaped(out, name);
        out.extend_from_slice(MEASURE_SUFFIX.as_bytes());
        out.extend_from_slice(b"\":");
        if value.is_finite() {
            // Display for f64 is the shortest text that round-trips.
            out.extend_from_slice(value.to_string().as_bytes());
        } else {
            // Not representable in JSON; write it as the string a producer
            // would, so the decoder's error path can be exercised end to end.
            push_json_str(out, &value.to_string());
        }
    }
    for (key, value) in &record.dimensions {
        out.push(b',');
        push_json_str(out, key);
        out.push(b':');
        push_json_str(out, value);
    }
    out.push(b'}');
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    push_escaped(out, s);
    out.push(b'"');
}

fn push_escaped(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
}

/// A JSON value as the decoder needs to see it: scalars kept, containers
/// skipped and only named.
#[derive(Debug)]
enum Field<'a> {
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
            Field::Num(_) => "a number",
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
        Ok(Field::Num(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Field::Num(v as f64))
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
            let slot_taken = match key.as_ref() {
                TIME_KEY => raw.time.replace(value).is_some(),
                DEVICE_KEY => raw.device.replace(value).is_some(),
                // Past a limit only the count goes on: the record is
                // refused anyway, and the duplicate search stays bounded.
                k if k.ends_with(MEASURE_SUFFIX) => {
                    raw.measure_keys += 1;
                    if raw.measures.len() < limits::MEASURES {
                        let dup = raw.measures.iter().any(|(n, _)| *n == key);
                        raw.measures.push((key.clone(), value));
                        dup
                    } else {
                        false
                    }
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

/// A measure or dimension name: short, and nothing a terminal would act on.
#[inline]
fn check_key(key: &str, has_control: bool) -> Result<(), DecodeError> {
    if key.len() > limits::KEY_BYTES {
        return Err(DecodeError::TooLong {
            what: "a key".into(),
            len: key.len(),
            max: limits::KEY_BYTES,
        });
    }
    if has_control {
        // Debug escapes what a terminal would act on.
        return Err(DecodeError::ControlCharacter(format!("the key {key:?}")));
    }
    Ok(())
}

impl<'a> RawRecord<'a> {
    fn clear(&mut self) {
        self.time = None;
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
        let may_hold_control =
            |s: &Cow<'_, str>| (!plain_input || matches!(s, Cow::Owned(_))) && has_control(s);
        if let Some(key) = self.duplicate.take() {
            return Err(DecodeError::DuplicateKey(key));
        }
        let time_ms = match self.time.take() {
            None => return Err(DecodeError::MissingTime),
            Some(Field::Num(v)) => v,
            Some(other) => {
                return Err(DecodeError::BadTime(format!(
                    "expected epoch milliseconds as a number, found {}",
                    other.describe()
                )));
            }
        };
        // Anything past year 9999 or before 1970 is not a telemetry time.
        if !time_ms.is_finite() || !(0.0..=253_402_300_800_000.0).contains(&time_ms) {
            return Err(DecodeError::BadTime(format!(
                "{time_ms} is not epoch milliseconds between 1970 and 9999"
            )));
        }
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
        if may_hold_control(&device_id) {
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
        let measures = &mut out.measures;
        for (key, value) in self.measures.drain(..) {
            let v = match &value {
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
            check_key(&key, may_hold_control(&key))?;
            check_measure(&key, v)?;
            if measure_name(&key).is_empty() {
                return Err(DecodeError::NonNumericMeasure {
                    key: key.into_owned(),
                    found: "a measure with no name".into(),
                });
            }
            let name = match key {
                Cow::Borrowed(k) => Cow::Borrowed(measure_name(k)),
                Cow::Owned(k) => Cow::Owned(measure_name(&k).to_owned()),
            };
            measures.push((name, v));
        }
        let dimensions = &mut out.dimensions;
        for (key, value) in self.dimensions.drain(..) {
            let v = match value {
                Field::Str(s) => s,
                // A numeric or boolean dimension ("Floor": 3) is still a label.
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
            check_key(&key, may_hold_control(&key))?;
            if v.len() > limits::DIMENSION_VALUE_BYTES {
                return Err(DecodeError::TooLong {
                    what: format!("dimension {key:?}"),
                    len: v.len(),
                    max: limits::DIMENSION_VALUE_BYTES,
                });
            }
            if may_hold_control(&v) {
                return Err(DecodeError::ControlCharacter(format!("dimension {key:?}")));
            }
            dimensions.push((key, v));
        }
        let mut time_us = (time_ms * 1000.0).round() as i64;
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

#[cfg(test)]
mod tests;
