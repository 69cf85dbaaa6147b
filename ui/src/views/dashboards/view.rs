//! Drawing the Dashboards view: the dashboard picker and "Open Grafana
//! dashboard…", the variables as pickers, and the panels on the grid.

use gridwatch_types::{PanelKind, Request, Selection, TimestreamConnection, Variable};

use super::{Dashboards, panel, panel_rects};
use crate::backend::Outbox;
use crate::format::Clock;

impl Dashboards {
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        connection: &TimestreamConnection,
        now_s: f64,
        clock: Clock,
        out: &mut Outbox,
    ) {
        if self.names.is_none() {
            self.names = Some(Vec::new());
            out.push(Request::Dashboards);
        }
        let width_px = (ui.available_width() * ui.ctx().pixels_per_point()).max(1.0) as u32;
        ui.horizontal(|ui| {
            if ui.button("Open Grafana dashboard…").clicked() {
                out.push(Request::ChooseDashboardFile);
            }
            // The saved dashboards side by side: one click opens one.
            let current = self.current.as_ref().map(|d| d.name.clone());
            for name in self.names.clone().unwrap_or_default() {
                let on = current.as_deref() == Some(name.as_str());
                if ui.selectable_label(on, &name).clicked() && !on {
                    out.push(Request::LoadDashboard(name));
                }
            }
            if self.current.is_some() && ui.button("Refresh").clicked() {
                self.run(connection, width_px, now_s, out);
            }
            if self.running {
                ui.spinner();
            }
            if let Some(d) = &self.current {
                let range = format!("{} to {}", d.time_from, d.time_to);
                ui.label(match &d.refresh {
                    Some(r) => format!("{range}, every {r}"),
                    None => range,
                });
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(egui::Color32::from_rgb(242, 73, 92), e);
        }
        if self.current.is_none() {
            ui.label("Open a Grafana dashboard export (JSON) to see its panels here.");
            return;
        }
        if self.due(now_s) {
            self.run(connection, width_px, now_s, out);
        }
        self.pickers(ui, connection, width_px, now_s, out);
        if let Some(a) = &self.answers {
            for p in &a.problems {
                ui.colored_label(egui::Color32::from_rgb(255, 152, 48), p);
            }
        }
        ui.separator();
        self.grid(ui, clock);
    }

    fn pickers(
        &mut self,
        ui: &mut egui::Ui,
        connection: &TimestreamConnection,
        width_px: u32,
        now_s: f64,
        out: &mut Outbox,
    ) {
        let mut picked: Option<(String, Selection)> = None;
        ui.horizontal_wrapped(|ui| {
            for v in self.variables().iter().filter(|v| !v.hidden) {
                ui.label(v.label.clone().unwrap_or_else(|| v.name.clone()));
                if let Some(sel) = picker(ui, v) {
                    picked = Some((v.name.clone(), sel));
                }
            }
        });
        if let Some((name, sel)) = picked {
            self.select(&name, sel, connection, width_px, now_s, out);
        }
    }

    fn grid(&mut self, ui: &mut egui::Ui, clock: Clock) {
        // Taken out for the frame and put back (a row's button changes
        // `opened_rows` while the panels are borrowed): cloning it each
        // frame cost a fifth of the view's time (`benches/dashboard.rs`).
        let Some(d) = self.current.take() else {
            return;
        };
        egui::ScrollArea::vertical().show(ui, |ui| {
            let width = ui.available_width();
            let rects = panel_rects(&d.panels, width, &self.opened_rows);
            let height = rects.iter().map(|(_, r)| r.bottom()).fold(0.0, f32::max);
            let (area, _) = ui.allocate_exact_size(egui::vec2(width, height), egui::Sense::hover());
            for (p, r) in rects {
                let rect = r.translate(area.min.to_vec2()).shrink(3.0);
                let mut child = ui.new_child(
                    egui::UiBuilder::new()
                        .max_rect(rect)
                        .id_salt(("panel", p.id)),
                );
                if p.kind == PanelKind::Row {
                    let open = self.opened_rows.contains(&p.title);
                    let collapsed = d
                        .panels
                        .iter()
                        .any(|q| q.collapsed && q.row.as_ref() == Some(&p.title));
                    let mark = if collapsed && !open { "▸" } else { "▾" };
                    if child.button(format!("{mark} {}", p.title)).clicked() && collapsed {
                        if open {
                            self.opened_rows.retain(|r| r != &p.title);
                        } else {
                            self.opened_rows.push(p.title.clone());
                        }
                    }
                    continue;
                }
                egui::Frame::group(child.style()).show(&mut child, |ui| {
                    ui.set_min_size(rect.size() - egui::vec2(14.0, 14.0));
                    let answer = self
                        .answers
                        .as_ref()
                        .and_then(|a| a.panels.iter().find(|x| x.panel_id == p.id));
                    panel::show(ui, p, answer, clock);
                });
            }
        });
        self.current = Some(d);
    }
}

/// A variable's picker: one value, or several (with "All" when the
/// dashboard offers it). The new selection, when the operator changed it.
fn picker(ui: &mut egui::Ui, v: &Variable) -> Option<Selection> {
    let mut out = None;
    // Each option side by side, as Grafana's picker lists them.
    ui.group(|ui| {
        if v.include_all
            && ui
                .selectable_label(v.selected == Selection::All, "All")
                .clicked()
        {
            out = Some(Selection::All);
        }
        for o in &v.options {
            let on = matches!(&v.selected, Selection::Values(vals) if vals.contains(o));
            if ui.selectable_label(on, o).clicked() {
                out = Some(match (&v.selected, v.multi) {
                    (Selection::Values(vals), true) => {
                        let mut vals = vals.clone();
                        if on {
                            vals.retain(|x| x != o);
                        } else {
                            vals.push(o.clone());
                        }
                        Selection::Values(vals)
                    }
                    _ => Selection::Values(vec![o.clone()]),
                });
            }
        }
    });
    out
}
