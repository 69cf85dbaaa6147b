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
