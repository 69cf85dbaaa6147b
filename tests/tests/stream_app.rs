//! The app following a stream whose cache another process has locked: the
//! session's shard status says why following stopped, on every shard, which
//! the status bar shows with a Retry. Against kinesalite on 127.0.0.1.
//! One test in this binary: it sets the process's environment.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::time::{Duration, Instant};

use gridwatch_session::Session;
use gridwatch_simulator::Embedded;
use gridwatch_tests::{EMULATOR_ENV, Kinesalite, create_stream, put_records};
use gridwatch_types::{Mode, StreamConnection};

#[test]
fn the_app_shows_why_following_stopped() {
    for (k, v) in EMULATOR_ENV {
        // SAFETY: this binary holds one test and no thread has started yet
        // that reads the environment.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(k, v)
        };
    }
    let kinesalite = Kinesalite::start(None);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("app.sqlite");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = kinesalite.client();
        create_stream(&client, "app-locked", 2).await;
        let session = Session::new(Embedded::open(&cache, 2).unwrap(), dir.path().join("lake"));
        let status = session
            .connect_stream(StreamConnection {
                stream: "app-locked".into(),
                endpoint_url: Some(kinesalite.endpoint()),
                ..StreamConnection::default()
            })
            .await
            .unwrap();
        assert_eq!(status.mode, Mode::Kinesis);

        let holder = rusqlite::Connection::open(&cache).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        // The follower reads from LATEST: keep putting until what it read
        // has met the lock (a hang guard, not a timing claim).
        let start = Instant::now();
        let shards = loop {
            let items: Vec<(String, Vec<u8>)> = (0..8)
                .map(|d| {
                    let device = format!("meter-{d}");
                    let data = format!(
                        r#"{{"Time": 1700000000000, "DeviceID": "{device}", "watt_measure": 5}}"#
                    );
                    (device, data.into_bytes())
                })
                .collect();
            put_records(&client, "app-locked", &items).await;
            let shards = session.shards().await;
            if shards.len() == 2 && shards.iter().all(|s| s.last_error.is_some()) {
                break shards;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the failure never showed: {shards:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        for s in &shards {
            let e = s.last_error.as_deref().unwrap();
            assert!(
                e.contains("ingest stopped: the cache is locked by another process")
                    && e.contains("database is locked"),
                "{}: {e}",
                s.shard_id
            );
        }
        // The error stays: no reader is left to clear it.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            session
                .shards()
                .await
                .iter()
                .all(|s| s.last_error.is_some())
        );

        // Retry, as the status bar's button does, once the lock is gone:
        // following resumes and the error is gone.
        holder.execute_batch("ROLLBACK").unwrap();
        drop(holder);
        session
            .connect_stream(StreamConnection {
                stream: "app-locked".into(),
                endpoint_url: Some(kinesalite.endpoint()),
                ..StreamConnection::default()
            })
            .await
            .unwrap();
        let start = Instant::now();
        loop {
            put_records(
                &client,
                "app-locked",
                &[(
                    "meter-0".into(),
                    br#"{"Time": 1700000001000, "DeviceID": "meter-0", "watt_measure": 6}"#
                        .to_vec(),
                )],
            )
            .await;
            let live = gridwatch_session::current(&session.active_handle());
            if live.stats().records_ingested > 0 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "nothing ingested after Retry"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let shards = session.shards().await;
        assert_eq!(shards.len(), 2);
        assert!(shards.iter().all(|s| s.last_error.is_none()), "{shards:?}");
        session.shutdown().await.unwrap();
    });
}
