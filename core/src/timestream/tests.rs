use super::*;
use crate::time::MICROS_PER_DAY;
use aws_sdk_timestreamquery::types::ScalarType;
use gridwatch_codec::timestream_text::{DATE, NANOS_PER_DAY};
use std::time::Duration;

#[test]
fn scalars_parse_into_their_types() {
    let s = |t: ScalarType, v: &str| scalar(&t, v).unwrap();
    assert_eq!(s(ScalarType::Double, "231.4"), Value::Double(231.4));
    assert_eq!(
        s(ScalarType::Bigint, "-9007199254740993"),
        Value::Bigint(-9_007_199_254_740_993)
    );
    assert_eq!(s(ScalarType::Integer, "42"), Value::Integer(42));
    assert_eq!(s(ScalarType::Boolean, "true"), Value::Boolean(true));
    assert_eq!(
        s(ScalarType::Timestamp, "2023-11-14 22:13:20.123456789"),
        Value::Timestamp(1_700_000_000_123_456_789)
    );
    assert_eq!(s(ScalarType::Date, "2023-11-14"), Value::Date(19_675));
    assert_eq!(
        s(ScalarType::Time, "01:02:03.5"),
        Value::Time(3_723_500_000_000)
    );
    assert_eq!(
        s(ScalarType::IntervalDayToSecond, "1 00:00:01.000000000"),
        Value::IntervalDayToSecond(86_401_000_000_000)
    );
    assert_eq!(
        s(ScalarType::IntervalYearToMonth, "1-2"),
        Value::IntervalYearToMonth(14)
    );
    assert_eq!(
        s(ScalarType::IntervalYearToMonth, "-0-3"),
        Value::IntervalYearToMonth(-3)
    );
    assert!(scalar(&ScalarType::Bigint, "x").is_err());
    assert!(scalar(&ScalarType::Timestamp, "2023-13-01 00:00:00").is_err());
}

#[test]
fn times_past_2262_and_up_to_9999_are_read_exactly() {
    // Nanoseconds overflow an i64 in 2262: these overflowed (a panic in
    // debug builds, a wrapped time in release).
    let s = |t: ScalarType, v: &str| to_json(&scalar(&t, v).unwrap());
    assert_eq!(s(ScalarType::Date, "2300-01-01"), "2300-01-01");
    assert_eq!(
        s(ScalarType::Timestamp, "2300-01-01 00:00:00.000000001"),
        "2300-01-01T00:00:00.000000001Z"
    );
    assert_eq!(
        s(ScalarType::Timestamp, "9999-12-31 23:59:59.999999999"),
        "9999-12-31T23:59:59.999999999Z"
    );
    assert_eq!(s(ScalarType::Date, "2024-02-29"), "2024-02-29");
    assert_eq!(
        s(ScalarType::Time, "23:59:59.999999999"),
        "23:59:59.999999999"
    );
    assert_eq!(s(ScalarType::Time, "00:00:00"), "00:00:00");
}

#[test]
fn values_out_of_range_are_typed_errors_naming_them() {
    let e = |t: ScalarType, v: &str| scalar(&t, v).unwrap_err().to_string();
    assert_eq!(
        e(ScalarType::Timestamp, "2147483647-01-01 00:00:00.000000000"),
        "\"2147483647-01-01 00:00:00.000000000\" is out of range for a timestamp (1970-01-01 to 9999-12-31)"
    );
    assert_eq!(
        e(ScalarType::Date, "10000-01-01"),
        "\"10000-01-01\" is out of range for a date (1970-01-01 to 9999-12-31)"
    );
    assert_eq!(
        e(ScalarType::Date, "1969-12-31"),
        "\"1969-12-31\" is out of range for a date (1970-01-01 to 9999-12-31)"
    );
    assert_eq!(
        e(ScalarType::Date, "99999999999999999999999-01-01"),
        "\"99999999999999999999999-01-01\" is out of range for a date (1970-01-01 to 9999-12-31)"
    );
    assert_eq!(
        e(ScalarType::Date, "2023-02-29"),
        "\"2023-02-29\" is not a date"
    );
    assert_eq!(
        e(ScalarType::Time, "9223372036854775807:00:00"),
        "\"9223372036854775807:00:00\" is not a time"
    );
    assert_eq!(
        e(ScalarType::Time, "24:00:00"),
        "\"24:00:00\" is not a time"
    );
    assert_eq!(
        e(ScalarType::Time, "-1:00:00"),
        "\"-1:00:00\" is not a time"
    );
    assert_eq!(
        e(ScalarType::IntervalDayToSecond, "106752 00:00:00.000000000"),
        "\"106752 00:00:00.000000000\" is out of range for a day-to-second interval (at most 106751 days either way)"
    );
    assert_eq!(
        scalar(
            &ScalarType::IntervalDayToSecond,
            "-106751 00:00:00.000000000"
        )
        .unwrap(),
        Value::IntervalDayToSecond(-106_751 * NANOS_PER_DAY)
    );
    assert_eq!(
        e(ScalarType::IntervalYearToMonth, "768614336404564651-0"),
        "\"768614336404564651-0\" is out of range for a year-to-month interval (at most 2^63 months either way)"
    );
    assert_eq!(
        e(ScalarType::Bigint, "9223372036854775808"),
        "\"9223372036854775808\" is out of range for a bigint (-2^63 to 2^63-1)"
    );
    assert_eq!(
        e(ScalarType::Integer, "-2147483649"),
        "\"-2147483649\" is out of range for an integer (-2^31 to 2^31-1)"
    );
}

