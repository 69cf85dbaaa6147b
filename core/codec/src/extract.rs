//! The framing of a lake extract as Firehose writes it: records one per
//! line, or objects back to back (Firehose without a delimiter), plain or
//! gzip (one member or many). This reads any [`Read`], so it builds and
//! fuzzes without a file system; the lake opens the files and names them.
//!
//! The input streams through a buffer of about one chunk plus one record,
//! so neither a large file nor a gzip bomb is ever held whole. A line that
//! cannot be read is reported with its number and the rest is read on.

use std::io::{BufRead, Read};

use crate::{Decoder, RecordRef};

/// The most one gzip extract may decompress to. Firehose buffers at most
/// 128 MiB before it compresses, so a real extract is far below this; a
/// file past it (a gzip bomb) is refused.
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// The most one gzip extract may decompress to, as a multiple of its own
/// size (but at least [`MAX_RECORD_BYTES`]). Telemetry JSON compresses
/// about tenfold; a bomb of zeros a thousandfold, and one of a repeated
/// record a few hundredfold, whose records would all be held at once
/// (a file's rows join the range whole). So the rows a file yields stay
/// in proportion to its size on disk, which the memory budget plans by.
pub const MAX_GZIP_RATIO: u64 = 100;

/// The longest record read as one: a telemetry record is a few hundred
/// bytes. A line longer than this is split into its objects as it streams
/// (back-to-back files are one long line); one object longer than this
/// refuses the file.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Bytes read (or decompressed) at a time.
const CHUNK: usize = 1 << 20;

/// Why an extract could not be read on. Records taken before it came
/// belong to a file that is not whole: the caller drops them.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("decompresses to more than {limit} bytes (a gzip bomb?)")]
    TooLarge { limit: u64 },
    #[error("line {line} holds a record longer than {limit} bytes")]
    RecordTooLong { line: usize, limit: usize },
}

/// A line (or object) that could not be read, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    /// 1-based line, or object number within a line of objects back to back.
    pub line: usize,
    pub reason: String,
}

/// Reads extracts; [`Default`] is what the lake uses.
#[derive(Debug, Clone, Copy)]
pub struct ExtractReader {
    chunk: usize,
}

impl Default for ExtractReader {
    fn default() -> Self {
        ExtractReader { chunk: CHUNK }
    }
}

impl ExtractReader {
    /// Reads `chunk` bytes at a time (at least one): what a record cut at
    /// a chunk's end does is then testable on small inputs.
    pub fn with_chunk(chunk: usize) -> Self {
        ExtractReader {
            chunk: chunk.max(1),
        }
    }

