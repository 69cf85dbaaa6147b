//! One panel drawn in its place: a chart, figures, a table or a heatmap;
//! or, when it cannot be run, why, in its place.

use egui::{Color32, RichText};
use gridwatch_types::{Cell, Panel, PanelAnswer, PanelKind, PanelSeries};

use crate::format::Clock;

/// Grafana's named colours (and `#rrggbb`), as its panels paint them.
pub fn grafana_color(name: &str) -> Color32 {
    let base = name
        .trim_start_matches("semi-dark-")
        .trim_start_matches("dark-")
        .trim_start_matches("light-")
        .trim_start_matches("super-light-");
    if let Some(hex) = base.strip_prefix('#')
        && hex.len() == 6
        && let Ok(v) = u32::from_str_radix(hex, 16)
    {
        return Color32::from_rgb((v >> 16) as u8, (v >> 8) as u8, v as u8);
    }
    match base {
        "green" => Color32::from_rgb(115, 191, 105),
        "red" => Color32::from_rgb(242, 73, 92),
        "orange" => Color32::from_rgb(255, 152, 48),
        "yellow" => Color32::from_rgb(250, 222, 42),
        "blue" => Color32::from_rgb(87, 148, 242),
        "purple" => Color32::from_rgb(184, 119, 217),
        _ => Color32::GRAY,
    }
}

/// Draws `panel` with its answer (None: not answered yet).
pub fn show(ui: &mut egui::Ui, panel: &Panel, answer: Option<&PanelAnswer>, clock: Clock) {
    ui.horizontal(|ui| {
        ui.strong(&panel.title);
        if let Some(at) = answer.and_then(|a| a.cached_at_us) {
            ui.label(
                RichText::new(format!(
                    "cached, fetched {}",
                    gridwatch_types::time::format_time(at)
                ))
                .small()
                .color(Color32::from_rgb(255, 152, 48)),
            );
        }
    });
    let Some(answer) = answer else {
        ui.label(match &panel.unavailable {
            Some(why) => why.clone(),
            None => "waiting for its answer…".into(),
        });
        return;
    };
    if let Some(e) = &answer.error {
        ui.label(RichText::new(e).color(Color32::from_rgb(242, 73, 92)));
        return;
    }
    match &panel.kind {
        PanelKind::TimeSeries => chart(ui, panel, &answer.series, clock),
        PanelKind::Stat | PanelKind::Gauge | PanelKind::BarGauge => figures(ui, panel, answer),
        PanelKind::Table => table(ui, panel.id, answer),
        PanelKind::Heatmap => heatmap(ui, &answer.series),
        PanelKind::Row | PanelKind::Unsupported(_) => {}
    }
}

fn chart(ui: &mut egui::Ui, panel: &Panel, series: &[PanelSeries], clock: Clock) {
    if series.is_empty() {
        ui.label("No data");
        return;
    }
    let plot = egui_plot::Plot::new(("dashboard-chart", panel.id))
        .legend(egui_plot::Legend::default())
        .allow_scroll(false);
    let response = crate::chart::with_time_axis(plot, clock).show(ui, |plot| {
        for s in series {
            let points: Vec<[f64; 2]> = s
                .points
                .iter()
                .map(|(t, v)| [*t as f64 / 1e6, *v])
                .collect();
            plot.line(egui_plot::Line::new(s.name.clone(), points));
        }
    });
    // What the time axis says, for a screen reader (and the tests).
    let bounds = response.transform.bounds();
    let times = crate::chart::time_labels(
        bounds.min()[0],
        bounds.max()[0],
        response.transform.frame().width(),
        clock,
    );
    let summary = format!(
        "{} chart. Times ({}): {}",
        panel.title,
        clock.name(),
        times.join(", ")
    );
    response
        .response
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Figure, true, &summary));
}

fn figures(ui: &mut egui::Ui, panel: &Panel, answer: &PanelAnswer) {
    if answer.figures.is_empty() {
        ui.label("No data");
        return;
    }
    for f in &answer.figures {
        let color = f
            .color
            .as_deref()
            .map_or(ui.visuals().text_color(), grafana_color);
        match panel.kind {
            PanelKind::Stat => {
                ui.label(RichText::new(&f.text).size(28.0).strong().color(color));
                if answer.figures.len() > 1 {
                    ui.small(&f.name);
                }
            }
            _ => {
                let (lo, hi) = (panel.min.unwrap_or(0.0), panel.max.unwrap_or(100.0));
                let share = f.value.map_or(0.0, |v| {
                    ((v - lo) / (hi - lo).max(f64::EPSILON)).clamp(0.0, 1.0)
                });
                ui.horizontal(|ui| {
                    ui.label(&f.name);
                    ui.add(
                        egui::ProgressBar::new(share as f32)
                            .fill(color)
                            .text(f.text.clone()),
                    );
                });
            }
        }
    }
}

fn table(ui: &mut egui::Ui, id: u32, answer: &PanelAnswer) {
    egui::ScrollArea::both()
        .id_salt(("dashboard-table", id))
        .show(ui, |ui| {
            egui::Grid::new(("dashboard-grid", id))
                .striped(true)
                .show(ui, |ui| {
                    for c in &answer.table.columns {
                        ui.strong(c);
                    }
                    ui.end_row();
                    for row in answer.table.rows.iter().take(200) {
                        for cell in row {
                            ui.label(match cell {
                                Cell::Number(n) => crate::format::table_number(*n),
                                Cell::Text(t) => t.clone(),
                                Cell::Null => String::new(),
                            });
                        }
                        ui.end_row();
                    }
                });
        });
}

/// Each series a row of cells in time order, coloured from the lowest
/// value to the highest.
fn heatmap(ui: &mut egui::Ui, series: &[PanelSeries]) {
    let values = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if series.is_empty() || !lo.is_finite() {
        ui.label("No data");
        return;
    }
    let label_w = 80.0;
    let size = ui.available_size();
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let row_h = rect.height() / series.len() as f32;
    let painter = ui.painter_at(rect);
    for (i, s) in series.iter().enumerate() {
        let top = rect.top() + i as f32 * row_h;
        painter.text(
            egui::pos2(rect.left(), top + row_h / 2.0),
            egui::Align2::LEFT_CENTER,
            &s.name,
            egui::FontId::proportional(12.0),
            ui.visuals().text_color(),
        );
        let n = s.points.len().max(1) as f32;
        let cell_w = (rect.width() - label_w) / n;
        for (j, (_, v)) in s.points.iter().enumerate() {
            let t = ((v - lo) / (hi - lo).max(f64::EPSILON)) as f32;
            let color = Color32::from_rgb(
                (40.0 + 215.0 * t) as u8,
                (80.0 + 80.0 * (1.0 - t)) as u8,
                (200.0 * (1.0 - t)) as u8,
            );
            let x = rect.left() + label_w + j as f32 * cell_w;
            painter.rect_filled(
                egui::Rect::from_min_size(
                    egui::pos2(x, top + 1.0),
                    egui::vec2(cell_w - 1.0, row_h - 2.0),
                ),
                0.0,
                color,
            );
        }
    }
}
