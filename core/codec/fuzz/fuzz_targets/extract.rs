//! Any bytes as a lake extract: no panic, and the framing does not depend
//! on where the reads fall. The same bytes read a chunk of a few bytes at
//! a time and a megabyte at a time give the same records and the same bad
//! lines, and read through gzip they give them again.
#![no_main]

use std::io::Write;

use gridwatch_codec::Record;
use gridwatch_codec::extract::{BadLine, ExtractReader};
use libfuzzer_sys::fuzz_target;

fn read(reader: ExtractReader, bytes: &[u8]) -> Option<(Vec<Record>, Vec<BadLine>)> {
    let mut records = Vec::new();
    let bad = reader
        .for_each_record(bytes, bytes.len() as u64, |r| {
            records.push(r.clone().into_record())
        })
        .ok()?;
    Some((records, bad))
}

fuzz_target!(|input: (u8, &[u8])| {
    let (chunk, bytes) = input;
    let whole = read(ExtractReader::default(), bytes);
    let small = read(ExtractReader::with_chunk(usize::from(chunk % 16) + 1), bytes);
    assert_eq!(whole, small, "chunk {}", chunk % 16 + 1);
    // Gzip of bytes that already look like gzip would be read as gzip
    // twice over: only plain input is compared with its gzip.
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).expect("writing to a Vec cannot fail");
        let gz = gz.finish().expect("writing to a Vec cannot fail");
        assert_eq!(read(ExtractReader::default(), &gz), whole);
    }
});
