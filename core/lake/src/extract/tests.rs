use super::*;
use gridwatch_core::codec::extract::has_adjacent_objects;
use gridwatch_core::time::from_civil;

const REC: &str = r#"{"Time": 1700000000000, "DeviceID": "m1", "watt_measure": 5, "Region": "n"}"#;

#[test]
fn newline_delimited_back_to_back_and_gzip_read_alike() {
    let dir = tempfile::tempdir().unwrap();
    let nd = dir.path().join("nd");
    std::fs::write(&nd, format!("{REC}\n{REC}\n")).unwrap();
    let b2b = dir.path().join("b2b");
    std::fs::write(&b2b, format!("{REC}{REC}")).unwrap();
    let gz = dir.path().join("gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, format!("{REC}\n{REC}").as_bytes()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    for p in [&nd, &b2b, &gz] {
        let (records, bad) = read_json(p).unwrap();
        assert_eq!(records.len(), 2, "{}", p.display());
        assert!(bad.is_empty());
    }
}

#[test]
fn bad_lines_are_reported_with_file_and_line_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, format!("{REC}\n{{oops\n\n{REC}\n{{\"Time\": 1}}\n")).unwrap();
    let (records, bad) = read_json(&f).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(bad.len(), 2);
    assert_eq!(bad[0].line, 2);
    assert_eq!(bad[1].line, 5);
    assert!(
        bad[1].to_string().contains(":5: missing \"DeviceID\""),
        "{}",
        bad[1]
    );
}

