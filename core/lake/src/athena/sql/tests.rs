use super::*;
use gridwatch_types::time::from_civil;

fn seed() -> TableRef {
    TableRef::seed("gw", "readings")
}

fn request(from_us: i64, to_us: i64) -> AggregateRequest {
    AggregateRequest {
        from_us,
        to_us,
        ..Default::default()
    }
}

#[test]
fn partitions_are_named_by_whole_months_days_and_hours() {
    let h = |d: u32, hour: u32| from_civil(2023, 11, d, hour);
    // November whole, then December 1st's first two hours.
    let f = partition_filter(h(1, 0), from_civil(2023, 12, 1, 2));
    assert_eq!(
        f,
        "(\"year\" = '2023' AND \"month\" = '11')\n    OR (\"year\" = '2023' AND \"month\" = '12' \
         AND \"day\" = '01' AND \"hour\" IN ('00', '01'))"
    );
    // 22:30 on the 14th to 01:00 on the 16th: two hours, a day, an hour.
    let f = partition_filter(h(14, 22) + 1_800_000_000, h(16, 1));
    assert_eq!(
        f,
        "(\"year\" = '2023' AND \"month\" = '11' AND \"day\" = '14' AND \"hour\" IN ('22', '23'))\n    \
         OR (\"year\" = '2023' AND \"month\" = '11' AND \"day\" = '15')\n    \
         OR (\"year\" = '2023' AND \"month\" = '11' AND \"day\" = '16' AND \"hour\" IN ('00'))"
    );
    assert_eq!(partition_filter(h(14, 0), h(14, 0)), "FALSE");
    assert_eq!(partition_hours(h(14, 22) + 1, h(15, 0)).len(), 2);
}

#[test]
fn the_ranges_macros_expand_to_its_partitions_and_times() {
    let from = from_civil(2023, 11, 14, 0);
    let sql = expand_macros(
        "SELECT count(*) FROM $__table WHERE $__timeFilter AND \"time\" < $__timeTo",
        &seed(),
        from,
        from + 3_600_000_000,
    );
    assert_eq!(
        sql,
        "SELECT count(*) FROM \"gw\".\"readings\" WHERE (((\"year\" = '2023' AND \"month\" = '11' \
         AND \"day\" = '14' AND \"hour\" IN ('00'))) AND \"time\" >= 1699920000000 AND \"time\" < \
         1699923600000) AND \"time\" < 1699923600000"
    );
}

#[test]
fn keys_and_measures_the_table_lacks_are_refused_with_what_it_has() {
    let from = from_civil(2023, 11, 14, 0);
    let mut req = request(from, from + 1);
    req.by = vec![GroupKey::Dimension("Circuit".into())];
    let e = view_sql(&seed(), &req, false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no Circuit in the extracts (known: device_id, DeviceType, Region, Feeder, Substation, \
         Transformer, hour, day, week, month)"
    );
    let mut req = request(from, from + 1);
    req.measures = vec!["frequency".into()];
    let e = view_sql(&seed(), &req, false).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("no measure frequency in the extracts (known: voltage,"),
        "{e}"
    );
}

#[test]
fn views_name_their_columns_as_the_local_engine_does() {
    let from = from_civil(2023, 11, 14, 0);
    let mut req = request(from, from + 1);
    req.by = vec!["feeder".parse().unwrap_or(GroupKey::Hour), GroupKey::Day];
    let v = view_sql(&seed(), &req, false).unwrap();
    assert!(v.per_type);
    assert_eq!(&v.columns[..4], ["Feeder", "DeviceType", "day", "records"]);
    assert_eq!(
        v.columns.last().map(String::as_str),
        Some("voltage_anomalies")
    );
    let v = view_sql(&seed(), &req, true).unwrap();
    assert_eq!(
        v.columns,
        ["Feeder", "DeviceType", "day", "interval", "demand_w"]
    );
    req.all_types = true;
    req.by.clear();
    req.measures = vec!["watt_measure".into()];
    let v = view_sql(&seed(), &req, false).unwrap();
    assert_eq!(
        v.columns,
        [
            "watt_count",
            "watt_sum",
            "watt_min",
            "watt_max",
            "watt_mean",
            "watt_p50",
            "watt_p90",
            "watt_p95",
            "watt_p99"
        ]
    );
    // No keys: one constant group key, never `GROUP BY 1`.
    assert!(v.sql.contains("0 AS k0"), "{}", v.sql);
    assert!(!v.sql.contains("GROUP BY 1"), "{}", v.sql);
}

#[test]
fn floats_are_written_as_doubles_not_decimals() {
    assert_eq!(double(0.95), "0.95E0");
    assert_eq!(double(11_000.0), "11000E0");
    assert_eq!(double(3.6e12), "3600000000000E0");
}

#[test]
fn the_estimate_lists_whole_months_and_days_as_one_prefix() {
    let from = from_civil(2023, 10, 31, 22);
    let to = from_civil(2023, 12, 2, 1);
    let prefixes: Vec<String> = partition_spans(from, to)
        .iter()
        .flat_map(Span::prefixes)
        .collect();
    assert_eq!(
        prefixes,
        [
            "year=2023/month=10/day=31/hour=22/",
            "year=2023/month=10/day=31/hour=23/",
            "year=2023/month=11/",
            "year=2023/month=12/day=01/",
            "year=2023/month=12/day=02/hour=00/",
        ]
    );
}
