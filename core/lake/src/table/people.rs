//! A result table for people (the `table` and `csv` formats, the app's CSV
//! export): figures in units scaled for a person (kWh/MWh, W/kW/MW, V/kV)
//! and rounded to meaningful digits. JSON and Parquet keep full precision.

use gridwatch_types::{
    Cell, FIGURE_DIGITS, Quantity, ResultTable, format_figure, round_significant,
};
use serde_json::{Value, json};

use super::{OutputFormat, Rows};

/// A column's name without the unit it was stored in.
fn stem(column: &str) -> &str {
    ["_kwh", "_w"]
        .iter()
        .find_map(|u| column.strip_suffix(u))
        .unwrap_or(column)
}

fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// `table` as people read it in `format`: in a table each figure carries
/// its unit (`12.35 MWh`, `232.2 V`, `11.02 kV`: rows of different device
/// types may need different ones); in CSV, a column has one unit, named in
/// its header (`energy (MWh)`), so its numbers stay comparable. Other
/// formats get the figures as they are.
pub fn for_people(table: &ResultTable, format: OutputFormat) -> Rows {
    match format {
        OutputFormat::Table => Rows {
            columns: table.columns.clone(),
            rows: table
                .rows
                .iter()
                .map(|row| {
                    row.iter()
                        .zip(&table.columns)
                        .map(|(c, name)| match c {
                            Cell::Number(n) => json!(format_figure(name, *n)),
                            Cell::Text(t) => json!(t),
                            Cell::Null => Value::Null,
                        })
                        .collect()
                })
                .collect(),
        },
        OutputFormat::Csv => csv_rows(table),
        OutputFormat::Json | OutputFormat::Parquet => Rows::from(table),
    }
}

fn csv_rows(table: &ResultTable) -> Rows {
    let mut rows = Rows::from(table);
    for (j, name) in table.columns.iter().enumerate() {
        let values = || {
            table.rows.iter().filter_map(move |r| match r.get(j) {
                Some(Cell::Number(n)) => Some(*n),
                _ => None,
            })
        };
        let quantity = Quantity::of_column(name);
        let (header, scale): (String, Box<dyn Fn(f64) -> Value>) = match quantity {
            Some(Quantity::Ratio) => (
                name.clone(),
                Box::new(|v: f64| number((v * 1000.0).round() / 1000.0)),
            ),
            Some(q) => {
                let largest = values().fold(0.0f64, |m, v| m.max(v.abs()));
                let (unit, factor) = q.unit_for(largest);
                (
                    format!("{} ({unit})", stem(name)),
                    Box::new(move |v: f64| number(round_significant(v * factor, FIGURE_DIGITS))),
                )
            }
            None => (
                name.clone(),
                Box::new(|v: f64| {
                    if v.fract() == 0.0 {
                        number(v)
                    } else {
                        number(round_significant(v, 6))
                    }
                }),
            ),
        };
        rows.columns[j] = header;
        for (out, row) in rows.rows.iter_mut().zip(&table.rows) {
            if let Some(Cell::Number(n)) = row.get(j) {
                out[j] = scale(*n);
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> ResultTable {
        ResultTable {
            columns: vec![
                "DeviceType".into(),
                "records".into(),
                "energy_kwh".into(),
                "peak_demand_w".into(),
                "voltage_p95".into(),
                "load_factor".into(),
            ],
            rows: vec![
                vec![
                    Cell::Text("feeder".into()),
                    Cell::Number(96.0),
                    Cell::Number(903.671_099_999_925_4),
                    Cell::Number(10_351_084.0),
                    Cell::Number(11_020.5),
                    Cell::Number(0.812_345),
                ],
                vec![
                    Cell::Text("smart_meter".into()),
                    Cell::Number(9600.0),
                    Cell::Number(12_345.678),
                    Cell::Number(812.0),
                    Cell::Number(232.155_999_999_999_95),
                    Cell::Null,
                ],
            ],
            ..ResultTable::default()
        }
    }

    fn render(format: OutputFormat) -> String {
        let mut out = Vec::new();
        for_people(&table(), format)
            .write(format, &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_table_scales_each_figure_and_rounds_away_the_noise() {
        let text = render(OutputFormat::Table);
        for want in [
            "903.7 kWh",
            "12.35 MWh",
            "10.35 MW",
            "812 W",
            "11.02 kV",
            "232.2 V",
            "0.812",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
        assert!(text.contains("9600"), "{text}");
        assert!(!text.contains("99999"), "{text}");
    }

    #[test]
    fn csv_gives_a_column_one_unit_in_its_header() {
        let text = render(OutputFormat::Csv);
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "DeviceType,records,energy (MWh),peak_demand (MW),voltage_p95 (kV),load_factor"
        );
        assert_eq!(lines.next().unwrap(), "feeder,96,0.9037,10.35,11.02,0.812");
        assert_eq!(
            lines.next().unwrap(),
            "smart_meter,9600,12.35,0.000812,0.2322,"
        );
    }

    #[test]
    fn json_keeps_full_precision() {
        let rows = for_people(&table(), OutputFormat::Json);
        assert_eq!(rows.rows[0][2], json!(903.671_099_999_925_4));
    }
}
