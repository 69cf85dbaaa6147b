use super::*;
use crate::GroupKey;
use crate::table::TIME;
use polars::prelude::*;

const HOUR_DIR: &str = "readings/json/year=2023/month=11/day=15/hour=00";
const T0: i64 = 1_700_006_400_000; // 2023-11-15T00:00:00Z, in ms

fn line(device: &str, minute: i64, energy: f64, dims: &str) -> String {
    format!(
        "{{\"Time\": {}, \"DeviceID\": \"{device}\", \"watt_measure\": {}, \"energy_measure\": {energy}, \"voltage_measure\": {}{dims}}}\n",
        T0 + minute * 60_000,
        100.0 + minute as f64,
        228.0 + (minute % 7) as f64
    )
}

fn write(lake: &Path, name: &str, lines: &[String]) {
    let dir = lake.join(HOUR_DIR);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), lines.concat()).unwrap();
}

fn query(budget: usize) -> ReadingsQuery {
    ReadingsQuery {
        memory_budget: budget,
        ..ReadingsQuery::new(T0 * 1000, (T0 + 3_600_000) * 1000)
    }
}

fn rows(df: &DataFrame) -> Vec<Vec<String>> {
    crate::table::result_table(df)
        .unwrap()
        .rows
        .iter()
        .map(|r| r.iter().map(|c| format!("{c:?}")).collect())
        .collect()
}

#[test]
fn a_dimension_first_seen_mid_file_keeps_its_value() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a",
        &[
            line("m1", 0, 1.0, ""),
            line("m2", 1, 1.0, ", \"Region\": \"north\""),
            line("m3", 2, 1.0, ", \"Region\": \"south\""),
        ],
    );
    let readings = Readings::scan(dir.path(), &query(1 << 30)).unwrap();
    let region = readings.dimension("Region").unwrap();
    let values: Vec<Option<&str>> = (0..3)
        .map(|i| {
            let mut out = None;
            readings
                .for_each_batch(|b| {
                    out = readings.dimensions[region].1.value(b.dim(region, i));
                    Ok(())
                })
                .unwrap();
            out
        })
        .collect();
    assert_eq!(values, vec![None, Some("north"), Some("south")]);
}

#[test]
fn readings_past_the_budget_move_to_disk_and_every_view_agrees() {
    let dir = tempfile::tempdir().unwrap();
    // Two files; the second brings a dimension the first lacks, so a
    // bucket holds batches of different widths.
    let first: Vec<String> = (0..40)
        .map(|i| line(&format!("m{}", i % 7), i, i as f64 * 0.5, ""))
        .collect();
    let second: Vec<String> = (0..40)
        .map(|i| {
            // m3's counter resets halfway.
            let e = if i == 20 { 0.25 } else { 30.0 + i as f64 };
            line(&format!("m{}", i % 7), i + 40, e, ", \"Region\": \"east\"")
        })
        .collect();
    write(dir.path(), "a", &first);
    write(dir.path(), "b", &second);
    let in_memory = Readings::scan(dir.path(), &query(1 << 30)).unwrap();
    let on_disk = Readings::scan(dir.path(), &query(512)).unwrap();
    assert_eq!(in_memory.buckets_on_disk(), 0);
    assert!(on_disk.buckets_on_disk() >= 2);
    for by in [
        vec![],
        vec![GroupKey::Device],
        vec![GroupKey::Dimension("Region".into()), GroupKey::Hour],
    ] {
        assert_eq!(
            rows(&on_disk.aggregate(&by, None).unwrap()),
            rows(&in_memory.aggregate(&by, None).unwrap()),
            "{by:?}"
        );
        assert_eq!(
            rows(&on_disk.load_duration(&by).unwrap()),
            rows(&in_memory.load_duration(&by).unwrap()),
        );
    }
    let range = (T0 * 1000, (T0 + 3_600_000) * 1000);
    assert_eq!(
        on_disk.availability(range.0, range.1).unwrap(),
        in_memory.availability(range.0, range.1).unwrap()
    );
    // The buckets are gone with the readings.
    drop(on_disk);
    let left = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".gridwatch-spill")
        })
        .count();
    assert_eq!(left, 0);
}

#[test]
fn unknown_filters_and_keys_name_what_is_known() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a",
        &[line("m1", 0, 1.0, ", \"Region\": \"north\"")],
    );
    let mut q = query(1 << 30);
    q.filters = vec![("substation".into(), "S1".into())];
    let err = Readings::scan(dir.path(), &q).err().unwrap().to_string();
    assert_eq!(
        err,
        "cannot filter on substation: no such dimension in the extracts"
    );
    let readings = Readings::scan(dir.path(), &query(1 << 30)).unwrap();
    let err = readings
        .aggregate(&[GroupKey::Dimension("Substation".into())], None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("no Substation in the extracts (known: device_id, Region, hour"),
        "{err}"
    );
}

