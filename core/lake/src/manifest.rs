//! The manifest beside each Parquet file compaction writes:
//! `part-N.parquet.json`, holding the file's record count, length and
//! CRC-32, and the JSON extracts (by path below the day's JSON folder,
//! `hour=HH/<file>`) whose records it holds.
//!
//! - The readers verify the length and CRC before reading a Parquet file
//!   that has a manifest: a flipped bit skips the file ("checksum
//!   mismatch") rather than change a figure. A Parquet file without one
//!   (another tool's) is read as it is.
//! - A JSON extract named in a manifest is not read again, so a
//!   `--keep-json` compaction does not count its records twice, while JSON
//!   that arrives later for a compacted day is read beside the Parquet.
//! - Compaction writes the manifest before it renames the Parquet file into
//!   place, and a manifest whose Parquet file is missing means nothing: a
//!   crash between the two leaves the JSON counted once.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartManifest {
    pub records: u64,
    pub bytes: u64,
    pub crc32: u32,
    /// `hour=HH/<file>` below the day's JSON folder.
    pub sources: Vec<String>,
}

/// The manifest's path for a Parquet file.
pub fn path_for(parquet: &Path) -> PathBuf {
    let mut name = parquet.file_name().unwrap_or_default().to_os_string();
    name.push(".json");
    parquet.with_file_name(name)
}

/// The manifest of a Parquet file: `Ok(None)` where it has none, an error
/// (the reason) where it cannot be read.
pub fn read(parquet: &Path) -> Result<Option<PartManifest>, String> {
    let path = path_for(parquet);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("its manifest {} is unreadable: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("its manifest {}: {e}", path.display())),
    }
}

/// The length and CRC-32 of a file, read through once.
pub fn checksum(path: &Path) -> std::io::Result<(u64, u32)> {
    let mut file = std::fs::File::open(path)?;
    let mut crc = flate2::Crc::new();
    let mut buf = vec![0u8; 1 << 20];
    // Counted here: the Crc's own count is 32 bits.
    let mut len = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok((len, crc.sum()));
        }
        len += n as u64;
        crc.update(&buf[..n]);
    }
}

/// Checks a Parquet file against its manifest, if it has one.
pub fn verify(parquet: &Path) -> Result<(), String> {
    let Some(m) = read(parquet)? else {
        return Ok(());
    };
    let (bytes, crc) = checksum(parquet).map_err(|e| e.to_string())?;
    if (bytes, crc) != (m.bytes, m.crc32) {
        return Err("checksum mismatch".into());
    }
    Ok(())
}
