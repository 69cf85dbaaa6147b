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
use gridwatch_ui::chart::{time_labels, with_time_axis};
use gridwatch_ui::format::Clock;
use gridwatch_ui::views::dashboards::{Dashboards, ROW_PX};

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

/// What a frame leaves the webview to draw: its meshes' vertex and index
/// counts, summed (two frames drawing the same things give the same).
fn drawn(ctx: &egui::Context, output: egui::FullOutput) -> (usize, usize) {
    let meshes = ctx.tessellate(output.shapes, output.pixels_per_point);
    meshes
        .iter()
        .filter_map(|m| match &m.primitive {
            egui::epaint::Primitive::Mesh(mesh) => Some((mesh.vertices.len(), mesh.indices.len())),
            egui::epaint::Primitive::Callback(_) => None,
        })
        .fold((0, 0), |(v, i), (mv, mi)| (v + mv, i + mi))
}

/// One frame of the Dashboards view, tessellated.
fn dashboard_frame(ctx: &egui::Context, view: &mut Dashboards) -> (usize, usize) {
    let connection = TimestreamConnection::default();
    let mut out = Outbox::default();
    let output = ctx.run_ui(input(), |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            view.show(ui, &connection, 0.0, Clock::Utc, &mut out);
        });
    });
    drawn(ctx, output)
}

/// The same frame written out by hand, the baseline that does the same
/// work: the header row, then each panel framed in its cell of the grid
/// with its title and a plot with a legend, the time axis and the axis
/// summary, its points converted as the view converts them. What the
/// view adds is its own: the layout from Grafana's grid, finding each
/// panel's answer, the variables.
fn same_work_frame(ctx: &egui::Context, data: &[PanelAnswer], titles: &[String]) -> (usize, usize) {
    let output = ctx.run_ui(input(), |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.horizontal(|ui| {
                let _ = ui.button("Open Grafana dashboard…");
                let _ = ui.selectable_label(true, "Feeders");
                let _ = ui.button("Refresh");
                ui.label("now-6h to now");
            });
            ui.separator();
            egui::ScrollArea::vertical().show(ui, |ui| {
                let width = ui.available_width();
                let (w, h) = (width / 4.0, 4.0 * ROW_PX);
                let size = egui::vec2(width, 5.0 * h);
                let (area, _) = ui.allocate_exact_size(size, egui::Sense::hover());
                for (i, (answer, title)) in data.iter().zip(titles).enumerate() {
                    let at = egui::vec2((i % 4) as f32 * w, (i / 4) as f32 * h);
                    let rect =
                        egui::Rect::from_min_size(area.min + at, egui::vec2(w, h)).shrink(3.0);
                    let mut child = ui.new_child(
                        egui::UiBuilder::new()
                            .max_rect(rect)
                            .id_salt(("panel", i as u32)),
                    );
                    egui::Frame::group(child.style()).show(&mut child, |ui| {
                        ui.set_min_size(rect.size() - egui::vec2(14.0, 14.0));
                        ui.horizontal(|ui| ui.strong(title));
                        let plot = Plot::new(("dashboard-chart", i as u32))
                            .legend(egui_plot::Legend::default())
                            .allow_scroll(false);
                        let response = with_time_axis(plot, Clock::Utc).show(ui, |plot| {
                            for s in &answer.series {
                                let points: Vec<[f64; 2]> = s
                                    .points
                                    .iter()
                                    .map(|(t, v)| [*t as f64 / 1e6, *v])
                                    .collect();
                                plot.line(Line::new(s.name.clone(), points));
                            }
                        });
                        let b = response.transform.bounds();
                        let width = response.transform.frame().width();
                        let times = time_labels(b.min()[0], b.max()[0], width, Clock::Utc);
                        let summary = format!("{title} chart. Times (UTC): {}", times.join(", "));
                        response.response.widget_info(|| {
                            egui::WidgetInfo::labeled(egui::Role::Figure, true, &summary)
                        });
                    });
                }
            });
        });
    });
    drawn(ctx, output)
}

/// The same series as bare plots in a 4 x 5 grid, tessellated: a floor,
/// not a race (no frames, titles, legends or time axes).
fn bare_frame(ctx: &egui::Context, data: &[Vec<Vec<[f64; 2]>>]) -> (usize, usize) {
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
    drawn(ctx, output)
}

fn panels(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_dashboard_20_panels");
    let mut view = dashboard();
    let answers = view.answers.clone().unwrap().panels;
    let titles: Vec<String> = (0..PANELS).map(|id| format!("Feeder {id}")).collect();
    let ctx = egui::Context::default();
    // The second frame of each: the first lays out the plots' legends.
    let same_ctx = egui::Context::default();
    dashboard_frame(&ctx, &mut view);
    same_work_frame(&same_ctx, &answers, &titles);
    let view_drawn = dashboard_frame(&ctx, &mut view);
    let same_drawn = same_work_frame(&same_ctx, &answers, &titles);
    assert_eq!(
        view_drawn, same_drawn,
        "the view and the baseline drew different frames"
    );
    group.bench_function("dashboards_view", |b| {
        b.iter(|| dashboard_frame(&ctx, &mut view))
    });
    group.bench_function("baseline_same_panels_by_hand", |b| {
        b.iter(|| same_work_frame(&same_ctx, &answers, &titles))
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
