//! Writing a record in the wire format, as the seed's producer does (the
//! simulator puts these on a stream and in the lake).
//!
//! [`RecordWriter`] writes a record from borrowed parts, so a producer that
//! holds its names elsewhere (the simulator's network) builds no [`Record`]
//! per reading; [`encode`] writes a [`Record`] through it. Floats go out
//! through zmij (serde_json's own float writer) and integers through itoa, and text that needs no escape
//! (nearly all of it) is copied whole: the simulator's lake fill is bounded
//! by this loop (BENCHMARKS.md, "The simulator").

use crate::{DEVICE_KEY, MEASURE_SUFFIX, Record, TIME_KEY};

/// Writes a record in the wire format (what the simulator puts on a stream),
/// each measure under its producer's key where it kept one.
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    let mut w = RecordWriter::start(out, record.time_us, &record.device_id);
    for (i, (name, value)) in record.measures.iter().enumerate() {
        match record.spelled_key(i) {
            Some(key) => w.measure_under(key, *value),
            None => w.measure(name, *value),
        }
    }
    for (key, value) in &record.dimensions {
        w.dimension(key, value);
    }
    w.finish();
}

/// One record being written: `Time` and `DeviceID` first, then measures
/// (named without their suffix) and dimensions, then [`finish`](Self::finish).
pub struct RecordWriter<'o> {
    out: &'o mut Vec<u8>,
}

impl<'o> RecordWriter<'o> {
    pub fn start(out: &'o mut Vec<u8>, time_us: i64, device_id: &str) -> RecordWriter<'o> {
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(TIME_KEY.as_bytes());
        out.extend_from_slice(b"\":");
        push_time_ms(out, time_us);
        out.extend_from_slice(b",\"");
        out.extend_from_slice(DEVICE_KEY.as_bytes());
        out.extend_from_slice(b"\":");
        push_json_str(out, device_id);
        RecordWriter { out }
    }

    /// A measure, named without its `_measure` suffix ("voltage").
    pub fn measure(&mut self, name: &str, value: f64) {
        let out = &mut *self.out;
        out.extend_from_slice(b",\"");
        push_escaped(out, name);
        out.extend_from_slice(MEASURE_SUFFIX.as_bytes());
        out.extend_from_slice(b"\":");
        push_value(out, value);
    }

    /// A measure under its whole key, suffix included, as a producer
    /// spelled it ("humidity_MEASURE").
    pub fn measure_under(&mut self, key: &str, value: f64) {
        let out = &mut *self.out;
        out.extend_from_slice(b",");
        push_json_str(out, key);
        out.push(b':');
        push_value(out, value);
    }

    /// A measure under a key made once ([`MeasureKey`]); `decimals` when the
    /// producer rounded it to that many places (at most 4): the same text
    /// as [`measure`](Self::measure), written from its digits rather than
    /// searched for (see [`push_rounded`]).
    pub fn measure_at(&mut self, key: &MeasureKey, value: f64, decimals: Option<u32>) {
        let out = &mut *self.out;
        out.extend_from_slice(key.text());
        if !decimals.is_some_and(|places| push_rounded(out, value, places)) {
            push_value(out, value);
        }
    }

    pub fn dimension(&mut self, key: &str, value: &str) {
        let out = &mut *self.out;
        out.push(b',');
        push_json_str(out, key);
        out.push(b':');
        push_json_str(out, value);
    }

    /// Dimensions written once by [`EncodedDimensions::new`], for a
    /// producer whose devices share them.
    pub fn dimensions(&mut self, dimensions: &EncodedDimensions) {
        self.out.extend_from_slice(&dimensions.0);
    }

    pub fn finish(self) {
        self.out.push(b'}');
    }
}

/// A measure's key as the wire writes it (`,"voltage_measure":`), for a
/// producer's fixed measures: made once (at compile time in a `const`) and
/// copied whole into each record. A name that would need an escape, or
/// longer than 40 bytes, is refused where the key is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasureKey {
    name: &'static str,
    text: [u8; MeasureKey::MAX_TEXT],
    len: usize,
}

impl MeasureKey {
    const MAX_TEXT: usize = 40 + 12;

    /// The key of measure `name` (without its suffix, as in a record).
    pub const fn new(name: &'static str) -> MeasureKey {
        let mut text = [0u8; Self::MAX_TEXT];
        let parts: [&[u8]; 4] = [b",\"", name.as_bytes(), MEASURE_SUFFIX.as_bytes(), b"\":"];
        let mut len = 0;
        let mut p = 0;
        while p < parts.len() {
            let part = parts[p];
            let mut i = 0;
            while i < part.len() {
                let b = part[i];
                if p == 1 {
                    assert!(
                        b >= 0x20 && b != b'"' && b != b'\\',
                        "a measure name to escape"
                    );
                }
                assert!(len < Self::MAX_TEXT, "a measure name over 40 bytes");
                text[len] = b;
                len += 1;
                i += 1;
            }
            p += 1;
        }
        MeasureKey { name, text, len }
    }

    /// The measure's name, as in a record ("voltage").
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn text(&self) -> &[u8] {
        &self.text[..self.len]
    }
}

/// Dimensions in the wire format, ready to be copied into many records:
/// what [`RecordWriter::dimension`] writes for each, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedDimensions(Vec<u8>);

impl EncodedDimensions {
    pub fn new<'a>(dimensions: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut out = Vec::new();
        let mut w = RecordWriter { out: &mut out };
        for (key, value) in dimensions {
            w.dimension(key, value);
        }
        EncodedDimensions(out)
    }
}