    /// Hands each record of one extract to `take`, borrowed from the
    /// buffer, and returns the lines it could not read. `size_on_disk` is
    /// the stored size, which bounds what gzip may expand to.
    pub fn for_each_record(
        &self,
        input: impl Read,
        size_on_disk: u64,
        take: impl FnMut(&RecordRef<'_>),
    ) -> Result<Vec<BadLine>, ReadError> {
        let limit = size_on_disk
            .saturating_mul(MAX_GZIP_RATIO)
            .max(MAX_RECORD_BYTES as u64)
            .min(MAX_DECOMPRESSED_BYTES);
        let mut raw = std::io::BufReader::with_capacity(self.chunk.max(2), input);
        let gzip = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let mut input: Box<dyn Read> = if gzip {
            Box::new(flate2::bufread::MultiGzDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        let mut lines = Lines {
            take,
            bad: Vec::new(),
        };
        let mut buf: Vec<u8> = Vec::with_capacity(2 * self.chunk);
        // buf[start..] is not consumed yet; buf[start..start + scanned] holds
        // no newline. `line` is the number of the line at `start`.
        let (mut start, mut scanned, mut line) = (0usize, 0usize, 1usize);
        let mut total = 0u64;
        // Within a line too long to be one record: the objects taken so far,
        // or, after bytes that are not JSON, None until the line ends.
        let mut long: Option<Option<usize>> = None;
        loop {
            buf.drain(..start);
            start = 0;
            let len = buf.len();
            buf.resize(len + self.chunk, 0);
            let n = loop {
                match input.read(&mut buf[len..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            };
            buf.truncate(len + n);
            total += n as u64;
            if gzip && total > limit {
                return Err(ReadError::TooLarge { limit });
            }
            let eof = n == 0;
            // The decoder borrows from the buffer, so it lasts one chunk.
            let mut decoder = Decoder::default();
            let d = &mut decoder;
            // Every whole line in the buffer.
            while let Some(i) = memchr::memchr(b'\n', &buf[start + scanned..]) {
                let end = start + scanned + i;
                let text = &buf[start..end];
                match long.take() {
                    None => lines.line(d, text, line),
                    Some(Some(taken)) => {
                        lines.objects(d, text, taken, true);
                    }
                    Some(None) => {}
                }
                start = end + 1;
                scanned = 0;
                line += 1;
            }
            scanned = buf.len() - start;
            if eof {
                let text = &buf[start..];
                match long {
                    None => lines.line(d, text, line),
                    Some(Some(taken)) => {
                        lines.objects(d, text, taken, true);
                    }
                    Some(None) => {}
                }
                return Ok(lines.bad);
            }
            // A line longer than any record: take its whole objects now.
            if scanned > MAX_RECORD_BYTES {
                if let Some(taken) = *long.get_or_insert(Some(0)) {
                    let (used, taken, ok) = lines.objects(d, &buf[start..], taken, false);
                    start += used;
                    scanned -= used;
                    long = Some(ok.then_some(taken));
                    if ok && scanned > MAX_RECORD_BYTES {
                        return Err(ReadError::RecordTooLong {
                            line,
                            limit: MAX_RECORD_BYTES,
                        });
                    }
                }
                if long == Some(None) {
                    // Not JSON: dropped up to the end of the line.
                    start = buf.len();
                    scanned = 0;
                }
            }
        }
    }
}

/// Decodes lines and objects of one extract for
/// [`ExtractReader::for_each_record`].
struct Lines<F> {
    take: F,
    bad: Vec<BadLine>,
}

impl<F: FnMut(&RecordRef<'_>)> Lines<F> {
    // Records in an extract carry their own time; arrival is long past, so
    // the future rule uses the record's own clock only as a bound.
    const ARRIVAL: i64 = i64::MAX / 2;

    fn bad_line(&mut self, line: usize, reason: String) {
        self.bad.push(BadLine { line, reason });
    }

    /// One whole line, numbered `n`.
    fn line<'a>(&mut self, decoder: &mut Decoder<'a>, text: &'a [u8], n: usize) {
        if text.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match decoder.decode(text, Self::ARRIVAL) {
            Ok(r) => (self.take)(r),
            // Firehose without a delimiter writes objects back to back,
            // which read as one line with trailing characters. Checked only
            // when a line fails, so whole lines cost one parse.
            Err(_) if has_adjacent_objects(text) => {
                self.objects(decoder, text, 0, true);
            }
            Err(e) => self.bad_line(n, e.to_string()),
        }
    }

    /// The objects back to back in `text`, numbered on from `taken`. With
    /// `end`, `text` is the rest of its line; without, an object cut at
    /// the end of `text` is left for the next call. Returns the bytes used,
    /// the objects taken so far, and false after bytes that are not JSON
    /// (reported; the rest of the line is not read).
    fn objects<'a>(
        &mut self,
        decoder: &mut Decoder<'a>,
        text: &'a [u8],
        mut taken: usize,
        end: bool,
    ) -> (usize, usize, bool) {
        // Not at the line's end, only up to the last `}`: the bytes after it
        // belong to an object cut by the chunk, and a cut in a number or a
        // `true` reads as a wrong value rather than as a short one.
        let text = if end {
            text
        } else {
            // `text` starts where an object must: anything else is not
            // JSON, however long (a bomb of zeros has no `}` at all).
            if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                self.bad_line(taken + 1, "not JSON: not an object".into());
                return (text.len(), taken, false);
            }
            &text[..memchr::memrchr(b'}', text).map_or(0, |i| i + 1)]
        };
        let mut stream =
            serde_json::Deserializer::from_slice(text).into_iter::<serde::de::IgnoredAny>();
        let mut from = 0;
        loop {
            let item = stream.next();
            let to = stream.byte_offset();
            match item {
                None => return (text.len(), taken, true),
                Some(Ok(_)) => {
                    taken += 1;
                    match decoder.decode(&text[from..to], Self::ARRIVAL) {
                        Ok(r) => (self.take)(r),
                        Err(e) => self.bad_line(taken, e.to_string()),
                    }
                    from = to;
                }
                Some(Err(e)) if e.is_eof() && !end => return (from, taken, true),
                Some(Err(e)) => {
                    self.bad_line(taken + 1, format!("not JSON: {e}"));
                    return (text.len(), taken, false);
                }
            }
        }
    }
}

/// Whether a line holds `}{` outside strings: two objects back to back.
pub fn has_adjacent_objects(line: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut last_close = false;
    for &b in line {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                last_close = false;
            }
            b'}' => last_close = true,
            b'{' if last_close => return true,
            b if b.is_ascii_whitespace() => {}
            _ => last_close = false,
        }
    }
    false
}
