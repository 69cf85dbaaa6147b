//! Readings past the memory budget: bucket files in a hidden folder of the
//! lake, split by device so each bucket holds whole devices, written and
//! read back as raw little-endian columns.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::{ABSENT, Batch, row_bytes};
use crate::{LakeError, io_at};

/// Where the range's columns are.
pub(super) enum Store {
    Memory(Batch),
    Disk(Spill),
}

/// Columns moved to disk: bucket `k` holds every reading of the devices
/// whose code is `k` modulo the bucket count, as batches back to back.
pub(super) struct Spill {
    _folder: tempfile::TempDir,
    pub(super) buckets: Vec<(PathBuf, BufWriter<std::fs::File>)>,
}

impl Spill {
    pub(super) fn new(lake: &Path, buckets: usize) -> Result<Self, LakeError> {
        let folder = tempfile::Builder::new()
            .prefix(".gridwatch-spill-")
            .tempdir_in(lake)
            .map_err(io_at(lake))?;
        let buckets = (0..buckets)
            .map(|k| {
                let path = folder.path().join(format!("bucket-{k}"));
                let file = std::fs::File::create(&path).map_err(io_at(&path))?;
                Ok((path, BufWriter::new(file)))
            })
            .collect::<Result<_, LakeError>>()?;
        Ok(Spill {
            _folder: folder,
            buckets,
        })
    }

    /// Splits a batch by device into the buckets.
    pub(super) fn write(&mut self, batch: &Batch) -> Result<(), LakeError> {
        let k = self.buckets.len();
        let mut parts: Vec<Batch> = (0..k)
            .map(|_| Batch::with_columns(batch.dims.len(), batch.extra.len()))
            .collect();
        for i in 0..batch.len() {
            parts[batch.device[i] as usize % k].push_row(batch, i);
        }
        for (part, (path, out)) in parts.iter().zip(&mut self.buckets) {
            if !part.is_empty() {
                write_batch(out, part).map_err(io_at(path))?;
            }
        }
        Ok(())
    }
}

fn write_batch(out: &mut impl Write, b: &Batch) -> std::io::Result<()> {
    out.write_all(&(b.len() as u64).to_le_bytes())?;
    out.write_all(&(b.dims.len() as u64).to_le_bytes())?;
    let mut buf = Vec::with_capacity(b.bytes());
    buf.extend(b.time_us.iter().flat_map(|v| v.to_le_bytes()));
    buf.extend(b.device.iter().flat_map(|v| v.to_le_bytes()));
    for col in &b.dims {
        buf.extend(col.iter().flat_map(|v| v.to_le_bytes()));
    }
    for col in [&b.watt, &b.energy, &b.voltage].into_iter().chain(&b.extra) {
        buf.extend(col.iter().flat_map(|v| v.to_le_bytes()));
    }
    out.write_all(&buf)
}

/// Reads a bucket file back into one batch with `dims` dimension columns
/// and `extra` measures beside the three (the same for every batch of a
/// range).
pub(super) fn read_bucket(path: &Path, dims: usize, extra: usize) -> Result<Batch, LakeError> {
    let file = std::fs::File::open(path).map_err(io_at(path))?;
    let mut input = BufReader::new(file);
    let mut out = Batch::with_columns(dims, extra);
    let mut word = [0u8; 8];
    loop {
        match input.read_exact(&mut word) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(io_at(path)(e)),
        }
        let n = u64::from_le_bytes(word) as usize;
        input.read_exact(&mut word).map_err(io_at(path))?;
        let written_dims = u64::from_le_bytes(word) as usize;
        let mut buf = vec![0u8; n * row_bytes(written_dims, extra)];
        input.read_exact(&mut buf).map_err(io_at(path))?;
        let (times, rest) = buf.split_at(n * 8);
        out.time_us.extend(times.chunks_exact(8).map(le_i64));
        let (devices, mut rest) = rest.split_at(n * 4);
        out.device.extend(devices.chunks_exact(4).map(le_u32));
        for d in 0..dims {
            if d < written_dims {
                let (col, r) = rest.split_at(n * 4);
                out.dims[d].extend(col.chunks_exact(4).map(le_u32));
                rest = r;
            } else {
                out.dims[d].extend(std::iter::repeat_n(ABSENT, n));
            }
        }
        let measures = [&mut out.watt, &mut out.energy, &mut out.voltage];
        for col in measures.into_iter().chain(&mut out.extra) {
            let (c, r) = rest.split_at(n * 8);
            col.extend(c.chunks_exact(8).map(|b| f64::from_bits(le_i64(b) as u64)));
            rest = r;
        }
    }
    Ok(out)
}

// The chunk sizes are exact, so the conversions below cannot fail; a
// zero stands in rather than a panic all the same.
fn le_i64(b: &[u8]) -> i64 {
    i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))
}
