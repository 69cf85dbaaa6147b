//! Properties of the wire codec over generated input: any bytes give a
//! record or a typed error, never a panic; every record within the limits
//! survives encode then decode exactly; and what breaks a limit is refused
//! with that limit's reason code.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use gridwatch_codec::{
    MeasureKey, Record, RecordWriter, decode, encode, has_control, limits, printable,
    round_half_away,
};
use proptest::prelude::*;

const ARRIVAL_US: i64 = i64::MAX / 2;

/// Names and labels as producers write them: letters, digits, some
/// punctuation and non-ASCII, never a control character.
fn label() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 _\\-./:é°\"\\\\]{1,24}"
}

fn record() -> impl Strategy<Value = Record> {
    (
        label().prop_filter("not blank", |s| !s.trim().is_empty()),
        // 1970 to 2100, in whole microseconds.
        0i64..4_102_444_800_000_000,
        proptest::collection::vec((label(), -1e5f64..1e5), 1..8),
        proptest::collection::vec((label(), label()), 0..6),
    )
        .prop_map(|(device_id, time_us, measures, dimensions)| {
            let mut measures: Vec<(String, f64)> = measures;
            measures.sort_by(|a, b| a.0.cmp(&b.0));
            measures.dedup_by(|a, b| a.0 == b.0);
            let mut dimensions: Vec<(String, String)> = dimensions
                .into_iter()
                // A key that is a measure, the time or the device is not a
                // dimension.
                .filter(|(k, _)| !k.ends_with("_measure") && k != "Time" && k != "DeviceID")
                .collect();
            dimensions.sort_by(|a, b| a.0.cmp(&b.0));
            dimensions.dedup_by(|a, b| a.0 == b.0);
            Record {
                device_id,
                time_us,
                time_adjusted: false,
                measure_keys: Vec::new(),
                measures,
                dimensions,
            }
        })
}

/// One measure written by `measure` or, told its places, by `measure_at`.
fn written(value: f64, decimals: Option<u32>) -> String {
    let mut out = Vec::new();
    let mut w = RecordWriter::start(&mut out, 0, "d");
    match decimals {
        Some(d) => w.measure_at(&MeasureKey::new("x"), value, Some(d)),
        None => w.measure("x", value),
    }
    w.finish();
    String::from_utf8(out).unwrap()
}

proptest! {
    // Cheap cases, and a wrong digit would corrupt every simulated lake.
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// The fast rounding is `f64::round`, bit for bit (signed zeros and
    /// halves included).
    #[test]
    fn round_half_away_is_f64_round(
        x in prop_oneof![
            -1e6f64..1e6,
            (-1_000_000i64..1_000_000).prop_map(|n| n as f64 + 0.5),
            (-1_000_000i64..1_000_000).prop_map(|n| n as f64 - 0.5),
            -1.0f64..1.0,
            any::<f64>(),
        ],
    ) {
        prop_assert_eq!(round_half_away(x).to_bits(), x.round().to_bits(), "{}", x);
    }

    /// A value rounded as the simulator rounds (to a few places) is
    /// written from its digits: the text must be the very text of the
    /// shortest round-trip writer, whatever the value and places.
    #[test]
    fn rounded_measures_are_written_as_the_float_writer_would(
        x in prop_oneof![-1e6f64..1e6, -1e14f64..1e14, -1e-3f64..1e-3, any::<f64>()],
        decimals in 0u32..=6,
    ) {
        let f = 10f64.powi(decimals as i32);
        let rounded = (x * f).round() / f;
        prop_assert_eq!(written(rounded, Some(decimals)), written(rounded, None));
        // A value not rounded to those places falls back to the same text.
        prop_assert_eq!(written(x, Some(decimals)), written(x, None));
    }

    /// A time is written from its digits: the text must be serde_json's
    /// own for the same milliseconds as a double (or the whole number).
    #[test]
    fn times_are_written_as_serde_json_writes_their_milliseconds(
        time_us in prop_oneof![
            0i64..4_102_444_800_000_000,
            -62_135_596_800_000_000i64..0,
            any::<i64>(),
            (-10_000i64..10_000),
        ],
    ) {
        let mut out = Vec::new();
        gridwatch_codec::push_time_ms(&mut out, time_us);
        let expected = if time_us % 1000 == 0 {
            serde_json::to_string(&(time_us / 1000)).unwrap()
        } else {
            serde_json::to_string(&(time_us as f64 / 1000.0)).unwrap()
        };
        prop_assert_eq!(String::from_utf8(out).unwrap(), expected, "{}", time_us);
    }
}

proptest! {

    #[test]
    fn any_bytes_decode_or_give_a_typed_error(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        match decode(&bytes, ARRIVAL_US) {
            Ok(r) => prop_assert!(!has_control(&r.device_id)),
            Err(e) => prop_assert!(!e.code().is_empty() && !e.to_string().is_empty()),
        }
    }

    #[test]
    fn any_text_decodes_or_gives_a_typed_error(text in "\\PC{0,200}") {
        let _ = decode(text.as_bytes(), ARRIVAL_US);
        prop_assert!(!has_control(&printable(&text)));
    }

    #[test]
    fn records_within_the_limits_round_trip_exactly(r in record()) {
        let mut wire = Vec::new();
        encode(&r, &mut wire);
        let back = decode(&wire, ARRIVAL_US);
        prop_assert_eq!(back, Ok(r));
    }

    #[test]
    fn a_control_character_anywhere_is_refused(r in record(), at in 0usize..3, c in 0u32..0x20) {
        let bad = char::from_u32(c).unwrap().to_string();
        let mut r = r;
        match at {
            0 => r.device_id.push_str(&bad),
            1 => r.dimensions.push(("Region".into(), format!("n{bad}"))),
            _ => r.dimensions.push((format!("R{bad}"), "n".into())),
        }
        r.dimensions.dedup_by(|a, b| a.0 == b.0);
        let mut wire = Vec::new();
        encode(&r, &mut wire);
        let e = decode(&wire, ARRIVAL_US).unwrap_err();
        prop_assert_eq!(e.code(), "control_character");
    }

    #[test]
    fn implausible_magnitudes_are_refused(v in prop_oneof![1e15f64..1e308, -1e308f64..-1e15]) {
        let wire = format!(r#"{{"Time": 1, "DeviceID": "m", "x_measure": {v}}}"#);
        let e = decode(wire.as_bytes(), ARRIVAL_US).unwrap_err();
        prop_assert_eq!(e.code(), "implausible_measure");
        prop_assert!(limits::measure_range("x").1 < v.abs());
    }
}
