//! Opening a 20-panel dashboard whose answers are read (from the cache or
//! the server): the frame that draws every panel, against the same data
//! drawn as bare egui_plot charts in the same grid (the baseline, in the
//! same process). A frame here is what the webview's CPU does each frame:
//! egui's layout and the tessellation of the lines into triangles.
#![allow(clippy::unwrap_used)] // a bench that unwraps fails loudly

use criterion::{Criterion, criterion_group, criterion_main};
use egui_plot::{Line, Plot};
use gridwatch_types::{
    Dashboard, DashboardAnswers, GridPos, Panel, PanelAnswer, PanelKind, PanelSeries,
    TimestreamConnection,
};
use gridwatch_ui::Outbox;
use gridwatch_ui::format::Clock;
use gridwatch_ui::views::dashboards::Dashboards;

const PANELS: u32 = 20;
const SERIES: usize = 2;
/// A quarter of a 1280-pixel dashboard: the points a panel asks for.
const POINTS: usize = 320;
const WIDTH: f32 = 1280.0;
const HEIGHT: f32 = 800.0;
const T0_US: i64 = 1_700_000_000_000_000;

fn series(panel: u32, s: usize) -> PanelSeries {
    PanelSeries {
        name: format!("m-{s}"),
        points: (0..POINTS)
            .map(|i| {
                let t = T0_US + i as i64 * 60_000_000;
                let v = 230.0 + ((i as f64) / 20.0 + f64::from(panel) + s as f64).sin() * 8.0;
                (t, v)
            })
            .collect(),
    }
}

/// 20 time-series panels, four to a row, each answered with two series.
fn dashboard() -> Dashboards {
    let panels: Vec<Panel> = (0..PANELS)
        .map(|id| Panel {
            id,
            title: format!("Feeder {id}"),
            kind: PanelKind::TimeSeries,
            grid: GridPos {
                x: id % 4 * 6,
                y: id / 4 * 4,
                w: 6,
                h: 4,
            },
            ..Panel::default()
        })
        .collect();
    let answers = DashboardAnswers {
        name: "Feeders".into(),
        panels: (0..PANELS)
            .map(|id| PanelAnswer {
                panel_id: id,
                series: (0..SERIES).map(|s| series(id, s)).collect(),
                ..PanelAnswer::default()
            })
            .collect(),
        ..DashboardAnswers::default()
    };
    let mut view = Dashboards::default();
    view.names = Some(vec!["Feeders".into()]);
    view.current = Some(Dashboard {
        name: "Feeders".into(),
        time_from: "now-6h".into(),
        time_to: "now".into(),
        panels,
        ..Dashboard::default()
    });
    view.answers = Some(answers);
    view
}

fn input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(WIDTH, HEIGHT),
        )),
        ..Default::default()
    }
}

/// One frame of the Dashboards view, tessellated.
fn dashboard_frame(ctx: &egui::Context, view: &mut Dashboards) -> usize {
    let connection = TimestreamConnection::default();
    let mut out = Outbox::default();
    let output = ctx.run_ui(input(), |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            view.show(ui, &connection, 0.0, Clock::Utc, &mut out);
        });
    });
    ctx.tessellate(output.shapes, output.pixels_per_point).len()
}

/// The same series as bare plots in a 4 x 5 grid, tessellated.
fn bare_frame(ctx: &egui::Context, data: &[Vec<Vec<[f64; 2]>>]) -> usize {
    let output = ctx.run_ui(input(), |ui| {
        let w = ui.available_width() / 4.0 - 8.0;
        let h = 4.0 * 30.0 - 8.0;
        egui::Grid::new("bare").show(ui, |ui| {
            for (i, lines) in data.iter().enumerate() {
                Plot::new(("bare", i)).width(w).height(h).show(ui, |plot| {
                    for (s, points) in lines.iter().enumerate() {
                        plot.line(Line::new(format!("m-{s}"), points.clone()));
                    }
                });
                if i % 4 == 3 {
                    ui.end_row();
                }
            }
        });
    });
    ctx.tessellate(output.shapes, output.pixels_per_point).len()
}

fn panels(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_dashboard_20_panels");
    let mut view = dashboard();
    let ctx = egui::Context::default();
    group.bench_function("dashboards_view", |b| {
        b.iter(|| dashboard_frame(&ctx, &mut view))
    });
    let data: Vec<Vec<Vec<[f64; 2]>>> = (0..PANELS)
        .map(|id| {
            (0..SERIES)
                .map(|s| {
                    series(id, s)
                        .points
                        .iter()
                        .map(|(t, v)| [*t as f64 / 1e6, *v])
                        .collect()
                })
                .collect()
        })
        .collect();
    let ctx = egui::Context::default();
    group.bench_function("baseline_bare_plots", |b| {
        b.iter(|| bare_frame(&ctx, &data))
    });
    group.finish();
}

criterion_group!(benches, panels);
criterion_main!(benches);
