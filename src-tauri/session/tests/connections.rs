//! The Connections window's Test button, against emulators on 127.0.0.1:
//! each failure comes back as the code the UI shows in the operator's
//! words (no credentials, access denied, not found, unreachable).
//! One test in this binary: it changes the process environment.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use gridwatch_session::Session;
use gridwatch_simulator::Embedded;
use gridwatch_tests::{EMULATOR_ENV, Kinesalite, Moto, create_stream};
use gridwatch_types::{ApiError, ConnectionTarget, ConnectionTest, ErrorCode};

/// The test as the UI sees its answer: coded for the window.
async fn tested(session: &Session, test: ConnectionTest) -> Result<String, ApiError> {
    session.test_connection(test).await.map_err(ApiError::from)
}

fn test(target: ConnectionTarget, endpoint: &str) -> ConnectionTest {
    ConnectionTest {
        target,
        profile: None,
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.into()),
    }
}

fn set_env(vars: &[(&str, &str)]) {
    for (k, v) in vars {
        // SAFETY: this binary holds one test; the runtime's threads do not
        // read these variables while they change (between awaits, below).
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(k, v)
        };
    }
}

#[test]
fn each_test_says_what_it_found_or_why_not() {
    // The emulators start before the environment loses its credentials
    // (moto's own boto3 reads AWS_PROFILE).
    let kinesalite = Kinesalite::start(None);
    let moto = Moto::start();
    let strict = Moto::start_with_auth();
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("none");
    let missing = missing.to_str().unwrap();
    // No credentials anywhere: no environment keys, no profile files, no
    // instance metadata.
    for (k, _) in EMULATOR_ENV {
        // SAFETY: as in set_env.
        #[allow(unsafe_code)]
        unsafe {
            std::env::remove_var(k)
        };
    }
    set_env(&[
        ("AWS_CONFIG_FILE", missing),
        ("AWS_SHARED_CREDENTIALS_FILE", missing),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_PROFILE", "gridwatch-no-such-profile"),
    ]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let session = rt.block_on(async {
        Session::new(
            Embedded::open(&dir.path().join("c.sqlite"), 1).unwrap(),
            dir.path().join("lake"),
        )
    });
    let kinesis = |stream: &str| ConnectionTarget::Kinesis {
        stream: stream.into(),
    };

    let e = rt
        .block_on(tested(
            &session,
            test(kinesis("grid"), &kinesalite.endpoint()),
        ))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NoCredentials, "{e:?}");
    assert!(
        e.message.starts_with("Kinesis: no AWS credentials"),
        "{e:?}"
    );

    // With credentials (the emulators' dummy keys, through the environment).
    // SAFETY: as in set_env.
    #[allow(unsafe_code)]
    unsafe {
        std::env::remove_var("AWS_PROFILE")
    };
    set_env(&EMULATOR_ENV);
    rt.block_on(create_stream(&kinesalite.client(), "grid", 2));
    let found = rt
        .block_on(tested(
            &session,
            test(kinesis("grid"), &kinesalite.endpoint()),
        ))
        .unwrap();
    assert_eq!(found, "stream grid: ACTIVE, 2 open shards");
    let e = rt
        .block_on(tested(
            &session,
            test(kinesis("nope"), &kinesalite.endpoint()),
        ))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{e:?}");
    // Nothing listens on port 9 of loopback.
    let e = rt
        .block_on(tested(
            &session,
            test(kinesis("grid"), "http://127.0.0.1:9"),
        ))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Unreachable, "{e:?}");
    let e = rt
        .block_on(tested(
            &session,
            test(kinesis("  "), &kinesalite.endpoint()),
        ))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput, "{e:?}");

    // S3: a bucket that is there, one that is not.
    rt.block_on(async {
        moto.s3()
            .create_bucket()
            .bucket("lake")
            .send()
            .await
            .unwrap();
    });
    let s3 = |bucket: &str| ConnectionTarget::S3 {
        bucket: bucket.into(),
        prefix: "readings/json/".into(),
    };
    let found = rt
        .block_on(tested(&session, test(s3("lake"), &moto.endpoint())))
        .unwrap();
    assert_eq!(
        found,
        "bucket lake: reachable, nothing under \"readings/json/\" yet"
    );
    let e = rt
        .block_on(tested(&session, test(s3("no-lake"), &moto.endpoint())))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{e:?}");

    // Athena: the table before and after athena-setup's work, and an
    // output location in a bucket that is not there.
    let athena = |output: &str| {
        ConnectionTarget::Athena(gridwatch_types::AthenaConnection {
            output: output.into(),
            ..Default::default()
        })
    };
    let e = rt
        .block_on(tested(
            &session,
            test(athena("s3://lake/results/"), &moto.endpoint()),
        ))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{e:?}");
    assert!(e.message.contains("Glue GetTable"), "{e:?}");
    rt.block_on(async {
        let options =
            gridwatch_core::aws::AwsOptions::from_form(&None, &None, &Some(moto.endpoint()));
        let conf = options.load().await;
        let glue = gridwatch_lake::athena::setup::glue_client(&conf);
        let definition =
            gridwatch_lake::athena::TableDefinition::seed("lake", "", "gridwatch_readings");
        gridwatch_lake::athena::setup::setup(&glue, "gridwatch", &definition)
            .await
            .unwrap();
    });
    let found = rt
        .block_on(tested(
            &session,
            test(athena("s3://lake/results/"), &moto.endpoint()),
        ))
        .unwrap();
    assert_eq!(
        found,
        "workgroup primary, table gridwatch.gridwatch_readings over s3://lake/readings/json/ \
         (8 measures, 5 dimensions), answers to s3://lake/results/"
    );
    let e = rt
        .block_on(tested(
            &session,
            test(athena("s3://no-results/x/"), &moto.endpoint()),
        ))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{e:?}");
    assert!(
        e.message
            .contains("S3 PutObject (Athena's output location)"),
        "{e:?}"
    );

    // Timestream: a table that is there, one that is not.
    moto.create_timestream_table("grid", "readings");
    let table = |t: &str| ConnectionTarget::Timestream {
        database: "grid".into(),
        table: t.into(),
    };
    let found = rt
        .block_on(tested(&session, test(table("readings"), &moto.endpoint())))
        .unwrap();
    assert_eq!(found, "table grid.readings: active");
    let e = rt
        .block_on(tested(&session, test(table("nope"), &moto.endpoint())))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{e:?}");

    // A service that checks the keys refuses the dummy ones.
    let e = rt
        .block_on(tested(&session, test(s3("lake"), &strict.endpoint())))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::AccessDenied, "{e:?}");
    rt.block_on(session.shutdown()).unwrap();
}