#[test]
fn a_typo_in_a_grouping_is_refused_even_over_an_empty_range() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a",
        &[line("m1", 0, 1.0, ", \"Region\": \"north\"")],
    );
    // A range with no readings in it.
    let empty = Readings::scan(dir.path(), &ReadingsQuery::new(1 << 50, (1 << 50) + 1)).unwrap();
    assert_eq!(empty.report.records, 0);
    let fortnight: GroupKey = "fortnight".parse().unwrap_or_else(|never| match never {});
    let err = empty
        .aggregate(&[GroupKey::Day, fortnight], None)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "no fortnight in the extracts (known: device_id, Region, Feeder, DeviceType, hour, day, week, month)"
        )
    );
    // The layout's own words make an empty view, not an error.
    let region: GroupKey = "region".parse().unwrap_or_else(|never| match never {});
    let table = empty.aggregate(&[region], None).unwrap();
    assert_eq!(table.height(), 0);
}

fn write_parquet(path: &Path, df: &mut DataFrame) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(df).unwrap();
}

fn summary(readings: &Readings, column: &str) -> f64 {
    let df = readings.aggregate(&[], None).unwrap();
    df.column(column)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
        .unwrap()
}

/// One bad file does not fail the view: a corrupt gzip, a truncated
/// one, a file that is not Parquet and one with the wrong schema are
/// skipped and named, and a Parquet row of 1e308 volts is refused as
/// JSON would refuse it, so the figures are the good rows'. Before,
/// the first bad file failed the whole view, and 1e308 gave a voltage
/// p50 of 5e307.
#[test]
fn bad_files_are_skipped_and_named_and_the_rest_is_computed() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    write(
        lake,
        "good",
        &[
            line("m1", 0, 1.0, ""),
            line("m2", 1, 1.0, ""),
            line("m3", 2, 1.0, ""),
        ],
    );
    let hour = lake.join(HOUR_DIR);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, line("m9", 3, 1.0, "").repeat(200).as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(hour.join("truncated.gz"), &gz[..gz.len() / 2]).unwrap();
    let mut corrupt = gz.clone();
    corrupt[10] ^= 0x55;
    corrupt[11] ^= 0x55;
    std::fs::write(hour.join("corrupt.gz"), &corrupt).unwrap();
    // A day later, in Parquet.
    let day16 = lake.join("readings/parquet/year=2023/month=11/day=16");
    let t16 = (T0 + 86_400_000) * 1000;
    let mut huge = df!(
        TIME => [t16, t16 + 60_000_000],
        DEVICE => ["p1", "p1"],
        VOLTAGE => [1e308, 230.0],
    )
    .unwrap();
    write_parquet(&day16.join("part-0.parquet"), &mut huge);
    let mut wrong = df!(TIME => ["noon"], DEVICE => ["p2"], VOLTAGE => [230.0]).unwrap();
    write_parquet(&day16.join("part-1.parquet"), &mut wrong);
    std::fs::write(
        day16.join("part-2.parquet"),
        b"PAR1 not parquet at all PAR1",
    )
    .unwrap();

    let q = ReadingsQuery::new(T0 * 1000, t16 + 3_600_000_000);
    let readings = Readings::scan(lake, &q).unwrap();
    let skipped: Vec<(String, &str)> = readings
        .report
        .skipped_files
        .iter()
        .map(|s| {
            (
                s.path.file_name().unwrap().to_string_lossy().into_owned(),
                s.reason.as_str(),
            )
        })
        .collect();
    let names: Vec<&str> = skipped.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "corrupt.gz",
            "truncated.gz",
            "part-1.parquet",
            "part-2.parquet"
        ],
        "{skipped:?}"
    );
    assert_eq!(
        skipped[2].1,
        "not the lake's Parquet schema: time_us is str, not i64"
    );
    assert!(
        skipped[3].1.starts_with("not a readable Parquet file"),
        "{}",
        skipped[3].1
    );
    let bad: Vec<String> = readings
        .report
        .bad_lines
        .iter()
        .map(|b| b.reason.clone())
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(
        bad[0].starts_with("row 1: measure \"voltage\""),
        "{}",
        bad[0]
    );
    // The good JSON's 228, 229, 230 V and the Parquet's 230 V.
    assert_eq!(readings.report.records, 4);
    assert_eq!(summary(&readings, "records"), 4.0);
    assert_eq!(summary(&readings, "voltage_p50"), 229.5);
    assert_eq!(summary(&readings, "voltage_p99"), 230.0);
}
