#![allow(clippy::unwrap_used)]

use super::*;
use crate::timestream::{LATEST_US, check_range};
use gridwatch_types::{Selection, Variable, VariableKind};

/// The plugin's own test range: 1500376552001 to 1500376552002 ms.
const FROM_US: i64 = 1_500_376_552_001_000;
const TO_US: i64 = 1_500_376_552_002_000;

/// A fixed range and a fixed interval of one minute (as the minimum: the
/// range itself is a millisecond), as in the plugin's backend tests.
fn plugin_ctx() -> MacroContext {
    MacroContext {
        database: Some("ddb".into()),
        table: Some("table".into()),
        measure: Some("measure".into()),
        from_us: FROM_US,
        to_us: TO_US,
        pixels: 1000,
        now_us: 1_700_000_000_123_000,
        min_interval_ms: Some(60_000),
        ref_id: Some("First Sensor".into()),
    }
}

fn x(sql: &str) -> String {
    expand(sql, &plugin_ctx(), &[]).unwrap()
}

#[test]
fn each_macro_expands_as_the_plugin_documents() {
    let table = [
        // Alone.
        ("$__database", "ddb"),
        ("$__table", "table"),
        ("$__measure", "measure"),
        (
            "$__timeFilter",
            "time BETWEEN from_milliseconds(1500376552001) AND from_milliseconds(1500376552002)",
        ),
        ("$__timeFrom", "1500376552001"),
        ("$__timeTo", "1500376552002"),
        ("$__interval_ms", "60000ms"),
        ("$__interval", "60000ms"),
        ("$__interval_raw_ms", "60000"),
        ("$__now_ms", "1700000000123"),
        ("$__refId", "\"First Sensor\""),
        // In context: the plugin's backend test cases.
        (
            "SELECT average(value) FROM test AND $__timeFilter TIMESERIES",
            "SELECT average(value) FROM test AND time BETWEEN from_milliseconds(1500376552001) AND from_milliseconds(1500376552002) TIMESERIES",
        ),
        (
            "GROUP BY $__interval_ms TIMESERIES",
            "GROUP BY 60000ms TIMESERIES",
        ),
        (
            "GROUP BY $__interval TIMESERIES",
            "GROUP BY 60000ms TIMESERIES",
        ),
        (
            "SELECT '$__measure' FROM $__database.$__table LIMIT 10",
            "SELECT 'measure' FROM ddb.table LIMIT 10",
        ),
        (
            "WHERE TIME > from_milliseconds($__timeFrom)",
            "WHERE TIME > from_milliseconds(1500376552001)",
        ),
        (
            "WHERE TIME < from_milliseconds($__timeTo)",
            "WHERE TIME < from_milliseconds(1500376552002)",
        ),
        (
            "SELECT measure_value::double AS \"$__refId\" FROM t",
            "SELECT measure_value::double AS \"First Sensor\" FROM t",
        ),
        ("rate(input) * $__interval_raw_ms", "rate(input) * 60000"),
        // The query editor page's example.
        (
            "SELECT bin(time, $__interval_ms) AS binned_time, measure_name, avg(measure_value::double) AS avg_value FROM $__database.$__table WHERE $__timeFilter AND measure_name = '$__measure' GROUP BY bin(time, $__interval_ms), measure_name ORDER BY binned_time ASC",
            "SELECT bin(time, 60000ms) AS binned_time, measure_name, avg(measure_value::double) AS avg_value FROM ddb.table WHERE time BETWEEN from_milliseconds(1500376552001) AND from_milliseconds(1500376552002) AND measure_name = 'measure' GROUP BY bin(time, 60000ms), measure_name ORDER BY binned_time ASC",
        ),
        (
            "WHERE time BETWEEN from_milliseconds($__timeFrom) AND from_milliseconds($__now_ms)",
            "WHERE time BETWEEN from_milliseconds(1500376552001) AND from_milliseconds(1700000000123)",
        ),
        // Grafana's global time variables.
        ("${__from}", "1500376552001"),
        ("'${__to:date:iso}'", "'2017-07-18T11:15:52.002Z'"),
        ("${__from:date:seconds}", "1500376552"),
        // Unknown names stay as they are.
        (
            "$__unknown $nothing ${nothing} [[nothing]]",
            "$__unknown $nothing ${nothing} [[nothing]]",
        ),
    ];
    for (sql, want) in table {
        assert_eq!(x(sql), want, "{sql}");
    }
}

