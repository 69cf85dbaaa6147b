use super::*;

const NOW_US: i64 = 1_700_000_000_000_000;

fn dec(s: &str) -> Result<Record, DecodeError> {
    decode(s.as_bytes(), NOW_US)
}

#[test]
fn decodes_the_seed_record() {
    let r = dec(
        r#"{"Time": 1700000000000, "DeviceID": "c0ffee", "voltage_measure": 231.4,
                "watt_measure": 812, "Region": "north"}"#,
    )
    .unwrap();
    assert_eq!(r.device_id, "c0ffee");
    assert_eq!(r.time_us, 1_700_000_000_000_000);
    assert!(!r.time_adjusted);
    assert_eq!(
        r.measures,
        vec![("voltage".into(), 231.4), ("watt".into(), 812.0)]
    );
    assert_eq!(r.dimensions, vec![("Region".into(), "north".into())]);
}

#[test]
fn fractional_time_keeps_microseconds() {
    let r = dec(r#"{"Time": 1699999999123.456, "DeviceID": "d", "x_measure": 1}"#).unwrap();
    assert_eq!(r.time_us, 1_699_999_999_123_456);
}

#[test]
fn extra_dimensions_are_kept_in_order_and_numbers_become_labels() {
    let r = dec(
        r#"{"Time": 1, "DeviceID": "d", "x_measure": 1, "Region": "n", "Feeder": "F-07", "Floor": 3, "Note": null}"#,
    )
    .unwrap();
    assert_eq!(
        r.dimensions,
        vec![
            ("Region".into(), "n".into()),
            ("Feeder".into(), "F-07".into()),
            ("Floor".into(), "3".into())
        ]
    );
}

#[test]
fn fifteen_minute_rule() {
    let just_inside = (NOW_US + MAX_FUTURE_US) / 1000;
    let r = dec(&format!(
        r#"{{"Time": {just_inside}, "DeviceID": "d", "x_measure": 1}}"#
    ))
    .unwrap();
    assert_eq!(r.time_us, NOW_US + MAX_FUTURE_US);
    assert!(!r.time_adjusted);

    let too_far = just_inside + 1;
    let r = dec(&format!(
        r#"{{"Time": {too_far}, "DeviceID": "d", "x_measure": 1}}"#
    ))
    .unwrap();
    assert_eq!(
        r.time_us, NOW_US,
        "a point > 15 min ahead takes arrival time"
    );
    assert!(r.time_adjusted);

    // The past is left alone, however old.
    let r = dec(r#"{"Time": 1000, "DeviceID": "d", "x_measure": 1}"#).unwrap();
    assert_eq!(r.time_us, 1_000_000);
}

#[test]
fn every_error_is_typed_and_named() {
    let cases: &[(&str, &str)] = &[
        ("{not json", "not_json"),
        ("", "not_json"),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": 1} trailing"#,
            "not_json",
        ),
        ("[1, 2]", "not_object"),
        ("42", "not_object"),
        (r#""text""#, "not_object"),
        ("null", "not_object"),
        (r#"{"DeviceID": "d", "x_measure": 1}"#, "missing_time"),
        (
            r#"{"Time": "yesterday", "DeviceID": "d", "x_measure": 1}"#,
            "bad_time",
        ),
        (
            r#"{"Time": -5, "DeviceID": "d", "x_measure": 1}"#,
            "bad_time",
        ),
        (
            r#"{"Time": 1e300, "DeviceID": "d", "x_measure": 1}"#,
            "bad_time",
        ),
        (r#"{"Time": 1, "x_measure": 1}"#, "missing_device_id"),
        (
            r#"{"Time": 1, "DeviceID": 7, "x_measure": 1}"#,
            "bad_device_id",
        ),
        (
            r#"{"Time": 1, "DeviceID": "  ", "x_measure": 1}"#,
            "bad_device_id",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "Region": "n"}"#,
            "no_measure",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": "high"}"#,
            "non_numeric_measure",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": true}"#,
            "non_numeric_measure",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": null}"#,
            "non_numeric_measure",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": [1]}"#,
            "non_numeric_measure",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": "NaN"}"#,
            "not_finite_measure",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": "-Infinity"}"#,
            "not_finite_measure",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": 1e999}"#,
            "not_json",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": 1, "Region": {"a": 1}}"#,
            "bad_dimension",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": 1, "x_measure": 2}"#,
            "duplicate_key",
        ),
        (
            r#"{"Time": 1, "Time": 2, "DeviceID": "d", "x_measure": 1}"#,
            "duplicate_key",
        ),
    ];
    for (input, code) in cases {
        let err = dec(input).expect_err(input);
        assert_eq!(err.code(), *code, "{input} gave {err}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn messages_name_what_was_wrong() {
    let err = dec(r#"{"Time": 1, "DeviceID": "d", "watt_measure": "lots"}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "measure \"watt_measure\" is not a number: the string \"lots\""
    );
    let err = dec(r#"{"Time": "x", "DeviceID": "d", "watt_measure": 1}"#).unwrap_err();
    assert!(err.to_string().contains("found the string \"x\""), "{err}");
}

#[test]
fn messages_quote_keys_escaped_so_a_terminal_shows_them_inert() {
    let err = dec(r#"{"Time": 1, "DeviceID": "d", "x\u001b[2J_measure": "lots"}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "measure \"x\\u{1b}[2J_measure\" is not a number: the string \"lots\""
    );
    assert!(!has_control(&err.to_string()));
}

#[test]
fn numeric_strings_are_accepted_as_measures() {
    let r = dec(r#"{"Time": 1, "DeviceID": "d", "x_measure": " 230.5 "}"#).unwrap();
    assert_eq!(r.measures, vec![("x".into(), 230.5)]);
}

#[test]
fn escaped_keys_and_values_decode() {
    let r =
        dec(r#"{"Time": 1, "DeviceID": "d\"1", "x\u005fmeasure": 2, "Re\u0067ion": "n\u00e9"}"#)
            .unwrap();
    assert_eq!(r.device_id, "d\"1");
    assert_eq!(r.measures, vec![("x".into(), 2.0)]);
    assert_eq!(r.dimensions, vec![("Region".into(), "n\u{e9}".into())]);
}

#[test]
fn encode_then_decode_round_trips() {
    let rec = Record {
        device_id: "meter \"7\" \\ \u{e9}".into(),
        time_us: 1_700_000_000_123_456,
        time_adjusted: false,
        measure_keys: Vec::new(),
        measures: vec![("voltage".into(), 229.87), ("energy".into(), 1e-7)],
        dimensions: vec![("Region".into(), "north\\east".into())],
    };
    let mut buf = Vec::new();
    encode(&rec, &mut buf);
    let back = decode(&buf, rec.time_us).unwrap();
    assert_eq!(back, rec);

    let whole = Record {
        time_us: 1_700_000_000_000_000,
        ..rec
    };
    buf.clear();
    encode(&whole, &mut buf);
    assert!(buf.starts_with(b"{\"Time\":1700000000000,"));
}

#[test]
fn long_decimals_decode_to_the_nearest_double_and_round_trip() {
    // Found by the fuzzer: without correctly rounded parsing, this
    // decoded one unit in the last place off, and the encoded value
    // then decoded to another number.
    let r =
        dec(r#"{"Time": 1, "DeviceID": "m", "t_measure": 12.53333333333333333333333333}"#).unwrap();
    assert_eq!(r.measures[0].1, 12.533_333_333_333_333);
    let mut wire = Vec::new();
    encode(&r, &mut wire);
    assert_eq!(decode(&wire, NOW_US).unwrap(), r);
}

#[test]
fn measure_names_accept_both_spellings() {
    assert_eq!(measure_name("voltage_measure"), "voltage");
    assert_eq!(measure_name("voltage"), "voltage");
}

#[test]
fn limits_quarantine_what_no_device_sends_with_their_own_codes() {
    let long_id = "m".repeat(limits::DEVICE_ID_CHARS + 1);
    let many: String = (0..2_600)
        .map(|i| format!(r#", "m{i}_measure": 1"#))
        .collect();
    let many_dims: String = (0..129).map(|i| format!(r#", "d{i}": "v""#)).collect();
    let long_key = "k".repeat(limits::KEY_BYTES + 1);
    let long_value = "v".repeat(limits::DIMENSION_VALUE_BYTES + 1);
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!(r#"{{"Time": 1, "DeviceID": "{long_id}", "x_measure": 1}}"#),
            "device_id_too_long",
            "\"DeviceID\" is 257 characters long, more than 256",
        ),
        (
            r#"{"Time": 1, "DeviceID": "m\u001b]0;pwned\u0007", "x_measure": 1}"#.into(),
            "control_character",
            "\"DeviceID\" holds a control character",
        ),
        (
            r#"{"Time": 1, "DeviceID": "m\u202e1", "x_measure": 1}"#.into(),
            "control_character",
            "\"DeviceID\" holds a control character",
        ),
        (
            format!(r#"{{"Time": 1, "DeviceID": "d"{many}}}"#),
            "too_many_measures",
            "2600 measures in one record, more than 256",
        ),
        (
            format!(r#"{{"Time": 1, "DeviceID": "d", "x_measure": 1{many_dims}}}"#),
            "too_many_dimensions",
            "129 dimensions in one record, more than 128",
        ),
        (
            format!(r#"{{"Time": 1, "DeviceID": "d", "x_measure": 1, "{long_key}": "v"}}"#),
            "too_long",
            "a key is 257 bytes long, more than 256",
        ),
        (
            format!(r#"{{"Time": 1, "DeviceID": "d", "x_measure": 1, "Region": "{long_value}"}}"#),
            "too_long",
            "dimension \"Region\" is 2049 bytes long, more than 2048",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": 1, "Region": "\u001b[2J"}"#.into(),
            "control_character",
            "dimension \"Region\" holds a control character",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": 1, "Re\ngion": "n"}"#.into(),
            "control_character",
            "the key \"Re\\ngion\" holds a control character",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "voltage_measure": 1.7e308}"#.into(),
            "implausible_measure",
            "measure \"voltage_measure\" is 1.7e308, outside the plausible -1000000..1000000",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "temperature_measure": -300}"#.into(),
            "implausible_measure",
            "measure \"temperature_measure\" is -300, outside the plausible -273.15..5000",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "odd_measure": 2e15}"#.into(),
            "implausible_measure",
            "outside the plausible -1e15..1e15",
        ),
    ];
    for (input, code, message) in &cases {
        let err = dec(input).expect_err(&input[..input.len().min(80)]);
        assert_eq!(err.code(), *code, "{err}");
        assert!(err.to_string().contains(message), "{err}");
    }
}

#[test]
fn records_at_the_limits_are_accepted() {
    let id = "\u{e9}".repeat(limits::DEVICE_ID_CHARS); // 512 bytes, 256 characters
    let measures: String = (0..limits::MEASURES - 1)
        .map(|i| format!(r#", "m{i}_measure": 1"#))
        .collect();
    let r = dec(&format!(
        r#"{{"Time": 1, "DeviceID": "{id}", "voltage_measure": -999999{measures}}}"#
    ))
    .unwrap();
    assert_eq!(r.device_id.chars().count(), 256);
    assert_eq!(r.measures.len(), limits::MEASURES);
    assert_eq!(r.measures[0], ("voltage".into(), -999_999.0));
    assert_eq!(limits::measure_range("Voltage_MEASURE"), (-1e6, 1e6));
}

#[test]
fn every_kinds_range_holds_the_shortcut_range() {
    let (lo, hi) = limits::EVERY_KIND;
    for kind in [
        "voltage",
        "current",
        "watt",
        "energy",
        "temperature",
        "oil_temperature",
        "load_pct",
        "humidity",
        "power_factor",
        "x",
    ] {
        let (min, max) = limits::measure_range(kind);
        assert!(min <= lo && hi <= max, "{kind}: {min}..{max}");
    }
}

#[test]
fn escaped_control_characters_are_found_in_plain_ascii_input_too() {
    // The input is printable ASCII; the escape makes the string owned.
    for input in [
        r#"{"Time": 1, "DeviceID": "m\u0007", "x_measure": 1}"#,
        r#"{"Time": 1, "DeviceID": "m", "x\u001b_measure": 1}"#,
        r#"{"Time": 1, "DeviceID": "m", "x_measure": 1, "R\tegion": "n"}"#,
        r#"{"Time": 1, "DeviceID": "m", "x_measure": 1, "Region": "n\u009b"}"#,
    ] {
        assert_eq!(
            dec(input).unwrap_err().code(),
            "control_character",
            "{input}"
        );
    }
    // A raw DEL or C1 character is not printable ASCII: scanned too.
    let del = "{\"Time\": 1, \"DeviceID\": \"m\u{7f}\", \"x_measure\": 1}";
    assert_eq!(dec(del).unwrap_err().code(), "control_character");
    let c1 = "{\"Time\": 1, \"DeviceID\": \"m\u{9b}\", \"x_measure\": 1}";
    assert_eq!(dec(c1).unwrap_err().code(), "control_character");
}

#[test]
fn printable_escapes_what_a_terminal_would_act_on() {
    assert_eq!(printable("meter-7"), "meter-7");
    assert_eq!(printable("n\u{e9}"), "n\u{e9}");
    assert_eq!(printable("a\u{1b}]0;x\u{7}b"), "a\\u{1b}]0;x\\u{7}b");
    assert_eq!(printable("\u{202e}evil"), "\\u{202e}evil");
    assert_eq!(printable("tab\there"), "tab\\u{9}here");
}

/// The seed's Flink job (`JsonToTimestreamPayloadFn`): a key ending in
/// `_measure` in any case is a measure, `time` and `timeunit` in any case
/// are the time and its unit (milliseconds without one), anything else is a
/// dimension. Records in the companion sample's producer's shape.
#[test]
fn the_seed_jobs_record_rules() {
    const T_MS: i64 = 1_700_000_000_123;
    let seed = |time: &str, extra: &str| {
        format!(
            r#"{{{time}, "DeviceID": "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "temperature_measure": 12.5, "humidity_measure": 71.25, "voltage_measure": 48.5, "watt_measure": 301.0{extra}}}"#
        )
    };
    // (the time and unit keys, what else the record holds, the time in µs)
    let cases: [(&str, &str, i64); 12] = [
        (r#""Time": 1700000000123"#, "", T_MS * 1000),
        (r#""time": 1700000000123"#, "", T_MS * 1000),
        (r#""TIME": 1700000000123"#, "", T_MS * 1000),
        (r#""Time": "1700000000123""#, "", T_MS * 1000),
        (
            r#""Time": 1700000000123, "TimeUnit": "MILLISECONDS""#,
            "",
            T_MS * 1000,
        ),
        (
            r#""Time": 1700000000, "TimeUnit": "SECONDS""#,
            "",
            1_700_000_000_000_000,
        ),
        (
            r#""Time": 1700000000.5, "timeunit": "SECONDS""#,
            "",
            1_700_000_000_500_000,
        ),
        (
            r#""Time": 1700000000123456, "TimeUnit": "MICROSECONDS""#,
            "",
            1_700_000_000_123_456,
        ),
        (
            r#""Time": 1700000000123456789, "TimeUnit": "NANOSECONDS""#,
            "",
            1_700_000_000_123_457,
        ),
        (
            r#""Time": 1700000000123456499, "TIMEUNIT": "nanoseconds""#,
            "",
            1_700_000_000_123_456,
        ),
        (
            r#""Time": 1700000000123"#,
            r#", "Region": "east""#,
            T_MS * 1000,
        ),
        (
            r#""Time": "1700000000.25", "TimeUnit": "Seconds""#,
            "",
            1_700_000_000_250_000,
        ),
    ];
    for (time, extra, want_us) in cases {
        let text = seed(time, extra);
        let r = dec(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(r.time_us, want_us, "{text}");
        let names: Vec<&str> = r.measures.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(
            names,
            ["temperature", "humidity", "voltage", "watt"],
            "{text}"
        );
        // TimeUnit is the time's, never a dimension.
        let dims: Vec<&str> = r.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        let want: &[&str] = if extra.is_empty() { &[] } else { &["Region"] };
        assert_eq!(dims, want, "{text}");
    }

    // The suffix in any case; the stem as written.
    for (key, stem) in [
        ("voltage_measure", "voltage"),
        ("voltage_MEASURE", "voltage"),
        ("Voltage_Measure", "Voltage"),
        ("watt_mEaSuRe", "watt"),
    ] {
        let r = dec(&format!(r#"{{"Time": 1, "DeviceID": "d", "{key}": 230}}"#)).unwrap();
        assert_eq!(r.measures, vec![(stem.to_string(), 230.0)], "{key}");
        // The key as written is kept where the suffix is spelled otherwise,
        // and written back so by the encoder.
        assert_eq!(r.measure_key(0), key);
        let kept: &[(usize, String)] = match key.ends_with("_measure") {
            true => &[],
            false => &[(0, key.to_string())],
        };
        assert_eq!(r.measure_keys, kept, "{key}");
        let mut wire = Vec::new();
        encode(&r, &mut wire);
        assert!(String::from_utf8_lossy(&wire).contains(&format!("\"{key}\":230")));
        assert_eq!(dec(std::str::from_utf8(&wire).unwrap()).unwrap(), r);
    }
    // Not a measure: no underscore, or the suffix elsewhere.
    let r = dec(
        r#"{"Time": 1, "DeviceID": "d", "x_measure": 1, "voltagemeasure": "a", "measure_x": "b"}"#,
    )
    .unwrap();
    assert_eq!(r.dimensions.len(), 2);

    // What the job would write twice, or cannot read, is refused.
    for (text, code) in [
        (
            r#"{"Time": 1, "time": 2, "DeviceID": "d", "x_measure": 1}"#,
            "duplicate_key",
        ),
        (
            r#"{"Time": 1, "DeviceID": "d", "x_measure": 1, "x_MEASURE": 2}"#,
            "duplicate_key",
        ),
        (
            r#"{"Time": 1, "TimeUnit": "FORTNIGHTS", "DeviceID": "d", "x_measure": 1}"#,
            "bad_time",
        ),
        (
            r#"{"Time": 1, "TimeUnit": 3, "DeviceID": "d", "x_measure": 1}"#,
            "bad_time",
        ),
        (
            r#"{"Time": "soon", "DeviceID": "d", "x_measure": 1}"#,
            "bad_time",
        ),
        (
            r#"{"Time": 253402300801, "TimeUnit": "SECONDS", "DeviceID": "d", "x_measure": 1}"#,
            "bad_time",
        ),
        (
            r#"{"Time": 9223372036854775807, "TimeUnit": "SECONDS", "DeviceID": "d", "x_measure": 1}"#,
            "bad_time",
        ),
        (
            r#"{"Time": -1, "TimeUnit": "NANOSECONDS", "DeviceID": "d", "x_measure": 1}"#,
            "bad_time",
        ),
        (r#"{"time": 1, "DeviceID": "d"}"#, "no_measure"),
    ] {
        assert_eq!(dec(text).map_err(|e| e.code()), Err(code), "{text}");
    }
    let e = dec(r#"{"Time": 1, "TimeUnit": "FORTNIGHTS", "DeviceID": "d", "x_measure": 1}"#)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad \"Time\": \"TimeUnit\" is \"FORTNIGHTS\", not MILLISECONDS, SECONDS, MICROSECONDS or NANOSECONDS"
    );
    // A query names the measure either way.
    assert_eq!(measure_name("voltage_MEASURE"), "voltage");
}

#[test]
fn an_extract_reads_alike_whatever_the_chunk_size() {
    use crate::extract::ExtractReader;
    let rec = r#"{"Time": 1700000000000, "DeviceID": "m1", "watt_measure": 5}"#;
    // Lines, a blank line, a bad line, objects back to back, CRLF, and a
    // last line without its newline.
    let text = format!("{rec}\n\n{{oops\n{rec}{rec}\r\n {rec} \n{rec}");
    let read = |reader: ExtractReader| {
        let mut devices = Vec::new();
        let bad = reader
            .for_each_record(text.as_bytes(), text.len() as u64, |r| {
                devices.push(r.device_id.to_string())
            })
            .unwrap();
        (devices.len(), bad)
    };
    let whole = read(ExtractReader::default());
    assert_eq!(whole.0, 5);
    assert_eq!(whole.1.len(), 1);
    assert_eq!(whole.1[0].line, 3);
    for chunk in 1..=40 {
        assert_eq!(
            read(ExtractReader::with_chunk(chunk)),
            whole,
            "chunk {chunk}"
        );
    }
}

#[test]
fn rounded_measures_are_written_from_their_digits() {
    let text = |v: f64, places: u32| {
        let mut out = Vec::new();
        let mut w = crate::RecordWriter::start(&mut out, 1_000, "d");
        w.measure_at(&crate::MeasureKey::new("v"), v, Some(places));
        w.finish();
        String::from_utf8(out).unwrap()
    };
    let cases = [
        (231.5, 2, "231.5"),
        (230.0, 2, "230.0"),
        (231.05, 2, "231.05"),
        (-0.5, 1, "-0.5"),
        (0.0001, 4, "0.0001"),
        (-0.0, 2, "-0.0"),
        (12_345_678.9, 1, "12345678.9"),
        // Not rounded to 2 places: the float writer's text.
        (0.1 + 0.2, 2, "0.30000000000000004"),
        // More places than the digits path takes.
        (1.234_567, 6, "1.234567"),
    ];
    for (v, places, expected) in cases {
        assert_eq!(
            text(v, places),
            format!("{{\"Time\":1,\"DeviceID\":\"d\",\"v_measure\":{expected}}}")
        );
    }
}

#[test]
fn a_measure_key_is_what_measure_writes_before_the_value() {
    const VOLTAGE: crate::MeasureKey = crate::MeasureKey::new("voltage");
    let write = |keyed: bool| {
        let mut out = Vec::new();
        let mut w = crate::RecordWriter::start(&mut out, 1_000, "d");
        if keyed {
            w.measure_at(&VOLTAGE, 231.4, None);
        } else {
            w.measure("voltage", 231.4);
        }
        w.finish();
        out
    };
    assert_eq!(write(true), write(false));
    assert_eq!(VOLTAGE.name(), "voltage");
    // A name that would need an escape has no key.
    let quoted = std::panic::catch_unwind(|| crate::MeasureKey::new("a\"b"));
    assert!(quoted.is_err());
}
