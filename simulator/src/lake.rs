//! The lake sink: extracts written as Kinesis Data Firehose writes them to
//! S3, into a local folder.
//!
//! `DIR/readings/json/year=YYYY/month=MM/day=DD/hour=HH/<name>-<seq>-<yyyy-MM-dd-HH-mm-ss>-<uuid>`,
//! newline-delimited JSON (or, like Firehose without a delimiter, objects
//! written back to back), optionally gzip. Records go to the hour partition
//! of their own time; a file is closed when its hour ends or its buffer is
//! full, and written under a temporary name first, so a reader never sees
//! half a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// The layout the lake reads, from the one place that spells it.
use gridwatch_core::codec::partition as layout;
use gridwatch_core::time::{MICROS_PER_HOUR, civil};

use crate::run::{RecordSink, SinkError};
use crate::signal::Rng;

#[derive(Debug, Clone)]
pub struct LakeOptions {
    pub dir: PathBuf,
    /// The delivery stream's name, first in every file name.
    pub name: String,
    pub gzip: bool,
    /// A newline after each record (Firehose writes none unless told to).
    pub newline_delimited: bool,
    /// Firehose's buffer size: a file is closed when it reaches this.
    pub buffer_bytes: usize,
    /// Firehose's buffer interval, for live fleets.
    pub buffer_interval: Duration,
}

impl LakeOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LakeOptions {
            dir: dir.into(),
            name: "gridwatch-readings".into(),
            gzip: false,
            newline_delimited: true,
            buffer_bytes: 5 * 1024 * 1024,
            buffer_interval: Duration::from_secs(300),
        }
    }
}

/// Where a lake's JSON extracts live under its folder.
pub fn json_root(dir: &Path) -> PathBuf {
    dir.join(layout::JSON_DIR)
}

/// The partition folder of an hour.
pub fn partition(root: &Path, hour_start_us: i64) -> PathBuf {
    root.join(layout::hour_path_at(hour_start_us))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LakeStats {
    pub files: u64,
    pub records: u64,
    pub bytes: u64,
}

pub struct LakeSink {
    options: LakeOptions,
    hour: Option<i64>,
    buffer: Vec<u8>,
    first_us: i64,
    opened: Instant,
    seq: u64,
    rng: Rng,
    stats: LakeStats,
    written: Vec<PathBuf>,
}

impl LakeSink {
    pub fn new(options: LakeOptions) -> Self {
        let seed = gridwatch_core::time::now_us() as u64 ^ u64::from(std::process::id());
        LakeSink {
            options,
            hour: None,
            buffer: Vec::new(),
            first_us: 0,
            opened: Instant::now(),
            seq: 0,
            rng: Rng::new(seed),
            stats: LakeStats::default(),
            written: Vec::new(),
        }
    }

    pub fn stats(&self) -> LakeStats {
        self.stats
    }

    /// Removes every file this sink wrote: a cancelled fill leaves the lake
    /// as it found it.
    pub fn remove_written(&mut self) -> std::io::Result<()> {
        for path in self.written.drain(..) {
            std::fs::remove_file(&path)?;
        }
        self.buffer.clear();
        Ok(())
    }

    fn start_file(&mut self, hour: i64, time_us: i64) {
        self.hour = Some(hour);
        self.first_us = time_us;
        self.opened = Instant::now();
    }

    fn write_file(&mut self) -> Result<(), SinkError> {
        let Some(hour) = self.hour else { return Ok(()) };
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.seq += 1;
        let c = civil(self.first_us);
        let dir = partition(&json_root(&self.options.dir), hour);
        let uuid = self.rng.uuid();
        let name = format!(
            "{}-{}-{:04}-{:02}-{:02}-{:02}-{:02}-{:02}-{}{}",
            self.options.name,
            self.seq,
            c.year,
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            uuid,
            if self.options.gzip { ".gz" } else { "" }
        );
        let path = dir.join(&name);
        let io = |source| SinkError::Lake {
            path: path.clone(),
            source,
        };
        let gzipped;
        let bytes = if self.options.gzip {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&self.buffer).map_err(io)?;
            gzipped = gz.finish().map_err(io)?;
            &gzipped
        } else {
            &self.buffer
        };
        gridwatch_core::files::write_whole(&path, bytes).map_err(io)?;
        self.stats.files += 1;
        self.stats.bytes += bytes.len() as u64;
        self.written.push(path);
        // The buffer keeps its capacity: the next file fills it again.
        self.buffer.clear();
        Ok(())
    }
}

impl RecordSink for LakeSink {
    async fn send(&mut self, key: &str, data: &[u8], time_us: i64) -> Result<(), SinkError> {
        let mut scratch = Vec::new();
        self.send_encoded(key, time_us, &mut scratch, |out| {
            out.extend_from_slice(data)
        })
        .await
    }

