use super::*;

fn rows() -> Rows {
    use serde_json::json;
    Rows {
        columns: vec!["device".into(), "avg".into()],
        rows: vec![vec![json!("a,b"), json!(1.5)], vec![json!("c"), json!(2)]],
    }
}

fn render(f: OutputFormat) -> String {
    let mut out = Vec::new();
    rows().write(f, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn csv_quotes_what_needs_quoting() {
    assert_eq!(render(OutputFormat::Csv), "device,avg\n\"a,b\",1.5\nc,2\n");
}

#[test]
fn json_keeps_numbers_as_numbers() {
    use serde_json::{Value, json};
    let v: Value = serde_json::from_str(&render(OutputFormat::Json)).unwrap();
    assert_eq!(v[0]["avg"], json!(1.5));
    assert_eq!(v[1]["device"], json!("c"));
}

#[test]
fn parquet_reads_back_with_the_same_rows_and_types() {
    let mut bytes = Vec::new();
    rows().write(OutputFormat::Parquet, &mut bytes).unwrap();
    let df = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .unwrap();
    assert_eq!(df.height(), 2);
    assert_eq!(
        df.column("device").unwrap().str().unwrap().get(0),
        Some("a,b")
    );
    assert_eq!(df.column("avg").unwrap().f64().unwrap().get(1), Some(2.0));
}

#[test]
fn table_cells_from_the_data_cannot_drive_the_terminal() {
    let hostile = Rows {
        columns: vec!["device".into()],
        rows: vec![vec![serde_json::json!("m\u{1b}]0;owned\u{7}\u{1b}[2J")]],
    };
    let mut out = Vec::new();
    hostile.write(OutputFormat::Table, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text, "device\nm\\u{1b}]0;owned\\u{7}\\u{1b}[2J\n");
    assert!(!text.contains('\u{1b}'));
}

#[test]
fn table_aligns_columns() {
    assert_eq!(
        render(OutputFormat::Table),
        "device  avg\na,b     1.5\nc       2\n"
    );
}

/// `table` exported as the app exports it: the CSV's text, and the
/// Parquet read back.
fn exported(table: &gridwatch_types::ResultTable) -> (String, DataFrame) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    write_table(table, &csv, gridwatch_types::TableFormat::Csv).unwrap();
    let parquet = dir.path().join("t.parquet");
    write_table(table, &parquet, gridwatch_types::TableFormat::Parquet).unwrap();
    let df = ParquetReader::new(std::fs::File::open(&parquet).unwrap())
        .finish()
        .unwrap();
    (std::fs::read_to_string(&csv).unwrap(), df)
}

#[test]
fn result_tables_write_whole_numbers_as_integers() {
    use gridwatch_types::{Cell, ResultTable};
    let table = ResultTable {
        columns: vec!["Region".into(), "records".into(), "energy_kwh".into()],
        rows: vec![vec![
            Cell::Text("north".into()),
            Cell::Number(12.0),
            Cell::Number(3.25),
        ]],
        ..ResultTable::default()
    };
    let (csv, df) = exported(&table);
    // CSV is for people, as the CLI prints it: energy in a unit named in
    // the header.
    assert_eq!(csv, "Region,records,energy (kWh)\nnorth,12,3.25\n");
    assert_eq!(
        df.column("records").unwrap().i64().unwrap().get(0),
        Some(12)
    );
    assert_eq!(
        df.column("energy_kwh").unwrap().f64().unwrap().get(0),
        Some(3.25)
    );
}

#[test]
fn exported_csv_rounds_float_noise_and_scales_units_and_parquet_keeps_every_digit() {
    use gridwatch_types::{Cell, ResultTable};
    // The figures the issue found in exports: float noise and watts.
    let table = ResultTable {
        columns: vec![
            "Region".into(),
            "energy_kwh".into(),
            "voltage_p95".into(),
            "peak_demand_w".into(),
        ],
        rows: vec![vec![
            Cell::Text("east".into()),
            Cell::Number(903.671_099_999_925_4),
            Cell::Number(232.155_999_999_999_95),
            Cell::Number(10_351_084.0),
        ]],
        ..ResultTable::default()
    };
    let (csv, df) = exported(&table);
    assert_eq!(
        csv,
        "Region,energy (kWh),voltage_p95 (V),peak_demand (MW)\neast,903.7,232.2,10.35\n"
    );
    assert_eq!(
        df.column("energy_kwh").unwrap().f64().unwrap().get(0),
        Some(903.671_099_999_925_4)
    );
}

fn rec(d: &str, t: i64, m: &[(&str, f64)], dims: &[(&str, &str)]) -> Record {
    Record {
        device_id: d.into(),
        time_us: t,
        time_adjusted: false,
        measure_keys: Vec::new(),
        measures: m.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        dimensions: dims
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn missing_columns_are_null_on_either_side() {
    let mut a = Columns::default();
    a.push(rec("m", 1, &[("watt", 1.0)], &[("Region", "n")]));
    a.push(rec("f", 2, &[("power_factor", 0.9)], &[]));
    let mut b = Columns::default();
    b.push(rec(
        "t",
        3,
        &[("oil_temperature", 50.0)],
        &[("Feeder", "F1")],
    ));
    a.append(b);
    assert_eq!(a.len(), 3);
    assert_eq!(a.measures["watt"], vec![Some(1.0), None, None]);
    assert_eq!(a.measures["oil_temperature"], vec![None, None, Some(50.0)]);
    assert_eq!(a.dims["Feeder"], vec![None, None, Some("F1".into())]);
    let df = a.into_frame().unwrap();
    assert_eq!(df.height(), 3);
}

#[test]
fn weeks_start_on_monday() {
    // 2023-11-14 was a Tuesday; its week began Monday 2023-11-13.
    let tue = 1_699_920_000_000_000 + 3_600_000_000;
    assert_eq!(week_start(tue), 1_699_833_600_000_000);
}
