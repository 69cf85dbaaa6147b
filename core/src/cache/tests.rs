use super::*;
use crate::codec::Record;

fn rec(device: &str, t: i64, v: f64) -> Record {
    Record {
        device_id: device.into(),
        time_us: t,
        time_adjusted: false,
        measure_keys: Vec::new(),
        measures: vec![("watt".into(), v), ("voltage".into(), 230.0 + v / 100.0)],
        dimensions: vec![("Region".into(), "north".into())],
    }
}

fn batch<'a>(records: &'a [Record], checkpoints: &'a [Checkpoint]) -> IngestBatch<'a> {
    IngestBatch {
        source: "test",
        records,
        quarantined: &[],
        checkpoints,
    }
}

#[test]
fn a_repeated_batch_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let mut cache = Cache::open(&path).unwrap();
    let records: Vec<_> = (0..100)
        .map(|i| rec("m1", i * 1_000_000, i as f64))
        .collect();
    let first = cache.ingest(&batch(&records, &[])).unwrap();
    assert_eq!(first.readings_new, 200);
    let again = cache.ingest(&batch(&records, &[])).unwrap();
    assert_eq!(again.readings_new, 0);
    assert_eq!(again.readings_repeated, 200);
    let reader = CacheReader::open(&path).unwrap();
    assert_eq!(reader.reading_count().unwrap(), 200);
    assert_eq!(reader.devices().unwrap().len(), 1);
}

#[test]
fn checkpoints_commit_with_their_batch_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    {
        let mut cache = Cache::open(&path).unwrap();
        let cp = [Checkpoint {
            shard: "shardId-000000000001".into(),
            sequence: "42".into(),
        }];
        cache.ingest(&batch(&[rec("m1", 5, 1.0)], &cp)).unwrap();
    }
    let cache = Cache::open(&path).unwrap();
    assert_eq!(
        cache.checkpoints("test").unwrap(),
        vec![Checkpoint {
            shard: "shardId-000000000001".into(),
            sequence: "42".into()
        }]
    );
    assert!(cache.checkpoints("other").unwrap().is_empty());
}

#[test]
fn devices_keep_their_latest_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let mut cache = Cache::open(&path).unwrap();
    let mut a = rec("m1", 10, 1.0);
    a.dimensions.push(("Feeder".into(), "F-01".into()));
    cache.ingest(&batch(&[a.clone()], &[])).unwrap();
    let mut b = rec("m1", 20, 1.0);
    b.dimensions = vec![("Feeder".into(), "F-02".into())];
    cache.ingest(&batch(&[b], &[])).unwrap();
    drop(cache);
    let devices = CacheReader::open(&path).unwrap().devices().unwrap();
    assert_eq!(devices.len(), 1);
    let d = &devices[0];
    assert_eq!(d.dimensions["Feeder"], "F-02");
    assert_eq!(d.dimensions["Region"], "north");
    assert_eq!((d.first_seen_us, d.last_seen_us), (10, 20));
}

#[test]
fn quarantine_keeps_raw_bytes_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let mut cache = Cache::open(&path).unwrap();
    let q = Quarantined {
        shard: Some("shardId-000000000000".into()),
        sequence: Some("7".into()),
        received_us: 99,
        reason_code: "not_json".into(),
        reason: "not JSON: EOF".into(),
        raw: b"{oops".to_vec(),
    };
    cache
        .ingest(&IngestBatch {
            source: "test",
            records: &[],
            quarantined: std::slice::from_ref(&q),
            checkpoints: &[],
        })
        .unwrap();
    let (raw, code): (Vec<u8>, String) = cache
        .connection()
        .query_row("SELECT raw, reason_code FROM quarantine", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(raw, b"{oops");
    assert_eq!(code, "not_json");
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    drop(Cache::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = Cache::open(&path).err().unwrap();
    assert!(err.to_string().contains("newer Gridwatch"), "{err}");
}

#[test]
fn unknown_device_or_measure_gives_an_empty_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let mut cache = Cache::open(&path).unwrap();
    cache.ingest(&batch(&[rec("m1", 10, 1.0)], &[])).unwrap();
    let reader = CacheReader::open(&path).unwrap();
    let q = BucketQuery {
        device_id: Some("nope"),
        measure: "watt",
        from_us: 0,
        to_us: 100,
        bucket_us: 10,
    };
    assert!(reader.buckets(&q).unwrap().is_empty());
    let q = BucketQuery {
        device_id: None,
        measure: "frequency",
        ..q
    };
    assert!(reader.buckets(&q).unwrap().is_empty());
    let q = BucketQuery { bucket_us: 0, ..q };
    assert!(matches!(reader.buckets(&q), Err(CacheError::BadQuery(_))));
}