#[test]
fn strings_with_braces_are_not_mistaken_for_adjacent_objects() {
    assert!(!has_adjacent_objects(br#"{"a": "}{"}"#));
    assert!(has_adjacent_objects(br#"{"a": 1}{"a": 2}"#));
    assert!(has_adjacent_objects(br#"{"a": 1} {"a": 2}"#));
}

#[test]
fn selection_prunes_by_partition_and_prefers_parquet_days() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    for (d, h) in [(14, 22), (14, 23), (15, 0), (16, 5)] {
        let p = lake.join(format!(
            "readings/json/year=2023/month=11/day={d:02}/hour={h:02}"
        ));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("f"), REC).unwrap();
        std::fs::write(p.join(".f.tmp"), "partial").unwrap();
    }
    let pq = lake.join("readings/parquet/year=2023/month=11/day=15");
    std::fs::create_dir_all(&pq).unwrap();
    std::fs::write(pq.join("part-0.parquet"), b"").unwrap();
    let from = from_civil(2023, 11, 14, 23);
    let to = from_civil(2023, 11, 16, 0);
    let sel = select(lake, from, to).unwrap();
    let json: Vec<String> = sel
        .json
        .iter()
        .map(|p| p.strip_prefix(lake).unwrap().display().to_string())
        .collect();
    assert_eq!(
        json,
        vec!["readings/json/year=2023/month=11/day=14/hour=23/f"]
    );
    assert_eq!(sel.parquet.len(), 1);
}

/// Folder names out of range are skipped and named, never turned into
/// a time: `hour=4294967295` overflowed the hour's microseconds, and
/// `year=300000` the day's.
#[test]
fn partition_folders_out_of_range_are_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    let good = "readings/json/year=2023/month=11/day=15/hour=00";
    let bad = [
        "readings/json/year=2023/month=11/day=15/hour=4294967295",
        "readings/json/year=2023/month=11/day=15/hour=24",
        "readings/json/year=300000/month=11/day=15/hour=00",
        "readings/json/year=2023/month=13/day=15/hour=00",
        "readings/json/year=2023/month=11/day=00/hour=00",
        "readings/json/year=2023/month=02/day=30/hour=00",
        "readings/parquet/year=99999999999/month=11/day=15",
    ];
    for p in std::iter::once(good).chain(bad) {
        std::fs::create_dir_all(lake.join(p)).unwrap();
        std::fs::write(lake.join(p).join("f"), REC).unwrap();
    }
    let sel = select(lake, 0, gridwatch_types::time::MAX_US).unwrap();
    assert_eq!(sel.json, vec![lake.join(good).join("f")]);
    assert!(sel.parquet.is_empty());
    let mut skipped: Vec<String> = sel
        .skipped
        .iter()
        .map(|s| s.path.strip_prefix(lake).unwrap().display().to_string())
        .collect();
    skipped.sort();
    let mut want: Vec<String> = vec![
        "readings/json/year=2023/month=11/day=15/hour=4294967295".into(),
        "readings/json/year=2023/month=11/day=15/hour=24".into(),
        "readings/json/year=300000".into(),
        "readings/json/year=2023/month=13".into(),
        "readings/json/year=2023/month=11/day=00".into(),
        "readings/json/year=2023/month=02/day=30".into(),
        "readings/parquet/year=99999999999".into(),
    ];
    want.sort();
    assert_eq!(skipped, want);
    let reason = &sel
        .skipped
        .iter()
        .find(|s| s.path.ends_with("day=30"))
        .unwrap()
        .reason;
    assert_eq!(reason, "partition year=2023/month=02/day=30: no such day");
    // A range past 9999 is refused before any folder is read.
    assert_eq!(
        select(lake, 0, i64::MAX).unwrap_err().to_string(),
        format!(
            "the range 0 to {} (epoch microseconds) is outside the years 1970 to 9999",
            i64::MAX
        )
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut enc, bytes).unwrap();
    enc.finish().unwrap()
}

/// Files larger than a chunk stream through: lines cut at a chunk's end,
/// a back-to-back file (one line of 3 MiB), and a bad line past the
/// first chunk keeps its number.
#[test]
fn files_past_a_chunk_stream_through_with_lines_and_objects_intact() {
    let dir = tempfile::tempdir().unwrap();
    let n = 3 * MAX_RECORD_BYTES / REC.len();
    let mut nd = format!("{REC}\n").repeat(n);
    nd.push_str("{oops\n");
    nd.push_str(&format!("{REC}\n"));
    let f = dir.path().join("nd");
    std::fs::write(&f, &nd).unwrap();
    let (records, bad) = read_json(&f).unwrap();
    assert_eq!(records.len(), n + 1);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, n + 1);
    // Readings that differ, as real ones do (a repeated record
    // compresses like a bomb).
    let b2b = dir.path().join("b2b.gz");
    let varied: String = (0..n)
        .map(|i| {
            format!(
                r#"{{"Time": {}, "DeviceID": "m{}", "watt_measure": {}.{}}}"#,
                1_700_000_000_000i64 + (i as i64 * 7919) % 3_600_000,
                i % 977,
                (i * 31) % 5003,
                (i * 17) % 97
            )
        })
        .collect();
    std::fs::write(&b2b, gzip(varied.as_bytes())).unwrap();
    let (records, bad) = read_json(&b2b).unwrap();
    assert_eq!((records.len(), bad.len()), (n, 0), "{bad:?}");
}

/// A gzip bomb (KBs inflating to tens of MB) is refused once it passes
/// a hundred times its size, having cost a chunk of memory; a single
/// object longer than a record may be, or a truncated or corrupt gzip,
/// is an error for the file too.
#[test]
fn bombs_long_objects_and_broken_gzip_are_refused_without_holding_them() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.gz");
    std::fs::write(&bomb, gzip(&vec![0u8; 40 << 20])).unwrap();
    let size = std::fs::metadata(&bomb).unwrap().len();
    assert_eq!(
        read_json(&bomb).unwrap_err().reason(),
        format!(
            "decompresses to more than {} bytes (a gzip bomb?)",
            size * MAX_GZIP_RATIO
        )
    );
    let records = gzip(format!("{REC}\n").repeat(200_000).as_bytes());
    let repeated = dir.path().join("repeated.gz");
    std::fs::write(&repeated, &records).unwrap();
    assert!(read_json(&repeated).is_err());

    let long = dir.path().join("long");
    let padding = "x".repeat(2 * MAX_RECORD_BYTES);
    std::fs::write(&long, format!("{{\"pad\": \"{padding}\"}}\n{REC}\n")).unwrap();
    assert_eq!(
        read_json(&long).unwrap_err().reason(),
        format!("line 1 holds a record longer than {MAX_RECORD_BYTES} bytes")
    );

    let whole = gzip(format!("{REC}\n").repeat(1000).as_bytes());
    let truncated = dir.path().join("truncated.gz");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    assert!(read_json(&truncated).is_err());
    let mut flipped = whole.clone();
    flipped[whole.len() / 2] ^= 0xff;
    let corrupt = dir.path().join("corrupt.gz");
    std::fs::write(&corrupt, &flipped).unwrap();
    assert!(read_json(&corrupt).is_err());
}
