//! The output formats the commands offer, written by the lake's one table
//! writer (`gridwatch_lake::table`).

use std::io::Write;

use gridwatch_lake::{OutputFormat, Rows};

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

impl From<Format> for OutputFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Table => OutputFormat::Table,
            Format::Json => OutputFormat::Json,
            Format::Csv => OutputFormat::Csv,
            Format::Parquet => OutputFormat::Parquet,
        }
    }
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

/// Named columns of JSON cells, printed on standard output in `format`.
pub fn print(
    columns: &[&str],
    rows: Vec<Vec<serde_json::Value>>,
    format: Format,
) -> anyhow::Result<()> {
    let rows = Rows {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    };
    print_rows(&rows, format)
}

/// `rows` on standard output in `format`.
pub fn print_rows(rows: &Rows, format: Format) -> anyhow::Result<()> {
    let mut out = stdout(format)?;
    rows.write(format.into(), &mut out)?;
    out.flush()?;
    Ok(())
}
