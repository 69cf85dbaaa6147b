//! A strategic view's run as a job: its progress (files read of files to
//! read) and Cancel while it runs, its figures only once it has ended well,
//! none at all after a cancel; and the lake's catalog for the pickers.

use gridwatch_types::{AggregateQuery, CatalogQuery, JobStatus, Reply, Request};

use super::Strategic;
use crate::backend::Answer;

/// What the lake holds over the view's range.
pub fn catalog_request(query: &AggregateQuery) -> Request {
    Request::LakeCatalog(CatalogQuery {
        from_us: query.from_us,
        to_us: query.to_us,
    })
}

impl Strategic {
    /// Takes the answers about view runs and the catalog; gives back any
    /// other (a lake being written is the app's other job).
    pub(super) fn on_view_reply(&mut self, answer: Answer) -> Option<Answer> {
        match (answer.request, answer.result) {
            (_, Ok(Reply::Catalog(catalog))) => {
                self.catalog = Some(catalog);
            }
            (_, Ok(Reply::Job(job))) if job.view => self.on_view_job(job),
            (request, result) => return Some(Answer { request, result }),
        }
        None
    }

    fn on_view_job(&mut self, mut job: JobStatus) {
        if job.running {
            self.waiting = true;
            self.job = Some(job);
            return;
        }
        self.waiting = false;
        match (job.table.take(), &job.error) {
            (Some(table), _) => {
                self.lake_empty = false;
                self.error = None;
                self.notes = std::mem::take(&mut job.notes);
                self.table = Some(table);
                // Done: the figures say so; no job line is left.
                self.job = None;
            }
            (None, Some(_)) => {
                // Cancelled or failed: no figures, not even the last ones,
                // which were of another question.
                self.table = None;
                self.notes.clear();
                self.job = Some(job);
            }
            // The status of a run whose figures were taken already.
            (None, None) => {}
        }
    }
}

impl Strategic {
    /// What the figures are of: energy and demand, or one of the measures
    /// the lake holds (filled from its catalog).
    pub(super) fn measure_picker(&mut self, ui: &mut egui::Ui) {
        let shown = self
            .measure
            .clone()
            .unwrap_or_else(|| "Energy and demand".into());
        let measures = self
            .catalog
            .as_ref()
            .map(|c| c.measures.clone())
            .unwrap_or_default();
        egui::ComboBox::from_id_salt("measure")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut self.measure, None, "Energy and demand");
                for m in measures {
                    let label = m.clone();
                    ui.selectable_value(&mut self.measure, Some(m), label);
                }
            })
            .response
            .accessible_name("Figures of");
    }

    /// How the figures shown were made, under them.
    pub(super) fn show_notes(&self, ui: &mut egui::Ui) {
        for note in &self.notes {
            ui.label(egui::RichText::new(note).weak().small());
        }
    }

    /// The SQL box, once there is a lake to ask.
    pub(super) fn sql_box(
        &mut self,
        ui: &mut egui::Ui,
        now_us: i64,
        out: &mut crate::backend::Outbox,
    ) {
        if self.lake_empty || self.asked_of.as_deref().is_none_or(str::is_empty) {
            return;
        }
        let query = self.query(now_us);
        self.sql.show(ui, (query.from_us, query.to_us), out);
    }
}
