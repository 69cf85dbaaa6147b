//! The ingest pipeline end to end: bus -> decode -> cache, with bad records
//! quarantined and the rest flowing on.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::sync::Arc;

use gridwatch_core::bus::Bus;
use gridwatch_core::ingest::{IngestConfig, spawn_ingest};
use gridwatch_core::live::LiveView;
use gridwatch_core::{Cache, CacheReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_quarantined_and_the_rest_flows_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.sqlite");
    let cache = Cache::open(&path).unwrap();
    let (bus, readers) = Bus::new(2, 64, &[]);
    let live = Arc::new(LiveView::new());
    let handle = spawn_ingest(readers, cache, live.clone(), IngestConfig::default());

    let now = gridwatch_core::time::now_us();
    let mut bad = 0;
    for i in 0..500u32 {
        let device = format!("meter-{}", i % 10);
        let data = if i % 50 == 7 {
            bad += 1;
            format!(
                r#"{{"Time": {}, "DeviceID": "{device}", "watt_measure": "broken"}}"#,
                1_700_000_000_000u64 + u64::from(i)
            )
        } else {
            format!(
                r#"{{"Time": {}, "DeviceID": "{device}", "watt_measure": {i}, "Region": "north"}}"#,
                1_700_000_000_000u64 + u64::from(i)
            )
        };
        bus.put(&device, data.into_bytes(), now).await.unwrap();
    }
    bus.close().await;
    let summary = handle.finish().await.unwrap();
    assert_eq!(summary.records, 500 - bad);
    assert_eq!(summary.quarantined, bad);
    assert_eq!(summary.readings_new, 500 - bad);

    let reader = CacheReader::open(&path).unwrap();
    assert_eq!(reader.reading_count().unwrap(), 500 - bad);
    assert_eq!(reader.quarantine_count().unwrap(), bad);
    let (reason, code, shard, raw): (String, String, String, Vec<u8>) = reader
        .connection()
        .query_row(
            "SELECT reason, reason_code, shard, raw FROM quarantine LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(code, "non_numeric_measure");
    assert!(reason.contains("watt_measure"), "{reason}");
    assert!(shard.starts_with("shardId-"));
    assert!(String::from_utf8(raw).unwrap().contains("broken"));

    // Every shard's checkpoint is the last sequence number it handed out.
    let checkpoints = reader.checkpoints("embedded").unwrap();
    assert!(!checkpoints.is_empty());
    let last: u64 = checkpoints
        .iter()
        .map(|c| c.sequence.parse::<u64>().unwrap())
        .sum();
    // Two shards, numbered from 1 each: their last numbers add up to 500.
    assert_eq!(last, 500);
    assert_eq!(live.stats().records_quarantined, bad);
}

fn batch_of(records: &[&[u8]]) -> gridwatch_core::ingest::ShardBatch {
    let mut batch = gridwatch_core::ingest::ShardBatch::new("shardId-000000000000");
    for (i, data) in records.iter().enumerate() {
        batch.add(data, 1_700_000_000_000_000, &(i + 1).to_string());
    }
    batch
}

#[test]
fn a_pretty_printed_record_is_one_record_and_a_broken_one_one_quarantine_row() {
    let pretty = b"{\n  \"Time\": 1700000000000,\n  \"DeviceID\": \"m1\",\n  \"watt_measure\": 5,\n  \"Region\": \"n\"\n}\n";
    let broken = b"{\n  \"Time\": 1700000000000,\n  \"DeviceID\": \"m1\",\n  \"watt_measure\": 5,\n  \"Region\": \n";
    let batch = batch_of(&[pretty, broken]);
    assert_eq!(batch.records.len(), 1);
    assert_eq!(batch.records[0].measures, vec![("watt".to_owned(), 5.0)]);
    assert_eq!(batch.quarantined.len(), 1, "{:?}", batch.quarantined);
    let q = &batch.quarantined[0];
    assert_eq!(q.reason_code, "not_json");
    assert_eq!(q.raw, broken, "the whole record is kept, not a fragment");
    assert_eq!(q.sequence.as_deref(), Some("2"));
}

#[test]
fn a_pretty_printed_record_that_breaks_a_rule_is_quarantined_whole_once() {
    let no_time = b"{\n  \"DeviceID\": \"m1\",\n  \"watt_measure\": 5\n}";
    let batch = batch_of(&[no_time]);
    assert!(batch.records.is_empty());
    assert_eq!(batch.quarantined.len(), 1);
    assert_eq!(batch.quarantined[0].reason_code, "missing_time");
    assert_eq!(batch.quarantined[0].raw, no_time);
}

#[test]
fn in_a_batch_of_lines_each_bad_line_is_kept_and_its_neighbours_flow_on() {
    let lines = b"{\"Time\": 1, \"DeviceID\": \"a\", \"x_measure\": 1}\n{oops\n{\"Time\": 2, \"DeviceID\": \"b\", \"x_measure\": 2}\n";
    let batch = batch_of(&[lines]);
    let devices: Vec<&str> = batch.records.iter().map(|r| r.device_id.as_str()).collect();
    assert_eq!(devices, ["a", "b"]);
    assert_eq!(batch.quarantined.len(), 1);
    assert_eq!(batch.quarantined[0].raw, b"{oops");
    assert_eq!(batch.quarantined[0].reason_code, "not_json");
}

#[test]
fn hostile_device_ids_and_measure_floods_are_quarantined_with_their_codes() {
    let escape =
        br#"{"Time": 1, "DeviceID": "m\u001b]8;;http://x\u0007", "x_measure": 1}"#.to_vec();
    let long = format!(
        r#"{{"Time": 1, "DeviceID": "{}", "x_measure": 1}}"#,
        "m".repeat(60_000)
    )
    .into_bytes();
    let flood = format!(
        r#"{{"Time": 1, "DeviceID": "m"{}}}"#,
        (0..2_600)
            .map(|i| format!(r#", "m{i}_measure": 1"#))
            .collect::<String>()
    )
    .into_bytes();
    let huge = br#"{"Time": 1, "DeviceID": "m", "voltage_measure": 1.7e308}"#.to_vec();
    let batch = batch_of(&[&escape, &long, &flood, &huge]);
    assert!(batch.records.is_empty());
    let codes: Vec<&str> = batch
        .quarantined
        .iter()
        .map(|q| q.reason_code.as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "control_character",
            "device_id_too_long",
            "too_many_measures",
            "implausible_measure"
        ]
    );
    assert_eq!(batch.quarantined[2].raw, flood);
}

#[test]
fn a_batch_of_lines_that_all_break_a_rule_is_kept_once_with_their_reason() {
    let lines = b"{\"Time\": 1, \"x_measure\": 1}\n{\"Time\": 2, \"x_measure\": 2}\n{\"Time\": 3, \"x_measure\": 3}";
    let batch = batch_of(&[lines]);
    assert!(batch.records.is_empty());
    assert_eq!(batch.quarantined.len(), 1);
    let q = &batch.quarantined[0];
    assert_eq!(q.reason_code, "missing_device_id");
    assert_eq!(
        q.reason,
        "3 records, one a line, none readable; the first: missing \"DeviceID\""
    );
    assert_eq!(q.raw, lines);
}