#[test]
fn the_interval_is_grafanas_from_range_width_and_minimum() {
    // One hour over 1000 px is 3.6 s a pixel: Grafana's ladder makes 5 s.
    assert_eq!(calculate_interval_ms(3_600_000, 1000, None), 5_000);
    // Six hours over 1200 px: 18 s, so 20 s.
    assert_eq!(calculate_interval_ms(21_600_000, 1200, None), 20_000);
    // A minimum interval wins when longer.
    assert_eq!(calculate_interval_ms(3_600_000, 1000, Some(10_000)), 10_000);
    assert_eq!(calculate_interval_ms(1, 1000, None), 1);
    assert_eq!(round_interval(9.9), 1);
    assert_eq!(round_interval(10.0), 10);
    assert_eq!(round_interval(89_999.0), 60_000);
    assert_eq!(round_interval(1e15), 31_536_000_000);
    assert_eq!(parse_interval_ms("10s").unwrap(), 10_000);
    assert_eq!(parse_interval_ms(">1m").unwrap(), 60_000);
    assert_eq!(parse_interval_ms("500ms").unwrap(), 500);
    assert_eq!(parse_interval_ms("30").unwrap(), 30_000);
    assert!(parse_interval_ms("soon").is_err());
    let ctx = MacroContext {
        from_us: 0,
        to_us: 3_600_000_000,
        pixels: 1000,
        ..MacroContext::default()
    };
    assert_eq!(expand("$__interval_ms", &ctx, &[]).unwrap(), "5000ms");
}

/// The four failures of the seed companion's dashboard (issue 16).
#[test]
fn regression_interval_ms_is_an_interval_literal() {
    let ctx = MacroContext {
        from_us: 0,
        to_us: 6 * 3_600_000_000,
        pixels: 1000,
        ..MacroContext::default()
    };
    // Six hours over 1000 px: 21.6 s a pixel, 20 s on Grafana's ladder.
    assert_eq!(
        expand("BIN(time, $__interval_ms)", &ctx, &[]).unwrap(),
        "BIN(time, 20000ms)"
    );
}

#[test]
fn regression_time_from_and_to_are_epoch_milliseconds() {
    assert_eq!(
        x("from_milliseconds($__timeFrom) AND from_milliseconds($__timeTo)"),
        "from_milliseconds(1500376552001) AND from_milliseconds(1500376552002)"
    );
}

#[test]
fn regression_a_measure_in_a_literal_is_the_name_not_an_identifier() {
    let mut ctx = plugin_ctx();
    ctx.measure = Some("voltage_measure".into());
    assert_eq!(
        expand("measure_name = '$__measure'", &ctx, &[]).unwrap(),
        "measure_name = 'voltage_measure'"
    );
}

#[test]
fn regression_dashboard_variables_in_braces_are_filled() {
    let vars = [
        Binding {
            name: "measure".into(),
            value: Bound::One("voltage_measure".into()),
        },
        Binding {
            name: "device_id".into(),
            value: Bound::One("c0ffee01".into()),
        },
    ];
    assert_eq!(
        expand(
            "WHERE measure_name = '${measure}' AND DeviceID = '${device_id}'",
            &plugin_ctx(),
            &vars
        )
        .unwrap(),
        "WHERE measure_name = 'voltage_measure' AND DeviceID = 'c0ffee01'"
    );
}

#[test]
fn injection_through_measure_stays_data_wherever_it_lands() {
    let mut ctx = plugin_ctx();
    ctx.measure = Some("x' OR '1'='1".into());
    assert_eq!(
        expand("measure_name = '$__measure'", &ctx, &[]).unwrap(),
        "measure_name = 'x'' OR ''1''=''1'"
    );
    assert_eq!(
        expand("SELECT $__measure FROM t", &ctx, &[]).unwrap(),
        "SELECT \"x' OR '1'='1\" FROM t"
    );
    ctx.measure = Some("a\"b".into());
    assert_eq!(
        expand("SELECT \"$__measure\" FROM t", &ctx, &[]).unwrap(),
        "SELECT \"a\"\"b\" FROM t"
    );
}

