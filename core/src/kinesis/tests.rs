use super::consume::child_start;
use super::reader::Position;
use super::retry::{Backoff, MAX_BACKOFF};
use super::*;
use std::collections::{HashMap, HashSet};

#[test]
fn backoff_grows_and_caps_with_jitter() {
    let mut b = Backoff::new(Duration::from_millis(100));
    let waits: Vec<Duration> = (0..10).map(|_| b.step()).collect();
    assert!(waits[0] >= Duration::from_millis(50) && waits[0] <= Duration::from_millis(150));
    assert!(waits[3] > waits[0]);
    assert!(waits.iter().all(|w| *w <= MAX_BACKOFF.mul_f64(1.5)));
    b.reset();
    assert!(b.step() <= Duration::from_millis(150));
}

#[test]
fn children_start_where_their_parents_started() {
    let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
    let mut started = HashMap::new();
    started.insert("latest-closed".to_string(), (Position::Latest, true));
    started.insert("latest-open".to_string(), (Position::Latest, false));
    started.insert("at".to_string(), (Position::Timestamp(7), false));
    started.insert("trim".to_string(), (Position::TrimHorizon, false));
    let none = set(&[]);
    let ended = set(&["latest-open", "at", "trim"]);
    // Resharded before the start: the child's records are old too.
    assert_eq!(
        child_start("latest-closed", &none, &none, &started),
        Some(Position::Latest)
    );
    // Resharded while reading: every record of the child is new, but
    // only once the parent has been read to its end.
    assert_eq!(child_start("latest-open", &none, &none, &started), None);
    assert_eq!(
        child_start("latest-open", &none, &ended, &started),
        Some(Position::TrimHorizon)
    );
    assert_eq!(
        child_start("at", &none, &ended, &started),
        Some(Position::Timestamp(7))
    );
    assert_eq!(
        child_start("trim", &none, &ended, &started),
        Some(Position::TrimHorizon)
    );
    // Read to its end by an earlier run; or not started yet.
    assert_eq!(
        child_start("gone", &set(&["gone"]), &none, &started),
        Some(Position::TrimHorizon)
    );
    assert_eq!(child_start("unknown", &none, &none, &started), None);
    // A merge takes the earlier of its parents' starts.
    let merged = [Position::Latest, Position::TrimHorizon]
        .into_iter()
        .min_by_key(Position::rank);
    assert_eq!(merged, Some(Position::TrimHorizon));
}

#[test]
fn shards_know_their_hash_ranges() {
    let s = ShardInfoPublic {
        shard_id: "shardId-000000000000".into(),
        parent: None,
        adjacent_parent: None,
        starting_hash_key: Some("0".into()),
        ending_hash_key: Some("170141183460469231731687303715884105727".into()),
        closed: false,
    };
    assert!(s.holds(0));
    assert!(s.holds((1u128 << 127) - 1));
    assert!(!s.holds(1u128 << 127));
}

mod aggregates {
    use crate::codec::kpl::Aggregator;
    use crate::ingest::ShardBatch;

    const ARRIVAL: i64 = 1_800_000_000_000_000;

    fn reading(device: &str, n: u64) -> String {
        format!(
            r#"{{"Time": {}, "DeviceID": "{device}", "seq_measure": {n}}}"#,
            1_700_000_000_000u64 + n
        )
    }

    #[test]
    fn each_user_record_is_a_record_of_its_own_in_order() {
        let mut a = Aggregator::new();
        for (d, n) in [("m1", 1), ("m2", 1), ("m1", 2)] {
            a.add(d, None, reading(d, n).as_bytes());
        }
        let mut batch = ShardBatch::new("s");
        batch.add(&a.finish(), ARRIVAL, "49");
        let got: Vec<(&str, f64)> = batch
            .records
            .iter()
            .map(|r| (r.device_id.as_str(), r.measures[0].1))
            .collect();
        assert_eq!(got, [("m1", 1.0), ("m2", 1.0), ("m1", 2.0)]);
        assert!(batch.quarantined.is_empty());
    }

    #[test]
    fn a_bad_user_record_is_quarantined_alone_with_its_index() {
        let mut a = Aggregator::new();
        a.add("m1", None, reading("m1", 1).as_bytes());
        a.add("m2", None, br#"{"DeviceID": "m2", "seq_measure": 1}"#);
        a.add("m3", None, b"  ");
        a.add("m1", None, reading("m1", 2).as_bytes());
        let mut batch = ShardBatch::new("s");
        batch.add(&a.finish(), ARRIVAL, "49");
        assert_eq!(batch.records.len(), 2);
        let q: Vec<(&str, &str, &[u8], Option<&str>)> = batch
            .quarantined
            .iter()
            .map(|q| {
                (
                    q.reason_code.as_str(),
                    q.reason.as_str(),
                    q.raw.as_slice(),
                    q.sequence.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            q,
            [
                (
                    "missing_time",
                    "user record 1 of 4 in a KPL aggregate (partition key \"m2\"): missing \"Time\" (epoch milliseconds)",
                    &br#"{"DeviceID": "m2", "seq_measure": 1}"#[..],
                    Some("49")
                ),
                (
                    "empty",
                    "user record 2 of 4 in a KPL aggregate (partition key \"m3\"): the record is empty",
                    &b"  "[..],
                    Some("49")
                ),
            ]
        );
    }

    #[test]
    fn a_corrupt_aggregate_is_quarantined_whole() {
        let mut a = Aggregator::new();
        a.add("m1", None, reading("m1", 1).as_bytes());
        a.add("m2", None, reading("m2", 1).as_bytes());
        let good = a.finish();
        let mut bad_md5 = good.clone();
        *bad_md5.last_mut().unwrap() ^= 1;
        let mut bad_magic = good.clone();
        bad_magic[1] = b'{';
        let cut = good[..good.len() - 3].to_vec();
        for (what, data) in [
            ("bad MD5", bad_md5),
            ("bad magic", bad_magic),
            ("cut short", cut),
        ] {
            let mut batch = ShardBatch::new("s");
            batch.add(&data, ARRIVAL, "7");
            assert!(batch.records.is_empty(), "{what}");
            assert_eq!(batch.quarantined.len(), 1, "{what}");
            let q = &batch.quarantined[0];
            assert_eq!(q.reason_code, "bad_aggregate", "{what}: {}", q.reason);
            assert_eq!(q.raw, data, "{what}: kept whole");
        }
    }

    #[test]
    fn text_that_is_not_an_aggregate_stays_what_it_was() {
        let mut batch = ShardBatch::new("s");
        batch.add(b"{not json", ARRIVAL, "1");
        batch.add(b"\xf3\x89 not quite", ARRIVAL, "2");
        let codes: Vec<&str> = batch
            .quarantined
            .iter()
            .map(|q| q.reason_code.as_str())
            .collect();
        assert_eq!(codes, ["not_json", "not_json"]);
    }
}
