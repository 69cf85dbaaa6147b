//! Files written whole: readers (and a crash) see the old file or the new
//! one, never half of either.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers this process's temporary files, so two writers of one path (two
/// threads, or two windows saving settings) never share a temporary.
static TEMPORARIES: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path`: into a hidden temporary file beside it (lake
/// readers skip hidden names) named for this process and write, flushed to
/// disk, then renamed over it, and the folder flushed so the rename itself
/// survives a power cut. Creates the folder. Of two concurrent writers,
/// the last rename wins whole.
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} names no file", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        TEMPORARIES.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        // create_new: a temporary left by a crashed process of the same pid
        // is never written into while another may rename it.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir.unwrap_or(Path::new(".")))
}

/// Flushes a folder's entries (names created, renamed or removed in it) to
/// disk: without it a rename can be lost in a power cut though the file's
/// bytes were flushed.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/settings.json");
        write_whole(&path, b"one").unwrap();
        write_whole(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["settings.json"]);
    }

    /// Two writers of one path at once (two windows saving the settings,
    /// two syncs saving a manifest) and a reader: every write succeeds,
    /// the reader only ever sees one writer's bytes whole, and no temporary
    /// stays. With one shared temporary name a writer's rename fails or
    /// moves the other's half-written bytes into place.
    #[test]
    fn concurrent_writers_never_leave_a_torn_file_or_a_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        // Large enough that a write takes several system calls' time.
        let a = vec![b'a'; 1 << 20];
        let b = vec![b'b'; 1 << 20];
        write_whole(&path, &a).unwrap();
        // Counted on drop, so a writer that panics also ends the reader.
        struct Finished<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Finished<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let finished = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            let writers: Vec<_> = [&a, &b]
                .into_iter()
                .map(|bytes| {
                    let (path, finished, a, b) = (&path, &finished, &a, &b);
                    s.spawn(move || {
                        let _finished = Finished(finished);
                        for _ in 0..100 {
                            write_whole(path, bytes).unwrap();
                            let got = std::fs::read(path).unwrap();
                            assert!(got == *a || got == *b, "a torn file of {} bytes", got.len());
                        }
                    })
                })
                .collect();
            let reader = s.spawn(|| {
                while finished.load(Ordering::Relaxed) < 2 {
                    let got = std::fs::read(&path).unwrap();
                    assert!(got == a || got == b, "a torn file of {} bytes", got.len());
                }
            });
            for w in writers {
                w.join().unwrap();
            }
            reader.join().unwrap();
        });
        let got = std::fs::read(&path).unwrap();
        assert!(got == a || got == b);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["manifest.json"]);
    }
}
