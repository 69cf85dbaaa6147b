//! "Export CSV…" and "Export Parquet…", for any table the UI shows. The
//! shell asks where to save with the desktop's dialog.

use gridwatch_types::{ExportTable, ResultTable, TableFormat};

use crate::backend::Request;

/// Draws the two export buttons; the request for the one clicked, if any.
/// `table` is only built when a button is clicked.
pub fn export_buttons(
    ui: &mut egui::Ui,
    name: &str,
    table: impl FnOnce() -> ResultTable,
) -> Option<Request> {
    let mut chosen = None;
    for (label, format, ext) in [
        ("Export CSV…", TableFormat::Csv, "csv"),
        ("Export Parquet…", TableFormat::Parquet, "parquet"),
    ] {
        if ui.small_button(label).clicked() {
            chosen = Some((format, ext));
        }
    }
    chosen.map(|(format, ext)| {
        Request::ExportTable(ExportTable {
            table: table(),
            format,
            name: format!("gridwatch-{name}.{ext}"),
        })
    })
}
