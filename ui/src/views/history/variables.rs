//! The query editor's template variables as pickers: each `$name` the SQL
//! uses gets a row with its kind (a comma list, or a query whose answer
//! lists the values), its definition and a picker of its values. The
//! session reads the SQL and fills the options; a new pick runs the query
//! again.

use gridwatch_types::{HistoryVariables, Selection, Variable, VariableKind};

use super::History;
use crate::widgets::error_label;

/// What the operator did to the pickers this frame.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Edited {
    /// A kind or definition changed: the options must be asked again.
    pub definitions: bool,
    /// A value was picked: the query runs again.
    pub selection: bool,
}

impl History {
    /// The variables as the session found them in the SQL.
    pub fn take_variables(&mut self, found: HistoryVariables) {
        self.variables = found.variables;
        self.variable_problems = found.problems;
    }

    /// One row per variable the SQL uses.
    pub(super) fn variable_pickers(&mut self, ui: &mut egui::Ui) -> Edited {
        let mut edited = Edited::default();
        for v in &mut self.variables {
            ui.horizontal(|ui| {
                ui.label(format!("${}", v.name));
                for (kind, label) in [
                    (VariableKind::Custom, "List"),
                    (VariableKind::Query, "Query"),
                ] {
                    if ui.selectable_value(&mut v.kind, kind, label).changed() {
                        edited.definitions = true;
                    }
                }
                let hint = match v.kind {
                    VariableKind::Query => "SELECT DISTINCT DeviceID FROM $__database.$__table",
                    _ => "a, b, c",
                };
                let response = ui.add(
                    egui::TextEdit::singleline(&mut v.definition)
                        .hint_text(hint)
                        .desired_width(320.0),
                );
                let response = response.accessible_name(format!("Definition of ${}", v.name));
                if response.lost_focus() {
                    edited.definitions = true;
                }
                if pick(ui, v) {
                    edited.selection = true;
                }
            });
        }
        for p in &self.variable_problems {
            error_label(ui, p);
        }
        edited
    }
}

/// The picker of one variable's value; true when the operator picked one.
fn pick(ui: &mut egui::Ui, v: &mut Variable) -> bool {
    let chosen = match &v.selected {
        Selection::All => "All".to_owned(),
        Selection::Values(values) => values.first().cloned().unwrap_or_default(),
    };
    let mut picked = None;
    egui::ComboBox::from_id_salt(("history-variable", v.name.as_str()))
        .selected_text(if v.options.is_empty() {
            "no values yet".to_owned()
        } else {
            chosen.clone()
        })
        .show_ui(ui, |ui| {
            for option in &v.options {
                if ui.selectable_label(*option == chosen, option).clicked() && *option != chosen {
                    picked = Some(option.clone());
                }
            }
        })
        .response
        .accessible_name(format!("Value of ${}", v.name));
    match picked {
        Some(value) => {
            v.selected = Selection::Values(vec![value]);
            true
        }
        None => false,
    }
}
