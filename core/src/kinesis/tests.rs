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
