//! Readings as InfluxDB line protocol, the layout the bridge writes (and a
//! Telegraf or Kinesis consumer would): measurement `readings`, the device
//! and every dimension as tags, each measure a float field named as on the
//! wire (`voltage_measure`), time in milliseconds. A point is one record:
//! InfluxDB overwrites a point of the same series and time, so writing a
//! record again changes nothing.

use std::fmt::Write;

use crate::codec::{DEVICE_KEY, MEASURE_SUFFIX, Record};

/// A measurement name: commas and spaces escaped.
fn measurement(out: &mut String, s: &str) {
    for c in s.chars() {
        if matches!(c, ',' | ' ' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A tag key or value, or a field key: commas, equals signs and spaces
/// escaped. Line breaks cannot be escaped: they become spaces (a record's
/// dimension with a line break is refused by the codec anyway).
fn key(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            ',' | '=' | ' ' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Appends `r` as one line (with its newline) to `out`.
pub fn write_point(out: &mut String, measurement_name: &str, device_tag: &str, r: &Record) {
    measurement(out, measurement_name);
    let mut tags: Vec<(&str, &str)> = vec![(device_tag, r.device_id.as_str())];
    tags.extend(
        r.dimensions
            .iter()
            // An empty tag value is not allowed; the dimension is absent.
            .filter(|(k, v)| !v.is_empty() && k != device_tag && k != DEVICE_KEY)
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    // InfluxDB sorts tags itself; sorted here, the line is the same each time.
    tags.sort_unstable();
    for (k, v) in tags {
        out.push(',');
        key(out, k);
        out.push('=');
        key(out, v);
    }
    let mut first = true;
    for (m, v) in &r.measures {
        out.push(if first { ' ' } else { ',' });
        first = false;
        key(out, m);
        out.push_str(MEASURE_SUFFIX);
        // Finite (the codec refuses others), shortest exact form; a float
        // in line protocol either way (`5.0`, `5`).
        out.push('=');
        out.push_str(zmij::Buffer::new().format_finite(*v));
    }
    let _ = writeln!(out, " {}", r.time_us.div_euclid(1000));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_point_with_its_tags_sorted_and_names_escaped() {
        let r = Record {
            device_id: "m 1,a".into(),
            time_us: 1_700_000_000_123_456,
            time_adjusted: false,
            measure_keys: Vec::new(),
            measures: vec![("voltage".into(), 231.5), ("watt".into(), 800.0)],
            dimensions: vec![
                ("Region".into(), "north=x".into()),
                ("Feeder".into(), "N-F07".into()),
                ("Empty".into(), String::new()),
            ],
        };
        let mut out = String::new();
        write_point(&mut out, "readings", "DeviceID", &r);
        assert_eq!(
            out,
            "readings,DeviceID=m\\ 1\\,a,Feeder=N-F07,Region=north\\=x voltage_measure=231.5,watt_measure=800.0 1700000000123\n"
        );
    }
}