#[test]
fn injection_through_database_is_a_quoted_identifier() {
    let mut ctx = plugin_ctx();
    ctx.database = Some("grid\"; DROP TABLE x; --".into());
    assert_eq!(
        expand("SELECT * FROM $__database.$__table", &ctx, &[]).unwrap(),
        "SELECT * FROM \"grid\"\"; DROP TABLE x; --\".table"
    );
    // A name Timestream needs quoted (a hyphen) is quoted too.
    ctx.database = Some("grid-db".into());
    assert_eq!(x_with(&ctx, "FROM $__database"), "FROM \"grid-db\"");
}

fn x_with(ctx: &MacroContext, sql: &str) -> String {
    expand(sql, ctx, &[]).unwrap()
}

#[test]
fn injection_through_a_variable_is_quoted_or_refused() {
    let hostile = [Binding {
        name: "device".into(),
        value: Bound::One("x' OR 1=1 --".into()),
    }];
    let ctx = plugin_ctx();
    // Inside a literal: its quotes are doubled.
    assert_eq!(
        expand("DeviceID = '$device'", &ctx, &hostile).unwrap(),
        "DeviceID = 'x'' OR 1=1 --'"
    );
    // :sqlstring quotes it whole, outside quotes.
    assert_eq!(
        expand("DeviceID = ${device:sqlstring}", &ctx, &hostile).unwrap(),
        "DeviceID = 'x'' OR 1=1 --'"
    );
    // Outside quotes, raw or csv: refused, saying what to write instead.
    for sql in [
        "DeviceID = $device",
        "x IN (${device:csv})",
        "[[device:raw]]",
    ] {
        let e = expand(sql, &ctx, &hostile).unwrap_err().to_string();
        assert!(e.contains("${device:sqlstring}"), "{sql}: {e}");
    }
    // Grafana's :singlequote escapes with a backslash, which Timestream
    // does not read: refused rather than broken out of.
    let e = expand("x = ${device:singlequote}", &ctx, &hostile).unwrap_err();
    assert!(e.to_string().contains(":sqlstring"), "{e}");
    // In a comment, a line break would end it.
    let newline = [Binding {
        name: "v".into(),
        value: Bound::One("a\nDROP TABLE t".into()),
    }];
    assert!(expand("SELECT 1 -- $v", &ctx, &newline).is_err());
    assert!(expand("SELECT 1 /* ${v} */", &ctx, &newline).is_ok());
    // The command line's --var goes through the same checks.
    let var = parse_var("device=x' OR 1=1 --").unwrap();
    assert!(expand("WHERE d = $device", &ctx, &[var]).is_err());
    assert!(parse_var("no-equals").is_err());
    assert!(parse_var("bad name=1").is_err());
}

fn multi() -> Vec<Binding> {
    vec![
        Binding {
            name: "v".into(),
            value: Bound::Many(vec!["a".into(), "b".into()]),
        },
        Binding {
            name: "one".into(),
            value: Bound::One("a".into()),
        },
        Binding {
            name: "dots".into(),
            value: Bound::Many(vec!["a.b".into(), "c".into()]),
        },
    ]
}

#[test]
fn variables_in_every_form_and_format() {
    let ctx = plugin_ctx();
    let table = [
        ("$one", "a"),
        ("${one}", "a"),
        ("[[one]]", "a"),
        // The plugin's own multi-value format: quoted literals.
        ("IN ($v)", "IN ('a','b')"),
        ("IN (${v})", "IN ('a','b')"),
        ("${v:csv}", "a,b"),
        ("[[v:csv]]", "a,b"),
        ("${v:singlequote}", "'a','b'"),
        ("${v:doublequote}", "\"a\",\"b\""),
        ("${v:sqlstring}", "'a','b'"),
        ("${v:pipe}", "a|b"),
        ("${v:raw}", "a,b"),
        ("${v:regex}", "(a|b)"),
        ("${one:regex}", "a"),
        (
            "regexp_like(d, '${dots:regex}')",
            "regexp_like(d, '(a\\.b|c)')",
        ),
        ("${v:glob}", "{a,b}"),
        // A name that only starts like a variable is another name.
        ("$one_more", "$one_more"),
    ];
    for (sql, want) in table {
        assert_eq!(expand(sql, &ctx, &multi()).unwrap(), want, "{sql}");
    }
    let e = expand("${v:lucene}", &ctx, &multi()).unwrap_err();
    assert!(e.to_string().contains(":lucene"), "{e}");
}

