//! `gridwatch lake sync` against keys written by someone hostile, on moto
//! S3: nothing lands outside the lake folder, and every key skipped is
//! named with its reason.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const BUCKET: &str = "utility-lake";
const DAY: &str = "readings/json/year=2026/month=03/day=01";
// 2026-03-01T00:00:00Z and a day later, in epoch ms.
const FROM_MS: i64 = 1_772_323_200_000;
const TO_MS: i64 = FROM_MS + 86_400_000;

fn put(moto: &gridwatch_tests::Moto, keys: &[String]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s3 = moto.s3();
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        for key in keys {
            s3.put_object()
                .bucket(BUCKET)
                .key(key)
                .body(
                    b"{\"Time\": 1772348400000, \"DeviceID\": \"m1\", \"watt_measure\": 5}\n"
                        .to_vec()
                        .into(),
                )
                .send()
                .await
                .unwrap();
        }
        // The keys as the server lists them: the hostile ones must be there
        // as written, or the test would prove nothing.
        let listed: BTreeSet<String> = s3
            .list_objects_v2()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap()
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        assert_eq!(
            listed,
            keys.iter().cloned().collect(),
            "moto lists the keys as put"
        );
    });
}

fn sync(moto: &gridwatch_tests::Moto, dest: &Path) -> (String, String) {
    sync_through(&moto.endpoint(), dest)
}

fn sync_through(endpoint: &str, dest: &Path) -> (String, String) {
    let out = Command::new(gridwatch_tests::gridwatch_bin())
        .args([
            "lake",
            "sync",
            "--bucket",
            BUCKET,
            "--prefix",
            "firehose/",
            "--dir",
        ])
        .arg(dest)
        .args([
            "--from",
            &FROM_MS.to_string(),
            "--to",
            &TO_MS.to_string(),
            "--endpoint-url",
            endpoint,
        ])
        .envs(gridwatch_tests::EMULATOR_ENV)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    (String::from_utf8(out.stdout).unwrap(), err)
}

