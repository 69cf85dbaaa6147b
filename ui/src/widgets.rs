//! Widgets every view and window uses: labelled fields, the error line and
//! the export buttons.

use egui::RichText;
use gridwatch_types::{ExportTable, Request, ResultTable, TableFormat};

use crate::theme;

/// A labelled text field in a two-column grid; the label is also its
/// accessible name.
pub fn field(ui: &mut egui::Ui, name: &str, value: &mut String, hint: &str) {
    ui.label(name);
    ui.add(
        egui::TextEdit::singleline(value)
            .hint_text(hint)
            .desired_width(260.0),
    )
    .accessible_name(name);
    ui.end_row();
}

/// [`field`] for a setting that may be left out: blank is None.
pub fn optional_field(ui: &mut egui::Ui, name: &str, value: &mut Option<String>, hint: &str) {
    let mut text = value.clone().unwrap_or_default();
    field(ui, name, &mut text, hint);
    *value = (!text.trim().is_empty()).then(|| text.trim().to_string());
}

/// A label and a text field of `width` on one line.
pub fn inline_field(ui: &mut egui::Ui, name: &str, value: &mut String, width: f32) {
    ui.label(name);
    ui.add(egui::TextEdit::singleline(value).desired_width(width))
        .accessible_name(name);
}

/// A line saying what went wrong, in the error colour every view uses.
pub fn error_label(ui: &mut egui::Ui, text: impl Into<String>) {
    ui.label(RichText::new(text.into()).color(theme::ERROR));
}

/// "Export CSV…" and "Export Parquet…", for any table the UI shows (the
/// shell asks where to save with the desktop's dialog); the request for the
/// one clicked, if any. `table` is only built when a button is clicked.
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