/// A measure's value: the shortest text that reads back as it, or, not
/// being representable in JSON, the string a producer would write, so the
/// decoder's error path can be exercised end to end.
fn push_value(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        push_float(out, value);
    } else {
        push_json_str(out, &value.to_string());
    }
}

/// The shortest text that reads back as the same double (`230.0`,
/// `229.87`, `1e-7`), as serde_json and Python's `json` write floats.
fn push_float(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
}

/// Writes `time_us` as epoch milliseconds: whole ones without a fraction,
/// like the seed's producer; others as the shortest text that reads back
/// as `time_us as f64 / 1000.0`, as serde_json writes that double.
///
/// That double is the one nearest to the exact decimal with three places
/// (the division is correctly rounded), and below 2^52 thousandths two such
/// decimals lie further apart than a double's spacing, so the decimal
/// itself is that shortest text (the argument of [`push_rounded`]): it is
/// written from the integer's digits. A test checks it against zmij.
pub fn push_time_ms(out: &mut Vec<u8>, time_us: i64) {
    const EXACT: u64 = 1 << 52;
    let (ms, fraction) = (time_us / 1000, time_us % 1000);
    let mut digits = itoa::Buffer::new();
    if fraction == 0 {
        out.extend_from_slice(digits.format(ms).as_bytes());
    } else if time_us.unsigned_abs() < EXACT {
        if time_us < 0 {
            out.push(b'-');
        }
        out.extend_from_slice(digits.format(ms.unsigned_abs()).as_bytes());
        let f = fraction.unsigned_abs() as usize;
        let places = [
            b'0' + (f / 100) as u8,
            b'0' + (f / 10 % 10) as u8,
            b'0' + (f % 10) as u8,
        ];
        // The fraction is not zero, so a digit other than 0 stops this.
        let mut last = 3;
        while places[last - 1] == b'0' {
            last -= 1;
        }
        out.push(b'.');
        out.extend_from_slice(&places[..last]);
    } else {
        push_float(out, time_us as f64 / 1000.0);
    }
}

/// Writes `value`, a double nearest to a decimal of `decimals` places, as
/// that decimal without trailing zeros (`231.5`, `230.0`), and says true;
/// false, writing nothing, when it is not such a double or out of range.
///
/// This is the shortest text that reads back as `value`, which is what
/// [`push_float`] writes: with `decimals` at most 4 and the digits under
/// 1e15, two decimals of that many places are further apart than a
/// double's spacing there, so no other text of as few digits reads back
/// as `value`, and one with fewer places would have been found at fewer
/// places. A test checks both writers agree.
fn push_rounded(out: &mut Vec<u8>, value: f64, decimals: u32) -> bool {
    const SCALE: [f64; 5] = [1.0, 10.0, 100.0, 1_000.0, 10_000.0];
    let Some(&scale) = SCALE.get(decimals as usize) else {
        return false;
    };
    let scaled = round_half_away(value * scale);
    // Zero has a sign the digits lose; huge values want an exponent.
    // (NaN fails the last test, infinity the one before.)
    if value == 0.0 || scaled.abs() >= 1e15 || scaled / scale != value {
        return false;
    }
    let mut buffer = itoa::Buffer::new();
    let text = buffer.format(scaled.abs() as u64).as_bytes();
    // The digits with the point `decimals` from the right (231.05 is
    // 23105 and 2), zeros put before a short fraction (0.0001) and the
    // trailing ones dropped, but one digit always after the point; made
    // on the stack and written in one piece (a record has six of these).
    let places = decimals as usize;
    let (whole, fraction): (&[u8], &[u8]) = match text.len().checked_sub(places) {
        Some(0) | None => (b"0", text),
        Some(at) => text.split_at(at),
    };
    let mut number = [b'0'; 24];
    let mut len = 0;
    if value < 0.0 {
        number[0] = b'-';
        len = 1;
    }
    // At most 15 digits (the test above), a sign, a point and 4 places.
    number[len..len + whole.len()].copy_from_slice(whole);
    len += whole.len();
    number[len] = b'.';
    len += 1;
    match fraction.iter().rposition(|&b| b != b'0') {
        Some(last) => {
            // The zeros before a short fraction are already in the array.
            len += places - fraction.len();
            number[len..=len + last].copy_from_slice(&fraction[..=last]);
            len += last + 1;
        }
        None => len += 1,
    }
    out.extend_from_slice(&number[..len]);
    true
}

/// `v` rounded to `decimals` places (half away from zero), as a producer
/// rounds a measure it then writes with [`RecordWriter::measure_rounded`].
#[inline]
pub fn round_to(v: f64, decimals: u32) -> f64 {
    let f = 10f64.powi(decimals as i32);
    round_half_away(v * f) / f
}

/// `x.round()`, bit for bit, without the call into libm that `round` is
/// on x86-64 CPUs the build cannot assume SSE4.1 of: the simulator rounds
/// every measure it sends.
#[inline]
pub fn round_half_away(x: f64) -> f64 {
    // Past 2^52 every double is whole; NaN and infinities go there too.
    if x.is_nan() || x.abs() >= 4_503_599_627_370_496.0 {
        return x.round();
    }
    let whole = x as i64 as f64; // truncation: exact in this range
    let rest = x - whole; // exact: both within 2^52
    let r = if rest >= 0.5 {
        whole + 1.0
    } else if rest <= -0.5 {
        whole - 1.0
    } else {
        whole
    };
    // -0.3 rounds to -0.0, as `round` has it.
    r.copysign(x)
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    push_escaped(out, s);
    out.push(b'"');
}

fn push_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Names and IDs almost never need an escape: copy them whole. A fold
    // without an early exit, so the check runs many bytes at a time.
    let needs_escape = bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            _ => out.push(b),
        }
    }
}
