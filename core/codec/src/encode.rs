//! Writing a record in the wire format, as the seed's producer does (the
//! simulator puts these on a stream and in the lake).

use crate::{MEASURE_SUFFIX, Record};

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