    async fn send_encoded(
        &mut self,
        _key: &str,
        time_us: i64,
        scratch: &mut Vec<u8>,
        encode: impl FnOnce(&mut Vec<u8>) + Send,
    ) -> Result<(), SinkError> {
        let hour = time_us.div_euclid(MICROS_PER_HOUR) * MICROS_PER_HOUR;
        if self.hour != Some(hour) {
            self.write_file()?;
            self.start_file(hour, time_us);
        }
        if self.buffer.capacity() == 0 {
            // One allocation for the life of the sink rather than a dozen
            // doublings (and copies) up to the file size.
            self.buffer.reserve(self.options.buffer_bytes);
        }
        let start = self.buffer.len();
        if start == 0 {
            // A file is named for its first record (after an idle write too).
            self.first_us = time_us;
        }
        encode(&mut self.buffer);
        if start > 0 && self.buffer.len() + 1 > self.options.buffer_bytes {
            // The file is full without this record: it starts the next.
            scratch.clear();
            scratch.extend_from_slice(self.buffer.get(start..).unwrap_or_default());
            self.buffer.truncate(start);
            self.write_file()?;
            self.start_file(hour, time_us);
            self.buffer.extend_from_slice(scratch);
        }
        if self.options.newline_delimited {
            self.buffer.push(b'\n');
        }
        self.stats.records += 1;
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.write_file()
    }

    async fn idle(&mut self) -> Result<(), SinkError> {
        if self.opened.elapsed() >= self.options.buffer_interval {
            self.write_file()?;
            self.opened = Instant::now();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-11-14T22:00:00Z, the hour of the tests' first records.
    const T0_HOUR: i64 = 1_699_999_200_000_000;

    #[tokio::test]
    async fn files_land_in_their_hour_partition_with_firehose_names() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = LakeSink::new(LakeOptions::new(dir.path()));
        let t0 = 1_700_000_000_000_000; // 2023-11-14T22:13:20Z
        sink.send("a", b"{\"x\":1}", t0).await.unwrap();
        sink.send("a", b"{\"x\":2}", t0 + 1).await.unwrap();
        sink.send("a", b"{\"x\":3}", t0 + MICROS_PER_HOUR)
            .await
            .unwrap();
        sink.flush().await.unwrap();
        let h22 = partition(&json_root(dir.path()), T0_HOUR);
        let h23 = partition(&json_root(dir.path()), T0_HOUR + MICROS_PER_HOUR);
        // Firehose's own layout, written out.
        let layout = "readings/json/year=2023/month=11/day=14/hour=";
        assert_eq!(h22, dir.path().join(format!("{layout}22")));
        assert_eq!(h23, dir.path().join(format!("{layout}23")));
        let files: Vec<_> = std::fs::read_dir(&h22)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        let name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.starts_with("gridwatch-readings-1-2023-11-14-22-13-20-"),
            "{name}"
        );
        assert_eq!(
            std::fs::read_to_string(&files[0]).unwrap(),
            "{\"x\":1}\n{\"x\":2}\n"
        );
        assert_eq!(std::fs::read_dir(&h23).unwrap().count(), 1);
        assert_eq!(sink.stats().files, 2);
    }

    /// Records written straight into the file's buffer: a record that
    /// would take the file past its size starts the next file whole.
    #[tokio::test]
    async fn a_full_file_is_cut_between_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = LakeOptions::new(dir.path());
        opts.buffer_bytes = 45;
        let mut sink = LakeSink::new(opts);
        let mut scratch = Vec::new();
        let t0 = 1_700_000_000_000_000;
        for i in 0..10 {
            let record = format!("{{\"n\":{i},\"pad\":\"xxxx\"}}"); // 20 bytes
            let encode = |out: &mut Vec<u8>| out.extend_from_slice(record.as_bytes());
            sink.send_encoded("a", t0 + i, &mut scratch, encode)
                .await
                .unwrap();
        }
        sink.flush().await.unwrap();
        let h22 = partition(&json_root(dir.path()), T0_HOUR);
        let mut files: Vec<_> = std::fs::read_dir(&h22)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        // Named by their sequence number, the second part of the name.
        files.sort_by_key(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            name.split('-').nth(2).unwrap().parse::<u32>().unwrap()
        });
        let texts: Vec<String> = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        // Lines of 21 bytes: two fit in 45, a third would not.
        let line = |i: usize| format!("{{\"n\":{i},\"pad\":\"xxxx\"}}\n");
        assert_eq!(texts.len(), 5);
        for (i, text) in texts.iter().enumerate() {
            assert_eq!(text, &format!("{}{}", line(2 * i), line(2 * i + 1)));
        }
        assert_eq!(sink.stats().records, 10);
    }

    #[tokio::test]
    async fn gzip_and_back_to_back_objects() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = LakeOptions::new(dir.path());
        opts.gzip = true;
        opts.newline_delimited = false;
        let mut sink = LakeSink::new(opts);
        sink.send("a", b"{\"x\":1}", 0).await.unwrap();
        sink.send("a", b"{\"x\":2}", 1).await.unwrap();
        sink.flush().await.unwrap();
        let part = dir
            .path()
            .join("readings/json/year=1970/month=01/day=01/hour=00");
        let file = std::fs::read_dir(&part)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        assert!(file.to_str().unwrap().ends_with(".gz"));
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(file).unwrap()),
            &mut text,
        )
        .unwrap();
        assert_eq!(text, "{\"x\":1}{\"x\":2}");
    }
}
