use super::*;

#[test]
fn day_prefixes_cover_the_range() {
    let from = gridwatch_core::time::from_civil(2023, 11, 14, 22);
    let to = gridwatch_core::time::from_civil(2023, 11, 16, 1);
    let days: Vec<String> = day_prefixes(from, to).into_iter().map(|d| d.1).collect();
    assert_eq!(
        days,
        vec![
            "readings/json/year=2023/month=11/day=14/",
            "readings/json/year=2023/month=11/day=15/",
            "readings/json/year=2023/month=11/day=16/"
        ]
    );
    assert_eq!(join_key("/fh/", "x"), "fh/x");
    assert_eq!(join_key("", "x"), "x");
}

/// A range past 9999 is refused before any request: `--to
/// 99999999999999999` once listed a prefix for each of 10^8 days.
#[test]
fn a_range_outside_1970_to_9999_is_refused_before_any_request() {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        // Nothing listens here: a request would fail otherwise.
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let client = Client::from_conf(config);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (from, to) in [
        (0, i64::MAX),
        (-1, 1),
        (0, gridwatch_types::time::MAX_US + 1),
    ] {
        let err = rt
            .block_on(sync(
                &client,
                "b",
                "",
                from,
                to,
                dir.path(),
                Arc::new(()),
                Arc::default(),
            ))
            .unwrap_err();
        assert!(matches!(err, SyncError::Range(_)), "{err}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn only_keys_of_the_lake_layout_under_the_folder_get_a_local_path() {
    let dir = tempfile::tempdir().unwrap();
    let day = "readings/json/year=2026/month=03/day=01/";
    let (path, hour) = local_path(dir.path(), day, &format!("{day}hour=07/f-1")).unwrap();
    assert_eq!(
        (path, hour),
        (dir.path().join(format!("{day}hour=07/f-1")), 7)
    );
    let escape = format!("{day}hour=07/{}tmp/x", "../".repeat(12));
    for (rel, reason) in [
        (escape.as_str(), "the key has a \"..\" path part"),
        (
            &format!("{day}hour=07/./f"),
            "the key has a \".\" path part",
        ),
        (
            &format!("{day}hour=07//f"),
            "the key has an empty path part (// or a trailing /)",
        ),
        (
            &format!("{day}hour=07/"),
            "the key has an empty path part (// or a trailing /)",
        ),
        (
            &format!("{day}hour=07/a\\..\\..\\f"),
            "the key holds a backslash",
        ),
        (&format!("{day}hour=07/f\0"), "the key holds a NUL"),
        (
            &format!("{day}hour=24/f"),
            "partition \"hour=24\": hour must be a number from 0 to 23",
        ),
        (
            &format!("{day}hour=4294967295/f"),
            "partition \"hour=4294967295\": hour must be a number from 0 to 23",
        ),
        (
            &format!("{day}minute=07/f"),
            "\"minute=07\" is not an hour= partition",
        ),
        (
            &format!("{day}hour=07/.gridwatch-sync.json"),
            "a hidden file name (the lake's own temporaries are hidden)",
        ),
        (
            &format!("{day}f"),
            "not an extract: the lake keeps readings/json/year=/month=/day=/hour=/<file>",
        ),
        (
            &format!("{day}hour=07/deeper/f"),
            "not an extract: the lake keeps readings/json/year=/month=/day=/hour=/<file>",
        ),
        (
            "readings/json/year=2026/month=03/day=02/hour=07/f",
            "not under readings/json/year=2026/month=03/day=01/",
        ),
    ] {
        assert_eq!(
            local_path(dir.path(), day, rel),
            Err(reason.to_owned()),
            "{rel:?}"
        );
    }
    // A link planted in the lake folder is never written through.
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("readings/json/year=2026/month=03")).unwrap();
    std::os::unix::fs::symlink(
        outside.path(),
        dir.path().join("readings/json/year=2026/month=03/day=01"),
    )
    .unwrap();
    assert_eq!(
        local_path(dir.path(), day, &format!("{day}hour=07/f-1")),
        Err(format!(
            "{} is a symbolic link",
            dir.path()
                .join("readings/json/year=2026/month=03/day=01")
                .display()
        ))
    );
}