fn variable(all_value: Option<&str>) -> Variable {
    Variable {
        name: "device".into(),
        kind: VariableKind::Custom,
        options: vec!["m1".into(), "m2".into()],
        multi: true,
        include_all: true,
        all_value: all_value.map(str::to_owned),
        selected: Selection::All,
        ..Variable::default()
    }
}

#[test]
fn all_is_every_option_or_the_custom_all_value() {
    let ctx = plugin_ctx();
    let b = bind(&[variable(None)]);
    assert_eq!(expand("IN ($device)", &ctx, &b).unwrap(), "IN ('m1','m2')");
    let b = bind(&[variable(Some(".*"))]);
    assert_eq!(
        expand("regexp_like(d, '$device')", &ctx, &b).unwrap(),
        "regexp_like(d, '.*')"
    );
    let mut single = variable(None);
    single.multi = false;
    single.selected = Selection::Values(vec!["m2".into()]);
    assert_eq!(
        expand("d = '$device'", &ctx, &bind(&[single])).unwrap(),
        "d = 'm2'"
    );
}

#[test]
fn custom_options_read_as_grafana_writes_them() {
    assert_eq!(custom_options("a, b,c"), vec!["a", "b", "c"]);
    assert_eq!(custom_options("a\\,b,c"), vec!["a,b", "c"]);
    assert_eq!(
        custom_options("North : north, South : south"),
        vec!["north", "south"]
    );
}

#[test]
fn what_a_macro_needs_and_lacks_is_said() {
    let e = expand("SELECT 1 FROM $__table", &MacroContext::default(), &[]).unwrap_err();
    assert!(e.to_string().contains("--table"), "{e}");
    let e = expand_macros(
        "SELECT $__interval_ms",
        &MacroContext {
            from_us: 5,
            to_us: 5,
            ..MacroContext::default()
        },
    )
    .unwrap_err();
    assert!(e.contains("must end after it starts"), "{e}");
    let e = expand_macros(
        "WHERE $__timeFilter",
        &MacroContext {
            from_us: 0,
            to_us: i64::MAX,
            ..MacroContext::default()
        },
    )
    .unwrap_err();
    assert!(e.contains("is after 9999-12-31"), "{e}");
    let e = expand_macros(
        "SELECT $__now_ms",
        &MacroContext {
            now_us: -1,
            ..MacroContext::default()
        },
    )
    .unwrap_err();
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
        "FROM \"$__table\".t, $__unknown"
    );
}