/// The files below `root`, as relative paths in text.
fn files_under(root: &Path) -> Vec<String> {
    gridwatch_tests::files_under(root)
        .iter()
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn hostile_keys_are_skipped_and_named_and_nothing_is_written_outside_the_lake() {
    let moto = gridwatch_tests::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("lake");
    let outside = dir.path().join("outside");
    let linked = dir.path().join("linked");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(&linked).unwrap();
    // An hour folder in the lake that is a link to elsewhere.
    std::fs::create_dir_all(dest.join(DAY)).unwrap();
    std::os::unix::fs::symlink(&linked, dest.join(DAY).join("hour=08")).unwrap();

    // Enough `..` to climb from the hour folder to /, then the absolute
    // path of a file outside the lake: the exact path the old sync wrote.
    let hour_dir = dest.join(DAY).join("hour=07");
    let ups = "../".repeat(hour_dir.components().count() - 1);
    let target: PathBuf = outside.join("escaped");
    let traversal = format!(
        "firehose/{DAY}/hour=07/{ups}{}",
        target.display().to_string().trim_start_matches('/')
    );
    let good = format!("firehose/{DAY}/hour=07/good-1");
    let link_reason = format!(
        "{} is a symbolic link",
        dest.join(DAY).join("hour=08").display()
    );
    let rejected: Vec<(String, &str)> = vec![
        (traversal.clone(), "the key has a \"..\" path part"),
        (
            format!("firehose/{DAY}/hour=07/./dot"),
            "the key has a \".\" path part",
        ),
        (
            format!("firehose/{DAY}/hour=07//double"),
            "the key has an empty path part (// or a trailing /)",
        ),
        (
            format!("firehose/{DAY}/hour=07/..\\..\\..\\back"),
            "the key holds a backslash",
        ),
        (
            format!("firehose/{DAY}/hour=4294967295/wide"),
            "partition \"hour=4294967295\": hour must be a number from 0 to 23",
        ),
        (
            format!("firehose/{DAY}/hour=24/late"),
            "partition \"hour=24\": hour must be a number from 0 to 23",
        ),
        (
            format!("firehose/{DAY}/hour=07/.gridwatch-sync.json"),
            "a hidden file name (the lake's own temporaries are hidden)",
        ),
        (format!("firehose/{DAY}/hour=08/through-link"), &link_reason),
    ];
    let mut keys: Vec<String> = rejected.iter().map(|(k, _)| k.clone()).collect();
    keys.push(good.clone());
    put(&moto, &keys);

    let (out, err) = sync(&moto, &dest);
    assert!(
        out.contains("1 files in range, 1 downloaded")
            && out.contains(&format!("{} keys skipped", rejected.len())),
        "{out}"
    );
    for (key, reason) in &rejected {
        let line = format!("warning: skipped s3://{BUCKET}/{key}: {reason}");
        assert!(
            err.lines().any(|l| l == line),
            "missing {line:?} in:\n{err}"
        );
    }
    // Nothing outside: not the traversal's exact target, not through the
    // link, and in the lake only the good file, the manifest and the link.
    assert!(!target.exists(), "{} was written", target.display());
    assert_eq!(files_under(&outside), Vec::<String>::new());
    assert_eq!(files_under(&linked), Vec::<String>::new());
    assert_eq!(
        files_under(&dest),
        vec![
            ".gridwatch-sync.json".to_string(),
            format!("{DAY}/hour=07/good-1"),
            format!("{DAY}/hour=08"),
        ]
    );
}

/// A compacted day's extracts are not fetched again: compaction removed
/// them from the folder, but their records are in its Parquet file. Before,
/// every sync downloaded the compacted days anew.
#[test]
fn extracts_compacted_into_parquet_are_not_fetched_again() {
    let moto = gridwatch_tests::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("lake");
    let keys: Vec<String> = ["a", "b"]
        .iter()
        .map(|n| format!("firehose/{DAY}/hour=07/{n}"))
        .collect();
    put(&moto, &keys);
    let (out, _) = sync(&moto, &dest);
    assert!(out.contains("2 files in range, 2 downloaded"), "{out}");
    let compacted = gridwatch_tests::gridwatch_ok(
        &dir.path().join("c.sqlite"),
        &["lake", "compact", "--lake", dest.to_str().unwrap()],
    );
    assert!(
        compacted.contains("compacted 1 days: 2 records"),
        "{compacted}"
    );
    assert!(!dest.join(DAY).join("hour=07/a").exists());
    let (again, _) = sync(&moto, &dest);
    assert!(
        again.contains("2 files in range, 0 downloaded (0 bytes), 2 already here"),
        "{again}"
    );
    assert!(!dest.join(DAY).join("hour=07/a").exists());
}

#[test]
fn throttled_listing_and_downloads_are_retried_and_every_file_arrives() {
    let moto = gridwatch_tests::Moto::start();
    let keys: Vec<String> = (0..3)
        .map(|h| format!("firehose/{DAY}/hour={h:02}/part-{h}.json"))
        .collect();
    put(&moto, &keys);
    // The first listing and the first two downloads are throttled (S3's
    // 503 SlowDown); each is tried again.
    let rule: std::sync::Arc<gridwatch_tests::FaultRule> =
        std::sync::Arc::new(|op: &str, n: u64| match (op, n) {
            ("ListObjectsV2", 1) | ("GetObject", 1 | 2) => gridwatch_tests::Fault::new("SlowDown"),
            _ => None,
        });
    let proxy = gridwatch_tests::FaultProxy::start(moto.port, rule);
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let (out, err) = sync_through(&proxy.endpoint(), &lake);
    assert_eq!(proxy.injected.load(std::sync::atomic::Ordering::SeqCst), 3);
    let ops: Vec<String> = proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|(op, _)| op.clone())
        .collect();
    let count = |name: &str| ops.iter().filter(|o| *o == name).count();
    assert_eq!(count("ListObjectsV2"), 2, "{ops:?}");
    assert_eq!(count("GetObject"), 5, "{ops:?}");
    let want: Vec<String> = (0..3)
        .map(|h| format!("{DAY}/hour={h:02}/part-{h}.json"))
        .collect();
    let mut got = files_under(&lake);
    got.retain(|f| !f.ends_with(".gridwatch-sync.json"));
    assert_eq!(got, want, "{out}\n{err}");
}
