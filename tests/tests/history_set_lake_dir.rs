//! The lake folder the page may set, through the dispatch the Tauri command
//! and the UI call: only a folder that already holds a lake (`readings/`
//! under it); a new one only as picked in the native folder dialog.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use gridwatch_session::{Headless, Session};
use gridwatch_simulator::Embedded;
use gridwatch_types::{ErrorCode, Reply, Request};

#[test]
fn the_page_may_only_name_a_folder_that_holds_a_lake() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("lake");
    let session = rt.block_on(async {
        Session::new(
            Embedded::open(&dir.path().join("c.sqlite"), 1).unwrap(),
            first.clone(),
        )
    });
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let desktop = Headless::default();
    let ask = |request| rt.block_on(session.dispatch(&desktop, request));
    let lake = dir.path().join("other-lake");
    std::fs::create_dir_all(lake.join("readings")).unwrap();

    for refused in [
        empty.display().to_string(),
        dir.path().join("missing").display().to_string(),
        file.display().to_string(),
        "/".to_string(),
        "/etc".to_string(),
    ] {
        let e = ask(Request::SetLakeDir(refused.clone())).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{refused}: {e:?}");
        assert_eq!(
            e.message,
            format!(
                "{refused} holds no lake (no readings/ folder in it): choose a new lake folder in the folder dialog"
            )
        );
        assert_eq!(session.lake_dir(), first, "{refused} was taken");
    }
    let e = ask(Request::SetLakeDir("  ".into())).unwrap_err();
    assert_eq!(e.message, "name the lake folder");

    // A folder that holds a lake.
    let answer = ask(Request::SetLakeDir(format!(" {} ", lake.display()))).unwrap();
    assert_eq!(answer, Reply::LakeDir(lake.display().to_string()));
    assert_eq!(session.lake_dir(), lake);

    // The folder dialog cancelled: nothing changes.
    let answer = ask(Request::ChooseLakeDir).unwrap();
    assert_eq!(answer, Reply::LakeDir(lake.display().to_string()));
    // A new, empty folder, as picked in the native dialog.
    desktop.pick(Some(empty.clone()));
    let answer = ask(Request::ChooseLakeDir).unwrap();
    assert_eq!(answer, Reply::LakeDir(empty.display().to_string()));
    assert_eq!(
        ask(Request::FleetStatus).map(|r| match r {
            Reply::FleetStatus(s) => s.lake_dir,
            other => panic!("{other:?}"),
        }),
        Ok(empty.display().to_string())
    );
    desktop.pick(Some(file.clone()));
    let e = ask(Request::ChooseLakeDir).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert_eq!(e.message, format!("{} is not a folder", file.display()));
    assert_eq!(session.lake_dir(), empty);
    rt.block_on(session.shutdown()).unwrap();
}