#[test]
fn grafana_times_and_rounding() {
    let now = 1_700_000_123_456_000; // 2023-11-14T22:15:23.456Z
    assert_eq!(parse_grafana_time("now", now, false), Ok(now));
    assert_eq!(
        parse_grafana_time("now-5m", now, false),
        Ok(now - 300_000_000)
    );
    assert_eq!(
        parse_grafana_time("now/d", now, false),
        Ok(1_699_920_000_000_000)
    );
    assert_eq!(
        parse_grafana_time("now/d", now, true),
        Ok(1_699_920_000_000_000 + 86_400_000_000 - 1000)
    );
    // Weeks from Monday (ISO) unless the dashboard says otherwise; months,
    // quarters and years by the calendar. Expected values from Python's
    // datetime, not from this code.
    let s = |us: i64| us * 1_000_000;
    assert_eq!(
        parse_grafana_time("now/w", now, false),
        Ok(s(1_699_833_600))
    );
    assert_eq!(
        parse_grafana_time("now/w", now, true),
        Ok(s(1_700_438_400) - 1000)
    );
    let sunday = super::time::WeekStart::parse("sunday").unwrap();
    assert_eq!(
        super::time::parse_grafana_time_in("now/w", now, false, sunday),
        Ok(s(1_699_747_200))
    );
    assert_eq!(
        parse_grafana_time("now/M", now, false),
        Ok(s(1_698_796_800))
    );
    assert_eq!(
        parse_grafana_time("now/M", now, true),
        Ok(s(1_701_388_800) - 1000)
    );
    assert_eq!(
        parse_grafana_time("now-1M/M", now, false),
        Ok(s(1_696_118_400))
    );
    assert_eq!(
        parse_grafana_time("now/Q", now, false),
        Ok(s(1_696_118_400))
    );
    assert_eq!(
        parse_grafana_time("now/y", now, false),
        Ok(s(1_672_531_200))
    );
    assert_eq!(
        parse_grafana_time("now-d", now, false),
        Ok(now - 86_400_000_000)
    );
    // January 31st plus a month is February's last day, in a leap year.
    assert_eq!(
        parse_grafana_time("now+1M", s(1_706_695_200), false),
        Ok(s(1_709_200_800))
    );
    for bad in [
        "now/x",
        "now\u{20ac}",
        "now-1000000y",
        "now+99999999999999999999d",
        "now-1",
    ] {
        let e = parse_grafana_time(bad, now, false).unwrap_err();
        assert!(e.contains("the dashboard's time"), "{bad}: {e}");
    }
    assert!(super::time::WeekStart::parse("funday").is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn macros_expand_or_fail_for_any_range(
            from_us in any::<i64>(),
            to_us in any::<i64>(),
            now_us in any::<i64>(),
            pixels in any::<u32>(),
            sql in r"(\$__(timeFilter|timeFrom|timeTo|interval_ms|interval|interval_raw_ms|now_ms|database|table|measure|x)| |'|[a-z]{1,3}){0,8}",
        ) {
            let ctx = MacroContext {
                database: Some("grid".into()),
                table: Some("readings".into()),
                measure: Some("voltage_measure".into()),
                from_us,
                to_us,
                pixels,
                now_us,
                ..MacroContext::default()
            };
            if let Ok(q) = expand_macros(&sql, &ctx) {
                prop_assert!(!q.contains("$__time") && !q.contains("$__interval"), "{q}");
            }
            prop_assert_eq!(ctx.interval_ms().is_ok(), check_range(from_us, to_us).is_ok());
            if let Ok(ms) = ctx.interval_ms() {
                prop_assert!(ms >= 1);
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
            let ctx = MacroContext { from_us, to_us, pixels, now_us, ..MacroContext::default() };
            let q = expand_macros("$__timeFilter $__interval_ms $__now_ms", &ctx).unwrap();
            prop_assert!(q.starts_with("time BETWEEN from_milliseconds("), "{q}");
        }

        /// Whatever a variable holds, it cannot end the literal it stands
        /// in: the text after it is still read as inside the literal.
        #[test]
        fn a_variable_in_a_literal_never_escapes_it(value in any::<String>()) {
            let b = [Binding { name: "v".into(), value: Bound::One(value.clone()) }];
            let q = expand("x = '$v'", &plugin_ctx(), &b).unwrap();
            prop_assert_eq!(q, format!("x = '{}'", value.replace('\'', "''")));
        }

        /// Outside quotes, a value is written only when it is plain.
        #[test]
        fn outside_quotes_only_plain_values_pass(value in any::<String>()) {
            let b = [Binding { name: "v".into(), value: Bound::One(value.clone()) }];
            match expand("x = $v", &plugin_ctx(), &b) {
                Ok(q) => prop_assert!(value.is_empty() || is_plain(&value), "{q}"),
                Err(_) => prop_assert!(!is_plain(&value)),
            }
        }
    }
}

#[test]
fn the_variables_a_query_names_leave_out_macros() {
    use super::referenced_variables;
    assert_eq!(
        referenced_variables(
            "SELECT mean(v) FROM r WHERE \"D\" = '$device' AND [[region:csv]] AND $timeFilter \
             AND ${device} GROUP BY time($__interval), $interval, $__timeFilter, $x2"
        ),
        ["device", "region", "x2"]
    );
    assert!(referenced_variables("SELECT 1 -- $ € $").is_empty());
}
