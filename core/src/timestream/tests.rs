use super::text::{DATE, NANOS_PER_DAY};
use super::*;
use crate::time::MICROS_PER_DAY;
use aws_sdk_timestreamquery::types::ScalarType;
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

#[test]
fn the_interval_of_an_absurd_range_is_an_error_not_an_overflow() {
    let ctx = |from_us, to_us, pixels| MacroContext {
        from_us,
        to_us,
        pixels,
        ..MacroContext::default()
    };
    // i64::MAX - i64::MIN overflowed: a panic in debug builds.
    let e = ctx(i64::MIN, i64::MAX, 1).interval_ms().unwrap_err();
    assert_eq!(
        e,
        "the range's start, -290308-12-21T19:59:05.224192Z, is before 1970-01-01"
    );
    let e = ctx(0, LATEST_US + 1, 1).interval_ms().unwrap_err();
    assert_eq!(
        e,
        "the range's end, +10000-01-01T00:00:00.000000Z, is after 9999-12-31"
    );
    assert_eq!(ctx(0, LATEST_US, 1).interval_ms(), Ok(LATEST_US / 1000));
    assert_eq!(ctx(0, 1_000, 0).interval_ms(), Ok(1));
    let e = expand_macros("SELECT $__interval_ms", &ctx(5, 5, 10)).unwrap_err();
    assert!(e.contains("must end after it starts"), "{e}");
    let e = expand_macros("WHERE $__timeFilter", &ctx(0, i64::MAX, 10)).unwrap_err();
    assert!(e.contains("is after 9999-12-31"), "{e}");
    let now = MacroContext {
        now_us: -1,
        ..MacroContext::default()
    };
    let e = expand_macros("SELECT $__now_ms", &now).unwrap_err();
    assert!(e.contains("is before 1970-01-01"), "{e}");
}

#[test]
fn an_expansion_is_never_expanded_again() {
    let ctx = MacroContext {
        database: Some("$__table".into()),
        table: Some("t".into()),
        ..MacroContext::default()
    };
    assert_eq!(
        expand_macros("FROM $__database.$__table, $__unknown", &ctx).unwrap(),
        "FROM \"$__table\".\"t\", $__unknown"
    );
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

        #[test]
        fn macros_expand_or_fail_for_any_range(
            from_us in any::<i64>(),
            to_us in any::<i64>(),
            now_us in any::<i64>(),
            pixels in any::<u32>(),
            sql in r"(\$__(timeFilter|timeFrom|timeTo|interval_ms|now_ms|database|table|measure|x)| |[a-z]{1,3}){0,8}",
        ) {
            let ctx = MacroContext {
                database: Some("grid".into()),
                table: Some("readings".into()),
                measure: Some("voltage_measure".into()),
                from_us,
                to_us,
                pixels,
                now_us,
            };
            if let Ok(q) = expand_macros(&sql, &ctx) {
                prop_assert!(!q.contains("$__time") && !q.contains("$__interval_ms"), "{q}");
            }
            let sane = check_range(from_us, to_us).is_ok();
            prop_assert_eq!(ctx.interval_ms().is_ok(), sane);
            if let Ok(ms) = ctx.interval_ms() {
                prop_assert!(ms >= 1);
                prop_assert_eq!(ms, ((to_us - from_us) / 1000 / i64::from(pixels.max(1))).max(1));
            }
        }

        #[test]
        fn macros_in_range_always_expand(
            from_us in 0..=LATEST_US - 1,
            len in 1..=LATEST_US,
            now_us in 0..=LATEST_US,
            pixels in any::<u32>(),
        ) {
            let to_us = from_us.saturating_add(len).min(LATEST_US);
            prop_assume!(to_us > from_us);
            let ctx = MacroContext {
                from_us,
                to_us,
                pixels,
                now_us,
                ..MacroContext::default()
            };
            let q = expand_macros("$__timeFilter $__interval_ms $__now_ms", &ctx).unwrap();
            prop_assert!(q.starts_with("time BETWEEN from_iso8601_timestamp('"), "{q}");
        }
    }
}

#[test]
fn macros_expand_and_identifiers_and_literals_are_quoted() {
    let ctx = MacroContext {
        database: Some("grid".into()),
        table: Some("read\"ings".into()),
        measure: Some("voltage_measure".into()),
        from_us: 1_700_000_000_000_000,
        to_us: 1_700_003_600_000_000,
        pixels: 1_200,
        now_us: 1_700_003_600_000_000,
    };
    let q = expand_macros(
        "SELECT * FROM $__database.$__table WHERE $__timeFilter AND measure_name = '$__measure' AND x > $__interval_ms AND t < $__now_ms AND a >= $__timeFrom AND b <= $__timeTo",
        &ctx,
    )
    .unwrap();
    assert!(q.starts_with("SELECT * FROM \"grid\".\"read\"\"ings\" WHERE time BETWEEN from_iso8601_timestamp('2023-11-14T22:13:20.000000Z') AND from_iso8601_timestamp('2023-11-14T23:13:20.000000Z')"), "{q}");
    assert!(q.contains("x > 3000 AND t < 1700003600000"), "{q}");
    assert!(!q.contains('$'), "{q}");
    let missing = expand_macros("SELECT 1 FROM $__table", &MacroContext::default()).unwrap_err();
    assert!(missing.contains("--table"), "{missing}");
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
