//! Printing query results as a table, CSV or JSON.

use std::io::Write;

use gridwatch_core::codec::printable;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON array of objects, for scripts.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// Apache Parquet, to a file: redirect standard output (`> out.parquet`).
    Parquet,
}

/// Standard output for `format`; Parquet is refused on a terminal.
pub fn stdout(format: Format) -> anyhow::Result<std::io::StdoutLock<'static>> {
    use std::io::IsTerminal;
    let out = std::io::stdout();
    if format == Format::Parquet && out.is_terminal() {
        anyhow::bail!("--format parquet writes binary: redirect it to a file, e.g. > out.parquet");
    }
    Ok(out.lock())
}

/// The rows as a polars frame: a column of numbers where every value is a
/// number (integers stay integers), text otherwise.
fn frame(rows: &Rows) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
    use polars::prelude::*;
    let mut cols = Vec::with_capacity(rows.columns.len());
    for (i, name) in rows.columns.iter().enumerate() {
        let values: Vec<&Value> = rows
            .rows
            .iter()
            .map(|r| r.get(i).unwrap_or(&Value::Null))
            .collect();
        let non_null = values.iter().filter(|v| !v.is_null());
        let col = if non_null.clone().all(|v| v.is_i64()) {
            Column::new(
                name.as_str().into(),
                values.iter().map(|v| v.as_i64()).collect::<Vec<_>>(),
            )
        } else if non_null.clone().all(|v| v.is_number()) {
            Column::new(
                name.as_str().into(),
                values.iter().map(|v| v.as_f64()).collect::<Vec<_>>(),
            )
        } else {
            Column::new(
                name.as_str().into(),
                values
                    .iter()
                    .map(|v| match v {
                        Value::Null => None,
                        Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    })
                    .collect::<Vec<_>>(),
            )
        };
        cols.push(col);
    }
    DataFrame::new(rows.rows.len(), cols)
}

/// Rows of named columns; each cell is JSON so numbers stay numbers in JSON
/// output and print plainly elsewhere.
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl Rows {
    pub fn write(&self, format: Format, out: &mut impl Write) -> std::io::Result<()> {
        match format {
            Format::Parquet => {
                let mut df = frame(self).map_err(std::io::Error::other)?;
                let mut buf = Vec::new();
                polars::prelude::ParquetWriter::new(&mut buf)
                    .finish(&mut df)
                    .map_err(std::io::Error::other)?;
                out.write_all(&buf)
            }
            Format::Json => {
                let items: Vec<Value> = self
                    .rows
                    .iter()
                    .map(|row| {
                        let obj: Map<String, Value> = self
                            .columns
                            .iter()
                            .zip(row)
                            .map(|(c, v)| (c.clone(), v.clone()))
                            .collect();
                        Value::Object(obj)
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut *out, &items)?;
                writeln!(out)
            }
            Format::Csv => {
                writeln!(out, "{}", self.columns.join(","))?;
                for row in &self.rows {
                    let cells: Vec<String> = row.iter().map(|v| csv_cell(&plain(v))).collect();
                    writeln!(out, "{}", cells.join(","))?;
                }
                Ok(())
            }
            Format::Table => {
                // A table goes to a terminal: what came from the data may
                // hold escapes that would rewrite the operator's screen.
                let cells: Vec<Vec<String>> = self
                    .rows
                    .iter()
                    .map(|r| {
                        r.iter()
                            .map(|v| printable(&plain(v)).into_owned())
                            .collect()
                    })
                    .collect();
                let mut widths: Vec<usize> = self.columns.iter().map(|c| c.len()).collect();
                for row in &cells {
                    for (w, c) in widths.iter_mut().zip(row) {
                        *w = (*w).max(c.chars().count());
                    }
                }
                let line = |out: &mut dyn Write, row: &[String]| -> std::io::Result<()> {
                    let padded: Vec<String> = row
                        .iter()
                        .zip(&widths)
                        .map(|(c, w)| format!("{c:<w$}"))
                        .collect();
                    writeln!(out, "{}", padded.join("  ").trim_end())
                };
                let header: Vec<String> = self
                    .columns
                    .iter()
                    .map(|c| printable(c).into_owned())
                    .collect();
                line(out, &header)?;
                for row in &cells {
                    line(out, row)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows() -> Rows {
        Rows {
            columns: vec!["device".into(), "avg".into()],
            rows: vec![vec![json!("a,b"), json!(1.5)], vec![json!("c"), json!(2)]],
        }
    }

    fn render(f: Format) -> String {
        let mut out = Vec::new();
        rows().write(f, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(render(Format::Csv), "device,avg\n\"a,b\",1.5\nc,2\n");
    }

    #[test]
    fn json_keeps_numbers_as_numbers() {
        let v: Value = serde_json::from_str(&render(Format::Json)).unwrap();
        assert_eq!(v[0]["avg"], json!(1.5));
        assert_eq!(v[1]["device"], json!("c"));
    }

    #[test]
    fn parquet_reads_back_with_the_same_rows_and_types() {
        use polars::prelude::*;
        let mut bytes = Vec::new();
        rows().write(Format::Parquet, &mut bytes).unwrap();
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
            rows: vec![vec![json!("m\u{1b}]0;owned\u{7}\u{1b}[2J")]],
        };
        let mut out = Vec::new();
        hostile.write(Format::Table, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "device\nm\\u{1b}]0;owned\\u{7}\\u{1b}[2J\n");
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn table_aligns_columns() {
        assert_eq!(
            render(Format::Table),
            "device  avg\na,b     1.5\nc       2\n"
        );
    }
}