#[test]
fn any_value_writes_as_json_without_panicking() {
    for v in [
        Value::Date(i64::MAX),
        Value::Date(i64::MIN),
        Value::Time(i64::MIN),
        Value::Timestamp(i128::MAX),
        Value::Timestamp(i128::MIN),
        Value::IntervalDayToSecond(i64::MIN),
        Value::TimeSeries(vec![(i128::MIN, Value::Null)]),
    ] {
        assert!(!to_json(&v).is_null(), "{v:?}");
    }
    assert_eq!(
        to_json(&Value::Date(i64::MAX)),
        "9223372036854775807 days after 1970-01-01"
    );
    assert_eq!(to_json(&Value::Time(90_000_000_000_000)), "25:00:00");
    assert!(to_json(&Value::Invalid(DATE.malformed("x"))).is_null());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn scalar_type() -> impl Strategy<Value = ScalarType> {
        prop::sample::select(vec![
            ScalarType::Varchar,
            ScalarType::Double,
            ScalarType::Bigint,
            ScalarType::Integer,
            ScalarType::Boolean,
            ScalarType::Timestamp,
            ScalarType::Date,
            ScalarType::Time,
            ScalarType::IntervalDayToSecond,
            ScalarType::IntervalYearToMonth,
            ScalarType::from("UNKNOWN"),
            ScalarType::from("A_FUTURE_TYPE"),
        ])
    }

    /// Strings shaped like Timestream's scalars (digits in every field,
    /// of any length), where the edge cases live.
    const SHAPED: &str = r"-?[0-9]{0,25}(-[0-9]{0,25}(-[0-9]{0,25})?)?( -?[0-9]{0,25}(:[0-9]{0,25}(:[0-9]{0,25}(\.[0-9]{0,12})?)?)?)?";

    fn in_range(v: &Value) -> bool {
        let max_ns = i128::from(LATEST_US) * 1000 + 999;
        match v {
            Value::Timestamp(ns) => (0..=max_ns).contains(ns),
            Value::Date(d) => (0..=LATEST_US / MICROS_PER_DAY).contains(d),
            Value::Time(ns) => (0..NANOS_PER_DAY).contains(ns),
            _ => true,
        }
    }

    proptest! {
        #[test]
        fn any_string_of_any_type_is_a_value_or_an_error(t in scalar_type(), s in any::<String>()) {
            if let Ok(v) = scalar(&t, &s) {
                prop_assert!(in_range(&v), "{s:?} gave {v:?}");
                let _ = to_json(&v);
            }
        }

        #[test]
        fn shaped_strings_of_any_type_are_a_value_in_range_or_an_error(t in scalar_type(), s in SHAPED) {
            match scalar(&t, &s) {
                Ok(v) => {
                    prop_assert!(in_range(&v), "{s:?} gave {v:?}");
                    let _ = to_json(&v);
                }
                Err(e) => prop_assert!(e.to_string().contains(&format!("{s:?}")), "{e}"),
            }
        }

        #[test]
        fn timestamps_in_range_read_back_as_written(days in 0..=LATEST_US / MICROS_PER_DAY, ns in 0..NANOS_PER_DAY) {
            let t = i128::from(days) * i128::from(NANOS_PER_DAY) + i128::from(ns);
            let written = format_ns(t); // 2023-11-14T22:13:20.123456789Z
            let timestream = written.replace('T', " ").replace('Z', "");
            prop_assert_eq!(parse_timestamp(&timestream), Ok(t));
        }
    }
}

#[test]
fn a_hostile_device_id_is_data_never_sql() {
    let q = bucket_query(
        "db",
        "t",
        "voltage_measure",
        Some("x' OR '1'='1"),
        0,
        1000,
        Duration::from_secs(60),
    );
    assert!(q.contains("\"DeviceID\" = 'x'' OR ''1''=''1'"), "{q}");
    assert_eq!(quote_literal("it's"), "'it''s'");
    assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
}
